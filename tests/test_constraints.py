"""The database itself refuses bad rows: every CheckConstraint and UniqueConstraint in the models.

Each offending write goes straight to the database (``objects.create`` or ``QuerySet.update``, so no
model validation runs), inside ``transaction.atomic()``, and must raise IntegrityError *for the named
constraint*: on PostgreSQL the error's constraint name (and the key's columns) are checked, on SQLite
the message (``CHECK constraint failed: <name>`` / ``UNIQUE constraint failed: <table>.<column>, …``).
So a NOT NULL or foreign-key error cannot pass for the constraint under test. Companion tests show
that the boundary values stay allowed. Runs on SQLite by default and on PostgreSQL with DATABASE_URL.
"""

import datetime
import re
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from activities.models import Activity, ActivityMetricValue, ActivityType, Need, ServiceRecord
from pairings.models import (
    JointPlan, Liaison, Metric, Pairing, PairingBranch, PlanItem, PlanTarget, Program, VillageStatistic,
)
from portal.models import Membership, Organization
from reports.models import Report
from tests import factories as f
from volunteers.models import Certificate, ServiceOffering, Team

pytestmark = pytest.mark.django_db

PROJECT_APPS = ("portal", "pairings", "volunteers", "activities", "reports")
AWARE = datetime.datetime(2024, 3, 15, 10, 0, tzinfo=datetime.timezone.utc)


def _unique_columns(model, name):
    """The columns of the unique constraint `name`, or of the field `name` declared unique=True."""
    for constraint in model._meta.constraints:
        if constraint.name == name:
            assert isinstance(constraint, models.UniqueConstraint), name
            return [model._meta.get_field(field).column for field in constraint.fields]
    field = model._meta.get_field(name)
    assert field.unique, f"{model.__name__}.{name} is neither a unique constraint nor a unique field"
    return [field.column]


def _is_check(model, name):
    return any(c.name == name and isinstance(c, models.CheckConstraint) for c in model._meta.constraints)


@contextmanager
def violates(model, name):
    """The block must fail at the database because of `model`'s constraint (or unique field) `name`."""
    check = _is_check(model, name)
    columns = None if check else _unique_columns(model, name)
    with pytest.raises(IntegrityError) as caught:
        with transaction.atomic():
            yield
    error = caught.value
    if connection.vendor == "postgresql":
        diag = error.__cause__.diag
        assert diag.table_name == model._meta.db_table
        if check:
            assert diag.sqlstate == "23514", diag.message_primary  # check_violation
            assert diag.constraint_name == name
        else:
            assert diag.sqlstate == "23505", diag.message_primary  # unique_violation
            if any(c.name == name for c in model._meta.constraints):  # unique=True fields get generated names
                assert diag.constraint_name == name
            assert diag.message_detail.startswith(f"Key ({', '.join(columns)})="), diag.message_detail
    else:
        message = str(error)
        if check:
            assert message == f"CHECK constraint failed: {name}"
        else:
            table = model._meta.db_table
            assert message == "UNIQUE constraint failed: " + ", ".join(f"{table}.{c}" for c in columns)


def _update(obj, **values):
    """Write `values` to obj's row with a plain UPDATE (no save(), no validation)."""
    return type(obj).objects.filter(pk=obj.pk).update(**values)


def test_every_model_constraint_has_a_test_here():
    """Adding a CheckConstraint or UniqueConstraint to a model means adding its test to this file."""
    source = Path(__file__).read_text(encoding="utf-8")
    names = {
        constraint.name
        for label in PROJECT_APPS
        for model in apps.get_app_config(label).get_models()
        for constraint in model._meta.constraints
    }
    assert names, "no constraints found"
    missing = sorted(name for name in names if not re.search(rf"[\"']{re.escape(name)}[\"']", source))
    assert not missing, f"constraints without a test in tests/test_constraints.py: {missing}"


# --- portal -------------------------------------------------------------------------------------


def test_organization_name_unique_under_one_parent():
    school = f.OrganizationFactory(name="中山中专")
    Organization.objects.create(name="第三党支部", kind=Organization.Kind.BRANCH, parent=school)
    with violates(Organization, "organization_unique_name_in_parent"):
        Organization.objects.create(name="第三党支部", kind=Organization.Kind.BRANCH, parent=school)


def test_import_row_numbers_are_unique_in_their_batch():
    from portal.models import ImportBatch, ImportRow

    batch = ImportBatch.objects.create(kind="activities", file="imports/x.csv", file_name="x.csv", file_sha256="0" * 64,
                                       created_by=f.UserFactory())
    ImportRow.objects.create(batch=batch, number=2, outcome=ImportRow.Outcome.NEW)
    with violates(ImportRow, "importrow_unique_number"):
        ImportRow.objects.create(batch=batch, number=2, outcome=ImportRow.Outcome.ERROR)


def test_organization_same_name_under_different_parents_is_allowed():
    for school in (f.OrganizationFactory(name="中山中专"), f.OrganizationFactory(name="华南师范大学")):
        Organization.objects.create(name="第三党支部", kind=Organization.Kind.BRANCH, parent=school)
    assert Organization.objects.filter(name="第三党支部").count() == 2


def test_organization_root_names_unique():
    # Without the conditional constraint, (NULL, name) pairs would never collide.
    Organization.objects.create(name="龙石村", kind=Organization.Kind.VILLAGE)
    with violates(Organization, "organization_unique_root_name"):
        Organization.objects.create(name="龙石村", kind=Organization.Kind.VILLAGE)


def test_organization_root_name_may_repeat_below_a_parent():
    town = f.OrganizationFactory(name="某镇", kind=Organization.Kind.TOWN)
    Organization.objects.create(name="龙石村", kind=Organization.Kind.VILLAGE)
    Organization.objects.create(name="龙石村", kind=Organization.Kind.VILLAGE, parent=town)


def test_organization_not_own_parent():
    org = f.OrganizationFactory()
    with violates(Organization, "organization_not_own_parent"):
        _update(org, parent_id=org.pk)


def test_membership_role_unique_per_user_and_organization():
    membership = f.MembershipFactory(role=Membership.Role.SECRETARY)
    with violates(Membership, "membership_unique_role"):
        Membership.objects.create(
            user=membership.user, organization=membership.organization, role=Membership.Role.SECRETARY
        )
    # A second role in the same organisation is fine.
    Membership.objects.create(user=membership.user, organization=membership.organization, role=Membership.Role.MEMBER)


# --- pairings -----------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["name", "code"])
def test_program_name_and_code_unique(field):
    program = f.ProgramFactory(name="双联双助", code="slsz")
    values = {"name": "另一个项目", "code": "other", field: getattr(program, field)}
    with violates(Program, field):
        Program.objects.create(office=program.office, **values)


@pytest.mark.parametrize("constraint, field", [("metric_unique_code", "code"), ("metric_unique_name", "name")])
def test_metric_code_and_name_unique_per_program(constraint, field):
    metric = f.MetricFactory(code="repairs", name="维修家电")
    values = {"code": "other", "name": "其他", field: getattr(metric, field)}
    with violates(Metric, constraint):
        Metric.objects.create(program=metric.program, unit=Metric.Unit.ITEMS, **values)
    # The same code and name in another program is fine.
    Metric.objects.create(program=f.ProgramFactory(), code="repairs", name="维修家电", unit=Metric.Unit.ITEMS)


@pytest.mark.parametrize("unit, aggregation", [("人", "sum"), ("件", "snapshot"), ("人次", "snapshot"), ("场次", "snapshot"), ("株", "snapshot")])
def test_metric_unit_decides_its_aggregation(unit, aggregation):
    program = f.ProgramFactory()
    with violates(Metric, "metric_unit_aggregation"):
        Metric.objects.create(program=program, code="m", name="指标", unit=unit, aggregation=aggregation)
    metric = f.MetricFactory(program=program, unit=Metric.Unit.PERSONS)
    with violates(Metric, "metric_unit_aggregation"):
        Metric.objects.filter(pk=metric.pk).update(aggregation="sum")


@pytest.mark.parametrize("unit, aggregation", [("人", "snapshot"), ("人次", "sum"), ("万元", "sum"), ("万元", "snapshot"), ("平方米", "snapshot")])
def test_metric_units_and_aggregations_the_registry_allows(unit, aggregation):
    Metric.objects.create(program=f.ProgramFactory(), code="m", name="指标", unit=unit, aggregation=aggregation)


def test_village_statistic_one_value_per_village_indicator_and_day():
    statistic = f.VillageStatisticFactory()
    with violates(VillageStatistic, "villagestatistic_unique_day"):
        VillageStatistic.objects.create(
            village=statistic.village, indicator=statistic.indicator, as_at=statistic.as_at, value=1, source="另一来源"
        )
    # another day is another value
    VillageStatistic.objects.create(
        village=statistic.village, indicator=statistic.indicator, as_at=datetime.date(2024, 12, 31), value=1, source="年报"
    )


def test_village_statistic_not_negative():
    with violates(VillageStatistic, "villagestatistic_value_not_negative"):
        f.VillageStatisticFactory(value=Decimal("-0.01"))
    assert f.VillageStatisticFactory(value=Decimal("0")).value == 0


def test_pairing_unique_per_program_and_sides():
    pairing = f.PairingFactory()
    with violates(Pairing, "pairing_unique_sides"):
        Pairing.objects.create(
            program=pairing.program,
            supporter=pairing.supporter,
            supported=pairing.supported,
            term_start=datetime.date(2024, 1, 1),
        )
    # The same two sides under another program are a different pairing.
    Pairing.objects.create(
        program=f.ProgramFactory(),
        supporter=pairing.supporter,
        supported=pairing.supported,
        term_start=datetime.date(2024, 1, 1),
    )


def test_pairing_sides_differ():
    program = f.ProgramFactory()
    school = f.OrganizationFactory()
    with violates(Pairing, "pairing_sides_differ"):
        Pairing.objects.create(program=program, supporter=school, supported=school, term_start=datetime.date(2024, 1, 1))


def test_pairing_sides_differ_on_update():
    pairing = f.PairingFactory()
    with violates(Pairing, "pairing_sides_differ"):
        _update(pairing, supported=pairing.supporter)


def test_pairing_term_end_not_before_start():
    pairing = f.PairingFactory(term_start=datetime.date(2024, 1, 1), term_end=None)
    with violates(Pairing, "pairing_term_end_after_start"):
        _update(pairing, term_end=datetime.date(2023, 12, 31))


@pytest.mark.parametrize("term_end", [None, datetime.date(2024, 1, 1), datetime.date(2026, 12, 31)])
def test_pairing_term_open_or_ending_on_or_after_start_is_allowed(term_end):
    pairing = f.PairingFactory(term_start=datetime.date(2024, 1, 1), term_end=None)
    assert _update(pairing, term_end=term_end) == 1


def test_pairing_branch_unique():
    link = f.PairingBranchFactory()
    with violates(PairingBranch, "pairingbranch_unique"):
        PairingBranch.objects.create(pairing=link.pairing, branch=link.branch)


def test_liaison_name_unique_per_pairing_side():
    liaison = f.LiaisonFactory(name="王联络", side=Liaison.Side.SUPPORTED)
    with violates(Liaison, "liaison_unique_name"):
        Liaison.objects.create(pairing=liaison.pairing, side=Liaison.Side.SUPPORTED, name="王联络")
    # The same name on the other side is another person's role.
    Liaison.objects.create(pairing=liaison.pairing, side=Liaison.Side.SUPPORTER, name="王联络")


def test_joint_plan_one_per_pairing_and_year():
    plan = f.JointPlanFactory(year=2024)
    with violates(JointPlan, "jointplan_unique_year"):
        JointPlan.objects.create(pairing=plan.pairing, year=2024, title="重复计划")
    JointPlan.objects.create(pairing=plan.pairing, year=2025, title="2025年度共建计划")


@pytest.mark.parametrize("year", [1999, 2101])
def test_joint_plan_year_in_range(year):
    pairing = f.PairingFactory()
    with violates(JointPlan, "jointplan_year_range"):
        JointPlan.objects.create(pairing=pairing, year=year, title="计划")


@pytest.mark.parametrize("year", [2000, 2100])
def test_joint_plan_year_bounds_allowed(year):
    JointPlan.objects.create(pairing=f.PairingFactory(), year=year, title="计划")


def test_plan_item_progress_at_most_100():
    item = f.PlanItemFactory()
    assert _update(item, progress=100) == 1
    with violates(PlanItem, "planitem_progress_max_100"):
        _update(item, progress=101)


def test_plan_target_unique_per_item_and_metric():
    target = f.PlanTargetFactory()
    with violates(PlanTarget, "plantarget_unique_metric"):
        PlanTarget.objects.create(item=target.item, metric=target.metric, value=Decimal("5"))


@pytest.mark.parametrize("value", [Decimal("0"), Decimal("-1")])
def test_plan_target_value_positive(value):
    target = f.PlanTargetFactory()
    with violates(PlanTarget, "plantarget_value_positive"):
        _update(target, value=value)


def test_plan_target_small_positive_value_allowed():
    target = f.PlanTargetFactory()
    assert _update(target, value=Decimal("0.01")) == 1


# --- volunteers ---------------------------------------------------------------------------------


def test_team_name_unique_per_organization():
    team = f.TeamFactory(name="小电匠家电维修队")
    with violates(Team, "team_unique_name"):
        Team.objects.create(organization=team.organization, name="小电匠家电维修队")
    Team.objects.create(organization=f.OrganizationFactory(), name="小电匠家电维修队")


def test_service_offering_name_unique_per_team():
    offering = f.ServiceOfferingFactory(name="家电维修")
    with violates(ServiceOffering, "serviceoffering_unique_name"):
        ServiceOffering.objects.create(team=offering.team, name="家电维修")


def test_service_offering_name_not_empty():
    team = f.TeamFactory()
    with violates(ServiceOffering, "serviceoffering_name_not_empty"):
        ServiceOffering.objects.create(team=team, name="")


def _certificate(volunteer, serial, **values):
    fields = dict(
        volunteer=volunteer, number=f"ZYFW-2024-{serial:06d}", year=2024, serial=serial,
        period_start=datetime.date(2024, 1, 1), period_end=datetime.date(2024, 12, 31), total_hours=Decimal("2.0"),
        digest=f"digest-{serial}", issuer_name="学校第三党支部",
    )
    fields.update(values)
    return Certificate.objects.create(**fields)


def test_certificate_serial_unique_per_year():
    volunteer = f.VolunteerFactory()
    _certificate(volunteer, 1)
    with violates(Certificate, "certificate_unique_serial"):
        _certificate(volunteer, 1, number="ZYFW-2024-X", digest="other")
    _certificate(volunteer, 1, year=2025, number="ZYFW-2025-000001", digest="next-year")


def test_certificate_same_content_issued_once():
    volunteer = f.VolunteerFactory()
    _certificate(volunteer, 1, digest="same")
    with violates(Certificate, "certificate_unique_content"):
        _certificate(volunteer, 2, digest="same")
    _certificate(volunteer, 3, digest="same", period_end=datetime.date(2024, 6, 30))


def test_certificate_period_in_order():
    volunteer = f.VolunteerFactory()
    with violates(Certificate, "certificate_period_in_order"):
        _certificate(volunteer, 1, period_start=datetime.date(2024, 2, 1), period_end=datetime.date(2024, 1, 31))
    _certificate(volunteer, 2, period_start=datetime.date(2024, 2, 1), period_end=datetime.date(2024, 2, 1))


@pytest.mark.parametrize("hours", [Decimal("0"), Decimal("-1")])
def test_certificate_hours_positive(hours):
    with violates(Certificate, "certificate_hours_positive"):
        _certificate(f.VolunteerFactory(), 1, total_hours=hours)


# --- activities ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, constraint", [("code", "activitytype_unique_shared_code"), ("name", "activitytype_unique_shared_name")]
)
def test_shared_activity_type_code_and_name_unique(field, constraint):
    ActivityType.objects.create(code="theme-day", name="主题党日")
    values = {"code": "other", "name": "其他", field: {"code": "theme-day", "name": "主题党日"}[field]}
    with violates(ActivityType, constraint):
        ActivityType.objects.create(**values)


@pytest.mark.parametrize(
    "field, constraint", [("code", "activitytype_unique_program_code"), ("name", "activitytype_unique_program_name")]
)
def test_program_activity_type_code_and_name_unique_within_the_program(field, constraint):
    program = f.ProgramFactory()
    ActivityType.objects.create(code="theme-day", name="主题党日", program=program)
    values = {"code": "other", "name": "其他", field: {"code": "theme-day", "name": "主题党日"}[field]}
    # the same code and name may serve another program, or the shared catalog
    ActivityType.objects.create(**{**values, "code": "theme-day", "name": "主题党日"}, program=f.ProgramFactory())
    ActivityType.objects.create(**{**values, "code": "theme-day", "name": "主题党日"})
    with violates(ActivityType, constraint):
        ActivityType.objects.create(**values, program=program)


@pytest.mark.parametrize("rating", [0, 6])
def test_need_rating_between_1_and_5(rating):
    need = f.NeedFactory()
    with violates(Need, "need_rating_1_to_5"):
        _update(need, rating=rating)


@pytest.mark.parametrize("rating", [None, 1, 5])
def test_need_rating_empty_or_1_to_5_allowed(rating):
    need = f.NeedFactory()
    assert _update(need, rating=rating) == 1


def test_need_not_claimed_before_raised():
    branch = f.OrganizationFactory(kind=Organization.Kind.BRANCH)
    need = f.NeedFactory(raised_at=AWARE)
    with violates(Need, "need_claimed_after_raised"):
        _update(
            need,
            status=Need.Status.CLAIMED,
            claimed_by_branch=branch,
            claimed_at=AWARE - datetime.timedelta(seconds=1),
        )
    assert _update(need, status=Need.Status.CLAIMED, claimed_by_branch=branch, claimed_at=AWARE) == 1


@pytest.mark.parametrize("status", [Need.Status.CLAIMED, Need.Status.FULFILLED])
def test_need_claimed_or_fulfilled_has_branch(status):
    pairing = f.PairingFactory()
    with violates(Need, "need_claimed_has_branch"):
        Need.objects.create(pairing=pairing, title="修理路灯", raised_at=AWARE, status=status, claimed_at=AWARE)


@pytest.mark.parametrize("status", [Need.Status.OPEN, Need.Status.CLOSED])
def test_need_open_or_closed_without_branch_allowed(status):
    Need.objects.create(pairing=f.PairingFactory(), title="修理路灯", raised_at=AWARE, status=status)


def test_activity_end_time_not_before_start():
    activity = f.ActivityFactory()
    with violates(Activity, "activity_end_after_start"):
        _update(activity, start_time=datetime.time(10, 0), end_time=datetime.time(9, 59))


@pytest.mark.parametrize(
    "start, end",
    [(datetime.time(9, 0), datetime.time(11, 30)), (datetime.time(9, 0), datetime.time(9, 0)),
     (datetime.time(9, 0), None), (None, datetime.time(9, 0))],
)
def test_activity_times_in_order_or_missing_allowed(start, end):
    activity = f.ActivityFactory()
    assert _update(activity, start_time=start, end_time=end) == 1


@pytest.mark.parametrize("status", [Activity.Status.SUBMITTED, Activity.Status.CONFIRMED])
def test_activity_submitted_has_submission_time(status):
    activity = f.ActivityFactory()
    with violates(Activity, "activity_submitted_has_time"):
        _update(activity, status=status, submitted_at=None, confirmed_at=timezone.now())


def test_activity_confirmed_has_confirmation_time():
    activity = f.ActivityFactory()
    with violates(Activity, "activity_confirmed_has_time"):
        _update(activity, status=Activity.Status.CONFIRMED, submitted_at=timezone.now(), confirmed_at=None)
    now = timezone.now()
    assert _update(activity, status=Activity.Status.CONFIRMED, submitted_at=now, confirmed_at=now) == 1


@pytest.mark.parametrize("status", [Activity.Status.DRAFT, Activity.Status.RETURNED])
def test_activity_draft_or_returned_without_times_allowed(status):
    activity = f.ActivityFactory()
    assert _update(activity, status=status, submitted_at=None, confirmed_at=None) == 1


def test_submit_key_used_once_per_user():
    """A form's submit_key saves once: a second row for the same user and key is refused, even without a check
    before it (two requests racing); another user's equal key is theirs."""
    import uuid

    from activities.models import SubmitKey

    activity = f.ActivityFactory()
    user, other = f.UserFactory(), f.UserFactory()
    key = uuid.uuid4()
    SubmitKey.objects.create(created_by=user, key=key, activity=activity)
    with violates(SubmitKey, "submitkey_unique_per_user"):
        SubmitKey.objects.create(created_by=user, key=key)
    assert SubmitKey.objects.create(created_by=other, key=key).pk


def test_metric_value_unique_per_activity_and_metric():
    value = f.ActivityMetricValueFactory()
    with violates(ActivityMetricValue, "metricvalue_unique_metric"):
        ActivityMetricValue.objects.create(activity=value.activity, metric=value.metric, value=Decimal("2"))


def test_metric_value_not_negative():
    value = f.ActivityMetricValueFactory()
    assert _update(value, value=Decimal("0")) == 1
    with violates(ActivityMetricValue, "metricvalue_not_negative"):
        _update(value, value=Decimal("-0.01"))


def test_service_record_one_per_volunteer_and_activity():
    record = f.ServiceRecordFactory()
    with violates(ServiceRecord, "servicerecord_unique_volunteer"):
        ServiceRecord.objects.create(activity=record.activity, volunteer=record.volunteer, hours=Decimal("1.0"))


@pytest.mark.parametrize("hours", [Decimal("0"), Decimal("-1.0"), Decimal("24.1"), Decimal("25")])
def test_service_record_hours_above_0_and_at_most_24(hours):
    record = f.ServiceRecordFactory()
    with violates(ServiceRecord, "servicerecord_hours_0_to_24"):
        _update(record, hours=hours)


@pytest.mark.parametrize("hours", [Decimal("0.1"), Decimal("24.0")])
def test_service_record_hours_bounds_allowed(hours):
    record = f.ServiceRecordFactory()
    assert _update(record, hours=hours) == 1


def test_service_record_verified_has_time():
    record = f.ServiceRecordFactory()
    with violates(ServiceRecord, "servicerecord_verified_has_time"):
        _update(record, status=ServiceRecord.Status.VERIFIED, verified_at=None)
    assert _update(record, status=ServiceRecord.Status.VERIFIED, verified_at=timezone.now()) == 1


# --- reports ------------------------------------------------------------------------------------


def _report(**values):
    # objects.create runs Model.save(), which derives scope_key from the pairing; no validation runs.
    values.setdefault("kind", Report.Kind.MONTHLY)
    values.setdefault("period", "2024-03")
    return Report.objects.create(**values)


def test_report_unique_version_for_program_scope():
    program = f.ProgramFactory()
    first = _report(program=program)
    assert first.pairing is None and first.scope_key == "program"
    with violates(Report, "report_unique_version"):
        _report(program=program)


def test_report_unique_version_for_pairing_scope():
    pairing = f.PairingFactory()
    first = _report(program=pairing.program, pairing=pairing)
    assert first.scope_key == f"pairing:{pairing.pk}"
    with violates(Report, "report_unique_version"):
        _report(program=pairing.program, pairing=pairing)


def test_report_renumbering_onto_an_existing_version_fails():
    program = f.ProgramFactory()
    _report(program=program, version=1)
    second = _report(program=program, version=2)
    with violates(Report, "report_unique_version"):
        _update(second, version=1)


def test_reports_of_other_scopes_kinds_periods_and_versions_coexist():
    pairing = f.PairingFactory()
    other_pairing = f.PairingFactory(program=pairing.program)
    program = pairing.program
    _report(program=program)
    _report(program=program, pairing=pairing)
    _report(program=program, pairing=other_pairing)
    _report(program=program, version=2)
    _report(program=program, pairing=pairing, version=2)
    _report(program=program, kind=Report.Kind.QUARTERLY, period="2024Q1")
    _report(program=program, period="2024-04")
    _report(program=f.ProgramFactory())
    assert Report.objects.count() == 8


def test_report_version_positive():
    report = _report(program=f.ProgramFactory())
    with violates(Report, "report_version_positive"):
        _update(report, version=0)


def test_report_published_has_time():
    report = _report(program=f.ProgramFactory())
    with violates(Report, "report_published_has_time"):
        _update(report, status=Report.Status.PUBLISHED, published_at=None)
    assert _update(report, status=Report.Status.PUBLISHED, published_at=timezone.now()) == 1


def test_notification_has_recipient():
    from reports.models import Notification

    report = _report(program=f.ProgramFactory())
    with violates(Notification, "notification_has_recipient"):
        Notification.objects.create(report=report, user=None, email="", message="x")
    Notification.objects.create(report=report, user=None, email="liaison@example.org", message="by mail only")
    Notification.objects.create(report=report, user=f.UserFactory(), email="", message="in the portal only")


def test_notification_once_per_user_and_per_email():
    from reports.models import Notification

    user = f.UserFactory()
    Notification.objects.create(user=user, message="x", key="event:1")
    with violates(Notification, "notification_once_per_user"):
        Notification.objects.create(user=user, message="again", key="event:1")
    Notification.objects.create(user=None, email="a@example.org", message="x", key="event:1")
    with violates(Notification, "notification_once_per_email"):
        Notification.objects.create(user=None, email="a@example.org", message="again", key="event:1")
    # events without a key are never merged
    Notification.objects.create(user=user, message="x")
    Notification.objects.create(user=user, message="x")


def test_webhook_program_or_pairing():
    from reports.models import Webhook

    pairing = f.PairingFactory()
    with violates(Webhook, "webhook_program_or_pairing"):
        Webhook.objects.create(kind="wecom", name="x", url="https://qyapi.weixin.qq.com/")
    with violates(Webhook, "webhook_program_or_pairing"):
        Webhook.objects.create(kind="wecom", name="x", url="https://qyapi.weixin.qq.com/", pairing=pairing,
                               program=pairing.program)
    Webhook.objects.create(kind="wecom", name="x", url="https://qyapi.weixin.qq.com/", pairing=pairing)


def test_delivery_has_target_and_sent_time():
    from reports.models import Delivery, Webhook

    hook = Webhook.objects.create(kind="wecom", name="x", url="https://qyapi.weixin.qq.com/", program=f.ProgramFactory())
    with violates(Delivery, "delivery_has_target"):
        Delivery.objects.create(channel="email", key="a", email="")
    with violates(Delivery, "delivery_has_target"):
        Delivery.objects.create(channel="wecom", key="b")
    with violates(Delivery, "delivery_sent_has_time"):
        Delivery.objects.create(channel="wecom", key="c", webhook=hook, status="sent")
    Delivery.objects.create(channel="email", key="d", email="a@example.org")
    Delivery.objects.create(channel="wecom", key="e", webhook=hook, status="sent", sent_at=timezone.now())


def test_annual_export_year_range():
    from reports.models import AnnualExport

    program = f.ProgramFactory()
    with violates(AnnualExport, "annualexport_year_range"):
        AnnualExport.objects.create(program=program, year=1999)
    with violates(AnnualExport, "annualexport_year_range"):
        AnnualExport.objects.create(program=program, year=2101)
    AnnualExport.objects.create(program=program, year=2000)
    AnnualExport.objects.create(program=program, year=2100)


# --- reports: the rollup -------------------------------------------------------------------------

MARCH = datetime.date(2024, 3, 1)


def _rollup_rows():
    """One row of each rollup table, valid, for the tests below to spoil."""
    from figures.models import PairingMonth, PairingMonthMetric, PairingYear, ProgramMonth, ProgramMonthMetric

    pairing = f.PairingFactory()
    metric = f.MetricFactory(program=pairing.program)
    people = dict(residents_served=30, party_members=3, teachers=1, students=0)
    return {
        "month": PairingMonth.objects.create(
            pairing=pairing, month=MARCH, activities=2, confirmed=1, verified_hours=Decimal("3.5"),
            last_activity_on=datetime.date(2024, 3, 20), **people,
        ),
        "metric": PairingMonthMetric.objects.create(
            pairing=pairing, month=MARCH, metric=metric, total=Decimal(12), latest_value=Decimal(5),
            latest_on=datetime.date(2024, 3, 20),
        ),
        "year": PairingYear.objects.create(
            pairing=pairing, year=2024, activities=2, confirmed=1, verified_hours=Decimal("3.5"),
            last_activity_on=datetime.date(2024, 3, 20), **people,
        ),
        "program_month": ProgramMonth.objects.create(
            program=pairing.program, month=MARCH, pairings=1, activities=2, confirmed=1, verified_hours=Decimal("3.5"), **people
        ),
        "program_metric": ProgramMonthMetric.objects.create(
            program=pairing.program, month=MARCH, metric=metric, total=Decimal(12), pairings=1
        ),
    }


def _again(row, **changes):
    """A copy of the row under the same unique key (a second row for the same period)."""
    values = {
        field.attname: getattr(row, field.attname)
        for field in type(row)._meta.concrete_fields
        if not field.primary_key
    }
    return type(row).objects.create(**{**values, **changes})


@pytest.mark.parametrize(
    "table, name",
    [
        ("month", "pairingmonth_unique_month"),
        ("metric", "pairingmonthmetric_unique"),
        ("year", "pairingyear_unique_year"),
        ("program_month", "programmonth_unique_month"),
        ("program_metric", "programmonthmetric_unique"),
    ],
)
def test_rollup_one_row_per_period(table, name):
    row = _rollup_rows()[table]
    with violates(type(row), name):
        _again(row)
    april = datetime.date(2024, 4, 1)
    next_period = {
        "month": {"month": april, "last_activity_on": april},
        "metric": {"month": april, "latest_on": april},
        "year": {"year": 2025},
    }.get(table, {"month": april})
    _again(row, **next_period)  # the next period is another row


@pytest.mark.parametrize(
    "table, name, values",
    [
        ("month", "pairingmonth_has_activities", {"activities": 0, "confirmed": 0}),
        ("month", "pairingmonth_confirmed_within", {"confirmed": 3}),
        ("month", "pairingmonth_hours_not_negative", {"verified_hours": Decimal("-0.5")}),
        ("month", "pairingmonth_last_activity_in_month", {"last_activity_on": datetime.date(2024, 2, 29)}),
        ("metric", "pairingmonthmetric_total_not_negative", {"total": Decimal("-1")}),
        ("metric", "pairingmonthmetric_latest_not_negative", {"latest_value": Decimal("-1")}),
        ("metric", "pairingmonthmetric_latest_in_month", {"latest_on": datetime.date(2024, 2, 29)}),
        ("year", "pairingyear_has_activities", {"activities": 0, "confirmed": 0}),
        ("year", "pairingyear_confirmed_within", {"confirmed": 3}),
        ("year", "pairingyear_hours_not_negative", {"verified_hours": Decimal("-0.5")}),
        ("program_month", "programmonth_has_activities", {"pairings": 0, "activities": 0, "confirmed": 0}),
        ("program_month", "programmonth_activities_cover_pairings", {"pairings": 3}),
        ("program_month", "programmonth_confirmed_within", {"confirmed": 3}),
        ("program_month", "programmonth_hours_not_negative", {"verified_hours": Decimal("-0.5")}),
        ("program_metric", "programmonthmetric_total_not_negative", {"total": Decimal("-1")}),
    ],
)
def test_rollup_rows_hold_together(table, name, values):
    row = _rollup_rows()[table]
    with violates(type(row), name):
        _update(row, **values)


def test_rollup_boundary_values_are_allowed():
    rows = _rollup_rows()
    assert _update(rows["month"], confirmed=2, verified_hours=0, last_activity_on=MARCH) == 1
    assert _update(rows["metric"], total=0, latest_value=0, latest_on=MARCH) == 1
    assert _update(rows["year"], activities=1, confirmed=1, verified_hours=0) == 1
    assert _update(rows["program_month"], pairings=2, activities=2, confirmed=2, verified_hours=0) == 1
    assert _update(rows["program_metric"], total=0, pairings=1) == 1
    # a month whose only activities are the program's own, outside any pairing
    assert _update(rows["program_month"], pairings=0, activities=1, confirmed=0) == 1
    assert _update(rows["program_metric"], pairings=0) == 1


# --- joint meetings (联席会议) -------------------------------------------------------------------------


def _action_item():
    from activities.models import ActionItem, Meeting

    pairing = f.PairingFactory()
    meeting = Meeting.objects.create(program=pairing.program, pairing=pairing, title="联席会议", date=datetime.date(2024, 3, 10))
    return ActionItem.objects.create(meeting=meeting, text="摸排需求", owner_org=pairing.supported, due_date=datetime.date(2024, 4, 1))


@pytest.mark.parametrize(
    "values",
    [{"status": "done", "note": "已完成"}, {"status": "open", "closed_at": AWARE}],
    ids=["closed-without-time", "open-with-time"],
)
def test_action_item_closed_exactly_when_it_has_a_closing_time(values):
    from activities.models import ActionItem

    with violates(ActionItem, "actionitem_closed_has_time"):
        _update(_action_item(), **values)


def test_action_item_done_has_its_activity_or_a_note():
    from activities.models import ActionItem

    item = _action_item()
    with violates(ActionItem, "actionitem_done_has_evidence"):
        _update(item, status="done", closed_at=AWARE)
    assert _update(item, status="done", closed_at=AWARE, note="已完成") == 1
    activity = f.ActivityFactory(pairing=item.meeting.pairing)
    assert _update(item, note="", done_by_activity=activity) == 1


def test_action_item_dropped_has_a_reason():
    from activities.models import ActionItem

    item = _action_item()
    with violates(ActionItem, "actionitem_dropped_has_reason"):
        _update(item, status="dropped", closed_at=AWARE)
    assert _update(item, status="dropped", closed_at=AWARE, note="已不需要") == 1


def test_action_item_status_and_text():
    from activities.models import ActionItem

    item = _action_item()
    with violates(ActionItem, "actionitem_status_valid"):
        _update(item, status="later", closed_at=AWARE, note="x")
    with violates(ActionItem, "actionitem_has_text"):
        _update(item, text="")


def test_meeting_attachment_is_a_pdf_or_a_jpeg():
    from activities.models import MeetingAttachment

    meeting = _action_item().meeting
    with violates(MeetingAttachment, "meetingattachment_pdf_or_jpeg"):
        MeetingAttachment.objects.create(meeting=meeting, kind="document", file="meetings/a.docx", content_type="application/msword")
    for content_type in ("application/pdf", "image/jpeg"):
        MeetingAttachment.objects.create(meeting=meeting, kind="document", file="meetings/a", content_type=content_type)


def test_meeting_attendee_named_once_per_side():
    from activities.models import MeetingAttendee

    meeting = _action_item().meeting
    MeetingAttendee.objects.create(meeting=meeting, side="supported", name="李国强")
    with violates(MeetingAttendee, "meetingattendee_unique_name"):
        MeetingAttendee.objects.create(meeting=meeting, side="supported", name="李国强")
    with violates(MeetingAttendee, "meetingattendee_has_name"):
        MeetingAttendee.objects.create(meeting=meeting, side="supporter", name="")
    MeetingAttendee.objects.create(meeting=meeting, side="supporter", name="李国强")  # another side, another person


# --- photos held for the activity form (issue 16) -------------------------------------------------------


def test_a_held_photo_attached_says_when():
    from activities.models import ActivityPhoto, PhotoUpload

    world_user = f.UserFactory(username="uploader")
    activity = f.ActivityFactory()
    photo = ActivityPhoto.objects.create(activity=activity, image="photos/x.jpg")
    with violates(PhotoUpload, "photoupload_attached_has_time"):
        PhotoUpload.objects.create(owner=world_user, token_hash="a" * 64, image="photos/x.jpg", attached_to=photo)
    PhotoUpload.objects.create(owner=world_user, token_hash="b" * 64, image="photos/x.jpg", attached_to=photo, attached_at=AWARE)
    PhotoUpload.objects.create(owner=world_user, token_hash="c" * 64, image="photos/y.jpg")  # held, not attached
    with violates(PhotoUpload, "token_hash"):
        PhotoUpload.objects.create(owner=world_user, token_hash="c" * 64, image="photos/z.jpg")
