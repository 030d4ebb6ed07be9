"""A past period's report reads the complete months of its year to date from the rollup for the pairings none of
whose activities changed status since its as-at day, and from the activities' history for the others
(builders.month_source): either way it shows what stood at the end of that day, exactly as the history read of
every month (``raw=True``) does.

The activities below are entered month by month at their own times; after the period, one pairing's activities
change (returned, submitted and confirmed later, deleted, a figure corrected, hours verified later), another
pairing's stay as they were, and a third's activity was marked confirmed behind the history's back (a bulk
write: its row's confirmation stamp is later than its last save)."""

import datetime
from decimal import Decimal

import pytest
import time_machine

from activities.models import Activity, ServiceRecord
from figures import rollups
from pairings.models import Metric
from reports.builders import build_pairing_reports, build_report_data, month_source, period_for
from reports.periods import TZ
from tests import factories as f
from tests.reports.conftest import activity

pytestmark = pytest.mark.django_db

BUILT = datetime.datetime(2025, 2, 3, 9, tzinfo=TZ)  # after every period below: the statuses as they stood
PERIODS = [("monthly", "2024-05"), ("quarterly", "2024Q2"), ("monthly", "2024-01"), ("annual", "2024")]


def at(text):
    return datetime.datetime.fromisoformat(text).replace(tzinfo=TZ)


def when(text):
    return time_machine.travel(at(text), tick=False)


@pytest.fixture
def later(world):
    program, pairing, branch, school = world["program"], world["pairing"], world["branch"], world["school"]
    repairs = f.MetricFactory(program=program, code="repairs", name="维修家电", unit=Metric.Unit.ITEMS, order=1)
    income = f.MetricFactory(program=program, code="income", name="人均纯收入", unit=Metric.Unit.YUAN,
                             aggregation=Metric.Aggregation.SNAPSHOT, order=2)
    steady = f.PairingFactory(program=program, supporter=school)
    steady_branch = f.OrganizationFactory(kind="branch", parent=school, name="第六党支部")
    f.PairingBranchFactory(pairing=steady, branch=steady_branch)
    bulk = f.PairingFactory(program=program, supporter=school)
    bulk_branch = f.OrganizationFactory(kind="branch", parent=school, name="第七党支部")
    f.PairingBranchFactory(pairing=bulk, branch=bulk_branch)

    def entered(target, host, day, status="confirmed", *, values=()):
        """An activity entered on its own day, with its metric values."""
        with when(f"{day} 22:00"):
            made = activity(target, host, day, status=status, residents_served=3)
            for metric, value in values:
                f.ActivityMetricValueFactory(activity=made, metric=metric, value=Decimal(value))
        return made

    a = {
        "jan": entered(pairing, branch, "2024-01-10", values=[(repairs, "5"), (income, "15000")]),
        "feb_returned_later": entered(pairing, branch, "2024-02-12", values=[(repairs, "4")]),
        "mar_submitted_later": entered(pairing, branch, "2024-03-05", "draft", values=[(repairs, "100"), (income, "99999")]),
        "mar_confirmed_later": entered(pairing, branch, "2024-03-20", "submitted", values=[(income, "15500")]),
        "apr_deleted_later": entered(pairing, branch, "2024-04-08", values=[(repairs, "6")]),
        "apr_corrected_later": entered(pairing, branch, "2024-04-15", values=[(repairs, "1"), (income, "15800")]),
        "may": entered(pairing, branch, "2024-05-06", "submitted", values=[(repairs, "3")]),
        "steady_jan": entered(steady, steady_branch, "2024-01-20", values=[(repairs, "3"), (income, "14000")]),
        "steady_mar": entered(steady, steady_branch, "2024-03-02", "submitted", values=[(repairs, "2"), (income, "14500")]),
        "steady_may": entered(steady, steady_branch, "2024-05-09", values=[(repairs, "8")]),
        "bulk_apr": entered(bulk, bulk_branch, "2024-04-02", "submitted", values=[(repairs, "9")]),
    }
    with when("2024-05-06 22:30"):
        hours = f.ServiceRecordFactory(activity=a["may"], hours=Decimal("2.5"))

    with when("2024-07-10 10:00"):  # after the period, through save() as the portal writes
        a["feb_returned_later"].status = Activity.Status.RETURNED
        a["feb_returned_later"].save()
        a["mar_submitted_later"].status, a["mar_submitted_later"].submitted_at = Activity.Status.SUBMITTED, at("2024-07-10 10:00")
        a["mar_submitted_later"].save()
        a["mar_confirmed_later"].status, a["mar_confirmed_later"].confirmed_at = Activity.Status.CONFIRMED, at("2024-07-10 10:00")
        a["mar_confirmed_later"].save()
        a["apr_deleted_later"].deleted_at = at("2024-07-10 10:00")
        a["apr_deleted_later"].save()
        corrected = a["apr_corrected_later"].metric_values.get(metric=repairs)
        corrected.value = Decimal("2")
        corrected.save()
        hours.status, hours.verified_at = ServiceRecord.Status.VERIFIED, at("2024-07-10 10:00")
        hours.save()
    # behind the history's back: confirmed in July, its row last saved in April
    Activity.all_objects.filter(pk=a["bulk_apr"].pk).update(status=Activity.Status.CONFIRMED, confirmed_at=at("2024-07-11 09:00"))
    rollups.rollups_rebuild()  # the rollup as the portal keeps it: the figures of now
    return {**world, "steady": steady, "bulk": bulk, "activities": a, "metrics": {"repairs": repairs, "income": income},
            "hours": hours}


def test_only_the_pairings_changed_since_are_read_from_the_history(later):
    period = period_for("monthly", "2024-05")
    ids = [later["pairing"].pk, later["steady"].pk, later["bulk"].pk]
    source = month_source(period, ids, then=period.end)
    assert source.history_ids == {later["pairing"].pk, later["bulk"].pk}  # the steady pairing's months: the rollup's


def test_only_the_months_changed_since_are_read_from_the_history(later):
    """A month at a time: the pairing's January and April (its activity deleted since counts in neither: deletions
    are not undone; a corrected figure is not a status), none of whose statuses changed since, stay the rollup's."""
    period = period_for("monthly", "2024-05")
    ids = [later["pairing"].pk, later["steady"].pk, later["bulk"].pk]
    source = month_source(period, ids, then=period.end)
    pairing, bulk = later["pairing"].pk, later["bulk"].pk
    assert source.history_months == {
        (pairing, datetime.date(2024, 2, 1)), (pairing, datetime.date(2024, 3, 1)), (bulk, datetime.date(2024, 4, 1)),
    }


def assert_as_the_history_read(kind, period, program, pairings):
    """Each pairing's report, the batch of them and the program's, built at BUILT, equal the same reports read
    wholly from the history (raw=True)."""
    for pairing in pairings:
        assert build_report_data(kind, period, program, pairing, now=BUILT) == build_report_data(
            kind, period, program, pairing, now=BUILT, raw=True
        )
    batch = build_pairing_reports(kind, period, program, pairings, now=BUILT)
    for pairing in pairings:
        assert batch[pairing.pk] == build_report_data(kind, period, program, pairing, now=BUILT, raw=True)
    assert build_report_data(kind, period, program, now=BUILT) == build_report_data(kind, period, program, now=BUILT, raw=True)


@pytest.mark.parametrize("kind, period", PERIODS)
def test_past_reports_equal_the_history_read_of_every_month(later, kind, period):
    assert_as_the_history_read(kind, period, later["program"], [later["pairing"], later["steady"], later["bulk"]])


def test_a_past_month_shows_the_year_to_date_as_it_stood(later):
    """What a reader checks in May's report built in February: the months as they stood at the end of May,
    the corrected figure (corrections and deletions are not undone) and the hours verified later as pending."""
    a, metrics = later["activities"], later["metrics"]
    data = build_report_data("monthly", "2024-05", later["program"], later["pairing"], now=BUILT)
    months = {row["month"]: (row["total"], row["confirmed"]) for row in data["activities"]["by_month"]}
    assert months["2024-01"] == (1, 1)
    assert months["2024-02"] == (1, 1)  # returned in July: confirmed in May
    assert months["2024-03"] == (1, 0)  # the draft submitted in July did not count; the other was not yet confirmed
    assert months["2024-04"] == (1, 1)  # the one deleted since does not count
    assert months["2024-05"] == (1, 0)

    def value(name, metric):
        return a[name].metric_values.get(metric=metrics[metric]).value

    by_code = {row["code"]: row for row in data["metrics"]}
    repairs = value("jan", "repairs") + value("feb_returned_later", "repairs") + value("apr_corrected_later", "repairs")
    assert by_code["repairs"]["ytd_value"] == repairs + value("may", "repairs")
    assert by_code["income"]["ytd_value"] == value("apr_corrected_later", "income")
    assert by_code["income"]["ytd_on"] == a["apr_corrected_later"].date.isoformat()
    assert data["volunteers"]["verified_hours"] == 0
    assert data["volunteers"]["pending_hours"] == float(later["hours"].hours)

    steady = build_report_data("monthly", "2024-05", later["program"], later["steady"], now=BUILT)
    assert {row["month"]: row["total"] for row in steady["activities"]["by_month"]}["2024-03"] == 1
