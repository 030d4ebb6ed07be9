"""The completeness board's reads: which programs a user may open it for, the year it opens on, and each
branch's months (nothing logged, submitted, confirmed). Counted activities are the figures app's definition."""

import calendar
import datetime

from django.db.models import Count, Exists, Min, OuterRef, Q, Subquery
from django.db.models.functions import ExtractMonth

from activities.models import Activity
from figures.cache import cached_figures
from figures.models import ProgramMonth
from figures.selectors import activity_list_url, counted_activities
from pairings.models import Pairing, PairingBranch, Program
from portal import versioned
from portal.permissions import scope_for


def board_programs(user):
    """Programs whose completeness board the user may open: as program admin, or as the party committee
    of a supporting organisation (who then sees their own branches only)."""
    scope = scope_for(user)
    if scope.is_superuser:
        return Program.objects.all()
    q = Q(pk__in=[])
    if scope.admin_orgs:
        q |= Q(office_id__in=scope.admin_orgs)
    if scope.committee_orgs:
        q |= Q(pk__in=Pairing.objects.filter(supporter_id__in=scope.committee_orgs).values("program_id"))
    return Program.objects.filter(q)


def board_program_list(user):
    """The programs whose board the user may open (board_programs), by name, read once for the whole page: each with
    its first dates (with_first_dates) and whether the user administers it (``editable``: Program.editable_by), so
    the form's choices, its check and board_scope ask nothing more. One query, kept per user until the set-up or the
    rollup (its first months) changes (figures/cache.py): read on every page of the board, it cost as much as the
    page's cached cells."""

    def build():
        editable = Program.objects.editable_by(user).filter(pk=OuterRef("pk"))
        return list(with_first_dates(board_programs(user)).annotate(editable=Exists(editable)).order_by("name"))

    who = versioned.user_parts(user)
    if who is None:
        return build()
    return cached_figures("board_programs", build, *who)


def with_first_dates(programs):
    """The programs, each with the first term start of its pairings (``first_term``) and the first month with a
    counted activity (``first_activity``, from the rollup's program months): where its board's years begin.
    Subqueries of the programs' own query."""
    first_term = Pairing.objects.filter(program=OuterRef("pk")).order_by().values("program").annotate(d=Min("term_start"))
    first_activity = ProgramMonth.objects.filter(program=OuterRef("pk")).order_by().values("program").annotate(d=Min("month"))
    return programs.annotate(
        first_term=Subquery(first_term.values("d")), first_activity=Subquery(first_activity.values("d"))
    )


def board_years(program, today):
    """The years a program's board offers, latest first: from the year of its first pairing or counted activity
    (``with_first_dates``) to this year; this year alone for a program with neither."""
    dates = [d for d in (getattr(program, "first_term", None), getattr(program, "first_activity", None)) if d]
    first = min([d.year for d in dates] + [today.year])
    return list(range(today.year, first - 1, -1))


def board_default_year(program_id, today):
    """The year the board opens on: this year, or the last year the program logged anything in (its latest month
    with a counted activity, from the rollup)."""
    try:
        last = ProgramMonth.objects.filter(program_id=int(program_id), month__lte=today).order_by("-month").values_list("month", flat=True).first()
    except (TypeError, ValueError):
        return today.year
    return last.year if last else today.year


PER_PAGE = 50  # branch rows a page of the board shows: a program of a thousand pairings has two thousand branches


def board_cells(user, program, year):
    """The completeness board of a program and year: (branch rows, {(branch_id, month): status}) for all the rows
    (board_rows, board_state). Three queries."""
    rows = board_rows(user, program)
    return rows, board_state(program, year, [row["id"] for row in rows])


def board_scope(user, program):
    """Whose branches the user's board of the program shows: None for every participating branch (the program's
    admins), else the organisations the user is the party committee of (their own branches). One query, none for
    a program of board_program_list."""
    editable = getattr(program, "editable", None)
    if editable is None:
        editable = Program.objects.editable_by(user).filter(pk=program.pk).exists()
    if editable:
        return None
    return tuple(sorted(scope_for(user).committee_orgs))


def board_rows(user, program):
    """The board's branch rows, in order: each participating branch once, with its pairings' villages. Admins see
    every participating branch; a party committee the branches of its own organisation. Two queries."""
    return scoped_rows(program, board_scope(user, program))


def scoped_rows(program, committee_orgs):
    """board_rows of a board_scope: every participating branch (None), or those of these organisations'
    committees. One query."""
    links = PairingBranch.objects.filter(pairing__program=program)
    if committee_orgs is not None:
        links = links.filter(Q(branch_id__in=committee_orgs) | Q(pairing__supporter_id__in=committee_orgs))
    rows = {}
    for link in links.order_by("branch__parent__name", "branch__name", "branch_id").values(
        "branch_id", "branch__name", "branch__short_name", "branch__parent__name", "pairing__supported__name"
    ):
        row = rows.setdefault(
            link["branch_id"],
            {
                "id": link["branch_id"],
                "name": label_of_branch(link["branch__name"], link["branch__short_name"]),
                "parent": link["branch__parent__name"] or "",
                "pairings": [],
            },
        )
        row["pairings"].append(link["pairing__supported__name"])
    return list(rows.values())


def board_page(program, year, branches, today):
    """The cells of a page of the board: [{"branch": row, "cells": [{"month", "css", "status", "url"}]}] for these
    branch rows (board_rows) in the program's year, each cell linking to the activities it was counted from. Two
    queries (board_state)."""
    state = board_state(program, year, [branch["id"] for branch in branches])
    # a month is a gap (✗) once it is over; the running month, with nothing logged yet, is "not over yet" like the
    # months after it: a branch is not behind on the 6th of the month
    last_over = 12 if year < today.year else (today.month - 1 if year == today.year else 0)
    months = [(month, datetime.date(year, month, 1)) for month in range(1, 13)]
    rows = []
    for branch in branches:
        cells = []
        for month, first in months:
            status = state.get((branch["id"], month))
            css = status or ("none" if month <= last_over else "future")
            url = ""
            if status:  # the activities credited to the branch that month (host or co-host), counted
                url = activity_list_url(
                    program_id=program.pk, branch_id=branch["id"], credited=True, date_after=first,
                    date_before=first.replace(day=calendar.monthrange(year, month)[1]),
                )
            cells.append({"month": month, "css": css, "status": status, "url": url})
        rows.append({"branch": branch, "cells": cells})
    return rows


def board_state(program, year, branch_ids):
    """{(branch_id, month): status} of these branches in the program's year: "confirmed" when a confirmed counted
    activity credits the branch that month, else "submitted" when a submitted one does; absent when nothing was
    logged. A co-hosting branch is credited like the host; program-wide activities count too. Two queries, each
    one row per branch and month (added up in the database)."""
    branch_ids = sorted(set(branch_ids))
    if not branch_ids:
        return {}
    activities = counted_activities().filter(program=program, date__year=year)
    confirmed = Activity.Status.CONFIRMED
    # grouped by program too, and the program picked here: a condition on the program makes PostgreSQL AND the
    # program's index (half the activities) with the branches' (a page of them), a hundred times the work
    hosted = (
        counted_activities().filter(date__year=year, branch_id__in=branch_ids)
        .annotate(month=ExtractMonth("date"))
        .values("program_id", "branch_id", "month")
        .annotate(confirmed=Count("pk", filter=Q(status=confirmed)))
        .values_list("program_id", "branch_id", "month", "confirmed")
        .order_by()
    )
    hosted = [row[1:] for row in hosted if row[0] == program.pk]
    co_hosted = (
        Activity.co_branches.through.objects.filter(organization_id__in=branch_ids, activity__in=activities)
        .annotate(month=ExtractMonth("activity__date"))
        .values("organization_id", "month")
        .annotate(confirmed=Count("pk", filter=Q(activity__status=confirmed)))
        .values_list("organization_id", "month", "confirmed")
        .order_by()
    )
    state = {}
    for rows in (hosted, co_hosted):
        for branch_id, month, confirmed_count in rows:
            key = (branch_id, int(month))
            if state.get(key) != Activity.Status.CONFIRMED:
                state[key] = Activity.Status.CONFIRMED if confirmed_count else Activity.Status.SUBMITTED
    return state


def label_of_branch(name, short_name):
    return short_name or name
