"""What stood at the end of a day: an activity's status then (from its history, else its timestamps), hours
verified by then, and a plan item's status then. The rule behind every past period's report."""

import datetime
from decimal import Decimal

import pytest
import time_machine

from activities.models import Activity, ServiceRecord
from figures import selectors as figures
from pairings.models import PlanItem
from pairings.selectors import end_of_day, item_status_on
from reports.periods import TZ
from tests import factories as f

pytestmark = pytest.mark.django_db


def at(text):
    return datetime.datetime.fromisoformat(text).replace(tzinfo=TZ)


def day(text):
    return datetime.date.fromisoformat(text)


def status_then(activity, on):
    return Activity.objects.filter(pk=activity.pk).annotate(then=figures.status_then(day(on))).get().then


def counted_then(activities, on):
    return set(figures.counted_then(Activity.objects.filter(pk__in=[a.pk for a in activities]), day(on)).values_list("pk", flat=True))


def save_at(moment, obj, **fields):
    with time_machine.travel(at(moment), tick=False):
        for name, value in fields.items():
            setattr(obj, name, value)
        obj.save()


def test_a_day_ends_at_midnight_in_shanghai():
    assert end_of_day(day("2024-03-31")) == at("2024-04-01 00:00")
    assert end_of_day(day("2024-03-31")).astimezone(datetime.timezone.utc) == datetime.datetime(
        2024, 3, 31, 16, tzinfo=datetime.timezone.utc
    )


def test_the_status_of_then_comes_from_the_history(world):
    """Drafted on 1 March, submitted on the 5th, confirmed on the 7th, corrected back to submitted in May."""
    with time_machine.travel(at("2024-03-01 09:00"), tick=False):
        activity = f.ActivityFactory(pairing=world["pairing"], branch=world["branch"], date=day("2024-03-01"))
    save_at("2024-03-05 10:00", activity, status="submitted", submitted_at=at("2024-03-05 10:00"))
    save_at("2024-03-07 23:59", activity, status="confirmed", confirmed_at=at("2024-03-07 23:59"))
    assert [status_then(activity, d) for d in ("2024-02-28", "2024-03-04", "2024-03-06", "2024-03-07", "2024-04-30")] == [
        "draft", "draft", "submitted", "confirmed", "confirmed",
    ]
    save_at("2024-05-02 10:00", activity, status="submitted", confirmed_at=None, submitted_at=at("2024-05-02 10:00"))
    assert [status_then(activity, d) for d in ("2024-03-06", "2024-04-30", "2024-05-02")] == ["submitted", "confirmed", "submitted"]
    assert counted_then([activity], "2024-03-04") == set()
    assert counted_then([activity], "2024-03-31") == {activity.pk}


def test_an_activity_entered_later_is_read_by_its_timestamps(world):
    """Entered (today) with the timestamps of 2024, as an import or a test's factory does: its first history
    row is after the day, so that row's timestamps tell what it was then."""
    confirmed = f.ActivityFactory(
        pairing=world["pairing"], branch=world["branch"], status="confirmed",
        submitted_at=at("2024-03-05 20:00"), confirmed_at=at("2024-04-02 09:00"),
    )
    submitted_late = f.ActivityFactory(
        pairing=world["pairing"], branch=world["branch"], status="submitted", submitted_at=at("2024-04-01 00:00"),
    )
    assert Activity.history.filter(id=confirmed.pk).exists()
    assert status_then(confirmed, "2024-03-31") == "submitted"  # confirmed after the day: submitted then
    assert status_then(confirmed, "2024-04-02") == "confirmed"
    assert status_then(submitted_late, "2024-03-31") == ""  # submitted at the first moment of 1 April
    assert counted_then([confirmed, submitted_late], "2024-03-31") == {confirmed.pk}
    assert counted_then([confirmed, submitted_late], "2024-04-01") == {confirmed.pk, submitted_late.pk}


def test_an_activity_without_any_history_row_is_read_from_its_own_row(world):
    confirmed = f.ActivityFactory(
        pairing=world["pairing"], branch=world["branch"], status="confirmed",
        submitted_at=at("2024-03-05 20:00"), confirmed_at=at("2024-04-02 09:00"),
    )
    late = f.ActivityFactory(
        pairing=world["pairing"], branch=world["branch"], status="submitted", submitted_at=at("2024-04-03 09:00"),
    )
    Activity.history.filter(id__in=[confirmed.pk, late.pk]).delete()  # as a bulk load leaves them
    assert status_then(confirmed, "2024-03-31") == "submitted"
    assert status_then(confirmed, "2024-04-30") == "confirmed"
    assert counted_then([confirmed, late], "2024-03-31") == {confirmed.pk}
    assert counted_then([confirmed, late], "2024-04-30") == {confirmed.pk, late.pk}


def test_an_activity_not_saved_since_the_day_is_as_it_is_now(world, django_assert_num_queries):
    with time_machine.travel(at("2024-03-05 20:00"), tick=False):
        activity = f.ActivityFactory(
            pairing=world["pairing"], branch=world["branch"], status="submitted", submitted_at=at("2024-03-05 20:00"),
        )
    Activity.history.filter(id=activity.pk).delete()
    assert status_then(activity, "2024-03-31") == "submitted"
    with django_assert_num_queries(1):
        assert counted_then([activity], "2024-03-31") == {activity.pk}


def test_a_deleted_activity_never_counts(world):
    activity = f.ActivityFactory(
        pairing=world["pairing"], branch=world["branch"], status="confirmed",
        submitted_at=at("2024-03-05 20:00"), confirmed_at=at("2024-03-05 21:00"),
    )
    Activity.all_objects.filter(pk=activity.pk).update(deleted_at=at("2024-05-01 10:00"))
    assert counted_then([activity], "2024-03-31") == set()


def test_hours_count_as_verified_once_verified(world):
    activity = f.ActivityFactory(
        pairing=world["pairing"], branch=world["branch"], status="confirmed",
        submitted_at=at("2024-03-05 20:00"), confirmed_at=at("2024-03-05 21:00"),
    )
    record = f.ServiceRecordFactory(activity=activity, hours=Decimal("2"), status="verified", verified_at=at("2024-04-01 08:00"))
    verified = lambda on: ServiceRecord.objects.filter(figures.verified_then(day(on), ""), pk=record.pk).exists()  # noqa: E731
    assert (verified("2024-03-31"), verified("2024-04-01")) == (False, True)


def test_a_plan_item_s_status_then(world):
    with time_machine.travel(at("2024-01-05 09:00"), tick=False):
        item = f.PlanItemFactory(plan=f.JointPlanFactory(pairing=world["pairing"], year=2024), status="in_progress")
    save_at("2024-04-10 09:00", item, status="done")
    untracked = f.PlanItemFactory(plan=item.plan, status="done")
    PlanItem.history.filter(id=untracked.pk).delete()

    def then(obj, on):
        return PlanItem.objects.filter(pk=obj.pk).annotate(then=item_status_on(day(on))).get().then

    assert [then(item, d) for d in ("2024-01-04", "2024-03-31", "2024-04-10")] == ["in_progress", "in_progress", "done"]
    assert then(untracked, "2024-03-31") == "done"  # no history at all: as it is now


def test_plan_progress_as_at_a_day_counts_the_activities_as_they_stood(world):
    """An activity linked to the item counts toward it as at a day only if it counted then."""
    metric = f.MetricFactory(program=world["program"], code="repairs", name="维修家电")
    item = f.PlanItemFactory(plan=f.JointPlanFactory(pairing=world["pairing"], year=2024))
    f.PlanTargetFactory(item=item, metric=metric, value=Decimal("10"))
    with time_machine.travel(at("2024-03-05 09:00"), tick=False):
        on_time = f.ActivityFactory(pairing=world["pairing"], branch=world["branch"], date=day("2024-03-04"), plan_item=item)
        late = f.ActivityFactory(pairing=world["pairing"], branch=world["branch"], date=day("2024-03-04"), plan_item=item)
    f.ActivityMetricValueFactory(activity=on_time, metric=metric, value=Decimal("4"))
    f.ActivityMetricValueFactory(activity=late, metric=metric, value=Decimal("6"))
    save_at("2024-03-06 09:00", on_time, status="submitted", submitted_at=at("2024-03-06 09:00"))
    save_at("2024-04-02 09:00", late, status="submitted", submitted_at=at("2024-04-02 09:00"))
    assert figures.item_progress([item.pk], as_at=day("2024-03-31")) == {item.pk: 40}
    assert figures.item_progress([item.pk], as_at=day("2024-04-02")) == {item.pk: 100}
    assert figures.item_progress([item.pk]) == {item.pk: 100}
