"""The reports' fast read paths give exactly the numbers of the raw computation.

The builder reads the months of the year to date before the period from the rollup (PairingMonth,
PairingMonthMetric), the period's metric sums and latest values with one windowed query, and a listed report's
counts per type, host branch and pairing from its activity list. ``build_report_data(..., raw=True)`` computes
every figure from the source rows with a GROUP BY of its own: both must give the same report, on data with
deleted, draft and returned activities, unverified and deleted hours, co-hosts, snapshot metrics whose latest
value is older than the period, and several pairings in one program.
"""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from activities.models import Activity, ServiceRecord
from figures import rollups
from reports.builders import build_pairing_reports, build_program_reports, build_report_data, period_for
from reports.periods import TZ
from tests import factories as f
from tests.reports.conftest import activity

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2025, 1, 2, tzinfo=datetime.timezone.utc)  # after every period: statuses as they stood


def during(kind, period):
    """Noon of the period's last day: a report built then stands at that day with the statuses of now, and reads
    the months before the period from the rollup."""
    end = period_for(kind, period).end
    return datetime.datetime(end.year, end.month, end.day, 12, tzinfo=TZ)
PERIODS = [
    ("monthly", "2024-01"), ("monthly", "2024-03"), ("monthly", "2024-05"), ("monthly", "2024-12"),
    ("quarterly", "2024Q1"), ("quarterly", "2024Q2"), ("quarterly", "2024Q4"), ("annual", "2024"),
]


@pytest.fixture
def busy(records):
    """The records of March 2024, plus a second pairing of the program and a year of activities in both."""
    program, pairing, branch, other = records["program"], records["pairing"], records["branch"], records["other_branch"]
    metrics = records["metrics"]
    second = f.PairingFactory(program=program, supporter=records["school"])
    second_branch = f.OrganizationFactory(kind="branch", parent=records["school"], name="第六党支部")
    f.PairingBranchFactory(pairing=second, branch=second_branch)
    volunteer = f.VolunteerFactory(organization=branch, name="志愿者乙")
    verified = {"status": ServiceRecord.Status.VERIFIED, "verified_at": timezone.now()}
    statuses = ["confirmed", "submitted", "draft", "returned"]
    for month in (1, 2, 4, 5, 7, 11):
        for i, status in enumerate(statuses):
            for target, host in ((pairing, branch if i % 2 else other), (second, second_branch)):
                a = activity(target, host, f"2024-{month:02d}-{10 + i:02d}", status=status, residents_served=month + i,
                             party_members=i, teachers=1, students=month)
                if target is pairing and i == 0:
                    a.co_branches.add(other if host is branch else branch)
                f.ActivityMetricValueFactory(activity=a, metric=metrics["repairs"], value=Decimal(f"{month}.25"))
                # a snapshot value on each activity: the latest counted one (by date, then id) is what counts
                f.ActivityMetricValueFactory(activity=a, metric=metrics["income"], value=Decimal(14000 + 100 * month + i))
                f.ServiceRecordFactory(activity=a, volunteer=volunteer, hours=Decimal("1.5"), **(verified if i != 1 else {}))
        # same date, two counted activities: the latest value is the one with the larger id
        tie = activity(pairing, branch, f"2024-{month:02d}-20", status="submitted")
        f.ActivityMetricValueFactory(activity=tie, metric=metrics["income"], value=Decimal(13000 + month))
    gone = activity(pairing, branch, "2024-05-21", residents_served=500)
    f.ActivityMetricValueFactory(activity=gone, metric=metrics["repairs"], value=Decimal("999"))
    Activity.all_objects.filter(pk=gone.pk).update(deleted_at=timezone.now())
    rollups.rollups_rebuild()  # the test's transaction never commits: bring the rollup up to date
    # ... and drop the refresh the writes above queued for that commit: it is done, and a later write would
    # otherwise join it (one refresh per transaction) instead of queueing one the test can run
    connection.run_on_commit.clear()
    return {**records, "second": second}


@pytest.mark.parametrize("kind, period", PERIODS)
@pytest.mark.parametrize("built", ["during", "after"])
def test_pairing_reports_equal_the_raw_computation(busy, kind, period, built):
    now = during(kind, period) if built == "during" else NOW
    for pairing in (busy["pairing"], busy["second"]):
        fast = build_report_data(kind, period, busy["program"], pairing, now=now)
        raw = build_report_data(kind, period, busy["program"], pairing, now=now, raw=True)
        assert fast == raw


@pytest.mark.parametrize("kind, period", PERIODS)
@pytest.mark.parametrize("built", ["during", "after"])
def test_a_batch_of_pairing_reports_equals_each_built_alone(busy, kind, period, built):
    """The scheduled job builds its pairing reports in batches from one set of queries: each report of the
    batch is the very report its pairing gets alone, though the rows of both pairings were read together."""
    now = during(kind, period) if built == "during" else NOW
    pairings = [busy["pairing"], busy["second"]]
    batch = build_pairing_reports(kind, period, busy["program"], pairings, now=now)
    assert sorted(batch) == sorted(p.pk for p in pairings)
    for pairing in pairings:
        assert batch[pairing.pk] == build_report_data(kind, period, busy["program"], pairing, now=now)


@pytest.mark.parametrize("kind, period", PERIODS)
@pytest.mark.parametrize("built", ["during", "after"])
def test_a_program_and_its_pairings_from_one_read_equal_each_built_alone(busy, kind, period, built):
    """The scheduled job builds a program's report and its pairings' from the program's rows: each is the very
    report it gets alone, the program's though its rows were read with each pairing's latest values too."""
    now = during(kind, period) if built == "during" else NOW
    program, pairings = busy["program"], [busy["pairing"], busy["second"]]
    program_data, batch = build_program_reports(kind, period, program, now=now)
    assert program_data == build_report_data(kind, period, program, now=now)
    assert sorted(batch) == sorted(p.pk for p in pairings)
    for pairing in pairings:
        assert batch[pairing.pk] == build_report_data(kind, period, program, pairing, now=now)


@pytest.mark.parametrize("built", ["during", "after"])
def test_a_batch_reads_once_for_all_its_pairings(busy, django_assert_max_num_queries, built):
    """A batch costs the queries of one report, not one set per pairing."""
    now = during("monthly", "2024-05") if built == "during" else NOW
    pairings = [busy["pairing"], busy["second"]]
    with CaptureQueriesContext(connection) as alone:
        build_report_data("monthly", "2024-05", busy["program"], busy["pairing"], now=now)
    with django_assert_max_num_queries(len(alone.captured_queries)):
        build_pairing_reports("monthly", "2024-05", busy["program"], pairings, now=now)


@pytest.mark.parametrize("kind, period", PERIODS)
@pytest.mark.parametrize("itemized", [True, False])
@pytest.mark.parametrize("built", ["during", "after"])
def test_program_reports_equal_the_raw_computation(busy, kind, period, itemized, built):
    now = during(kind, period) if built == "during" else NOW
    fast = build_report_data(kind, period, busy["program"], now=now, itemized=itemized)
    raw = build_report_data(kind, period, busy["program"], now=now, itemized=itemized, raw=True)
    assert fast == raw
    assert len(fast["pairing_rows"]) == 2


def test_the_rollup_kept_current_by_the_portal_gives_the_raw_numbers(busy, django_capture_on_commit_callbacks):
    """Writes through save() refresh the rollup when they commit; the next report reads them."""
    pairing, branch = busy["pairing"], busy["branch"]
    with django_capture_on_commit_callbacks(execute=True):
        a = activity(pairing, branch, "2024-02-03", residents_served=7)
        f.ActivityMetricValueFactory(activity=a, metric=busy["metrics"]["income"], value=Decimal("99999"))
        f.ActivityMetricValueFactory(activity=a, metric=busy["metrics"]["repairs"], value=Decimal("3"))
    with django_capture_on_commit_callbacks(execute=True):
        later = Activity.objects.filter(pairing=pairing, date__month=1, status="confirmed").first()
        later.status = "returned"
        later.save()
    fast = build_report_data("monthly", "2024-03", busy["program"], pairing, now=during("monthly", "2024-03"))
    assert fast == build_report_data("monthly", "2024-03", busy["program"], pairing, now=during("monthly", "2024-03"), raw=True)
    income = {m["code"]: m for m in fast["metrics"]}["income"]
    assert income["period_value"] == 16000 and income["ytd_value"] == 16000  # March's latest is the latest
    april = build_report_data("monthly", "2024-04", busy["program"], pairing, now=during("monthly", "2024-04"))
    assert april == build_report_data("monthly", "2024-04", busy["program"], pairing, now=during("monthly", "2024-04"), raw=True)
