"""A second identical POST of a state change (a double click, a reload, a second tab) answers "already done" and
redirects: never a 403, a 410 or a 500, and nothing changes the second time."""

import pytest
from django.contrib.messages import constants, get_messages
from django.urls import reverse

from activities.models import Activity, ActionItem, Need
from portal import services as portal_services
from reports.models import Report
from tests import factories as f

pytestmark = pytest.mark.django_db


def twice(client, url, data=None):
    first = client.post(url, data or {})
    if first.status_code == 302:
        client.get(first["Location"])  # the page the browser shows next reads (and clears) the first message
    second = client.post(url, data or {})
    return first, second


def said(response):
    return [(m.level, str(m)) for m in get_messages(response.wsgi_request)]


def assert_already_done(first, second):
    assert first.status_code == 302, first.status_code
    assert second.status_code == 302, (second.status_code, second.content[:500])
    levels = [level for level, _text in said(second)]
    assert constants.INFO in levels and constants.ERROR not in levels, said(second)


def test_report_publish(client, world):
    report = f.ReportFactory(program=world["program"], pairing=world["pairing"], kind=Report.Kind.QUARTERLY, period="2024Q1")
    client.force_login(world["users"]["admin"])
    first, second = twice(client, reverse("reports:report_publish", args=[report.pk]))
    assert_already_done(first, second)
    report.refresh_from_db()
    assert report.status == Report.Status.PUBLISHED


def test_activity_submit_and_confirm(client, world):
    activity = f.ActivityFactory(pairing=world["pairing"], branch=world["branch"])
    client.force_login(world["users"]["secretary"])
    assert_already_done(*twice(client, reverse("activities:submit", args=[activity.pk])))
    client.force_login(world["users"]["village"])
    assert_already_done(*twice(client, reverse("activities:confirm", args=[activity.pk])))
    activity.refresh_from_db()
    assert activity.status == Activity.Status.CONFIRMED


def test_need_claim(client, world):
    need = f.NeedFactory(pairing=world["pairing"])
    client.force_login(world["users"]["secretary"])
    url = reverse("activities:need_claim", args=[need.pk])
    assert_already_done(*twice(client, url, {"branch": world["branch"].pk}))
    need.refresh_from_db()
    assert need.status == Need.Status.CLAIMED and need.claimed_by_branch_id == world["branch"].pk


def test_need_fulfil(client, world):
    need = f.NeedFactory(pairing=world["pairing"])
    client.force_login(world["users"]["secretary"])
    client.post(reverse("activities:need_claim", args=[need.pk]), {"branch": world["branch"].pk})
    activity = f.ActivityFactory(pairing=world["pairing"], branch=world["branch"])
    client.post(reverse("activities:submit", args=[activity.pk]))
    url = reverse("activities:need_fulfil", args=[need.pk])
    assert_already_done(*twice(client, url, {"activity": activity.pk}))
    need.refresh_from_db()
    assert need.status == Need.Status.FULFILLED


def test_plan_agree(client, world):
    plan = f.JointPlanFactory(pairing=world["pairing"])
    f.PlanItemFactory(plan=plan)
    client.force_login(world["users"]["village"])
    assert_already_done(*twice(client, reverse("pairings:plan_agree", args=[plan.pk]), {"confirm": "on"}))
    plan.refresh_from_db()
    assert plan.village_agreed_on


def test_action_item_close(client, world):
    item = f.ActionItemFactory(meeting=f.MeetingFactory(pairing=world["pairing"]), owner_org=world["branch"])
    client.force_login(world["users"]["secretary"])
    assert_already_done(*twice(client, reverse("activities:action_item_close", args=[item.pk]), {"status": "done", "note": "已办结"}))
    item.refresh_from_db()
    assert item.status != ActionItem.Status.OPEN


def test_invitation_accept(client, world):
    invitee = f.UserFactory(username="u12345678", email="new@example.org")
    invitation, token = portal_services._invitation_issue(user=invitee, actor=world["users"]["admin"])
    url = reverse("setup:invite_accept", args=[token])
    data = {"username": "longshi2", "password1": "a-long-pass-phrase-1", "password2": "a-long-pass-phrase-1"}
    assert_already_done(*twice(client, url, data))
