"""The set-based refresh (figures/rollups.py: the rows of the whole set of keys computed and written by one INSERT …
SELECT … ON CONFLICT DO UPDATE per rollup table, stale rows deleted, the pairings' last_activity_on by one UPDATE …
FROM) writes what refreshing the keys one by one writes, and both equal the counting rules read from the activities
directly (test_rollups.expected, raw SQL). Program-wide activities (no pairing) count in their program's months as
before. Runs on SQLite and PostgreSQL."""

import datetime
import random
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from activities.models import Activity, ServiceRecord
from figures import rollups
from figures.models import PairingMonth, PairingMonthMetric, PairingYear, ProgramMonth, ProgramMonthMetric
from pairings.models import Metric, Pairing
from tests import factories as f
from tests.figures.test_rollups import dec, expected, sql, stored
from tests.reports.conftest import activity

pytestmark = pytest.mark.django_db

MONTHS = [datetime.date(2024, month, 1) for month in range(1, 8)]  # July: no activity at all


@pytest.fixture
def many(world):
    """Six pairings of the program with activities of every status in January to June 2024 (some deleted), metric
    values of a sum and a snapshot metric, verified, pending and deleted hours, and program-wide activities. Written
    behind the rollup's back (no commit hook runs): the rollup is empty."""
    rng = random.Random(17)
    program, branch = world["program"], world["branch"]
    pairings = [world["pairing"]] + [f.PairingFactory(program=program, supporter=world["school"]) for _ in range(5)]
    metrics = [
        f.MetricFactory(program=program, code="repairs", unit=Metric.Unit.ITEMS, aggregation="sum"),
        f.MetricFactory(program=program, code="income", unit=Metric.Unit.YUAN, aggregation="snapshot"),
    ]
    volunteers = [f.VolunteerFactory(organization=branch) for _ in range(2)]
    for _ in range(140):
        pairing = rng.choice(pairings + [None])  # None: a program-wide activity
        day = datetime.date(2024, rng.randint(1, 6), rng.randint(1, 28))
        extra = {"program": program} if pairing is None else {}
        a = activity(
            pairing, branch, day.isoformat(), status=rng.choice(["draft", "submitted", "confirmed", "confirmed", "returned"]),
            residents_served=rng.randint(0, 40), party_members=rng.randint(0, 5), students=rng.randint(0, 9), **extra,
        )
        if rng.random() < 0.1:
            Activity.all_objects.filter(pk=a.pk).update(deleted_at=timezone.now())
        for metric in metrics:
            if rng.random() < 0.7:
                f.ActivityMetricValueFactory(activity=a, metric=metric, value=Decimal(rng.randint(1, 999)) / 4)
        for volunteer in volunteers[:rng.randint(0, 2)]:
            verified = rng.random() < 0.7
            f.ServiceRecordFactory(
                activity=a, volunteer=volunteer, hours=Decimal(rng.randint(1, 30)) / 10,
                status=ServiceRecord.Status.VERIFIED if verified else ServiceRecord.Status.RECORDED,
                verified_at=timezone.now() if verified else None,
                deleted_at=timezone.now() if rng.random() < 0.1 else None,
            )
    return {"pairings": pairings, "program": program, "metrics": metrics}


def keys_of(many):
    return [(pairing.pk, month) for pairing in many["pairings"] for month in MONTHS]


def program_tables():
    return {
        "program_months": sorted(ProgramMonth.objects.values_list(
            "program_id", "month", "pairings", "activities", "confirmed", "residents_served", "party_members", "teachers",
            "students", "verified_hours")),
        "program_metrics": sorted(ProgramMonthMetric.objects.values_list("program_id", "month", "metric_id", "total", "pairings")),
    }


def last_activity():
    return dict(Pairing.objects.values_list("pk", "last_activity_on"))


def clear():
    for model in (PairingMonth, PairingMonthMetric, PairingYear, ProgramMonth, ProgramMonthMetric):
        model.objects.all().delete()
    Pairing.objects.update(last_activity_on=None)


def stale_rows(many):
    """Rows no activity supports any longer (what a refresh must delete) and a wrong year (what it must correct)."""
    pairing, july = many["pairings"][1], MONTHS[-1]
    PairingMonth.objects.create(
        pairing=pairing, month=july, activities=3, confirmed=1, residents_served=4, party_members=0, teachers=0,
        students=0, verified_hours=Decimal("1.0"), last_activity_on=july,
    )
    PairingMonthMetric.objects.create(
        pairing=pairing, month=july, metric=many["metrics"][0], total=Decimal("5"), latest_value=Decimal("5"), latest_on=july,
    )
    PairingYear.objects.create(
        pairing=pairing, year=2024, activities=999, confirmed=0, residents_served=0, party_members=0, teachers=0,
        students=0, verified_hours=Decimal("0"), last_activity_on=july,
    )


def assert_equals_the_activities(many):
    want, have = expected(), stored()
    for table in ("months", "metrics", "years"):
        assert have[table] == want[table], table
    counted = "a.status IN ('submitted', 'confirmed') AND a.deleted_at IS NULL"
    last = dict(sql(f"SELECT a.pairing_id, MAX(a.date) FROM activities_activity a WHERE {counted} GROUP BY a.pairing_id"))
    for pairing_id, day in last_activity().items():
        assert (day.isoformat() if day else None) == (str(last[pairing_id]) if pairing_id in last else None), pairing_id
    # a program's month: its pairings' months and its program-wide activities, each once
    wide = dict(sql(
        f"SELECT {'to_char(a.date, %s)' if connection.vendor == 'postgresql' else 'strftime(%s, a.date)'}, COUNT(*) "
        f"FROM activities_activity a WHERE {counted} AND a.pairing_id IS NULL AND a.program_id = %s GROUP BY 1",
        ["YYYY-MM-01" if connection.vendor == "postgresql" else "%Y-%m-01", many["program"].pk],
    ))
    assert wide, "the fixture has counted program-wide activities"
    for month in MONTHS:
        of_pairings = sum(row[0] for (pairing_id, m), row in want["months"].items() if m == month.isoformat())
        row = ProgramMonth.objects.filter(program=many["program"], month=month).first()
        assert (row.activities if row else 0) == of_pairings + wide.get(month.isoformat(), 0), month


def test_the_set_based_refresh_equals_the_activities_and_the_keys_refreshed_one_by_one(many, monkeypatch):
    keys = keys_of(many)
    stale_rows(many)
    assert rollups.rollups_refresh(keys=keys) > 0
    assert_equals_the_activities(many)
    at_once = (stored(), program_tables(), last_activity())
    assert PairingMonth.objects.filter(month=MONTHS[-1]).count() == 0  # the stale July rows are gone

    assert rollups.rollups_refresh(keys=keys) == 0  # rows already right are not written again

    clear()
    stale_rows(many)
    for pairing_id, month in keys:
        rollups.rollup_refresh(pairing_id=pairing_id, month=month)
    assert (stored(), program_tables(), last_activity()) == at_once

    clear()
    monkeypatch.setattr(rollups, "KEYS_PER_BATCH", 5)  # the same keys in several batches
    rollups.rollups_refresh(keys=reversed(keys))
    assert (stored(), program_tables(), last_activity()) == at_once


def test_the_rebuild_writes_what_the_refresh_writes(many):
    rollups.rollups_refresh(keys=keys_of(many))
    at_once = (stored(), program_tables(), last_activity())
    clear()
    stats = rollups.rollups_rebuild()
    assert (stored(), program_tables(), last_activity()) == at_once
    assert stats.month_rows == PairingMonth.objects.count() and stats.metric_rows == PairingMonthMetric.objects.count()
    assert rollups.rollups_rebuild().written == 0


def test_a_changed_activity_rewrites_only_its_rows(many):
    keys = keys_of(many)
    rollups.rollups_refresh(keys=keys)
    changed = Activity.objects.filter(status="confirmed", pairing__isnull=False).order_by("pk").first()
    Activity.objects.filter(pk=changed.pk).update(residents_served=changed.residents_served + 100)
    # its month and its year; the program's month is a Python-side sync of the few program rows
    assert rollups.rollups_refresh(keys=keys) == 3
    assert_equals_the_activities(many)


def test_the_refresh_of_many_keys_is_as_many_statements_as_of_one(many):
    counts = []
    for keys in (keys_of(many)[:1], keys_of(many)):
        clear()
        with CaptureQueriesContext(connection) as captured:
            rollups.rollups_refresh(keys=keys)
        counts.append(len(captured))
    assert counts[0] == counts[1] <= 20, counts


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the planner settings are PostgreSQL's")
def test_the_refresh_leaves_the_planner_settings_of_its_caller(many):
    """The metric rows are read through the activity index (hash and merge joins off for that one statement):
    a caller's transaction plans its next statements with the settings it had, and the refresh writes the same
    rows as the rebuild, which reads them by the plan PostgreSQL chooses."""
    from django.db import transaction

    keys = [(pairing.pk, month) for pairing in many["pairings"] for month in MONTHS]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_mergejoin = off")
        rollups.rollups_refresh(keys=keys)
        cursor.execute("SELECT current_setting('enable_hashjoin'), current_setting('enable_mergejoin')")
        assert cursor.fetchone() == ("on", "off")
    refreshed = stored()
    assert refreshed["metrics"], "the refresh wrote metric rows"
    PairingMonthMetric.objects.all().delete()
    rollups.rollups_rebuild()
    assert stored() == refreshed
