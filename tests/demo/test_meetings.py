"""The demo's joint meeting of 中山中专–龙石村, loaded on 2026-12-05: six weeks before, with attendees of both sides and
two decisions, one for each side, one overdue and one still to come; they show on their owners' home pages, in the
running month's reminder and in the quarterly report."""

import datetime

import pytest
from django.urls import reverse

from activities.models import ActionItem, Meeting
from dashboards.home import home_for
from pairings.models import Pairing
from portal.models import User
from reports.builders import build_report_data

TODAY = datetime.date(2026, 12, 5)


@pytest.fixture
def meeting(loaded):
    return Meeting.objects.get(pairing__supporter__short_name="中山中专", pairing__supported__name="龙石村")


def test_the_meeting_and_its_decisions(meeting):
    assert meeting.date == TODAY - datetime.timedelta(days=42)
    assert "共同商讨结对共建的各项工作,研究解决遇到的困难和问题" in meeting.minutes
    assert {a.side for a in meeting.attendees.all()} == {"supporter", "supported"}
    decisions = {item.owner_org.name: item for item in meeting.action_items.select_related("owner_org")}
    assert len(decisions) == 2
    overdue = [item for item in decisions.values() if item.overdue_on(TODAY)]
    later = [item for item in decisions.values() if not item.overdue_on(TODAY)]
    assert len(overdue) == 1 and len(later) == 1
    assert overdue[0].owner_org.kind == "branch" and later[0].owner_org.kind == "village"


@pytest.mark.parametrize("username", ["secretary3", "longshi", "zszz"])
def test_they_are_on_their_owners_home_pages(meeting, username):
    home = home_for(User.objects.get(username=username), TODAY)
    mine = next(s for s in home.action_items if s.key == "action_items")
    assert {item.meeting_id for item in mine.rows} == {meeting.pk}


def test_the_admin_sees_the_overdue_one(meeting):
    home = home_for(User.objects.get(username="office"), TODAY)
    overdue = next(s for s in home.action_items if s.key == "action_items_overdue")
    assert [item.meeting_id for item in overdue.rows] == [meeting.pk]


def test_they_are_in_the_monthly_reminder_and_the_quarterly_report(meeting):
    pairing = Pairing.objects.get(pk=meeting.pairing_id)
    monthly = build_report_data("monthly", "2026-12", pairing.program, pairing)["meetings"]
    assert len(monthly["open_items"]) == 2 and monthly["overdue"] == 1 and monthly["open_items"][0]["overdue"]
    quarterly = build_report_data("quarterly", "2026Q4", pairing.program, pairing)["meetings"]
    assert quarterly["last_meeting"]["id"] == meeting.pk and len(quarterly["decisions"]) == 2


def test_the_pages_open(client, meeting):
    client.force_login(User.objects.get(username="longshi"))
    page = client.get(reverse("activities:meeting_detail", args=[meeting.pk])).content.decode()
    assert "梁志明" in page and "陈晓东" in page
    item = ActionItem.objects.get(meeting=meeting, owner_org__name="龙石村")
    assert client.get(reverse("activities:action_item_close", args=[item.pk])).status_code == 200
