"""load_demo: the four seed programs as real records — idempotent, faithful to the seeds' figures, and careful."""

import datetime
import io
from decimal import Decimal

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db.models import Count, Q, Sum
from django.urls import reverse
from django.utils import timezone

from activities.models import Activity, ActivityMetricValue, ActivityType, Need, ServiceRecord
from demo import loader
from pairings import units
from pairings.models import Liaison, Metric, Pairing, PlanItem, Program, VillageStatistic
from portal.models import Membership, Organization, User
from volunteers.models import Team

FIGURES = loader.seed_figures()


def all_counts():
    """Rows of every table Django knows, history and many-to-many tables included."""
    return {m._meta.label: m._base_manager.count() for m in apps.get_models(include_auto_created=True)}


def seed_years():
    return loader.seed_years(timezone.localdate())


def metric_values(program, metric, *, confirmed_only=False):
    values = ActivityMetricValue.objects.filter(
        metric__program__code=program, metric__code=metric, activity__date__year__in=seed_years()
    )
    if confirmed_only:
        values = values.filter(activity__status=Activity.Status.CONFIRMED)
    return values


def seed_total(program, metric, **kwargs):
    """What the seed years add up to: a sum metric's total, a snapshot metric's latest value."""
    values = metric_values(program, metric, **kwargs)
    if Metric.objects.get(program__code=program, code=metric).aggregation == Metric.Aggregation.SNAPSHOT:
        latest = values.order_by("-activity__date", "-activity_id").first()
        return latest.value if latest else None
    return values.aggregate(total=Sum("value"))["total"]


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


def test_an_existing_type_catalog_is_reused(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
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
    total = ActivityMetricValue.objects.filter(metric=repairs).aggregate(t=Sum("value"))["t"]
    value = ActivityMetricValue.objects.filter(metric=repairs).order_by("activity__date").first()
    value.value = Decimal("999")
    value.save()
    ActivityMetricValue.objects.filter(metric=repairs).order_by("-activity__date").first().delete()
    before = all_counts()
    call_command("load_demo", stdout=io.StringIO())
    assert ActivityMetricValue.objects.filter(metric=repairs).aggregate(t=Sum("value"))["t"] == total
    after = all_counts()
    assert after["activities.ActivityMetricValue"] == before["activities.ActivityMetricValue"] + 1
    assert after["activities.Activity"] == before["activities.Activity"]


def test_rerun_restores_a_soft_deleted_demo_activity(loaded):
    activity = Activity.objects.filter(title__contains="井上添画").get()
    Activity.objects.filter(pk=activity.pk).update(deleted_at=timezone.now())
    assert not Activity.objects.filter(pk=activity.pk).exists()
    before = all_counts()
    call_command("load_demo", stdout=io.StringIO())
    assert Activity.objects.filter(pk=activity.pk).exists()
    assert all_counts()["activities.Activity"] == before["activities.Activity"]


def test_a_later_day_moves_the_data_without_doubling_it(loaded):
    """Loaded again a year later, the demo follows: still three years, the seed figures still exact."""
    import time_machine

    years_before = sorted(set(Activity.objects.values_list("date__year", flat=True)))
    with time_machine.travel(timezone.now() + datetime.timedelta(days=365), tick=False):
        call_command("load_demo", stdout=io.StringIO())
        years = sorted(set(Activity.objects.values_list("date__year", flat=True)))
        assert years == [y + 1 for y in years_before]
        for figure in FIGURES:
            assert seed_total(figure.program, figure.metric) == figure.value, figure.metric
        # the village statistic moves with its year too, once
        assert list(VillageStatistic.objects.values_list("as_at", flat=True)) == [
            datetime.date(timezone.localdate().year - 1, 12, 31)
        ]


def test_summary_and_warning_are_printed(loaded):
    assert "activities.Activity " in loaded
    assert "DEMO DATA ONLY" in loaded and settings.PORTAL_DEMO_PASSWORD in loaded


# ---------------------------------------------------------------- the seeds' figures


@pytest.mark.parametrize("figure", FIGURES, ids=lambda f: f"{f.program}.{f.metric}")
def test_seed_figures_add_up(loaded, figure):
    assert seed_total(figure.program, figure.metric) == figure.value
    # every figure the seeds give is confirmed by the village (验单), so reports show it in full
    assert seed_total(figure.program, figure.metric, confirmed_only=True) == figure.value


@pytest.mark.parametrize("figure", [f for f in FIGURES if f.events], ids=lambda f: f"{f.program}.{f.metric}")
def test_seed_event_counts(loaded, figure):
    count = Activity.objects.filter(
        pairing__program__code=figure.program, metric_values__metric__code=figure.metric, date__year__in=seed_years()
    ).count()
    assert count == figure.events


def test_the_village_statistic_is_the_villages_own_record(loaded, client):
    """人均纯收入 is a statistic of the community's year, reported by no event the seed names: it is loaded as the
    village's own record (VillageStatistic) as at the end of the last complete year, carried by no activity (nor
    by an invented survey), and the pairing page shows it with its day and source."""
    (income,) = loader.seed_statistics()
    assert (income.name, income.value, income.seed_year) == ("人均纯收入", 16861, 2023)
    last_year_end = datetime.date(timezone.localdate().year - 1, 12, 31)
    statistic = VillageStatistic.objects.select_related("village", "indicator", "recorded_by").get()
    assert (statistic.village.name, statistic.indicator.name, statistic.indicator.unit) == ("尹兆场社区", "人均纯收入", "元")
    assert (statistic.value, statistic.as_at) == (Decimal(income.value), last_year_end)
    assert statistic.source == f"尹兆场社区{last_year_end.year}年度统计"  # the year it stands for, not the seed's
    assert Membership.objects.filter(
        user=statistic.recorded_by, organization=statistic.village, role=Membership.Role.VILLAGE_COMMITTEE
    ).exists()
    assert not Metric.objects.filter(name=income.name).exists()
    assert not Activity.objects.filter(title__contains=income.name).exists()

    pairing = Pairing.objects.get(supported=statistic.village)
    client.force_login(User.objects.get(username="yinzhaochang"))
    page = client.get(reverse("pairings:pairing_detail", args=[pairing.pk]))
    assert [(s.indicator.name, s.value, s.as_at) for s in page.context["page"].statistics] == [
        ("人均纯收入", Decimal(16861), last_year_end)
    ]
    assert "16861 元" in page.content.decode()


def test_the_catalogue_passes_the_unit_registry():
    """Every metric of demo/data/programs.toml adds up as its unit allows (read from the file: no database)."""
    for program in loader.read("programs.toml")["program"]:
        for metric in program["metric"]:
            assert metric["aggregation"] in units.allowed_aggregations(metric["unit"]), (program["code"], metric["code"])


def test_no_sum_of_persons(loaded):
    """A number of persons added up over activities counts person-times (人次), not persons (人)."""
    assert not Metric.objects.filter(unit=Metric.Unit.PERSONS, aggregation=Metric.Aggregation.SUM).exists()
    for code in ("tech_trainees", "leadgoose_trainees", "residents_served"):
        assert Metric.objects.get(program__code="ljsz", code=code).unit == Metric.Unit.PERSON_TIMES
    for code in ("tech_tutors", "mediators_trained", "children_visited"):  # distinct people: a running total
        metric = Metric.objects.get(program__code="ljsz", code=code)
        assert (metric.unit, metric.aggregation) == (Metric.Unit.PERSONS, Metric.Aggregation.SNAPSHOT)
        values = list(metric.values.order_by("activity__date").values_list("value", flat=True))
        assert values == sorted(values)  # a running total never falls


def test_xiaodianjiang_repairs(loaded):
    """Seed 000: 十余次维修活动, 共维修100多件电器."""
    metric = Metric.objects.get(program__code="slsz", code="appliance_repairs")
    assert metric.unit == Metric.Unit.ITEMS and metric.aggregation == Metric.Aggregation.SUM
    events = Activity.objects.filter(metric_values__metric=metric, date__year__in=seed_years())
    assert 10 < events.count() < 20
    assert 100 < seed_total("slsz", "appliance_repairs") < 200
    team = Team.objects.get(name="小电匠家电维修队")
    assert team.organization.name == "信息技术部"
    assert ServiceRecord.objects.filter(activity__in=events, volunteer__teams=team).exists()


def test_yinzhaochang_units(loaded):
    """Seed 003, with the units the seed uses."""
    for code, unit in (("children_served", Metric.Unit.PERSON_TIMES), ("herbs_planted", Metric.Unit.MU),
                       ("courtyard_greening", Metric.Unit.SQUARE_METRES), ("tech_trainings", Metric.Unit.SESSIONS),
                       ("dendrobium_planted", Metric.Unit.PLANTS)):
        assert Metric.objects.get(program__code="ljsz", code=code).unit == unit
    cleanups = Activity.objects.filter(pairing__supported__name="尹兆场社区", activity_type__name="环境整治",
                                       metric_values__metric__code="cleanups", date__year__in=seed_years())
    assert cleanups.count() == next(f.value for f in FIGURES if f.metric == "cleanups")


def test_seed_000_events(loaded):
    def one(**filters):
        return Activity.objects.get(pairing__program__code="slsz", date__year=seed_years()[0], **filters)

    cleanup = one(title__contains="三清三拆三整治")
    assert cleanup.activity_type.name == "环境整治" and cleanup.branch.name == "第一党支部"
    assert cleanup.pairing.supported.name == "龙石村"
    assert sorted(cleanup.co_branches.values_list("name", flat=True)) == ["第二党支部", "第五党支部", "第四党支部"]
    # seed 000: 共同开展主题党日活动,由该校第五党支部党员贾珍老师主讲
    party_day = one(title__contains="贾珍")
    assert party_day.activity_type.name == "主题党日" and party_day.branch.name == "第五党支部"
    assert party_day.service_records.filter(volunteer__name="贾珍").exists()
    assert one(title__contains="井上添画").branch.name == "第三党支部"
    assert one(title__contains="财商课堂").branch.name == "第四党支部"
    fair = one(title__contains="青年创业集市")
    assert fair.branch.name == "第六党支部" and fair.pairing.supported.name == "港口镇"
    assert f"{fair.date.year}年" in fair.title
    market = Activity.objects.filter(title="集创夜市党员服务集市", place__contains="集创夜市")
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
    assert set(User.objects.values_list("username", flat=True)) == set(loader.demo_usernames())
    for username in loader.demo_usernames():
        user = User.objects.get(username=username)
        assert user.full_name and user.email == f"{username}@demo.invalid"
        assert client.login(username=username, password=settings.PORTAL_DEMO_PASSWORD), username
        client.logout()


def test_demo_user_roles(loaded):
    slsz = Program.objects.get(name="双联双助")
    admin, office = User.objects.get(username="admin"), User.objects.get(username="office")
    assert admin.is_staff and admin.is_superuser
    assert not office.is_staff and not office.is_superuser
    for user in (admin, office):
        assert Membership.objects.filter(user=user, organization=slsz.office, role=Membership.Role.ADMIN).exists()

    def role(username):
        m = Membership.objects.get(user__username=username)
        return m.organization.name, m.role

    assert role("zszz") == ("中山市中等专业学校", Membership.Role.COMMITTEE)
    assert role("secretary3") == ("第三党支部", Membership.Role.SECRETARY)
    assert role("secretary4") == ("第四党支部", Membership.Role.SECRETARY)
    assert role("longshi") == ("龙石村", Membership.Role.VILLAGE_COMMITTEE)
    assert role("tianxin") == ("田心村", Membership.Role.VILLAGE_COMMITTEE)
    for pairing in Pairing.objects.select_related("supported"):  # every village has its committee account
        assert Membership.objects.filter(organization=pairing.supported, role=Membership.Role.VILLAGE_COMMITTEE).exists()
        assert pairing.liaisons.filter(side=Liaison.Side.SUPPORTED, user__isnull=False).exists()
    assert Pairing.objects.get(supported__name="田心村").program.name == "党员进社区"
    assert list(User.objects.filter(is_staff=True).values_list("username", flat=True)) == ["admin"]


# ---------------------------------------------------------------- shape of the data


def test_four_programs_and_their_pairings(loaded):
    this_year = timezone.localdate().year
    assert set(Program.objects.values_list("name", flat=True)) == {"双联双助", "党员进社区", "党建共同体", "两建三做"}
    for pairing in Pairing.objects.all():
        assert pairing.signed_on and pairing.term_start and pairing.goals
        assert pairing.liaisons.filter(side=Liaison.Side.SUPPORTER).exists()
        assert pairing.liaisons.filter(side=Liaison.Side.SUPPORTED).exists()
        assert pairing.pairing_branches.exists()
        assert sorted(pairing.plans.values_list("year", flat=True)) == [this_year - 2, this_year - 1, this_year]
    units = set(Metric.objects.values_list("unit", flat=True))
    assert units == {"件", "人次", "场次", "人", "万元", "亩", "平方米", "株"}


def test_every_month_of_last_year_has_activities_in_every_program(loaded):
    last_year = timezone.localdate().year - 1
    for program in Program.objects.all():
        months = set(
            Activity.objects.filter(pairing__program=program, date__year=last_year)
            .exclude(status=Activity.Status.DRAFT)
            .values_list("date__month", flat=True)
        )
        assert months == set(range(1, 13)), program.name


def test_past_years_are_settled(loaded):
    """Everything of the years before this one was confirmed by the village; the open work is this year's."""
    this_year = timezone.localdate().year
    assert not Activity.objects.filter(date__year__lt=this_year).exclude(status=Activity.Status.CONFIRMED).exists()


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


def test_done_plan_items_reach_their_targets(loaded):
    for item in PlanItem.objects.filter(status=PlanItem.Status.DONE).prefetch_related("targets__metric"):
        for target in item.targets.all():
            values = ActivityMetricValue.objects.filter(
                metric=target.metric, activity__plan_item=item, activity__status__in=["confirmed", "submitted"]
            )
            if target.metric.aggregation == Metric.Aggregation.SNAPSHOT:
                reached = values.order_by("-activity__date").first().value
            else:
                reached = values.aggregate(t=Sum("value"))["t"]
            assert reached >= target.value, (item.title, target.metric.code)
    assert PlanItem.objects.filter(status=PlanItem.Status.IN_PROGRESS).exists()
    assert PlanItem.objects.filter(status=PlanItem.Status.PLANNED).exists()
