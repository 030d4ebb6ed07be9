"""Accounts and the security baseline: invitations, MFA for admins, rate limits behind a proxy, CSP."""

import re

import pytest
from django.core import mail
from django.db import transaction
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse

from portal.services import user_invite
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_invitation_lets_the_user_set_a_password_and_sign_in(client, world, django_capture_on_commit_callbacks):
    user = f.UserFactory(username="newcomer", email="newcomer@example.org", password=None)
    user.set_unusable_password()
    user.save()
    with django_capture_on_commit_callbacks(execute=True):
        user_invite(user=user, inviter=world["users"]["admin"])
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["newcomer@example.org"]
    link = re.search(r"http://\S+", message.body).group(0)
    path = link.split("8000", 1)[1]
    response = client.get(path, follow=True)
    assert response.status_code == 200
    form_url = response.redirect_chain[-1][0] if response.redirect_chain else path
    response = client.post(form_url, {"password1": "Longshi-village-2024!", "password2": "Longshi-village-2024!"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("Longshi-village-2024!")
    # the link is spent
    assert "Longshi" not in client.get(path, follow=True).content.decode()
    assert client.login(username="newcomer", password="Longshi-village-2024!")


def test_invitation_is_sent_once_the_transaction_commits(world, django_capture_on_commit_callbacks):
    user = world["users"]["village"]
    with django_capture_on_commit_callbacks() as callbacks:
        user_invite(user=user, inviter=world["users"]["admin"])
        assert mail.outbox == []  # not while the transaction is open
    assert len(callbacks) == 1 and mail.outbox == []
    callbacks[0]()
    assert [m.to for m in mail.outbox] == [[user.email]]


def test_no_invitation_from_a_transaction_that_rolls_back(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                user_invite(user=world["users"]["village"], inviter=world["users"]["admin"])
                raise RuntimeError("the surrounding work fails")
    assert callbacks == [] and mail.outbox == []


def test_invitation_needs_an_email(world):
    from django.core.exceptions import ValidationError

    user = f.UserFactory(username="noemail", email="")
    with pytest.raises(ValidationError):
        user_invite(user=user, inviter=world["users"]["admin"])
    assert mail.outbox == []


def test_weak_password_refused_in_chinese(client, world):
    user = world["users"]["secretary"]
    client.force_login(user)
    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": f.PASSWORD, "password1": "12345678", "password2": "12345678"},
    )
    assert response.status_code == 200
    assert "密码" in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(f.PASSWORD)


def test_admins_must_set_up_totp_when_required(client, world, settings):
    settings.REQUIRE_ADMIN_MFA = True
    client.force_login(world["users"]["admin"])
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")
    # setting TOTP up is reachable (allauth asks for the password once more first)
    response = client.get(reverse("mfa_activate_totp"), follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0].startswith("/accounts/")
    # everyone else goes straight in
    client.force_login(world["users"]["secretary"])
    assert client.get(reverse("home")).status_code == 200


def test_an_admins_authenticator_is_read_with_the_session(client, world, settings):
    """Whether an admin has set TOTP up comes with the session's read: a page of theirs asks no query of its own
    for it, and an authenticator removed sends them to set it up again on the very next page."""
    from allauth.mfa.models import Authenticator
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    admin = world["users"]["admin"]
    totp = Authenticator.objects.create(user=admin, type=Authenticator.Type.TOTP, data={"secret": "JBSWY3DPEHPK3PXP"})
    client.force_login(admin)
    settings.REQUIRE_ADMIN_MFA = False
    assert client.get(reverse("home")).status_code == 200
    with CaptureQueriesContext(connection) as without_check:
        assert client.get(reverse("home")).status_code == 200
    settings.REQUIRE_ADMIN_MFA = True
    with CaptureQueriesContext(connection) as with_check:
        assert client.get(reverse("home")).status_code == 200
    assert len(with_check) == len(without_check)
    assert [q["sql"] for q in with_check.captured_queries if "mfa_authenticator" in q["sql"]
            and "portal_usersession" not in q["sql"]] == []
    totp.delete()
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"] == reverse("mfa_activate_totp")


LOCKED = "登录失败次数过多"


def _fail_login(client, password="wrong-password", **headers):
    response = client.post(reverse("account_login"), {"login": "secretary", "password": password}, **headers)
    return response.content.decode()


def test_login_failures_are_limited_even_with_a_forged_forwarded_for(client, world, settings):
    from django.core.cache import cache

    cache.clear()
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 0
    pages = [_fail_login(client, HTTP_X_FORWARDED_FOR=f"10.0.0.{i}") for i in range(7)]
    # 5 failures per 5 minutes per account; a new forged address each time gives no fresh allowance
    assert not any(LOCKED in page for page in pages[:5])
    assert all(LOCKED in page for page in pages[5:])
    # and while locked, even the right password does not get in
    assert LOCKED in _fail_login(client, password=f.PASSWORD, HTTP_X_FORWARDED_FOR="10.9.9.9")
    assert "_auth_user_id" not in client.session
    cache.clear()


def test_behind_one_proxy_the_client_address_comes_from_the_header(client, world, settings):
    from allauth.core.internal.httpkit import get_client_ip

    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.7", REMOTE_ADDR="127.0.0.1")
    assert get_client_ip(request) == "198.51.100.7"
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 0
    assert get_client_ip(request) == "127.0.0.1"


def test_admin_login_goes_through_allauth(client, world):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    client.force_login(world["users"]["secretary"])
    assert client.get("/admin/login/?next=/admin/").status_code == 403
    assert client.get("/admin/").status_code == 302


def test_pages_carry_a_strict_csp(client):
    response = client.get(reverse("account_login"))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "<script>" not in response.content.decode()


def test_phone_is_masked_except_for_the_volunteers_own_managers(world):
    volunteer = f.VolunteerFactory(organization=world["branch"], phone="13812345678")
    template = Template("{% load portal_tags %}{% phone_of v %}")
    request = RequestFactory().get("/")
    for role, expected in [
        ("secretary", "13812345678"),
        ("committee", "13812345678"),
        ("other_secretary", "138****5678"),
        ("village", "138****5678"),
        ("admin", "138****5678"),
    ]:
        request.user = world["users"][role]
        assert template.render(Context({"v": volunteer, "request": request})) == expected, role


XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_script_in_text_fields_is_shown_escaped(client, world):
    pairing = world["pairing"]
    activity = f.ActivityFactory(
        pairing=pairing, branch=world["branch"], title=XSS, place=XSS, description=XSS, status="submitted",
        submitted_at="2024-03-15T10:00+08:00",
    )
    need = f.NeedFactory(pairing=pairing, title=XSS, description=XSS, wanted_by=XSS)
    volunteer = f.VolunteerFactory(organization=world["branch"], name=XSS)
    client.force_login(world["users"]["secretary"])
    for url in [
        reverse("activities:detail", args=[activity.pk]),
        reverse("activities:list"),
        reverse("activities:need_detail", args=[need.pk]),
        reverse("activities:need_list"),
        reverse("pairings:pairing_detail", args=[pairing.pk]),
        reverse("dashboards:volunteer_detail", args=[volunteer.pk]),
        reverse("home"),
    ]:
        page = client.get(url).content.decode()
        assert "<script>alert" not in page, url
        assert "<img src=x" not in page, url
    assert "&lt;script&gt;" in client.get(reverse("activities:detail", args=[activity.pk])).content.decode()
