"""A past period's report counts what stood at the end of its as-at day: the activities' statuses then (from
their history), hours verified by then, the plan items' statuses then, overdue judged against that day. Built
again today it equals the report built at the time, but for the statuses changed since."""

import datetime
from decimal import Decimal

import pytest
import time_machine

from activities import services
from activities.models import ServiceRecord
from figures import rollups
from pairings.models import Metric, PlanItem
from reports import exports
from reports.builders import build_report_data
from reports.periods import TZ
from tests import factories as f

pytestmark = pytest.mark.django_db


def at(text):
    return datetime.datetime.fromisoformat(text).replace(tzinfo=TZ)


def when(text):
    return time_machine.travel(at(text), tick=False)


@pytest.fixture
def timeline(world):
    """Activities of March 2024 in the pairing, entered and moved through the portal at their own times:

    - ``on_time``: drafted 6 March, submitted 6 March, confirmed by the village on 3 April (after Q1);
    - ``late``: drafted 5 March, submitted only on 2 April (after Q1);
    - ``returned``: submitted 12 March, returned by the village on 5 April;
    - ``confirmed``: submitted and confirmed in March.

    A plan item (in progress, due 20 March) marked done on 10 April, with a target of 10 repairs: on_time
    carries 4, late 6. Hours on on_time: 2 h verified 20 March, 3 h verified 5 April."""
    pairing, branch = world["pairing"], world["branch"]
    secretary, village = world["users"]["secretary"], world["users"]["village"]
    repairs = f.MetricFactory(program=world["program"], code="repairs", name="维修家电", unit=Metric.Unit.ITEMS)
    with when("2024-01-05 09:00"):
        plan = f.JointPlanFactory(pairing=pairing, year=2024)
        item = f.PlanItemFactory(plan=plan, title="小电匠家电维修", owner_branch=branch, status=PlanItem.Status.IN_PROGRESS,
                                 due_date=datetime.date(2024, 3, 20))
        f.PlanTargetFactory(item=item, metric=repairs, value=Decimal("10"))

    def draft(day, title):
        activity = f.ActivityFactory(pairing=pairing, branch=branch, date=datetime.date.fromisoformat(day), title=title, plan_item=item)
        return activity

    with when("2024-03-05 10:00"):
        late = draft("2024-03-04", "迟交的活动")
        f.ActivityMetricValueFactory(activity=late, metric=repairs, value=Decimal("6"))
    with when("2024-03-06 10:00"):
        on_time = draft("2024-03-06", "按时提交的活动")
        f.ActivityMetricValueFactory(activity=on_time, metric=repairs, value=Decimal("4"))
        services.activity_submit(activity=on_time, actor=secretary)
    with when("2024-03-12 10:00"):
        returned = draft("2024-03-12", "后来被退回的活动")
        services.activity_submit(activity=returned, actor=secretary)
    with when("2024-03-15 10:00"):
        confirmed = draft("2024-03-15", "三月已验单")
        services.activity_submit(activity=confirmed, actor=secretary)
        services.activity_confirm(activity=confirmed, actor=village)
    with when("2024-03-20 10:00"):
        f.ServiceRecordFactory(activity=on_time, hours=Decimal("2"), status=ServiceRecord.Status.VERIFIED, verified_at=at("2024-03-20 10:00"))
        f.ServiceRecordFactory(activity=on_time, hours=Decimal("3"))
        rollups.rollups_rebuild()  # the test's transaction never commits: the rollup as the portal keeps it
        built_then = {
            kind: build_report_data(kind, period, world["program"], pairing, now=at("2024-03-31 23:30"))
            for kind, period in (("monthly", "2024-03"), ("quarterly", "2024Q1"))
        }
    with when("2024-04-02 10:00"):
        services.activity_submit(activity=late, actor=secretary)
    with when("2024-04-03 10:00"):
        services.activity_confirm(activity=on_time, actor=village)
    with when("2024-04-05 10:00"):
        services.activity_return(activity=returned, actor=village, comment="照片不清楚")
        ServiceRecord.objects.filter(activity=on_time, status=ServiceRecord.Status.RECORDED).update(
            status=ServiceRecord.Status.VERIFIED, verified_at=at("2024-04-05 10:00")
        )
    with when("2024-04-10 10:00"):
        item.status = PlanItem.Status.DONE
        item.save()
    rollups.rollups_rebuild()
    return {
        "on_time": on_time, "late": late, "returned": returned, "confirmed": confirmed, "item": item,
        "built_then": built_then, "pairing": pairing, "program": world["program"],
    }


def statuses(data):
    return {item["id"]: item["status"] for item in data["activities"]["items"]}


def test_a_past_quarter_counts_the_statuses_it_ended_with(timeline):
    data = build_report_data("quarterly", "2024Q1", timeline["program"], timeline["pairing"])
    t = timeline
    assert data["as_at"] == "2024-03-31"
    # submitted after the quarter: not counted; confirmed after it: submitted; returned after it: submitted then
    assert statuses(data) == {t["on_time"].pk: "submitted", t["returned"].pk: "submitted", t["confirmed"].pk: "confirmed"}
    assert (data["activities"]["total"], data["activities"]["confirmed"], data["activities"]["submitted"]) == (3, 1, 2)
    march = next(row for row in data["activities"]["by_month"] if row["month"] == "2024-03")
    assert (march["total"], march["confirmed"]) == (3, 1)
    # hours verified after the quarter were still waiting then
    assert (data["volunteers"]["verified_hours"], data["volunteers"]["pending_hours"]) == (2, 3)
    # the item was done only in April: in progress at the quarter's end, and overdue (due 20 March)
    assert data["plan"]["status_counts"]["in_progress"] == 1 and data["plan"]["done"] == 0
    assert [row["id"] for row in data["plan"]["overdue"]] == [t["item"].pk]
    assert [row["progress"] for row in data["plan"]["items"]] == [40]  # 4 of 10: the late 6 did not count yet
    repairs = data["metrics"][0]
    assert (repairs["period_value"], repairs["ytd_value"]) == (4, 4)


def test_a_monthly_reminder_shows_its_items_progress_as_at_its_day(timeline):
    """A monthly reminder lists no year's plan, only the items due next month or overdue; theirs is the progress
    worked out from their targets as at its day, as in the quarterly report (4 of 10 repairs counted by the end of
    March), in the pairing's reminder and in the program's."""
    for pairing in (timeline["pairing"], None):
        data = build_report_data("monthly", "2024-03", timeline["program"], pairing)
        assert data["plan"]["items"] == []
        assert [(row["id"], row["progress"]) for row in data["plan"]["overdue"]] == [(timeline["item"].pk, 40)]


def test_rebuilt_today_it_equals_the_report_built_at_the_time(timeline):
    """What the report said at the end of the period, built then from the statuses of then (and the rollup),
    is what the history-read report says today."""
    for (kind, period), then in zip((("monthly", "2024-03"), ("quarterly", "2024Q1")), timeline["built_then"].values()):
        now = build_report_data(kind, period, timeline["program"], timeline["pairing"])
        for data in (now, then):
            data.pop("built_at")
            data.pop("links", None)
        assert now == then


def test_the_next_quarter_sees_what_changed(timeline):
    data = build_report_data("quarterly", "2024Q2", timeline["program"], timeline["pairing"])
    t = timeline
    assert data["plan"]["done"] == 1 and data["plan"]["overdue"] == []
    march = next(row for row in data["activities"]["by_month"] if row["month"] == "2024-03")
    # by the end of June: on_time and confirmed confirmed, late submitted, returned not counted
    assert (march["total"], march["confirmed"]) == (3, 2)
    assert [row["progress"] for row in data["plan"]["items"]] == [100]
    assert t["item"].pk in [row["id"] for row in data["plan"]["items"]]


def test_overdue_is_judged_against_the_as_at_day(world):
    """A report built during its period stands at the build day: an item due later in the period is not
    overdue yet."""
    plan = f.JointPlanFactory(pairing=world["pairing"], year=2024)
    due_before = f.PlanItemFactory(plan=plan, status=PlanItem.Status.PLANNED, due_date=datetime.date(2024, 3, 10))
    f.PlanItemFactory(plan=plan, status=PlanItem.Status.PLANNED, due_date=datetime.date(2024, 3, 20))
    data = build_report_data("monthly", "2024-03", world["program"], world["pairing"], now=at("2024-03-15 12:00"))
    assert data["as_at"] == "2024-03-15"
    assert [row["id"] for row in data["plan"]["overdue"]] == [due_before.pk]


def test_a_past_year_s_export_lists_what_its_summary_counted(timeline, tmp_path):
    """The annual export's ledger stands where its summary does: the activities as they stood at the year's end
    (built in 2024 after the changes of April: all four, on_time confirmed, returned not counted)."""
    with when("2025-01-02 09:00"):
        paths, rows = exports.write_export(timeline["program"], 2024, tmp_path, formats=("csv",))
        summary = build_report_data("annual", "2024", timeline["program"], itemized=False)
    assert rows == summary["activities"]["total"] == 3
    ledger = paths["csv"].read_text(encoding="utf-8-sig")
    assert "后来被退回的活动" not in ledger and "迟交的活动" in ledger
    as_at_march = exports.ledger_query(timeline["program"], datetime.date(2024, 1, 1), datetime.date(2024, 12, 31), datetime.date(2024, 3, 31))
    assert sorted(row[2] for row in as_at_march) == sorted(["按时提交的活动", "后来被退回的活动", "三月已验单"])
    assert {row[2]: row[6] for row in as_at_march}["按时提交的活动"] == "submitted"


@pytest.mark.parametrize("wide", [False, True], ids=["pairing", "program"])
def test_the_service_summary_as_at_a_day_reads_what_the_three_queries_read(timeline, world, wide):
    """A past period's hours and volunteers come from one grouped pass (selectors.service_summary with ``as_at``):
    the same rows and counts as service_rows and volunteer_counts as at that day (statuses of then, hours verified
    by then), for pairings and a program's program-wide activities; a volunteer of two pairings counts once overall."""
    from reports import selectors

    other = f.PairingFactory(program=world["program"])
    volunteer = f.VolunteerFactory(organization=world["branch"])
    with when("2024-03-21 10:00"):
        elsewhere = f.ActivityFactory(pairing=other, branch=world["branch"], date=datetime.date(2024, 3, 21),
                                      status="confirmed", submitted_at=at("2024-03-21 10:00"), confirmed_at=at("2024-03-21 11:00"))
        f.ServiceRecordFactory(activity=elsewhere, volunteer=volunteer, hours=Decimal("1.5"),
                               status=ServiceRecord.Status.VERIFIED, verified_at=at("2024-03-21 12:00"))
        f.ServiceRecordFactory(activity=timeline["confirmed"], volunteer=volunteer, hours=Decimal("2.5"),
                               status=ServiceRecord.Status.VERIFIED, verified_at=at("2024-03-21 12:00"))
        program_wide = f.ActivityFactory(pairing=None, program=world["program"], branch=world["branch"],
                                         date=datetime.date(2024, 3, 22), status="submitted", submitted_at=at("2024-03-22 10:00"))
        f.ServiceRecordFactory(activity=program_wide, hours=Decimal("4"), status=ServiceRecord.Status.RECORDED)
    ids = [timeline["pairing"].pk, other.pk]
    scope = {"wide": world["program"].pk if wide else None}
    start, end = datetime.date(2024, 1, 1), datetime.date(2024, 12, 31)
    for as_at in (datetime.date(2024, 3, 31), datetime.date(2024, 4, 30), None):
        rows, per_pairing, overall = selectors.service_summary(ids, start, end, as_at=as_at, **scope)
        expected = selectors.service_rows(ids, start, end, as_at, **scope)
        assert (in_order(rows), per_pairing, overall) == (
            in_order(expected), *selectors.volunteer_counts(ids, start, end, as_at, **scope)
        )
        assert rows and overall


def in_order(rows):
    """Service rows in one order (the databases place the program-wide rows, pairing None, apart)."""
    return sorted(rows, key=lambda row: (row["activity__pairing_id"] or 0, row["activity__branch_id"], row["status"]))


def test_hours_verified_in_the_small_hours_of_the_next_day_were_still_waiting(world):
    """The as-at day ends at midnight local time (UTC+8): a record verified at 01:00 the next morning was not
    verified yet, on SQLite (which compares its stored UTC text) as on PostgreSQL."""
    from reports import selectors

    with when("2024-03-30 10:00"):
        activity = f.ActivityFactory(pairing=world["pairing"], branch=world["branch"], date=datetime.date(2024, 3, 30),
                                     status="confirmed", submitted_at=at("2024-03-30 10:00"), confirmed_at=at("2024-03-30 11:00"))
    f.ServiceRecordFactory(activity=activity, hours=Decimal("3"), status=ServiceRecord.Status.VERIFIED,
                           verified_at=at("2024-04-01 01:00"))
    f.ServiceRecordFactory(activity=activity, hours=Decimal("2"), status=ServiceRecord.Status.VERIFIED,
                           verified_at=at("2024-03-31 23:00"))
    ids, start, end = [world["pairing"].pk], datetime.date(2024, 1, 1), datetime.date(2024, 12, 31)
    rows, _, _ = selectors.service_summary(ids, start, end, as_at=datetime.date(2024, 3, 31))
    assert {row["status"]: row["hours"] for row in rows} == {"verified": Decimal("2"), "recorded": Decimal("3")}
    rows, _, _ = selectors.service_summary(ids, start, end, as_at=datetime.date(2024, 4, 1))
    assert {row["status"]: row["hours"] for row in rows} == {"verified": Decimal("5")}
