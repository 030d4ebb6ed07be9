"""The rollup tables moved from the reports app to figures (reports 0004, figures 0001) with their rows, and
Pairing.last_activity_on (pairings 0003) was filled from them (figures 0002): migrated from the schema before
the move, with data in it, on SQLite and PostgreSQL alike."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("figures", None), ("reports", "0003_rollups"), ("pairings", "0002_initial")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state([t for t in targets if t[1] is not None]).apps


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_rollup_rows_move_with_their_tables():
    old = migrate(BEFORE)
    Organization = old.get_model("portal", "Organization")
    office = Organization.objects.create(name="项目办", kind="government")
    school = Organization.objects.create(name="学校", kind="school")
    village = Organization.objects.create(name="龙石村", kind="village")
    program = old.get_model("pairings", "Program").objects.create(name="双联双助", code="slsz", office=office)
    metric = old.get_model("pairings", "Metric").objects.create(program=program, code="repairs", name="家电维修", unit="件")
    pairing = old.get_model("pairings", "Pairing").objects.create(
        program=program, supporter=school, supported=village, term_start=datetime.date(2024, 1, 1)
    )
    figures = dict(activities=3, confirmed=2, residents_served=40, party_members=5, teachers=2, students=9)
    old.get_model("reports", "PairingMonth").objects.create(
        pairing=pairing, month=datetime.date(2024, 3, 1), verified_hours=Decimal("6.5"),
        last_activity_on=datetime.date(2024, 3, 20), **figures,
    )
    old.get_model("reports", "PairingMonth").objects.create(
        pairing=pairing, month=datetime.date(2024, 5, 1), verified_hours=Decimal("1.0"),
        last_activity_on=datetime.date(2024, 5, 9), **figures,
    )
    old.get_model("reports", "PairingMonthMetric").objects.create(
        pairing=pairing, month=datetime.date(2024, 3, 1), metric=metric, total=Decimal("12"),
        latest_value=Decimal("7"), latest_on=datetime.date(2024, 3, 20),
    )
    old.get_model("reports", "PairingYear").objects.create(
        pairing=pairing, year=2024, verified_hours=Decimal("7.5"), last_activity_on=datetime.date(2024, 5, 9), **figures
    )
    old.get_model("reports", "ProgramMonth").objects.create(
        program=program, month=datetime.date(2024, 3, 1), pairings=1, verified_hours=Decimal("6.5"), **figures
    )
    old.get_model("reports", "ProgramMonthMetric").objects.create(
        program=program, month=datetime.date(2024, 3, 1), metric=metric, total=Decimal("12"), pairings=1
    )

    executor = MigrationExecutor(connection)
    new = migrate(executor.loader.graph.leaf_nodes())

    months = new.get_model("figures", "PairingMonth").objects.order_by("month")
    assert [(m.month, m.activities, m.verified_hours) for m in months] == [
        (datetime.date(2024, 3, 1), 3, Decimal("6.5")),
        (datetime.date(2024, 5, 1), 3, Decimal("1.0")),
    ]
    assert new.get_model("figures", "PairingMonthMetric").objects.get().total == Decimal("12")
    assert new.get_model("figures", "PairingYear").objects.get().verified_hours == Decimal("7.5")
    assert new.get_model("figures", "ProgramMonth").objects.get().pairings == 1
    assert new.get_model("figures", "ProgramMonthMetric").objects.get().metric_id == metric.pk
    assert new.get_model("pairings", "Pairing").objects.get(pk=pairing.pk).last_activity_on == datetime.date(2024, 5, 9)
    tables = connection.introspection.table_names()
    assert "figures_pairingmonth" in tables and "reports_pairingmonth" not in tables
    # the moved tables keep their constraints: a month without activities is still refused
    constraints = connection.introspection.get_constraints(connection.cursor(), "figures_pairingmonth")
    assert "pairingmonth_has_activities" in constraints and "pairingmonth_month" in constraints
