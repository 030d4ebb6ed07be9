"""The pairing page's open needs with their number (one query: the count is a window over the same rows) and
its recent activities, read through the activities' one visibility rule given the page's pairing as a literal
id: drafts for the supporting side and the program admin, never for the village."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from activities.panels import OPEN_NEEDS_SHOWN, RECENT_ACTIVITIES
from tests import factories as f
from tests.pairings.helpers import activity, panel_context

pytestmark = pytest.mark.django_db
RECENT = "activities/panels/pairing_recent.html"
NEEDS = "activities/panels/pairing_needs.html"


def page_of(client, user, pairing):
    client.force_login(user)
    response = client.get(reverse("pairings:pairing_detail", args=[pairing.pk]) + "?year=2024")
    assert response.status_code == 200
    return response


@pytest.mark.parametrize("count", [0, 1, OPEN_NEEDS_SHOWN, OPEN_NEEDS_SHOWN + 3])
def test_open_needs_and_their_number(client, world, count):
    pairing = world["pairing"]
    now = timezone.now()
    for i in range(count):
        f.NeedFactory(pairing=pairing, title=f"心愿{i}", raised_at=now - datetime.timedelta(hours=i))
    f.NeedFactory(
        pairing=pairing, title="已认领", status="claimed", claimed_by_branch=world["branch"],
        raised_at=now - datetime.timedelta(days=1), claimed_at=now,
    )
    deleted = f.NeedFactory(pairing=pairing, title="删掉的")
    type(deleted).all_objects.filter(pk=deleted.pk).update(deleted_at=now)
    f.NeedFactory(pairing=world["other_pairing"], title="别的结对")

    page = page_of(client, world["users"]["village"], pairing)
    assert panel_context(page, NEEDS)["count"] == count
    assert [n.title for n in panel_context(page, NEEDS)["needs"]] == [f"心愿{i}" for i in range(min(count, OPEN_NEEDS_SHOWN))]


def test_recent_activities_follow_the_visibility_rule(client, world):
    pairing = world["pairing"]
    activity(pairing, world["branch"], title="已确认", date=datetime.date(2024, 3, 1))
    activity(pairing, world["branch"], status="draft", title="本支部草稿", date=datetime.date(2024, 3, 2))
    activity(pairing, world["other_branch"], status="draft", title="兄弟支部草稿", date=datetime.date(2024, 3, 3))
    activity(world["other_pairing"], f.OrganizationFactory(kind="branch"), title="别的结对", date=datetime.date(2024, 3, 4))
    gone = activity(pairing, world["branch"], title="删掉的活动", date=datetime.date(2024, 3, 5))
    type(gone).all_objects.filter(pk=gone.pk).update(deleted_at=timezone.now())

    def titles(role):
        return {a.title for a in panel_context(page_of(client, world["users"][role], pairing), RECENT)["activities"]}

    assert titles("village") == {"已确认"}
    assert titles("secretary") == {"已确认", "本支部草稿"}  # their own branch's drafts
    assert titles("admin") == {"已确认", "本支部草稿", "兄弟支部草稿"}
    for role in ("village", "secretary", "other_secretary", "committee", "admin", "superuser"):
        user = world["users"][role]
        general = pairing.activities.visible_to(user).order_by("-date", "-id")[:RECENT_ACTIVITIES]
        assert [a.pk for a in panel_context(page_of(client, user, pairing), RECENT)["activities"]] == [a.pk for a in general], role
    assert page_of(client, world["users"]["admin"], pairing).context["page"].can_edit_agreement
    assert not page_of(client, world["users"]["secretary"], pairing).context["page"].can_edit_agreement


def test_recent_activities_are_the_latest_ones(client, world):
    pairing = world["pairing"]
    for day in range(1, RECENT_ACTIVITIES + 4):
        activity(pairing, world["branch"], title=f"活动{day}", date=datetime.date(2024, 4, day))
    page = page_of(client, world["users"]["village"], pairing)
    assert [a.title for a in panel_context(page, RECENT)["activities"]] == [f"活动{d}" for d in range(RECENT_ACTIVITIES + 3, 3, -1)]
