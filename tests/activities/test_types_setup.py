"""Issue 15: a program has its own activity types beside the shared ones; its admins set them up; each pairing's
forms offer the shared types and its program's own only."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from activities.models import Activity, ActivityType
from tests import factories as f


@pytest.fixture
def types(world):
    shared = f.ActivityTypeFactory(code="ztdr", name="主题党日")
    own = f.ActivityTypeFactory(code="slsz-visit", name="入户走访", program=world["program"])
    foreign = f.ActivityTypeFactory(code="dyjsq-visit", name="进社区报到", program=world["other_program"])
    return dict(shared=shared, own=own, foreign=foreign)


def test_the_activity_form_offers_shared_and_the_programs_own_types(client, world, types):
    client.force_login(world["users"]["secretary"])
    offered = set(client.get(reverse("activities:create")).context["form"].fields["activity_type"].queryset)
    assert offered == {types["shared"], types["own"]}


def test_another_programs_type_is_refused(client, world, types):
    client.force_login(world["users"]["secretary"])
    response = client.post(reverse("activities:create"), {
        "pairing": world["pairing"].pk, "activity_type": types["foreign"].pk, "title": "报到",
        "date": (timezone.localdate() - datetime.timedelta(days=1)).isoformat(), "action": "draft",
        "metrics-TOTAL_FORMS": "0", "metrics-INITIAL_FORMS": "0", "hours-TOTAL_FORMS": "0", "hours-INITIAL_FORMS": "0",
    })
    assert response.status_code == 200
    assert "请选择有效的选项" in str(response.context["form"].errors["activity_type"])
    assert not Activity.objects.exists()


def test_the_activity_filter_offers_the_readers_programs_types(client, world, types):
    client.force_login(world["users"]["secretary"])
    response = client.get(reverse("activities:list"))
    names = {name for _pk, name in response.context["filter"].form.fields["activity_type"].choices if _pk}
    assert {"主题党日", "入户走访"} <= names and "进社区报到" not in names


def test_the_admin_adds_and_switches_off_their_programs_type(client, world, types):
    client.force_login(world["users"]["admin"])
    program = world["program"]
    url = reverse("activities:activity_type_create") + f"?program={program.pk}"
    response = client.post(url, {"name": "产业调研", "code": "slsz-survey", "order": "3", "is_active": "on"})
    assert response.status_code == 302
    created = ActivityType.objects.get(code="slsz-survey")
    assert created.program == program and created.history.get().history_user == world["users"]["admin"]
    # a name the shared catalog has is refused: the form would list it twice
    response = client.post(url, {"name": "主题党日", "code": "slsz-ztdr", "order": "4", "is_active": "on"})
    assert "同名" in str(response.context["form"].errors["name"])
    # switched off, not deleted
    response = client.post(reverse("activities:activity_type_update", args=[created.pk]),
                           {"name": "产业调研", "code": "slsz-survey", "order": "3"})
    assert response.status_code == 302
    created.refresh_from_db()
    assert not created.is_active
    listed = client.get(reverse("activities:activity_type_list") + f"?program={program.pk}").content.decode()
    assert "产业调研" in listed and "主题党日" in listed and "进社区报到" not in listed


def test_the_other_programs_types_and_the_shared_ones_are_not_the_admins(client, world, types):
    client.force_login(world["users"]["admin"])
    other = world["other_program"]
    assert client.get(reverse("activities:activity_type_list") + f"?program={other.pk}").status_code == 404
    assert client.post(reverse("activities:activity_type_create") + f"?program={other.pk}",
                       {"name": "x", "code": "x", "order": "1", "is_active": "on"}).status_code == 404
    assert client.get(reverse("activities:activity_type_update", args=[types["foreign"].pk])).status_code == 404
    assert client.get(reverse("activities:activity_type_update", args=[types["shared"].pk])).status_code == 403
    assert client.get(reverse("activities:activity_type_create")).status_code == 403  # shared: superusers only
    client.force_login(world["users"]["superuser"])
    assert client.get(reverse("activities:activity_type_update", args=[types["shared"].pk])).status_code == 200


def test_the_program_page_shows_its_types(client, world, types):
    client.force_login(world["users"]["admin"])
    page = client.get(reverse("pairings:program_update", args=[world["program"].pk])).content.decode()
    assert reverse("activities:activity_type_list") + f"?program={world['program'].pk}" in page


@pytest.mark.parametrize("extra", [1, 8])
def test_the_type_list_queries_do_not_grow(client, world, django_assert_num_queries, extra):
    for i in range(extra):
        f.ActivityTypeFactory(code=f"own-{i}", name=f"类型{i}", program=world["program"])
        f.ActivityTypeFactory(code=f"shared-{i}", name=f"共用{i}")
    client.force_login(world["users"]["admin"])
    url = reverse("activities:activity_type_list")
    client.get(url)
    # the session with its user and unread notices (one query), programs, types; the scope is kept since the first
    # request (portal/permissions.py, under the set-up's token)
    with django_assert_num_queries(3):
        client.get(url)
