"""Query budget: each page runs the same number of queries for 1 row as for 30 (pinned here)."""

import datetime
import re
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from activities.models import ActionItem, Meeting
from tests import factories as f
from tests.pairings.helpers import activity

pytestmark = pytest.mark.django_db

# The pinned counts (the same for 1 and 30 rows). They include the session read with its user (1), and the
# user's scope: their memberships with the subtrees below them, one query whatever the depth; and the header's
# count of unread notifications (one query on every page).
BUDGET = {
    # each page: the session with its user and the header's unread notifications (one query), the scope (the first page
    # under a set-up token; kept in the process after it)
    # admin (the year's activity counts: one query of the figures app's row panel); the school and village filters
    # are pickers (portal/widgets.py): no query for a list of either side
    "pairing_list": 6,
    # committee (the open needs and their number: one query; the village's statistics: one; the joint meetings with
    # the pairing's open and overdue decisions: one; who edits the agreement and the plans: from the scope, none)
    "pairing_detail": 12,
    # the same page again: its liaisons, plans, branches and village statistics come from the cache (the set-up's
    # version: selectors.pairing_parts), and so do its figures, its recent activities, open needs and meetings (the
    # activities app's panels version), and the scope, and the pairing as the user reads it (the set-up's version,
    # per user): the session with its user and unread notifications
    "pairing_detail_cached": 1,
    "plan_detail": 6,  # village (the targets' progress: one query of the figures app's row panel)
    "plan_item_edit": 7,  # committee
    "plan_agree": 5,  # village
}


def queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


def fill_pairing(world, n):
    """n of everything the pairing page and the plan page show."""
    pairing, program, branch = world["pairing"], world["program"], world["branch"]
    metrics = [
        f.MetricFactory(program=program, aggregation="snapshot", unit="元") if i % 3 == 0 else f.MetricFactory(program=program)
        for i in range(n)
    ]
    plan = f.JointPlanFactory(pairing=pairing, year=2024)
    for year in range(2030, 2030 + n - 1):
        f.JointPlanFactory(pairing=pairing, year=year)
    items = []
    for i in range(n):
        item = f.PlanItemFactory(plan=plan, owner_branch=branch, due_date=datetime.date(2024, 1, 1))
        f.PlanTargetFactory(item=item, metric=metrics[i], value=Decimal(10))
        items.append(item)
    for i in range(n):
        act = activity(pairing, branch, plan_item=items[i], residents_served=i)
        act.co_branches.add(world["other_branch"])
        f.ActivityMetricValueFactory(activity=act, metric=metrics[i], value=Decimal(3))
        f.ServiceRecordFactory(activity=act, status="verified", verified_at=timezone.now())
        f.LiaisonFactory(pairing=pairing, side="supporter" if i % 2 else "supported")
        f.NeedFactory(pairing=pairing)
        f.PairingBranchFactory(pairing=pairing)
        indicator = f.VillageIndicatorFactory(code=f"indicator-{i % 5}")
        f.VillageStatisticFactory(village=pairing.supported, indicator=indicator, as_at=datetime.date(2020 + i // 5, 12, 31))
        meeting = Meeting.objects.create(program=program, pairing=pairing, title=f"联席会议{i}", date=datetime.date(2024, 1, 1 + i % 28))
        ActionItem.objects.create(meeting=meeting, text="决定事项", owner_org=branch, due_date=datetime.date(2024, 2, 1))
    return plan, items


def fill_list(world, n):
    for _ in range(n):
        pairing = f.PairingFactory(program=world["program"])
        activity(pairing, f.OrganizationFactory(kind="branch"))


def test_pairing_list(client, world):
    client.force_login(world["users"]["admin"])
    url = reverse("pairings:pairing_list")
    filtered = url + "?program=%d&year=2024&status=active" % world["program"].pk
    fill_list(world, 1)
    one = queries(client, url), queries(client, filtered)
    fill_list(world, 29)
    thirty = queries(client, url), queries(client, filtered)
    # the filtered list: + the chosen program, - the scope (kept since the first; the 29 pairings are a new set-up)
    assert one == thirty == (BUDGET["pairing_list"], BUDGET["pairing_list"] + 1 - 1)


@pytest.mark.parametrize("size", [1, 30])
def test_pairing_detail(client, world, size):
    fill_pairing(world, size)
    client.force_login(world["users"]["committee"])
    url = reverse("pairings:pairing_detail", args=[world["pairing"].pk]) + "?year=2024"
    assert (queries(client, url), queries(client, url)) == (BUDGET["pairing_detail"], BUDGET["pairing_detail_cached"])


@pytest.mark.parametrize("size", [1, 30])
def test_plan_detail(client, world, size):
    plan, _ = fill_pairing(world, size)
    client.force_login(world["users"]["village"])
    assert queries(client, reverse("pairings:plan_detail", args=[plan.pk])) == BUDGET["plan_detail"]


@pytest.mark.parametrize("size", [1, 20])
def test_plan_item_edit_form(client, world, size):
    plan, items = fill_pairing(world, size)
    item = items[0]
    for metric in world["program"].metrics.exclude(targets__item=item)[: size - 1]:
        f.PlanTargetFactory(item=item, metric=metric, value=Decimal(5))
    assert item.targets.count() == size
    client.force_login(world["users"]["committee"])
    assert queries(client, reverse("pairings:plan_item_edit", args=[item.pk])) == BUDGET["plan_item_edit"]


@pytest.mark.parametrize("size", [1, 30])
def test_plan_agree_page(client, world, size):
    plan, _ = fill_pairing(world, size)
    client.force_login(world["users"]["village"])
    assert queries(client, reverse("pairings:plan_agree", args=[plan.pk])) == BUDGET["plan_agree"]


@pytest.mark.parametrize("today, last", [(datetime.date(2024, 3, 5), 2024), (datetime.date(2024, 12, 5), 2025)])
def test_pairing_page_offers_next_year_only_once_its_plan_is_drafted(client, world, today, last):
    client.force_login(world["users"]["admin"])
    with time_machine.travel(datetime.datetime.combine(today, datetime.time(12)), tick=False):
        response = client.get(reverse("pairings:pairing_detail", args=[world["pairing"].pk]))
    years = [int(y) for y in re.findall(r'<option value="(\d{4})"', response.content.decode())]
    assert max(years) == last
