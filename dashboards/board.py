"""The completeness board's reads: which programs a user may open it for, the year it opens on, and each
branch's months (nothing logged, submitted, confirmed). Counted activities are the figures app's definition."""

from django.db.models import Min, OuterRef, Q, Subquery

from activities.models import Activity
from figures.selectors import counted_activities
from pairings.models import Pairing, PairingBranch, Program
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


def with_first_dates(programs):
    """The programs, each with the first term start of its pairings (``first_term``) and the date of its first
    counted activity (``first_activity``): where its board's years begin. Subqueries of the programs' own query."""
    first_term = Pairing.objects.filter(program=OuterRef("pk")).order_by().values("program").annotate(d=Min("term_start"))
    first_activity = (
        counted_activities().filter(program=OuterRef("pk")).order_by().values("program").annotate(d=Min("date"))
    )
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
    """The year the board opens on: this year, or the last year the program logged anything in."""
    try:
        last = counted_activities().filter(program_id=int(program_id), date__lte=today).order_by("-date").values_list("date", flat=True).first()
    except (TypeError, ValueError):
        return today.year
    return last.year if last else today.year


def board_cells(user, program, year):
    """The completeness board of a program and year: (branch rows, {(branch_id, month): status}), status
    "confirmed" when a confirmed activity credits the branch that month, else "submitted" when a submitted
    one does; absent means nothing was logged. Admins see every participating branch; a party committee
    the branches of its own organisation. A co-hosting branch is credited like the host. Three queries."""
    scope = scope_for(user)
    links = PairingBranch.objects.filter(pairing__program=program)
    if not Program.objects.editable_by(user).filter(pk=program.pk).exists():
        links = links.filter(Q(branch_id__in=scope.committee_orgs) | Q(pairing__supporter_id__in=scope.committee_orgs))
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
    branch_ids = set(rows)
    activities = counted_activities().filter(program=program, date__year=year)  # program-wide ones too
    state = {}

    def credit(branch_id, day, status):
        if branch_id in branch_ids and state.get((branch_id, day.month)) != Activity.Status.CONFIRMED:
            state[(branch_id, day.month)] = status

    for row in activities.filter(branch_id__in=branch_ids).values_list("branch_id", "date", "status").order_by():
        credit(*row)
    through = Activity.co_branches.through
    co_rows = (
        through.objects.filter(organization_id__in=branch_ids, activity__in=activities)
        .values_list("organization_id", "activity__date", "activity__status")
        .order_by()
    )
    for row in co_rows:
        credit(*row)
    return list(rows.values()), state


def label_of_branch(name, short_name):
    return short_name or name
