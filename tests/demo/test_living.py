"""A living demo: loaded on any day, it covers this year and the two before, with the current month partly done.

Each date below loads the demo as it would be loaded that day (time-machine) and looks at what its users see."""

import calendar
import datetime

import pytest
from django.core.files.storage import default_storage
from django.db.models import Max, Q
from django.urls import reverse
from django.utils import timezone

from activities.models import Activity, ActivityPhoto, Need, ServiceRecord
from demo import loader
from pairings.models import JointPlan, Pairing, PlanItem, Program, VillageStatistic
from pairings.selectors import is_overdue, pairing_warnings
from portal.models import Membership, User
from reports.builders import build_report_data
from reports.periods import Quarter
from tests.demo.conftest import demo_loaded_on
from tests.demo.test_loader import seed_total

DAYS = [
    datetime.date(2026, 12, 5),
    datetime.date(2027, 1, 3),  # the first days of a year: the current month is three days old
    pytest.param(datetime.date(2027, 1, 1), marks=pytest.mark.slow),
    pytest.param(datetime.date(2027, 7, 15), marks=pytest.mark.slow),
    pytest.param(datetime.date(2028, 2, 29), marks=pytest.mark.slow),  # a leap day
    pytest.param(datetime.date(2030, 2, 28), marks=pytest.mark.slow),
]
OPEN = (PlanItem.Status.PLANNED, PlanItem.Status.IN_PROGRESS)


@pytest.fixture(scope="module", params=DAYS, ids=str)
def day_loaded(request, django_db_setup, django_db_blocker, tmp_path_factory):
    with django_db_blocker.unblock(), demo_loaded_on(request.param, tmp_path_factory.mktemp("media")):
        yield request.param


@pytest.fixture
def today(day_loaded, db):
    assert timezone.localdate() == day_loaded
    return day_loaded


def month_bounds(today):
    return today.replace(day=1), today.replace(day=calendar.monthrange(today.year, today.month)[1])


def test_every_term_is_running(today):
    last = Pairing.objects.annotate(
        counted_last=Max("activities__date", filter=Q(activities__status__in=loader.COUNTED))
    ).values_list("pk", "counted_last")
    for pairing, (pk, counted_last) in zip(Pairing.objects.order_by("pk"), last.order_by("pk")):
        assert pairing.last_activity_on == counted_last, str(pairing)  # the rollup's copy on the pairing's row
        assert pairing.term_start <= today <= pairing.term_end, str(pairing)
        assert pairing_warnings(pairing, today) == [], str(pairing)  # not expired, not ending, not dormant


def test_every_pairing_lives_this_year_and_this_month(today):
    month_start, _ = month_bounds(today)
    counted = Activity.objects.filter(status__in=loader.COUNTED)
    for pairing in Pairing.objects.all():
        assert counted.filter(pairing=pairing, date__year=today.year).exists(), str(pairing)
        assert Activity.objects.filter(pairing=pairing, date__gte=month_start).exists(), str(pairing)
    assert counted.filter(date__year=today.year).count() > Pairing.objects.count()


def test_work_in_hand_this_month(today):
    month_start, month_end = month_bounds(today)
    this_month = Activity.objects.filter(date__gte=month_start)
    for status in (Activity.Status.DRAFT, Activity.Status.RETURNED, Activity.Status.SUBMITTED):
        assert this_month.filter(status=status).exists(), status
    assert not this_month.filter(status=Activity.Status.RETURNED, return_comment="").exists()
    month_start_moment = datetime.datetime.combine(month_start, datetime.time(), tzinfo=timezone.get_current_timezone())
    assert Need.objects.filter(status=Need.Status.OPEN, raised_at__gte=month_start_moment).exists()
    due = PlanItem.objects.filter(status__in=OPEN, due_date__range=(month_start, month_end))
    assert due.exists() and not any(is_overdue(item, today) for item in due)


def test_this_years_plan_is_not_all_overdue(today):
    items = list(PlanItem.objects.filter(plan__year=today.year))
    overdue = [item for item in items if is_overdue(item, today)]
    assert items and len(overdue) < len(items) / 2
    assert not PlanItem.objects.filter(plan__year=today.year, due_date__gt=today, status=PlanItem.Status.DONE,
                                       targets__isnull=True).exists()  # nothing without targets done ahead of time


def test_three_years_and_nothing_after_today(today):
    now = timezone.now()
    years = set(Activity.objects.values_list("date__year", flat=True))
    assert years == {today.year - 2, today.year - 1, today.year}
    assert set(JointPlan.objects.values_list("year", flat=True)) == years
    assert not Activity.objects.filter(date__gt=today).exists()
    assert not Activity.objects.filter(Q(submitted_at__gt=now) | Q(confirmed_at__gt=now)).exists()
    assert not Need.objects.filter(
        Q(raised_at__gt=now) | Q(claimed_at__gt=now) | Q(fulfilled_at__gt=now) | Q(rated_at__gt=now)
    ).exists()
    assert not ServiceRecord.objects.filter(verified_at__gt=now).exists()
    assert not JointPlan.objects.filter(village_agreed_on__gt=today).exists()
    assert not VillageStatistic.objects.filter(Q(as_at__gt=today) | Q(recorded_at__gt=now)).exists()


def test_the_village_statistic_stands_at_the_end_of_last_year(today, client):
    """The seed's 2023 人均纯收入 is placed at the end of the last complete year, whatever the day: the pairing page
    shows it, and a report of a quarter before that day does not."""
    (income,) = loader.seed_statistics()
    statistic = VillageStatistic.objects.get()
    assert (statistic.as_at, statistic.value) == (datetime.date(today.year - 1, 12, 31), income.value)
    pairing = Pairing.objects.select_related("program").get(supported=statistic.village)
    client.force_login(User.objects.get(username="yinzhaochang"))
    page = client.get(reverse("pairings:pairing_detail", args=[pairing.pk])).context["page"]
    assert [(s.indicator.code, s.as_at) for s in page.statistics] == [(income.indicator, statistic.as_at)]
    shown = build_report_data("quarterly", Quarter(today.year - 1, 4), pairing.program, pairing)["village_statistics"]
    assert [(row["indicator"], row["value"], row["as_at"]) for row in shown] == [
        ("人均纯收入", income.value, statistic.as_at.isoformat())
    ]
    earlier = build_report_data("quarterly", Quarter(today.year - 1, 3), pairing.program, pairing)
    assert earlier["village_statistics"] == []


def test_every_confirmation_is_the_villages(today):
    """A pairing's activity is confirmed by its village; program-wide work (no village) by the program's office."""
    confirmed = Activity.objects.filter(status=Activity.Status.CONFIRMED).select_related("pairing", "program")
    assert confirmed.exists() and not confirmed.filter(confirmed_by=None).exists()
    for activity in confirmed:
        if activity.pairing_id is None:
            who = {"organization_id": activity.program.office_id, "role": Membership.Role.ADMIN}
        else:
            who = {"organization_id": activity.pairing.supported_id, "role": Membership.Role.VILLAGE_COMMITTEE}
        assert Membership.objects.filter(user_id=activity.confirmed_by_id, **who).exists(), activity.title
    assert not Activity.objects.exclude(status=Activity.Status.CONFIRMED).exclude(confirmed_by=None).exists()


def test_photos_stored_like_uploads(today):
    photos = list(ActivityPhoto.objects.all())
    assert len(photos) >= 10
    assert any(p.shows_minors for p in photos) and not all(p.shows_minors for p in photos)
    for photo in photos:
        assert photo.image.name.endswith(".jpg") and photo.thumbnail.name.endswith(".jpg")  # re-encoded
        assert default_storage.exists(photo.image.name) and default_storage.exists(photo.thumbnail.name)
        assert photo.width and photo.height and photo.sha256
    assert ActivityPhoto.objects.filter(activity__date__year=today.year).exists()


def test_office_runs_the_program_without_being_staff(today, client):
    office, admin = User.objects.get(username="office"), User.objects.get(username="admin")
    assert not office.is_superuser and not office.is_staff
    assert admin.is_superuser
    slsz, other = Program.objects.get(name="双联双助"), Program.objects.get(name="党员进社区")
    client.force_login(office)
    for url in (
        reverse("home"),
        reverse("dashboards:program_dashboard", args=[slsz.pk]),
        reverse("dashboards:program_dashboard", args=[slsz.pk]) + f"?year={today.year}",
        reverse("reports:report_list"),
        reverse("dashboards:completeness"),
    ):
        assert client.get(url).status_code == 200, url
    assert client.get(reverse("dashboards:program_dashboard", args=[other.pk])).status_code in (403, 404)
    assert client.get("/admin/").status_code == 302  # not staff: the admin site sends them to its login


def test_every_user_opens_on_work_of_this_month(today, client):
    for username in loader.demo_usernames():
        user = User.objects.get(username=username)
        client.force_login(user)
        response = client.get(reverse("home"))
        assert response.status_code == 200, username
        home = response.context["home"]
        sections = {s.key: s.total for s in home.village + home.branch + home.overview}
        if user.memberships.filter(role=Membership.Role.VILLAGE_COMMITTEE).exists():
            assert sections["to_confirm"] > 0, username  # a submitted activity waits for them
        if user.memberships.filter(role=Membership.Role.SECRETARY).exists():
            assert sections["this_month"] > 0 and sections["plan_due"] > 0, username
        if user.is_superuser or user.memberships.filter(role=Membership.Role.ADMIN).exists():
            assert sections["all_this_month"] > 0, username
        client.logout()


@pytest.mark.parametrize("figure", loader.seed_figures(), ids=lambda f: f"{f.program}.{f.metric}")
def test_seed_figures_stay_exact(today, figure):
    assert seed_total(figure.program, figure.metric) == figure.value


def test_program_wide_work_counts_for_the_program_only(today):
    """小电匠's days in towns outside the paired villages: in 双联双助's figures, in no pairing's, and the program's
    office (not a village) confirms them."""
    from django.db.models import Sum

    from activities.models import COUNTED_STATUSES
    from figures.models import PairingMonth, ProgramMonth

    program = Program.objects.get(code="slsz")
    wide = Activity.objects.filter(program=program, pairing=None, date__year=today.year, status__in=COUNTED_STATUSES)
    assert wide.exists() and all("小电匠" in title for title in wide.values_list("title", flat=True))
    in_year = {"month__year": today.year}
    program_total = ProgramMonth.objects.filter(program=program, **in_year).aggregate(n=Sum("activities"))["n"]
    pairings_total = PairingMonth.objects.filter(pairing__program=program, **in_year).aggregate(n=Sum("activities"))["n"]
    assert program_total - (pairings_total or 0) == wide.count()
    office = User.objects.get(username="office")
    waiting = Activity.objects.confirmable_by(office).filter(pairing=None, status=Activity.Status.SUBMITTED)
    assert list(waiting.values_list("title", flat=True)) == ["“小电匠”家电义修进南朗街道"]
    village = User.objects.get(username=Membership.objects.filter(
        role=Membership.Role.VILLAGE_COMMITTEE, organization__name="龙石村").values_list("user__username", flat=True)[0])
    assert not Activity.objects.visible_to(village).filter(pairing=None).exists()
