"""Time in the figures: a plan belongs to its year, and a past period's report counts plan progress as it stood
at the period's end. The plan page, the figures selector, the reports (every format) and an independent raw-SQL
computation agree."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from figures import selectors as figures
from pairings.models import Metric, PlanItem
from reports.builders import build_report_data
from reports.models import Report
from reports.renderers.base import document
from reports.renderers.csv import render_csv
from tests import factories as f
from tests.figures.test_selectors import sql_progress
from tests.pairings.helpers import activity, plan_items_with_progress

pytestmark = pytest.mark.django_db
UTC = datetime.timezone.utc


@pytest.fixture
def plan(world):
    """A 2024 plan: one item held against two targets (a sum and a snapshot), one set by hand. Activities linked
    to the item in February and May 2024, a draft in March (never counts) and one dated 2026 (linked before the
    form refused it: it never counts toward a 2024 item)."""
    pairing, branch = world["pairing"], world["branch"]
    repairs = f.MetricFactory(program=world["program"], code="repairs", name="维修家电", unit=Metric.Unit.ITEMS)
    income = f.MetricFactory(program=world["program"], code="income", name="人均纯收入", unit=Metric.Unit.YUAN,
                             aggregation=Metric.Aggregation.SNAPSHOT)
    plan = f.JointPlanFactory(pairing=pairing, year=2024)
    item = f.PlanItemFactory(plan=plan, title="小电匠家电维修", owner_branch=branch, status=PlanItem.Status.IN_PROGRESS,
                             due_date=datetime.date(2024, 12, 31))
    f.PlanTargetFactory(item=item, metric=repairs, value=Decimal("100"))
    f.PlanTargetFactory(item=item, metric=income, value=Decimal("20000"))
    by_hand = f.PlanItemFactory(plan=plan, title="联席会议", owner_branch=branch, progress=40,
                                due_date=datetime.date(2024, 12, 31))
    for day, status, fixed, latest in [
        (datetime.date(2024, 2, 10), "confirmed", "10", "15000"),
        (datetime.date(2024, 3, 1), "draft", "50", "19000"),
        (datetime.date(2024, 5, 10), "submitted", "30", "17000"),
        (datetime.date(2026, 1, 10), "confirmed", "100", "30000"),
    ]:
        act = activity(pairing, branch, status=status, date=day, plan_item=item)
        f.ActivityMetricValueFactory(activity=act, metric=repairs, value=Decimal(fixed))
        f.ActivityMetricValueFactory(activity=act, metric=income, value=Decimal(latest))
    return {"plan": plan, "item": item, "by_hand": by_hand, "repairs": repairs, "income": income}


def progress_of(data):
    return {row["id"]: row["progress"] for row in data["plan"]["items"]}


def test_an_activity_of_another_year_never_counts_toward_the_plan(plan):
    items = plan_items_with_progress(plan["plan"], today=datetime.date(2026, 12, 5))
    item = next(i for i in items if i.pk == plan["item"].pk)
    achieved = {t.metric_id: t.achieved for t in item.target_list}
    # 10 + 30 repairs (not the draft's 50, not 2026's 100); the latest income of 2024 (not 2026's 30000)
    assert achieved == {plan["repairs"].pk: Decimal("40"), plan["income"].pk: Decimal("17000")}
    assert item.derived_progress == 62  # (40 % + 85 %) / 2
    assert {i.pk: i.derived_progress for i in items} == sql_progress(plan["plan"].pk)
    assert figures.item_progress([plan["item"].pk, plan["by_hand"].pk]) == {plan["item"].pk: 62}


def test_as_at_a_day_counts_only_the_activities_dated_up_to_it(plan):
    as_at = datetime.date(2024, 3, 31)
    items = figures.plan_progress(plan_items_with_progress(plan["plan"], today=as_at), as_at=as_at)
    assert {i.pk: i.derived_progress for i in items} == sql_progress(plan["plan"].pk, as_at) == {
        plan["item"].pk: 42,  # (10 % + 75 %) / 2: February only
        plan["by_hand"].pk: 40,
    }


def test_a_back_dated_report_counts_plan_progress_as_at_the_period_s_end(world, plan):
    now = datetime.datetime(2026, 12, 5, 9, tzinfo=UTC)
    data = build_report_data("quarterly", "2024Q1", world["program"], world["pairing"], now=now)
    assert data["as_at"] == "2024-03-31"
    assert progress_of(data) == sql_progress(plan["plan"].pk, datetime.date(2024, 3, 31))
    assert progress_of(data)[plan["item"].pk] == 42
    program_wide = build_report_data("quarterly", "2024Q1", world["program"], now=now)
    assert progress_of(program_wide)[plan["item"].pk] == 42


def test_a_report_built_during_its_period_stands_at_the_build_day(world, plan):
    data = build_report_data("quarterly", "2024Q1", world["program"], world["pairing"],
                             now=datetime.datetime(2024, 2, 15, 3, tzinfo=UTC))
    assert data["as_at"] == "2024-02-15"
    assert progress_of(data)[plan["item"].pk] == 42
    # the day is Shanghai's: 2024-03-31 20:00 UTC is already April 1st there, after the period's end
    late = build_report_data("monthly", "2024-03", world["program"], world["pairing"],
                             now=datetime.datetime(2024, 3, 31, 20, tzinfo=UTC))
    assert late["as_at"] == "2024-03-31"


def test_every_report_states_its_as_at_day(world, plan):
    data = build_report_data("quarterly", "2024Q1", world["program"], world["pairing"],
                             now=datetime.datetime(2026, 12, 5, 9, tzinfo=UTC))
    report = Report.objects.create(kind="quarterly", period="2024Q1", program=world["program"],
                                   pairing=world["pairing"], data=data)
    meta = dict(document(report).meta)
    assert meta["数据截至"] == "2024-03-31"
    assert meta["生成时间"] == "2026-12-05 17:00"  # Asia/Shanghai
    rows = list(csv.reader(io.StringIO(render_csv(report).decode("utf-8-sig"))))
    assert ["数据截至", "2024-03-31"] in [row[:2] for row in rows]
    # a report stored before the day was recorded states its build day
    del data["as_at"]
    report.data = data
    assert dict(document(report).meta)["数据截至"] == "2026-12-05"


def test_the_plan_page_and_the_year_s_report_agree(client, world, plan):
    client.force_login(world["users"]["admin"])
    response = client.get(reverse("pairings:plan_detail", args=[plan["plan"].pk]))
    assert response.status_code == 200
    page = {item.pk: item.derived_progress for item in response.context["items"]}
    annual = build_report_data("annual", "2024", world["program"], world["pairing"],
                               now=datetime.datetime(2026, 12, 5, 9, tzinfo=UTC))
    assert annual["as_at"] == "2024-12-31"
    assert progress_of(annual) == page == sql_progress(plan["plan"].pk)
    assert page[plan["item"].pk] == 62
    assert "62%" in response.content.decode()


def test_a_year_without_a_plan_does_not_count_earlier_plans_overdue_items_as_its_own(world, plan):
    """2026Q4: no plan for 2026; the 2024 plan's open items past due are said apart, not as the year's."""
    data = build_report_data("quarterly", "2026Q4", world["program"], world["pairing"],
                             now=datetime.datetime(2026, 12, 5, 9, tzinfo=UTC))
    assert data["as_at"] == "2026-12-05"
    assert data["plan"]["total"] == 0 and len(data["plan"]["overdue"]) == 2
    report = Report(kind="quarterly", period="2026Q4", program=world["program"], pairing=world["pairing"], data=data)
    section = next(s for s in document(report).sections if s.key == "plan")
    assert section.paragraphs == [
        "年度计划共0项:已完成0项、推进中0项、未开始0项、已取消0项;逾期未完成0项。",
        "另有往年计划逾期未完成2项。",
    ]
