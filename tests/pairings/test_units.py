"""The unit registry (pairings/units.py) decides how a metric adds up, and no path gets around it: the model's
validation (so the admin), the database's check constraint, and the migration that added it."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import translation

from pairings import units
from pairings.models import Metric
from tests import factories as f

pytestmark = pytest.mark.django_db

SUM, SNAPSHOT = Metric.Aggregation.SUM, Metric.Aggregation.SNAPSHOT
# The rule as docs/figures.md states it.
STATED = {
    "件": {SUM}, "人次": {SUM}, "场次": {SUM}, "株": {SUM},
    "人": {SNAPSHOT},
    "万元": {SUM, SNAPSHOT}, "元": {SUM, SNAPSHOT}, "亩": {SUM, SNAPSHOT}, "平方米": {SUM, SNAPSHOT},
}
PAIRS = [(unit, aggregation) for unit in Metric.Unit.values for aggregation in Metric.Aggregation.values]


def test_the_registry_covers_every_unit_as_documented():
    assert {unit: set(units.allowed_aggregations(unit)) for unit in Metric.Unit.values} == STATED
    for unit in Metric.Unit.values:  # the usual aggregation (a new metric's default) is an allowed one
        assert units.default_aggregation(unit) in STATED[unit]


@pytest.mark.parametrize("unit, aggregation", PAIRS)
def test_validation_and_the_database_agree_with_the_registry(world, unit, aggregation):
    metric = Metric(program=world["program"], code="m", name="指标", unit=unit, aggregation=aggregation)
    allowed = aggregation in STATED[unit]
    if allowed:
        metric.full_clean()
        metric.save()
        assert Metric.objects.filter(pk=metric.pk).exists()
        return
    with pytest.raises(ValidationError) as raised:
        metric.full_clean()
    assert set(raised.value.message_dict) == {"aggregation"}  # one message, on the field to change
    with pytest.raises(IntegrityError), transaction.atomic():
        metric.save()  # a path that skips validation meets the database's check
    assert not Metric.objects.filter(code="m").exists()


def test_a_summed_person_count_is_refused_with_a_chinese_message_that_names_person_times(world):
    metric = Metric(program=world["program"], code="trainees", name="培训人数", unit="人", aggregation=SUM)
    with translation.override("zh-hans"), pytest.raises(ValidationError) as raised:
        metric.full_clean()
    (message,) = raised.value.message_dict["aggregation"]
    assert "人次" in message and "最新值" in message


def test_an_update_in_bulk_cannot_sum_persons(world):
    metric = f.MetricFactory(program=world["program"], unit=Metric.Unit.PERSONS)
    assert metric.aggregation == SNAPSHOT  # the factory follows the registry
    with pytest.raises(IntegrityError), transaction.atomic():
        Metric.objects.filter(pk=metric.pk).update(aggregation=SUM)
    metric.refresh_from_db()
    assert metric.aggregation == SNAPSHOT


@pytest.fixture
def staff_client(client, world, settings):
    settings.REQUIRE_ADMIN_MFA = False
    client.force_login(world["users"]["superuser"])
    return client


def test_the_admin_refuses_a_summed_person_count_and_saves_nothing(staff_client, world):
    url = reverse("admin:pairings_metric_add")
    data = {"program": world["program"].pk, "code": "trainees", "name": "培训人数", "unit": "人", "aggregation": "sum", "order": 0}
    with translation.override("zh-hans"):
        response = staff_client.post(url, data, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    assert "人次" in response.context["adminform"].form.errors["aggregation"][0]
    assert not Metric.objects.filter(code="trainees").exists()
    data["unit"] = "人次"
    assert staff_client.post(url, data).status_code == 302
    assert Metric.objects.get(code="trainees").unit == "人次"


def test_the_programs_inline_refuses_it_too(staff_client, world):
    """The metric catalogue is also edited inline on the program's page."""
    program = world["program"]
    url = reverse("admin:pairings_program_change", args=[program.pk])
    data = {
        "name": program.name, "code": program.code, "description": "", "office": program.office_id,
        "monthly_reports": "on", "quarterly_reports": "on", "is_active": "on",
        "metrics-TOTAL_FORMS": "1", "metrics-INITIAL_FORMS": "0", "metrics-MIN_NUM_FORMS": "0", "metrics-MAX_NUM_FORMS": "1000",
        "metrics-0-order": "1", "metrics-0-code": "repairs", "metrics-0-name": "家电维修", "metrics-0-unit": "件",
        "metrics-0-aggregation": "snapshot", "metrics-0-description": "",
    }
    response = staff_client.post(url, data)
    assert response.status_code == 200
    assert not Metric.objects.filter(code="repairs").exists()
    data["metrics-0-aggregation"] = "sum"
    assert staff_client.post(url, data).status_code == 302
    assert Metric.objects.get(code="repairs").aggregation == SUM


# ---------------------------------------------------------------- the migration that added the check


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def old_metric(old, **fields):
    Organization = old.get_model("portal", "Organization")
    office = Organization.objects.create(name="项目办", kind="government")
    program = old.get_model("pairings", "Program").objects.create(name="两建三做", code="ljsz", office=office)
    return old.get_model("pairings", "Metric").objects.create(program=program, **fields)


BEFORE = [("pairings", "0003_last_activity_on")]
AFTER = [("pairings", "0004_metric_unit_aggregation")]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_migration_relabels_summed_persons_as_person_times():
    old = migrate(BEFORE)
    summed = old_metric(old, code="trainees", name="培训人数", unit="人", aggregation="sum")
    tutors = old.get_model("pairings", "Metric").objects.create(
        program_id=summed.program_id, code="tutors", name="科技辅导员", unit="人", aggregation="snapshot"
    )
    new = migrate(AFTER)
    Metric_ = new.get_model("pairings", "Metric")
    assert Metric_.objects.get(pk=summed.pk).unit == "人次"  # what its figures always were
    assert (Metric_.objects.get(pk=tutors.pk).unit, Metric_.objects.get(pk=tutors.pk).aggregation) == ("人", "snapshot")
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_migration_stops_on_a_count_kept_as_a_latest_value():
    old = migrate(BEFORE)
    old_metric(old, code="sessions", name="培训场次", unit="场次", aggregation="snapshot")
    with pytest.raises(RuntimeError, match=r"ljsz\.sessions \(场次\)"):
        migrate(AFTER)
    old = migrate(BEFORE)
    old.get_model("pairings", "Metric").objects.filter(code="sessions").update(aggregation="sum")
    new = migrate(AFTER)  # once an admin has decided, it goes through
    assert new.get_model("pairings", "Metric").objects.get(code="sessions").aggregation == "sum"
    with connection.cursor() as cursor:
        assert "metric_unit_aggregation" in connection.introspection.get_constraints(cursor, "pairings_metric")
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
