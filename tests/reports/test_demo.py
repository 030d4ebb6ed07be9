"""load_demo: the four seed programs as real records — idempotent, faithful to the seeds' figures, and careful."""

import datetime
import io
from decimal import Decimal

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.test import override_settings

from activities.models import Activity, ActivityMetricValue, ActivityType, Need, ServiceRecord
from pairings.models import Liaison, Metric, Pairing, PlanItem, Program
from portal.models import Membership, Organization, User
from reports import demo
from volunteers.models import Team

END = datetime.date(2024, 12, 31)


@pytest.fixture(scope="module")
def demo_output(django_db_setup, django_db_blocker):
    """Load the demo once for the module, inside a transaction that is rolled back at the end.

    The hasher matches conftest's autouse ``_fast_password_hasher``, which only applies to function-scoped tests.
    """
    fast = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    with django_db_blocker.unblock(), fast, transaction.atomic():
        out = io.StringIO()
        call_command("load_demo", stdout=out)
        yield out.getvalue()
        transaction.set_rollback(True)


@pytest.fixture
def loaded(demo_output, db):
    return demo_output


def all_counts():
    """Rows of every table Django knows, history and many-to-many tables included."""
    return {m._meta.label: m._base_manager.count() for m in apps.get_models(include_auto_created=True)}


def metric_values(program, metric, *, confirmed_only=False):
    values = ActivityMetricValue.objects.filter(metric__program__code=program, metric__code=metric)
    if confirmed_only:
        values = values.filter(activity__status=Activity.Status.CONFIRMED)
    return values


def metric_total(program, metric, **kwargs):
    return metric_values(program, metric, **kwargs).aggregate(total=Sum("value"))["total"]


# ---------------------------------------------------------------- refusal (works on an empty or a demo database)


def test_refuses_with_a_non_demo_organisation_and_writes_nothing(db):
    Organization.objects.create(name="某某公司", kind=Organization.Kind.OTHER)
    before = all_counts()
    with pytest.raises(CommandError, match="not demo data.*某某公司"):
        call_command("load_demo", stdout=io.StringIO())
    assert all_counts() == before


def test_refuses_with_a_non_demo_user(db):
    User.objects.create_user(username="wangli", password="x-irrelevant-1")
    before = all_counts()
    with pytest.raises(CommandError, match="wangli"):
        call_command("load_demo", stdout=io.StringIO())
    assert all_counts() == before


def test_refuses_a_real_admin_account_that_shares_a_demo_username(db):
    # A production superuser called "admin" must not get the published demo password.
    user, _ = User.objects.get_or_create(username="admin")
    user.email, user.is_staff, user.is_superuser = "it@example.org", True, True
    user.set_password("a-real-secret-42")
    user.save()
    with pytest.raises(CommandError, match="admin"):
        call_command("load_demo", stdout=io.StringIO())
    assert User.objects.get(username="admin").check_password("a-real-secret-42")


def test_refuses_in_production_mode(db, settings):
    settings.PRODUCTION = True
    before = all_counts()
    with pytest.raises(CommandError, match="production"):
        call_command("load_demo", stdout=io.StringIO())
    assert all_counts() == before


def test_an_existing_type_catalog_is_reused(db):
    ActivityType.objects.update_or_create(name="志愿服务", defaults={"code": "volunteering"})
    ActivityType.objects.create(code="other", name="其他")
    call_command("load_demo", stdout=io.StringIO())
    assert ActivityType.objects.get(name="志愿服务").code == "volunteering"
    assert ActivityType.objects.filter(code="other").exists()
    assert Activity.objects.filter(activity_type__code="volunteering").exists()
    assert not ActivityType.objects.filter(code="volunteer-service").exists()


# ---------------------------------------------------------------- idempotence


def test_second_run_changes_nothing(loaded):
    before = all_counts()
    activities = list(Activity.objects.order_by("pk").values())
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    assert all_counts() == before  # domain rows and history rows alike
    assert list(Activity.objects.order_by("pk").values()) == activities
    assert "new" not in out.getvalue() and "unchanged" in out.getvalue()


def test_rerun_restores_edited_demo_records(loaded):
    repairs = Metric.objects.get(program__code="slsz", code="appliance_repairs")
    value = ActivityMetricValue.objects.filter(metric=repairs).order_by("activity__date").first()
    value.value = Decimal("999")
    value.save()
    ActivityMetricValue.objects.filter(metric=repairs).order_by("-activity__date").first().delete()
    before = all_counts()
    call_command("load_demo", stdout=io.StringIO())
    assert metric_total("slsz", "appliance_repairs") == 108
    after = all_counts()
    assert after["activities.ActivityMetricValue"] == before["activities.ActivityMetricValue"] + 1
    assert after["activities.Activity"] == before["activities.Activity"]


def test_rerun_restores_a_soft_deleted_demo_activity(loaded):
    activity = Activity.objects.filter(title__contains="井上添画").get()
    Activity.objects.filter(pk=activity.pk).update(deleted_at=datetime.datetime(2024, 12, 30, tzinfo=demo.TZ))
    assert not Activity.objects.filter(pk=activity.pk).exists()
    before = all_counts()
    call_command("load_demo", stdout=io.StringIO())
    assert Activity.objects.filter(pk=activity.pk).exists()
    assert all_counts()["activities.Activity"] == before["activities.Activity"]


def test_summary_and_warning_are_printed(loaded):
    assert "activities.Activity " in loaded
    assert "DEMO DATA ONLY" in loaded and settings.PORTAL_DEMO_PASSWORD in loaded


# ---------------------------------------------------------------- the seeds' figures


@pytest.mark.parametrize("figure", demo.SEED_FIGURES, ids=lambda f: f"{f.program}.{f.metric}")
def test_seed_figures_add_up(loaded, figure):
    if figure.year:  # a snapshot: the latest value of that year
        latest = (
            metric_values(figure.program, figure.metric)
            .filter(activity__date__year=figure.year)
            .order_by("-activity__date")
            .first()
        )
        assert latest.value == figure.value
    else:
        assert metric_total(figure.program, figure.metric) == figure.value
        # every figure the seeds give is confirmed by the village (验单), so reports show it in full
        assert metric_total(figure.program, figure.metric, confirmed_only=True) == figure.value


@pytest.mark.parametrize("key", demo.SEED_ACTIVITY_COUNTS, ids=lambda k: ".".join(k))
def test_seed_event_counts(loaded, key):
    program, metric = key
    count = Activity.objects.filter(pairing__program__code=program, metric_values__metric__code=metric).count()
    assert count == demo.SEED_ACTIVITY_COUNTS[key]


def test_xiaodianjiang_repairs(loaded):
    """Seed 000: 十余次维修活动, 共维修100多件电器."""
    metric = Metric.objects.get(program__code="slsz", code="appliance_repairs")
    assert metric.unit == Metric.Unit.ITEMS and metric.aggregation == Metric.Aggregation.SUM
    events = Activity.objects.filter(metric_values__metric=metric, metric_values__value__gt=0)
    assert events.count() >= 10
    total = metric_total("slsz", "appliance_repairs")
    assert total >= 100
    assert total == sum(demo.XIAODIANJIANG_REPAIRS) == 108
    team = Team.objects.get(name="小电匠家电维修队")
    assert team.organization.name == "信息技术部"
    assert ServiceRecord.objects.filter(activity__in=events, volunteer__teams=team).exists()


def test_yinzhaochang_figures(loaded):
    """Seed 003, with the units the seed uses."""

    def check(code, unit, value):
        metric = Metric.objects.get(program__code="ljsz", code=code)
        assert metric.unit == unit
        assert metric_total("ljsz", code) == value

    check("children_served", Metric.Unit.PERSON_TIMES, 1312)
    check("herbs_planted", Metric.Unit.MU, 1958)
    check("courtyard_greening", Metric.Unit.SQUARE_METRES, 2920)
    check("tech_trainings", Metric.Unit.SESSIONS, 7)
    assert metric_total("ljsz", "tech_trainees") >= 400
    assert metric_total("ljsz", "leadgoose_sessions") >= 20
    assert metric_total("ljsz", "leadgoose_trainees") >= 1600
    assert metric_total("ljsz", "dendrobium_planted") >= 10000
    assert Metric.objects.get(program__code="ljsz", code="dendrobium_planted").unit == Metric.Unit.PLANTS
    cleanups = Activity.objects.filter(pairing__supported__name="尹兆场社区", activity_type__name="环境整治",
                                       metric_values__metric__code="cleanups")
    assert cleanups.count() == 30
    income = Metric.objects.get(program__code="ljsz", code="per_capita_income")
    assert (income.unit, income.aggregation) == (Metric.Unit.YUAN, Metric.Aggregation.SNAPSHOT)
    assert income.values.get(activity__date__year=2023).value == 16861


def test_seed_000_events(loaded):
    def one(**filters):
        return Activity.objects.get(pairing__program__code="slsz", **filters)

    cleanup = one(title__contains="三清三拆三整治", date__year=2023)
    assert cleanup.activity_type.name == "环境整治" and cleanup.branch.name == "第一党支部"
    assert cleanup.pairing.supported.name == "龙石村"
    assert sorted(cleanup.co_branches.values_list("name", flat=True)) == ["第二党支部", "第五党支部", "第四党支部"]
    lecture = one(title__contains="贾珍")
    assert lecture.activity_type.name == "宣讲" and lecture.branch.name == "第五党支部"
    assert lecture.service_records.filter(volunteer__name="贾珍").exists()
    assert one(title__contains="井上添画").branch.name == "第三党支部"
    assert one(title__contains="财商课堂", date__year=2023).branch.name == "第四党支部"
    fair = one(title__contains="青年创业集市", date__year=2023)
    assert fair.branch.name == "第六党支部" and fair.pairing.supported.name == "港口镇"
    market = Activity.objects.filter(title="集创夜市党员服务集市", place__contains="集创夜市")
    assert market.count() >= 1
    codes = set(ActivityMetricValue.objects.filter(activity__in=market).values_list("metric__code", flat=True))
    assert {"bp_checks", "ebike_services", "appliance_repairs", "antifraud_reach"} <= codes


def test_school_tree(loaded):
    school = Organization.objects.get(name="中山市中等专业学校", parent=None)
    assert school.short_name == "中山中专"
    children = set(school.children.values_list("name", flat=True))
    assert {f"第{n}党支部" for n in "一二三四五六"} <= children
    assert {"创意设计部", "现代服务业部", "信息技术部", "制造部", "中山市中等专业学校党委"} <= children
    assert "港口校区" in school.children.get(name="第六党支部").address
    assert Organization.objects.get(name="龙石村").parent.name == "五桂山街道"


# ---------------------------------------------------------------- users


def test_demo_users_can_log_in(loaded, client):
    assert set(User.objects.values_list("username", flat=True)) == set(demo.DEMO_USERNAMES)
    for username in demo.DEMO_USERNAMES:
        user = User.objects.get(username=username)
        assert user.full_name and user.email == f"{username}@demo.invalid"
        assert client.login(username=username, password=settings.PORTAL_DEMO_PASSWORD), username
        client.logout()


def test_demo_user_roles(loaded):
    slsz = Program.objects.get(name="双联双助")
    admin = User.objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser
    assert Membership.objects.filter(user=admin, organization=slsz.office, role=Membership.Role.ADMIN).exists()

    def role(username):
        m = Membership.objects.get(user__username=username)
        return m.organization.name, m.role

    assert role("zszz") == ("中山市中等专业学校", Membership.Role.COMMITTEE)
    assert role("secretary3") == ("第三党支部", Membership.Role.SECRETARY)
    assert role("secretary4") == ("第四党支部", Membership.Role.SECRETARY)
    assert role("longshi") == ("龙石村", Membership.Role.VILLAGE_COMMITTEE)
    assert role("tianxin") == ("田心村", Membership.Role.VILLAGE_COMMITTEE)
    assert Liaison.objects.filter(
        user__username="longshi", side=Liaison.Side.SUPPORTED, pairing__supported__name="龙石村"
    ).exists()
    assert Pairing.objects.get(supported__name="田心村").program.name == "党员进社区"
    assert not any(User.objects.get(username=u).is_staff for u in demo.DEMO_USERNAMES if u != "admin")


# ---------------------------------------------------------------- shape of the data


def test_four_programs_and_their_pairings(loaded):
    assert set(Program.objects.values_list("name", flat=True)) == {"双联双助", "党员进社区", "党建共同体", "两建三做"}
    for pairing in Pairing.objects.all():
        assert pairing.signed_on and pairing.term_start and pairing.goals
        assert pairing.liaisons.filter(side=Liaison.Side.SUPPORTER).exists()
        assert pairing.liaisons.filter(side=Liaison.Side.SUPPORTED).exists()
        assert pairing.pairing_branches.exists()
        assert sorted(pairing.plans.values_list("year", flat=True)) == [2023, 2024]
    units = set(Metric.objects.values_list("unit", flat=True))
    assert units == {"件", "人次", "场次", "人", "万元", "元", "亩", "平方米", "株"}


def test_every_month_of_2024_has_activities_in_every_program(loaded):
    for program in Program.objects.all():
        months = set(
            Activity.objects.filter(pairing__program=program, date__year=2024)
            .exclude(status=Activity.Status.DRAFT)
            .values_list("date__month", flat=True)
        )
        assert months == set(range(1, 13)), program.name


def test_nothing_after_the_end_of_2024(loaded):
    last = datetime.datetime(2025, 1, 1, tzinfo=demo.TZ)
    assert not Activity.objects.filter(date__gt=END).exists()
    assert not Activity.objects.filter(Q(submitted_at__gte=last) | Q(confirmed_at__gte=last)).exists()
    assert not Need.objects.filter(
        Q(raised_at__gte=last) | Q(claimed_at__gte=last) | Q(fulfilled_at__gte=last) | Q(rated_at__gte=last)
    ).exists()
    assert not ServiceRecord.objects.filter(verified_at__gte=last).exists()
    assert not PlanItem.objects.filter(due_date__gt=END).exists()


def test_statuses(loaded):
    counts = dict(Activity.objects.values_list("status").annotate(n=Count("id")))
    assert counts["confirmed"] > 0.8 * sum(counts.values())
    assert counts["submitted"] >= 5 and counts["draft"] >= 1 and counts["returned"] >= 1
    assert not Activity.objects.filter(status="returned", return_comment="").exists()
    records = dict(ServiceRecord.objects.values_list("status").annotate(n=Count("id")))
    assert records["verified"] > records["recorded"] > 0
    assert not ServiceRecord.objects.filter(Q(hours__lt=Decimal("0.5")) | Q(hours__gt=6)).exists()


def test_needs_in_every_status(loaded):
    for pairing in Pairing.objects.all():
        assert set(pairing.needs.values_list("status", flat=True)) == set(Need.Status.values), str(pairing)
    for need in Need.objects.filter(status=Need.Status.FULFILLED):
        assert need.activities.exists() and need.fulfilled_at and need.claimed_by_branch
        assert 1 <= need.rating <= 5
    assert not Need.objects.filter(status=Need.Status.CLAIMED, claimed_at=None).exists()
    month_before_end = datetime.datetime(2024, 12, 1, tzinfo=demo.TZ)
    assert Need.objects.filter(status=Need.Status.OPEN, raised_at__lt=month_before_end).exists()
    assert Need.objects.filter(status=Need.Status.OPEN, raised_at__gte=month_before_end).exists()


def test_done_plan_items_reach_their_targets(loaded):
    for item in PlanItem.objects.filter(status=PlanItem.Status.DONE).prefetch_related("targets__metric"):
        for target in item.targets.all():
            values = ActivityMetricValue.objects.filter(
                metric=target.metric, activity__plan_item=item, activity__status__in=["confirmed", "submitted"]
            )
            assert values.aggregate(t=Sum("value"))["t"] >= target.value, (item.title, target.metric.code)
    assert PlanItem.objects.filter(status=PlanItem.Status.IN_PROGRESS).exists()
    assert PlanItem.objects.filter(status=PlanItem.Status.PLANNED).exists()
