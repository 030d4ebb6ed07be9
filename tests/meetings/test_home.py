"""The home page's 待办事项: the decisions of joint meetings waiting on the user, overdue first, each a link to where it
is closed; the program admin also sees every overdue decision of their programs."""

import datetime

import pytest
from django.urls import reverse

from activities import services
from dashboards.home import home_for
from tests.meetings.conftest import attendees, fields

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2024, 4, 10)


def section(home, key):
    return next((s for s in home.action_items if s.key == key), None)


@pytest.fixture
def more(world, meeting):
    """A second decision for the branch, due after the first (so not overdue on TODAY)."""
    services.meeting_update(
        meeting=meeting, actor=world["users"]["admin"], fields=fields(), attendees=attendees(world),
        decisions=[services.DecisionEntry(text="暑期艺术课堂", owner_org=world["branch"], due_date=datetime.date(2024, 7, 1))],
    )
    return meeting


@pytest.mark.parametrize(
    "role, expected",
    [
        ("secretary", ["第三党支部牵头组织“小电匠”进村维修", "暑期艺术课堂"]),  # overdue first
        ("committee", ["第三党支部牵头组织“小电匠”进村维修", "暑期艺术课堂"]),  # the school's committee acts for its branches
        ("village", ["村委会摸排独居老人需求清单"]),
        ("other_secretary", []),
    ],
)
def test_owners_see_their_decisions(world, cast, more, role, expected):
    mine = section(home_for(cast[role], TODAY), "action_items")
    assert [item.text for item in mine.rows] == expected
    assert [item.is_overdue for item in mine.rows][:1] == ([True] if role in ("secretary", "committee") else [False] * len(expected[:1]))


def test_others_see_none_of_them(world, cast, more):
    # the outsider speaks for another village: the section is there, without this pairing's decisions
    assert section(home_for(cast["outsider"], TODAY), "action_items").total == 0
    # a plain member acts for no organisation: no section, unless a decision is named theirs (below)
    assert section(home_for(cast["member"], TODAY), "action_items") is None


def test_the_owner_person_sees_it_whatever_their_role(world, cast, meeting):
    services.meeting_update(
        meeting=meeting, actor=world["users"]["admin"], fields=fields(), attendees=attendees(world),
        decisions=[services.DecisionEntry(text="专人联络", owner_org=world["branch"], due_date=datetime.date(2024, 5, 1),
                                          owner_user=cast["member"])],
    )
    rows = section(home_for(cast["member"], TODAY), "action_items").rows
    assert [item.text for item in rows] == ["专人联络"]


def test_the_program_admin_sees_the_overdue_ones(world, cast, more):
    # the office owns none of them: no section of its own (one when it owns one)
    assert section(home_for(cast["admin"], TODAY), "action_items") is None
    overdue = section(home_for(cast["admin"], TODAY), "action_items_overdue")
    assert [item.text for item in overdue.rows] == ["第三党支部牵头组织“小电匠”进村维修"]
    assert section(home_for(cast["committee"], TODAY), "action_items_overdue") is None
    services.meeting_update(
        meeting=more, actor=cast["admin"], fields=fields(), attendees=attendees(world),
        decisions=[services.DecisionEntry(text="项目办协调经费", owner_org=world["office"], due_date=datetime.date(2024, 5, 1))],
    )
    assert [i.text for i in section(home_for(cast["admin"], TODAY), "action_items").rows] == ["项目办协调经费"]


def test_each_row_links_to_where_it_is_closed(client, world, cast, more):
    client.force_login(cast["village"])
    page = client.get(reverse("home")).content.decode()
    item = more.action_items.get(owner_org=world["village"])
    assert reverse("activities:action_item_close", args=[item.pk]) in page
    assert reverse("activities:meeting_detail", args=[more.pk]) in page
    assert f"{reverse('activities:action_item_list')}?show=mine&amp;status=open" in page
