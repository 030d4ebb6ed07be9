"""A plan item's progress, now and as at a day, from one grouped pass over its items' activities
(figures.item_progress, what the reports read) equals the per-target rule of the plan page
(figures.achieved_by_target), whatever the mix: sum and snapshot targets, several targets per item, activities of
another year, deleted, drafts, submitted or confirmed later, returned later, ties on the date, targets nothing
counts toward, items without targets."""

import datetime
from collections import defaultdict
from decimal import Decimal

import pytest
import time_machine

from activities.models import Activity
from figures import selectors as figures
from pairings.models import Metric, PlanTarget
from reports.periods import TZ
from tests import factories as f

pytestmark = pytest.mark.django_db


def at(text):
    return datetime.datetime.fromisoformat(text).replace(tzinfo=TZ)


def day(text):
    return datetime.date.fromisoformat(text)


def by_target(item_ids, as_at=None):
    """item_progress as the plan page's rule computes it: achieved_by_target, target by target."""
    ratios = defaultdict(list)
    for item_id, value, _aggregation, achieved in figures.achieved_by_target(
        PlanTarget.objects.filter(item_id__in=item_ids), as_at=as_at, item_ids=item_ids
    ).values():
        ratios[item_id].append(figures.attainment(achieved, value))
    return {item_id: int(sum(r) * 100 / len(r)) for item_id, r in ratios.items()}


@pytest.fixture
def plan(world):
    program, pairing, branch = world["program"], world["pairing"], world["branch"]
    repairs = f.MetricFactory(program=program, code="repairs", name="维修家电")
    income = f.MetricFactory(program=program, code="income", name="人均纯收入", unit=Metric.Unit.YUAN,
                             aggregation=Metric.Aggregation.SNAPSHOT)
    people = f.MetricFactory(program=program, code="people", name="服务群众")
    plan_2024 = f.JointPlanFactory(pairing=pairing, year=2024)
    items = {
        "both": f.PlanItemFactory(plan=plan_2024),
        "snapshot": f.PlanItemFactory(plan=plan_2024),
        "nothing_counts": f.PlanItemFactory(plan=plan_2024),
        "by_hand": f.PlanItemFactory(plan=plan_2024, progress=30),
        "last_year": f.PlanItemFactory(plan=f.JointPlanFactory(pairing=pairing, year=2023)),
    }
    f.PlanTargetFactory(item=items["both"], metric=repairs, value=Decimal("40"))
    f.PlanTargetFactory(item=items["both"], metric=income, value=Decimal("16000"))
    f.PlanTargetFactory(item=items["snapshot"], metric=income, value=Decimal("20000"))
    f.PlanTargetFactory(item=items["snapshot"], metric=people, value=Decimal("7"))
    f.PlanTargetFactory(item=items["nothing_counts"], metric=repairs, value=Decimal("5"))
    f.PlanTargetFactory(item=items["last_year"], metric=repairs, value=Decimal("10"))

    def entered(item, date, moment, status="confirmed", values=()):
        with time_machine.travel(at(moment), tick=False):
            made = f.ActivityFactory(
                pairing=pairing, branch=branch, date=day(date), plan_item=item, status=status,
                submitted_at=at(moment) if status in ("submitted", "confirmed") else None,
                confirmed_at=at(moment) if status == "confirmed" else None,
            )
            for metric, value in values:
                f.ActivityMetricValueFactory(activity=made, metric=metric, value=Decimal(value))
        return made

    entered(items["both"], "2024-01-10", "2024-01-10 20:00", values=[(repairs, "5"), (income, "15000")])
    entered(items["both"], "2024-03-02", "2024-03-02 20:00", "submitted", values=[(repairs, "7"), (income, "15200")])
    tie_a = entered(items["both"], "2024-03-02", "2024-03-03 20:00", values=[(income, "15100")])  # same day, later id
    entered(items["both"], "2023-12-30", "2023-12-30 20:00", values=[(repairs, "100")])  # not the plan's year
    entered(items["both"], "2024-02-01", "2024-02-01 20:00", "draft", values=[(repairs, "50")])
    later = entered(items["both"], "2024-03-20", "2024-03-20 20:00", "draft", values=[(repairs, "9"), (income, "99999")])
    returned = entered(items["snapshot"], "2024-02-14", "2024-02-14 20:00", values=[(income, "18000"), (people, "3")])
    entered(items["snapshot"], "2024-04-05", "2024-04-05 20:00", values=[(income, "19000"), (people, "4")])
    gone = entered(items["snapshot"], "2024-03-01", "2024-03-01 20:00", values=[(people, "2")])
    entered(items["last_year"], "2023-06-01", "2023-06-01 20:00", values=[(repairs, "4")])
    entered(items["last_year"], "2024-01-05", "2024-01-05 20:00", values=[(repairs, "6")])  # after its plan's year

    with time_machine.travel(at("2024-04-10 10:00"), tick=False):  # after the as-at days below, through save()
        later.status, later.submitted_at = Activity.Status.SUBMITTED, at("2024-04-10 10:00")
        later.save()
        returned.status = Activity.Status.RETURNED
        returned.save()
        gone.deleted_at = at("2024-04-10 10:00")
        gone.save()
        tie_a.save()  # saved since, unchanged: its status then is read from its history
    return items


@pytest.mark.parametrize("as_at", [None, "2024-01-31", "2024-03-02", "2024-03-31", "2024-04-30", "2024-12-31"])
def test_the_grouped_progress_equals_the_per_target_rule(plan, as_at):
    ids = [item.pk for item in plan.values()]
    as_at = day(as_at) if as_at else None
    grouped = figures.item_progress(ids, as_at=as_at)
    assert grouped == by_target(ids, as_at)
    assert plan["by_hand"].pk not in grouped  # no targets: its progress is the one set by hand
    assert grouped[plan["nothing_counts"].pk] == 0


def test_the_progress_is_pinned(plan):
    """The figures themselves, so that both rules cannot drift together."""
    ids = [item.pk for item in plan.values()]
    progress = lambda on: {name: figures.item_progress(ids, as_at=day(on) if on else None).get(item.pk)  # noqa: E731
                           for name, item in plan.items()}
    # 2024-03-31: repairs 5 + 7 = 12 of 40 (30 %), income latest 15,100 of 16,000 (94.375 %): (0.3 + 0.94375) / 2
    # snapshot: income 18,000 of 20,000 (90 %) and people 3 of 7 (the deleted activity's 2 never count, as at any
    # day: deletions are not undone): (0.9 + 0.428…) / 2
    assert progress("2024-03-31") == {"both": 62, "snapshot": 66, "nothing_counts": 0, "by_hand": None, "last_year": 40}
    # now: repairs 5 + 7 + 9 = 21 (52.5 %), income 99,999 (capped at 100 %); snapshot: the returned and the deleted
    # activities no longer count: income 19,000 (95 %), people 4 (57.1…%)
    assert progress(None) == {"both": 76, "snapshot": 76, "nothing_counts": 0, "by_hand": None, "last_year": 40}


def test_two_queries_whatever_the_number_of_items(plan, django_assert_num_queries):
    with django_assert_num_queries(2):
        figures.item_progress([item.pk for item in plan.values()], as_at=day("2024-03-31"))
    with django_assert_num_queries(0):
        figures.item_progress([])
