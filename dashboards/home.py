"""What each role's home page shows: the things to do now, read in a fixed number of queries.

A user with several roles gets the sections of each: the village's confirmations first (someone waits on
them), then the branch's own work, then the overview of those who oversee many branches. Within a part the most
urgent list comes first, and within a list the most urgent row (overdue, then due soonest, then the longest
waiting). Every row links to the page where it is done.

The lists that have a notice (reports.events) read the same definitions as the notice (pairings.selectors and
activities.selectors: items due, plans to agree, needs answered, hours waiting, dormant pairings, agreements
expiring), narrowed to the user, so what a notice announces is on its reader's home page.
"""

import calendar
import datetime
from dataclasses import dataclass, field

from urllib.parse import urlencode

from django.db.models import Q
from django.urls import reverse

from activities.models import ActionItem, Activity, Need, ServiceRecord, action_item_managers
from activities.permissions import can_record
from activities.selectors import activities_with_hours_waiting, list_rows, needs_answered, open_action_items
from pairings.models import PlanItem, program_admin_q
from pairings.selectors import ITEM_DUE_DAYS, agreements_expiring, items_due, pairings_dormant, plans_to_agree
from portal.permissions import scope_for
from reports.events import item_link
from reports.models import Report
from reports.selectors import drafts_waiting

LIMIT = 8


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
    drafts: list = field(default_factory=list)  # the program admin's reports waiting to be published

    @property
    def drafts_total(self):
        return sum(group.count for group in self.drafts)
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


def _plan_items(user, today, condition, until):
    """Open items the user reads due by ``until`` (overdue first, then due soonest): the notices' definition
    (pairings.selectors.items_due), each with its ``url`` (the plan page at the item, as in the notice)."""
    return items_due(today, until=until).filter(condition).filter(
        pk__in=PlanItem.objects.visible_to(user).values("pk")
    )


def _with_item_links(rows):
    rows = list(rows)
    for item in rows:
        item.url = item_link(item)
    return rows


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
            # --- the events' lists for the village: a plan to agree to, needs a branch answered ---------------
            _section("plans_to_agree", plans_to_agree(today).filter(pairing__supported_id__in=scope.village_orgs)),
            _section(
                "needs_answered",
                needs_answered(Need.objects.visible_to(user).filter(pairing__supported_id__in=scope.village_orgs)),
            ),
            # ------------------------------------------------------------------------------------------------
            _activity_section(
                "returned_by_village",
                activities.filter(pairing__supported_id__in=scope.village_orgs, status=Activity.Status.RETURNED)
                .order_by("updated_at", "id"),
                "status=returned",
            ),
        ]

    if scope.branch_orgs:
        home.can_record = can_record(user)
        mine = activities.filter(branch_id__in=scope.branch_orgs)
        home.branch = [
            _activity_section("returned", mine.filter(status=Activity.Status.RETURNED).order_by("updated_at", "id"),
                     "status=returned"),
        ]
        if scope.secretary_orgs:
            # hours wait for the organising branch's secretary (谁记录谁证明), as the notice tells them
            home.branch.append(_section(
                "hours_to_verify",
                activities_with_hours_waiting(ServiceRecord.objects.filter(activity__branch_id__in=scope.secretary_orgs))
                .select_related("pairing__supporter", "pairing__supported", "branch"),
            ))
        home.branch += [
            _section(
                "plan_due",
                _plan_items(user, today, Q(owner_branch_id__in=scope.branch_orgs),
                            max(month_end, today + datetime.timedelta(days=ITEM_DUE_DAYS))),
                shown=_with_item_links,
            ),
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
        ]

    if scope.is_superuser or scope.admin_orgs or scope.committee_orgs:
        yesterday = today - datetime.timedelta(days=1)
        home.overview = [
            _section("overdue", _plan_items(user, today, Q(), yesterday), shown=_with_item_links),
            _activity_section(
                "waiting_village",
                activities.filter(status=Activity.Status.SUBMITTED).order_by("submitted_at", "id"),
                "status=submitted&sort=oldest",
            ),
            # --- the pairings' alerts, as the daily notices send them: to the program's admins and the school
            # committee of the supporting side ---------------------------------------------------------------
            _section("dormant", _overseen(user, scope, pairings_dormant(today))),
            _section("expiring", _overseen(user, scope, agreements_expiring(today))),
            # ------------------------------------------------------------------------------------------------
            _activity_section(
                "all_this_month",
                activities.filter(date__gte=month_start, date__lte=month_end).exclude(status=Activity.Status.DRAFT)
                .order_by("-date", "-id"),
                month_query,
            ),
        ]

    # --- each of these lists is its own block: the joint meetings' decisions (their owners), the draft reports
    # waiting for the program's admins ------------------------------------------------------------------------
    home.action_items = action_item_sections(user, scope, today)
    home.drafts = draft_reports(user, scope)
    return home


def _overseen(user, scope, pairings):
    """Of ``pairings``, those the user is told about: of the programs they administer, or whose supporting side
    is their committee's."""
    if scope.is_superuser:
        return pairings
    q = program_admin_q(user, "program__")
    if scope.committee_orgs:
        q |= Q(supporter_id__in=scope.committee_orgs)
    return pairings.filter(q)


# --------------------------------------------------------------------------------------------------------
# Reports waiting to be published (program admins): one query, a row per program, kind and period
# --------------------------------------------------------------------------------------------------------


@dataclass
class DraftGroup:
    """Drafts of one program, kind and period, with the report list showing exactly them."""

    program: str
    kind: str
    kind_label: str
    period: str
    count: int
    without_notes: int  # quarterly drafts still without 调度意见
    url: str


def draft_reports(user, scope):
    if not (scope.is_superuser or scope.admin_orgs):
        return []
    base = reverse("reports:report_list")
    return [
        DraftGroup(
            program=row["program__name"], kind=row["kind"], kind_label=Report.Kind(row["kind"]).label,
            period=row["period"], count=row["count"], without_notes=row["without_notes"],
            url=f"{base}?{urlencode({'status': 'draft', 'program': row['program_id'], 'kind': row['kind'], 'period': row['period']})}",
        )
        for row in drafts_waiting(user)
    ]


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
