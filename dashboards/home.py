"""What each role's home page shows: the things to do now, read in a fixed number of queries.

A user with several roles gets the sections of each: the village's confirmations first (someone waits on
them), then the branch's own work, then the overview of those who oversee many branches."""

import calendar
import datetime
from dataclasses import dataclass, field

from django.db.models import Q

from activities.models import ActionItem, Activity, action_item_managers
from activities.permissions import can_record
from activities.selectors import list_rows, open_action_items
from pairings.models import PlanItem, program_admin_q
from portal.permissions import scope_for

LIMIT = 8
OPEN_ITEM_STATUSES = (PlanItem.Status.PLANNED, PlanItem.Status.IN_PROGRESS)


@dataclass
class Section:
    """One list on the home page: its rows (at most LIMIT), how many there are in all, and a link to all."""

    key: str
    rows: list
    total: int
    query: str = ""  # the activity list's filter for "see all", when there is one

    @property
    def more(self):
        return self.total > len(self.rows)


@dataclass
class Home:
    today: datetime.date
    month_start: datetime.date
    month_end: datetime.date
    can_record: bool = False
    village: list = field(default_factory=list)
    branch: list = field(default_factory=list)
    overview: list = field(default_factory=list)
    has_role: bool = False
    program_admin: bool = False  # links to the program dashboards
    action_items: list = field(default_factory=list)  # the joint meetings' decisions to carry out (action_item_sections)


def _activities(user):
    return Activity.objects.visible_to(user).select_related(
        "pairing__supporter", "pairing__supported", "branch", "activity_type"
    )


def _section(key, queryset, query="", shown=list):
    rows = shown(queryset[:LIMIT])
    total = queryset.count()  # always asked, so the page's query count does not depend on its rows
    return Section(key=key, rows=rows, total=total, query=query)


def _activity_section(key, queryset, query=""):
    """A section of activities: its rows as the activity list's rows (ListRows, drawn by {% activity_rows %})."""
    return _section(key, queryset, query, shown=list_rows)


def _plan_items(user, condition):
    return (
        PlanItem.objects.visible_to(user)
        .filter(condition, status__in=OPEN_ITEM_STATUSES, due_date__isnull=False)
        .select_related("plan__pairing__supporter", "plan__pairing__supported", "owner_branch")
        .order_by("due_date", "id")
    )


def home_for(user, today):
    """The home page's sections for this user on this day (a date in Asia/Shanghai)."""
    scope = scope_for(user)
    month_start = today.replace(day=1)
    month_end = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    month_query = f"date_from={month_start.isoformat()}&date_to={month_end.isoformat()}"
    home = Home(today=today, month_start=month_start, month_end=month_end)
    home.has_role = bool(scope.is_superuser or scope.own_orgs)
    home.program_admin = bool(scope.is_superuser or scope.admin_orgs)
    activities = _activities(user)

    if scope.village_orgs:
        home.village = [
            _activity_section("to_confirm", activities.confirmable_by(user).order_by("submitted_at", "id"),
                     "status=submitted&sort=oldest"),
            _activity_section(
                "returned_by_village",
                activities.filter(pairing__supported_id__in=scope.village_orgs, status=Activity.Status.RETURNED)
                .order_by("-updated_at", "-id"),
                "status=returned",
            ),
        ]

    if scope.branch_orgs:
        home.can_record = can_record(user)
        mine = activities.filter(branch_id__in=scope.branch_orgs)
        home.branch = [
            _activity_section("returned", mine.filter(status=Activity.Status.RETURNED).order_by("-updated_at", "-id"),
                     "status=returned"),
            _activity_section("drafts", mine.filter(status=Activity.Status.DRAFT).order_by("-updated_at", "-id"),
                     "status=draft"),
            _activity_section(
                "this_month",
                activities.filter(
                    Q(branch_id__in=scope.branch_orgs) | Q(co_branches__in=scope.branch_orgs),
                    date__gte=month_start,
                    date__lte=month_end,
                )
                .distinct()
                .order_by("-date", "-id"),
                month_query,
            ),
            _section("plan_due", _plan_items(user, Q(owner_branch_id__in=scope.branch_orgs, due_date__lte=month_end))),
        ]

    if scope.is_superuser or scope.admin_orgs or scope.committee_orgs:
        home.overview = [
            _activity_section(
                "waiting_village",
                activities.filter(status=Activity.Status.SUBMITTED).order_by("submitted_at", "id"),
                "status=submitted&sort=oldest",
            ),
            _activity_section(
                "all_this_month",
                activities.filter(date__gte=month_start, date__lte=month_end).exclude(status=Activity.Status.DRAFT)
                .order_by("-date", "-id"),
                month_query,
            ),
            _section("overdue", _plan_items(user, Q(due_date__lt=today))),
        ]
    home.action_items = action_item_sections(user, scope, today)
    return home


# --- the joint meetings' decisions (待办事项) ---------------------------------------------------------------


def action_item_sections(user, scope, today):
    """The decisions of joint meetings waiting on the user: those of the organisations they act for and those named
    theirs, overdue first (each row links to where it is closed); for a program admin, also every overdue decision
    of the programs they run. Two queries a section, whatever the rows."""
    sections = []
    if scope.is_superuser or action_item_managers(scope) or ActionItem.objects.filter(owner_user_id=user.pk).exists():
        mine = _section("action_items", open_action_items(user=user, today=today), "show=mine&status=open")
        # a program office rarely owns a decision itself: its admins see the section only when it does
        if mine.total or scope.is_superuser or scope.committee_orgs or scope.secretary_orgs or scope.village_orgs:
            sections.append(mine)
    if scope.is_superuser or scope.admin_orgs:
        overdue = open_action_items(today=today).filter(program_admin_q(user, "meeting__program__"), due_date__lt=today)
        sections.append(_section("action_items_overdue", overdue, "show=all&status=overdue"))
    return sections
