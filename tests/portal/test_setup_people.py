"""People set-up: invitations by e-mail or by a one-time link, roles, deactivation."""

import datetime
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from portal.models import Invitation, Membership, Organization, User
from portal.permissions import grantable_roles
from tests import factories as f

Role = Membership.Role


def invite(client, django_capture_on_commit_callbacks, **data):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("setup:invite"), data)
    return response


def shown_link(client, response):
    """Follow the redirect to the person page and read the one-time link off it."""
    page = client.get(response["Location"]).content.decode()
    match = re.search(r'id="invite-link" value="([^"]+)"', page)
    return match.group(1) if match else None


def test_grantable_roles_follow_the_kinds_and_the_viewer(world):
    admin, committee = world["users"]["admin"], world["users"]["committee"]
    assert grantable_roles(admin, world["office"]) == [Role.ADMIN, Role.COMMITTEE]  # an office is a government organ
    assert grantable_roles(admin, world["village"]) == [Role.VILLAGE_COMMITTEE, Role.LIAISON]
    assert grantable_roles(admin, world["branch"]) == [Role.SECRETARY, Role.MEMBER]
    assert grantable_roles(admin, world["school"]) == [Role.COMMITTEE]
    assert grantable_roles(committee, world["branch"]) == [Role.SECRETARY, Role.MEMBER]
    assert grantable_roles(committee, world["school"]) == []
    assert grantable_roles(committee, world["village"]) == []
    assert grantable_roles(world["users"]["secretary"], world["branch"]) == []
    assert Role.ADMIN in grantable_roles(world["users"]["superuser"], world["village"])


def test_invite_without_email_shows_the_link_once_and_it_works_once(client, world, django_capture_on_commit_callbacks):
    client.force_login(world["users"]["admin"])
    response = invite(client, django_capture_on_commit_callbacks, full_name="李国强", phone="13800138000",
                      organization=world["village"].pk, role=Role.VILLAGE_COMMITTEE, title="村支书")
    person = User.objects.get(full_name="李国强")
    assert not person.has_usable_password() and re.fullmatch(r"u\d{8}", person.username)
    assert person.memberships.get().role == Role.VILLAGE_COMMITTEE
    assert mail.outbox == []
    link = shown_link(client, response)
    assert link.startswith("http://testserver/setup/join/")  # the host the admin is on, ready to paste
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert token not in Invitation.objects.get().token_hash  # only the hash is kept
    # shown once: the next visit of the person page has no link
    assert 'id="invite-link"' not in client.get(reverse("setup:person_detail", args=[person.pk])).content.decode()

    client.logout()
    path = reverse("setup:invite_accept", args=[token])
    page = client.get(path)
    body = page.content.decode()
    assert page.status_code == 200 and "邀请 李国强 以 龙石村 村（社区）两委 的身份" in body
    response = client.post(path, {"username": "lgq", "password1": "Longshi-2024!", "password2": "Longshi-2024!"})
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert client.get(reverse("home")).context["user"].username == "lgq"
    person.refresh_from_db()
    assert person.username == "lgq" and person.check_password("Longshi-2024!")
    client.logout()
    # the link is used up; the account signs in with its password
    assert client.get(path).status_code == 410
    # posting it again (a second click, another browser): "used already, sign in", nothing changes
    again = client.post(path, {"username": "x", "password1": "Another-2024!", "password2": "Another-2024!"})
    assert again.status_code == 302 and again["Location"] == reverse("account_login")
    login = client.post(reverse("account_login"), {"login": "lgq", "password": "Longshi-2024!"})
    assert login.status_code == 302


def test_invite_with_email_sends_it_through_the_task(client, world, django_capture_on_commit_callbacks):
    client.force_login(world["users"]["committee"])
    response = invite(client, django_capture_on_commit_callbacks, full_name="王老师", organization=world["branch"].pk,
                      role=Role.MEMBER, email="wang@example.org")
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["wang@example.org"] and "结对共建平台邀请" in message.subject
    link = shown_link(client, response)
    # the mail names the portal by settings.PORTAL_BASE_URL (never by a request's Host header); the same token
    from django.conf import settings
    from urllib.parse import urlsplit

    assert f"{settings.PORTAL_BASE_URL}{urlsplit(link).path}" in message.body and "第三党支部 成员" in message.body


def test_bad_input_is_a_chinese_form_error_and_saves_nothing(client, world, django_capture_on_commit_callbacks):
    client.force_login(world["users"]["admin"])
    before = User.objects.count()
    response = invite(client, django_capture_on_commit_callbacks, full_name="张三", phone="abc",
                      organization=world["branch"].pk, role=Role.SECRETARY)
    assert response.status_code == 200 and "请填写纯数字的手机号" in response.content.decode()
    # a role the kind does not take
    response = invite(client, django_capture_on_commit_callbacks, full_name="张三",
                      organization=world["branch"].pk, role=Role.VILLAGE_COMMITTEE)
    assert response.status_code == 200 and "您不能在 第三党支部 授予" in response.content.decode()
    assert User.objects.count() == before and not Invitation.objects.exists()


def test_committee_cannot_grant_admin_nor_reach_another_school(client, world, django_capture_on_commit_callbacks):
    client.force_login(world["users"]["committee"])
    before = User.objects.count()
    invite(client, django_capture_on_commit_callbacks, full_name="甲", organization=world["branch"].pk, role=Role.ADMIN)
    invite(client, django_capture_on_commit_callbacks, full_name="乙", organization=world["office"].pk, role=Role.ADMIN)
    other_school = f.OrganizationFactory(name="别的学校", kind=Organization.Kind.SCHOOL)
    other_branch = f.OrganizationFactory(name="别校支部", kind=Organization.Kind.BRANCH, parent=other_school)
    response = invite(client, django_capture_on_commit_callbacks, full_name="丙", organization=other_branch.pk, role=Role.SECRETARY)
    assert "请选择有效的选项" in response.content.decode()
    assert User.objects.count() == before
    assert client.get(reverse("setup:invite") + f"?organization={other_branch.pk}").status_code == 404
    stranger = f.UserFactory(username="stranger")
    f.MembershipFactory(user=stranger, organization=other_branch, role=Role.SECRETARY)
    assert client.get(reverse("setup:person_detail", args=[stranger.pk])).status_code == 404
    response = client.post(reverse("setup:membership_add", args=[world["users"]["secretary"].pk]),
                           {"organization": other_branch.pk, "role": Role.SECRETARY})
    assert response.status_code == 200 and not world["users"]["secretary"].memberships.filter(organization=other_branch).exists()
    assert client.post(reverse("setup:membership_remove", args=[stranger.memberships.get().pk])).status_code == 404


def test_admin_cannot_post_a_foreign_organisation(client, world, django_capture_on_commit_callbacks):
    client.force_login(world["users"]["admin"])
    foreign = world["other_pairing"].supported
    response = invite(client, django_capture_on_commit_callbacks, full_name="丁", organization=foreign.pk, role=Role.VILLAGE_COMMITTEE)
    assert response.status_code == 200 and not User.objects.filter(full_name="丁").exists()
    outsider = world["users"]["outsider"]
    assert client.get(reverse("setup:person_detail", args=[outsider.pk])).status_code == 404


def test_memberships_added_and_removed_with_history(client, world):
    client.force_login(world["users"]["admin"])
    person = world["users"]["secretary"]
    response = client.post(reverse("setup:membership_add", args=[person.pk]),
                           {"organization": world["other_branch"].pk, "role": Role.MEMBER, "title": "组织委员"})
    assert response.status_code == 302
    added = person.memberships.get(organization=world["other_branch"])
    assert added.history.first().history_user == world["users"]["admin"]
    # the same role twice: a form error
    response = client.post(reverse("setup:membership_add", args=[person.pk]),
                           {"organization": world["other_branch"].pk, "role": Role.MEMBER})
    assert response.status_code == 200 and "已有该角色" in response.content.decode()
    client.post(reverse("setup:membership_remove", args=[added.pk]))
    assert not person.memberships.filter(pk=added.pk).exists()
    assert Membership.history.filter(id=added.pk, history_type="-").get().history_user == world["users"]["admin"]


def test_deactivation_keeps_roles_and_records_and_stops_sign_in(client, world):
    person = world["users"]["secretary"]
    activity = f.ActivityFactory(pairing=world["pairing"], branch=world["branch"], created_by=person) \
        if "created_by" in {fld.name for fld in f.ActivityFactory._meta.model._meta.fields} \
        else f.ActivityFactory(pairing=world["pairing"], branch=world["branch"])
    client.force_login(world["users"]["committee"])
    response = client.post(reverse("setup:person_active", args=[person.pk]))
    assert response.status_code == 302
    person.refresh_from_db()
    assert not person.is_active and person.active_changed_by == world["users"]["committee"]
    assert person.memberships.count() == 1
    activity.refresh_from_db()
    client.logout()
    response = client.post(reverse("account_login"), {"login": "secretary", "password": f.PASSWORD})
    assert response.status_code != 302 or "inactive" in response["Location"]
    # reactivation
    client.force_login(world["users"]["committee"])
    client.post(reverse("setup:person_active", args=[person.pk]), {"active": "1"})
    person.refresh_from_db()
    assert person.is_active


def test_deactivation_needs_every_organisation_of_the_person(client, world):
    person = world["users"]["secretary"]
    f.MembershipFactory(user=person, organization=world["village"], role=Role.LIAISON)
    client.force_login(world["users"]["committee"])  # manages the branch, not the village
    assert client.post(reverse("setup:person_active", args=[person.pk])).status_code == 403
    person.refresh_from_db()
    assert person.is_active
    client.force_login(world["users"]["admin"])  # manages both
    assert client.post(reverse("setup:person_active", args=[person.pk])).status_code == 302
    # never a superuser, unless the viewer is one
    root = world["users"]["superuser"]
    f.MembershipFactory(user=root, organization=world["branch"], role=Role.MEMBER)
    assert client.post(reverse("setup:person_active", args=[root.pk])).status_code == 403


def test_expired_revoked_and_wrong_links_are_refused(client, world, django_capture_on_commit_callbacks):
    client.force_login(world["users"]["admin"])
    response = invite(client, django_capture_on_commit_callbacks, full_name="赵六", organization=world["village"].pk,
                      role=Role.LIAISON)
    first = shown_link(client, response).rstrip("/").rsplit("/", 1)[1]
    person = User.objects.get(full_name="赵六")
    client.post(reverse("setup:invite_reissue", args=[person.pk]))
    second = shown_link(client, client.post(reverse("setup:invite_reissue", args=[person.pk]))).rstrip("/").rsplit("/", 1)[1]
    assert Invitation.objects.filter(user=person).count() == 3
    assert Invitation.objects.filter(user=person, revoked_at__isnull=False).count() == 2
    client.logout()
    revoked = client.get(reverse("setup:invite_accept", args=[first]))
    assert revoked.status_code == 410 and "该邀请链接无效" in revoked.content.decode()
    assert client.get(reverse("setup:invite_accept", args=["x" * 43])).status_code == 404
    Invitation.objects.filter(user=person, revoked_at__isnull=True).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    assert client.get(reverse("setup:invite_accept", args=[second])).status_code == 410


def test_weak_password_is_refused_in_chinese(client, world, django_capture_on_commit_callbacks):
    client.force_login(world["users"]["admin"])
    response = invite(client, django_capture_on_commit_callbacks, full_name="钱七", organization=world["village"].pk,
                      role=Role.LIAISON)
    token = shown_link(client, response).rstrip("/").rsplit("/", 1)[1]
    client.logout()
    path = reverse("setup:invite_accept", args=[token])
    response = client.post(path, {"username": "secretary", "password1": "123", "password2": "123"})
    body = response.content.decode()
    assert response.status_code == 200 and "该用户名已被使用" in body and "密码" in body
    assert Invitation.objects.get().used_at is None


def _people(world, n):
    for i in range(n):
        user = f.UserFactory(username=f"p{n}_{i}", phone="13800138000")
        f.MembershipFactory(user=user, organization=world["branch"], role=Role.MEMBER)
        f.MembershipFactory(user=user, organization=world["village"], role=Role.LIAISON)


@pytest.mark.parametrize("rows", [2, 15])
def test_person_list_query_count_does_not_grow(client, world, django_assert_num_queries, rows):
    _people(world, rows)
    client.force_login(world["users"]["admin"])
    client.get(reverse("home"))
    # session with user and unread count: one query (the scope is kept since the first page); the organisation
    # filter is a picker
    with django_assert_num_queries(7):
        response = client.get(reverse("setup:person_list"))
    assert response.context["paginator"].count >= rows
    body = response.content.decode()
    assert "138****8000" in body and "13800138000" not in body  # the admin reads phones masked


def test_person_list_filters(client, world):
    client.force_login(world["users"]["committee"])
    listed = lambda **q: {u.username for u in client.get(reverse("setup:person_list"), q).context["object_list"]}  # noqa: E731
    assert listed() == {"committee", "secretary", "other_secretary"}
    assert listed(role=Role.SECRETARY) == {"secretary", "other_secretary"}
    assert listed(organization=world["other_branch"].pk) == {"other_secretary"}
    assert listed(q="other") == {"other_secretary"}


def test_past_the_cap_the_organisation_is_picked_by_name_not_from_a_drop_down(client, world, monkeypatch,
                                                                              django_capture_on_commit_callbacks):
    """A province office sets up thousands of organisations: past ORG_DROPDOWN_CAP the forms ask for one through
    the organisation picker; what is posted is checked against the same organisations as before."""
    from portal import forms

    client.force_login(world["users"]["admin"])
    page = client.get(reverse("setup:invite")).content.decode()
    assert '<select name="organization"' in page  # a few organisations: the drop-down
    monkeypatch.setattr(forms, "ORG_DROPDOWN_CAP", 1)
    page = client.get(reverse("setup:invite")).content.decode()
    assert '<select name="organization"' not in page
    picker = f'data-picker-url="{reverse("setup:org_picker")}"'
    assert picker in page and 'name="organization"' in page
    assert picker in client.get(reverse("setup:org_create")).content.decode()  # the new organisation's parent
    response = invite(client, django_capture_on_commit_callbacks, full_name="王村委", organization=world["village"].pk,
                      role=Role.VILLAGE_COMMITTEE)
    assert response.status_code == 302
    assert User.objects.get(full_name="王村委").memberships.get().organization == world["village"]
    foreign = f.OrganizationFactory(name="外省某村", kind=Organization.Kind.VILLAGE)  # no office of the admin's keeps it
    response = invite(client, django_capture_on_commit_callbacks, full_name="外人", organization=foreign.pk,
                      role=Role.VILLAGE_COMMITTEE)
    assert response.status_code == 200 and not User.objects.filter(full_name="外人").exists()
