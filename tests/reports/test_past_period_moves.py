"""A past period's year to date read a month at a time from the rollup and the history
(builders.month_source) when activities moved between months or pairings since the as-at day, when program-wide
activities (pairing None) changed, and the lean annual summary (selectors.activity_counts on PostgreSQL) against
the reference (raw=True)."""

import datetime
from decimal import Decimal

import pytest

from activities.models import Activity
from figures import rollups
from reports.builders import build_report_data, month_source, period_for
from tests import factories as f
from tests.reports.test_past_period_months import (  # noqa: F401 (fixture)
    BUILT, PERIODS, assert_as_the_history_read, at, later, when,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def moved(later):
    a, metrics = later["activities"], later["metrics"]
    program = later["program"]
    repairs, income = metrics["repairs"], metrics["income"]
    with when("2024-02-20 22:00"):  # program-wide, counted then
        wide = f.ActivityFactory(pairing=None, program=program, branch=later["branch"], date=datetime.date(2024, 2, 20),
                                 status="confirmed", submitted_at=at("2024-02-20 20:00"),
                                 confirmed_at=at("2024-02-20 21:00"))
        f.ActivityMetricValueFactory(activity=wide, metric=repairs, value=Decimal("7"))
    with when("2024-07-12 10:00"):  # after the period, through save()
        steady_jan = a["steady_jan"]  # January -> February, same pairing: February now holds it
        steady_jan.date = datetime.date(2024, 2, 14)
        steady_jan.save()
        steady_mar = a["steady_mar"]  # steady's March -> the bulk pairing's March
        steady_mar.pairing = later["bulk"]
        steady_mar.save()
        jan = a["jan"]  # out of the year to date into the period (May)
        jan.date = datetime.date(2024, 5, 2)
        jan.save()
        wide.status = Activity.Status.RETURNED  # a program-wide activity returned since
        wide.save()
    rollups.rollups_rebuild()
    return later


@pytest.mark.parametrize("kind, period", PERIODS)
def test_moved_since_as_the_history_read_of_every_month(moved, kind, period):
    assert_as_the_history_read(kind, period, moved["program"], [moved["pairing"], moved["steady"], moved["bulk"]])


@pytest.mark.parametrize("kind, period", PERIODS)
def test_lean_summary_as_the_reference(moved, kind, period):
    """The annual export's summary (itemized=False: on PostgreSQL activity_counts) equals the reference."""
    program = moved["program"]
    lean = build_report_data(kind, period, program, now=BUILT, itemized=False)
    raw = build_report_data(kind, period, program, now=BUILT, raw=True)
    for data in (raw, *raw.get("details", [])):
        data["activities"]["items"] = []
    assert lean == raw


def test_moved_months_read_from_the_history(moved):
    period = period_for("monthly", "2024-05")
    steady, bulk = moved["steady"].pk, moved["bulk"].pk
    source = month_source(period, [moved["pairing"].pk, steady, bulk], then=period.end)
    assert (steady, datetime.date(2024, 2, 1)) in source.history_months
    assert (bulk, datetime.date(2024, 3, 1)) in source.history_months
    assert all(pairing is not None for pairing, _month in source.history_months)
