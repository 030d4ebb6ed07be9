"""The reads behind the reports: a fixed number of queries per report, whatever the number of rows.

Each function returns plain rows (``values()`` dicts or lists of them); the builder adds them up in Python.
Counting rules (DESIGN.md): only submitted and confirmed activities that are not deleted count; only
verified service hours of such activities count.

``as_at`` (a past period's report): the activities count as they stood at the end of that day, their status
then read from their history (figures.counted_then), hours as verified by then (figures.verified_then), plan
items with their status then (pairings.selectors.item_status_on); the rows carry the status of then under
their usual key ``status``. Without it, the statuses of now.
"""

from __future__ import annotations

import datetime
import decimal
import sys
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connections, router
from django.db.models import (
    BooleanField, Case, Count, Exists, ExpressionWrapper, F, Max, OuterRef, Q, Subquery, Sum, Value, When, Window,
)
from django.db.models.functions import RowNumber, TruncMonth

from activities.models import Activity, ActivityMetricValue, ActivityPhoto, Need, ServiceRecord
from pairings.models import Metric, Pairing, PairingBranch, PlanItem, PlanTarget
from activities.selectors import changed_since
from pairings.selectors import end_of_day, flags_on, item_status_on
from portal.db import long_read
from figures import selectors as figures
from figures.selectors import COUNTED_STATUSES as COUNTED
from reports.filters import ReportFilter
from reports.models import Notification, Report
from reports.periods import Month

DECIMAL_CONTEXT = decimal.Context(prec=15)
SUMMARY_WORK_MEM = "64MB"  # the sort of a program's year of service records (~450k narrow rows) in memory
OPEN_ITEM = (PlanItem.Status.PLANNED, PlanItem.Status.IN_PROGRESS)
# summary_counts' levels of its co-host rows and (plus GROUPING's) of its service rows: GROUPING's own go up to 31
CO_HOSTS, SERVICE = -1, 100


class Record:
    """A row a report reads, kept in slots and read as the ORM's ``values()`` dict is (``row["n"]``; ``dict(row)``
    copies it): a program's year reads tens of thousands of them, and a dict of six keys is two and a half times the
    size of the record."""

    __slots__ = ()

    def __getitem__(self, key):
        return getattr(self, key)

    def __setitem__(self, key, value):
        setattr(self, key, value)

    def keys(self):
        return self.__slots__


def read_records(kind, queryset, *fields):
    """The queryset's rows as ``kind`` records, read as its ``values_list`` (``fields``, by default the record's own
    names, which are the ORM's paths): the tuples go once the records are made, and no dict per row is made. Their
    texts are interned (``shared``)."""
    return [kind(*map(shared, row)) for row in queryset.values_list(*(fields or kind.__slots__))]


def shared(value):
    """A text read as the one string of its value (sys.intern), any other value as it is. psycopg makes a new
    string for every value it reads, and a program's year reads the same few thousand names and states tens of
    thousands of times over its queries (slsz 2025: 57,000 strings of 2,170 values, 1.4 MB of copies). An interned
    string is freed with its last reference."""
    return sys.intern(value) if value.__class__ is str else value


def term_overlaps(start: datetime.date, end: datetime.date, prefix=""):
    return Q(**{f"{prefix}term_start__lte": end}) & (
        Q(**{f"{prefix}term_end__isnull": True}) | Q(**{f"{prefix}term_end__gte": start})
    )


def reported_q(start: datetime.date, end: datetime.date, then=None):
    """The pairings a report of the period covers, whatever their status flag says today (a flag tells what a
    pairing is now, not what it was in the period): those whose term overlaps the period, or that have counted
    activities in it (with ``then``, a past period's as-at day: that counted as they stood at its end, as the
    report counts them). So a pairing past its term but still flagged active (期满), or suspended or ended since,
    is still reported on for the periods of its term. A pairing flagged ended without a term end has no term to
    go by (it would otherwise overlap every period to come): it is covered where it has counted activities."""
    in_period = Activity.objects.filter(pairing=OuterRef("pk"), date__range=(start, end))
    active = in_period.filter(status__in=COUNTED) if then is None else figures.counted_then(in_period, then)
    open_but_ended = Q(status=Pairing.Status.ENDED, term_end__isnull=True)
    return (term_overlaps(start, end) & ~open_but_ended) | Q(Exists(active))


def scope_pairings(program, pairing, period, as_at=None, then=None):
    """The pairings a report covers: the one pairing, or every pairing of the program the period's reports
    cover (``reported_q``, with ``then`` for a past period's report); with ``as_at``, each with its status flag
    and renewal mark as they stood at the end of that day (``status_then``, ``renewing_then``: the state the
    report shows)."""
    qs = Pairing.objects.select_related("supporter", "supported").order_by("supporter__name", "supported__name", "id")
    if as_at is not None:
        qs = qs.annotate(**flags_on(as_at))
    if pairing is not None:
        return list(qs.filter(pk=pairing.pk))
    return list(qs.filter(program=program).filter(reported_q(period.start, period.end, then)))


def pairings_by_ids(ids, as_at=None):
    """The pairings of these ids with their two organisations, by id (as a batch of pairing reports reads them);
    with ``as_at``, their flags then, as scope_pairings."""
    qs = Pairing.objects.select_related("supporter", "supported").filter(pk__in=ids).order_by("id")
    if as_at is not None:
        qs = qs.annotate(**flags_on(as_at))
    return list(qs)


def pairings_to_generate(program, period, then=None):
    """The pairings that get their own scheduled report: the same pairings the program's report covers
    (``reported_q``, with ``then`` for a past period), whatever their status flag, so every pairing in the
    program report has its own."""
    return list(
        Pairing.objects.filter(program=program)
        .filter(reported_q(period.start, period.end, then))
        .order_by("id")
        .values_list("id", flat=True)
    )


@dataclass(slots=True)
class BranchRecord(Record):
    """A pairing's participating branch."""

    pairing_id: int
    branch_id: int
    branch__name: str
    branch__short_name: str


def participating_branches(pairing_ids):
    return read_records(BranchRecord, PairingBranch.objects.filter(pairing_id__in=pairing_ids).order_by("branch__name", "id"))


def of_scope(pairing_ids, wide=None, prefix=""):
    """A Q over activities (through ``prefix``) of the pairings, and with ``wide`` (a program's id) the program-wide
    activities of that program (no pairing): what a program's report counts beside its pairings' (docs/figures.md,
    as the rollup's ProgramMonth does). Their rows carry the pairing id None."""
    q = Q(**{f"{prefix}pairing_id__in": pairing_ids})
    if wide is not None:
        q |= Q(**{f"{prefix}pairing_id__isnull": True, f"{prefix}program_id": wide})
    return q


def _in_range(pairing_ids, start, end, as_at=None, wide=None, months=None):
    """The activities of the pairings (and with ``wide``, the program's program-wide ones: of_scope) dated in the
    range that count: now, or as they stood at the end of ``as_at`` (figures.counted_then: their status then is
    the alias ``status_then``). ``months`` (pairs (pairing id, first day of a month) of the range's one year): the
    pairings' activities of those months only (the program-wide ones: the whole range's)."""
    activities = Activity.objects.filter(of_scope(pairing_ids, wide), date__range=(start, end))
    if months is not None:
        firsts = [month for _pairing, month in months]
        span = Q(pk__in=[])
        if firsts:
            last = max(firsts)
            span = Q(date__range=(min(firsts), Month(last.year, last.month).end))
        activities = activities.alias(month_key=figures.month_key(day="date")).filter(
            Q(pairing_id__isnull=True) | (span & Q(month_key__in=figures.month_keys(months)))
        )
    if as_at is None:
        return activities.filter(status__in=COUNTED)
    return figures.counted_then(activities, as_at)


def _status(as_at, prefix=""):
    """The name to read an activity's status by: its field, or (as at a day) ``status_read``, the status then
    (see _read_then)."""
    return f"{prefix}status" if as_at is None else "status_read"


def _read_then(rows, as_at):
    """The rows with the status of then (the alias ``status_then``) selected as ``status_read`` (an alias cannot
    be read, and the rows of _in_range stay a one-column subquery for ``activity__in``)."""
    return rows if as_at is None else rows.annotate(status_read=F("status_then"))


def _renamed(rows, name, key):
    """The rows with the value read under ``name`` put under ``key`` (the status of then under ``status``)."""
    if name != key:
        for row in rows:
            row[key] = row.pop(name)
    return rows


def activity_type_counts(pairing_ids, start, end, as_at=None, wide=None):
    """Counted activities per (pairing, type, status)."""
    status = _status(as_at)
    return _renamed(list(
        _read_then(_in_range(pairing_ids, start, end, as_at, wide=wide), as_at)
        .values("pairing_id", "activity_type_id", "activity_type__name", "activity_type__order", status)
        .annotate(n=Count("id"))
        .order_by()
    ), status, "status")


def host_branch_counts(pairing_ids, start, end, as_at=None, wide=None):
    """Counted activities per (pairing, host branch, status)."""
    status = _status(as_at)
    return _renamed(list(
        _read_then(_in_range(pairing_ids, start, end, as_at, wide=wide), as_at)
        .values("pairing_id", "branch_id", "branch__name", "branch__short_name", status)
        .annotate(n=Count("id"))
        .order_by()
    ), status, "status")


def co_branch_counts(pairing_ids, start, end, as_at=None, wide=None):
    """Counted activities per (pairing, co-hosting branch, status); a host listed as its own co-host is
    not credited twice."""
    through = Activity.co_branches.through
    rows = through.objects.filter(activity__in=_in_range(pairing_ids, start, end, as_at, wide=wide))
    if as_at is not None:
        rows = rows.alias(status_then=figures.status_then(as_at, ref="activity_id", prefix="activity__"))
        rows = _read_then(rows, as_at)
    status = _status(as_at, "activity__")
    return _renamed(list(
        rows.exclude(organization_id=F("activity__branch_id"))
        .values(
            "activity__pairing_id", "organization_id", "organization__name", "organization__short_name", status,
        )
        .annotate(n=Count("id"))
        .order_by()
    ), status, "activity__status")


def participant_sums(pairing_ids, start, end, as_at=None, wide=None):
    """People taking part per pairing, added over activities (so person-times, 人次)."""
    return list(
        _in_range(pairing_ids, start, end, as_at, wide=wide)
        .values("pairing_id")
        .annotate(
            party_members=Sum("party_members"),
            teachers=Sum("teachers"),
            students=Sum("students"),
            residents_served=Sum("residents_served"),
        )
        .order_by()
    )


def activity_counts(pairing_ids, start, end, as_at=None, wide=None):
    """(activity_type_counts, host_branch_counts, participant_sums, activity_month_rows)'s rows, in their shapes, in
    ONE pass over the counted activities (PostgreSQL only: GROUP BY GROUPING SETS per (pairing, type, status),
    (pairing, host branch, status), (pairing, month, status) and per pairing). A past period's report (``as_at``)
    reads each activity's status then once, where the four queries read it four times over the same rows (a
    program's year: 200k activities each time). The type and branch names are joined to the few grouped rows,
    not to every activity. With ``wide``, the program-wide activities too (their rows under the pairing id None)."""
    counts = _summary_counts(pairing_ids, start, end, as_at, wide, co_hosts=False, service=False)
    return counts.types, counts.hosts, counts.people, counts.months


@dataclass(slots=True)
class TypeCount(Record):
    """activity_type_counts' row."""

    pairing_id: int | None
    activity_type_id: int
    activity_type__name: str
    activity_type__order: int
    status: str
    n: int


@dataclass(slots=True)
class HostCount(Record):
    """host_branch_counts' row."""

    pairing_id: int | None
    branch_id: int
    branch__name: str
    branch__short_name: str
    status: str
    n: int


@dataclass(slots=True)
class MonthCount(Record):
    """activity_month_rows' row."""

    pairing_id: int | None
    date__month: int
    status: str
    n: int


@dataclass(slots=True)
class PeopleSum(Record):
    """participant_sums' row."""

    pairing_id: int | None
    party_members: int | None
    teachers: int | None
    students: int | None
    residents_served: int | None


@dataclass(slots=True)
class CoHostCount(Record):
    """co_branch_counts' row."""

    activity__pairing_id: int | None
    organization_id: int
    organization__name: str
    organization__short_name: str
    activity__status: str
    n: int


@dataclass(slots=True)
class ServiceHours(Record):
    """service_rows' row."""

    activity__pairing_id: int | None
    activity__branch_id: int
    activity__branch__name: str
    activity__branch__short_name: str
    status: str
    hours: decimal.Decimal
    records: int


@dataclass
class SummaryCounts:
    """summary_counts' rows, each list in the shape of the selector named beside it."""

    types: list = field(default_factory=list)  # activity_type_counts
    hosts: list = field(default_factory=list)  # host_branch_counts
    people: list = field(default_factory=list)  # participant_sums
    months: list = field(default_factory=list)  # activity_month_rows
    co_hosts: list = field(default_factory=list)  # co_branch_counts
    hours: list = field(default_factory=list)  # service_summary's first value (service_rows)
    volunteers: tuple = ({}, 0)  # service_summary's other two (volunteer_counts): per pairing, overall
    # with ``by_pairing=False``: ``types`` and ``months`` are the program's (pairing None, not the program-wide
    # activities' rows), and each pairing's counts per status are here, as type rows without a type
    pairing_totals: list | None = None


def summary_counts(pairing_ids, start, end, as_at=None, wide=None, *, by_pairing=True):
    """What a program-year's summary counts (the annual export's, PostgreSQL only): activity_counts' four groupings,
    co_branch_counts' and service_summary's rows, from ONE read of the counted activities (a materialized CTE)
    where the three queries read them three times (a program's year: 213k activities, some 50,000 heap pages each
    time, each as it stood at ``as_at`` worked out again). The co-hosts and the service records are joined to
    those activities; the groupings and names as in the three selectors.

    ``by_pairing=False`` (a summary without a part per pairing: the annual export's workbook) counts the types and
    the months for the whole program, and per pairing only its counts per status (``pairing_totals``): a program
    of 551 pairings reads 1,700 rows for them instead of 22,000."""
    return _summary_counts(pairing_ids, start, end, as_at, wide, co_hosts=True, service=True, by_pairing=by_pairing)


def _summary_counts(pairing_ids, start, end, as_at, wide, *, co_hosts, service, by_pairing=True):
    if not pairing_ids and wide is None:
        return SummaryCounts()
    status = _status(as_at)
    inner, inner_params = (
        _read_then(_in_range(pairing_ids, start, end, as_at, wide=wide), as_at).order_by()
        .values("id", "pairing_id", "activity_type_id", "branch_id", "date", status, "party_members", "teachers",
                "students", "residents_served")
        .query.sql_with_params()
    )
    kind_table = Activity._meta.get_field("activity_type").related_model._meta.db_table
    org = Activity._meta.get_field("branch").related_model._meta.db_table
    connection = connections[router.db_for_read(Activity)]
    month = "EXTRACT(MONTH FROM a.date)::integer"
    if by_pairing:
        sets = f"(a.pairing_id, a.activity_type_id, a.{status}), (a.pairing_id, {month}, a.{status})"
    else:  # the program's types and months, and each pairing's counts per status
        sets = f"(a.activity_type_id, a.{status}), ({month}, a.{status}), (a.pairing_id, a.{status})"
    grouped = (
        f"SELECT a.pairing_id, a.activity_type_id, a.branch_id, EXTRACT(MONTH FROM a.date)::integer AS month, "
        f"a.{status} AS status, COUNT(*) AS n, SUM(a.party_members) AS party_members, SUM(a.teachers) AS teachers, "
        "SUM(a.students) AS students, SUM(a.residents_served) AS residents_served, "
        "GROUPING(a.pairing_id, a.activity_type_id, a.branch_id, EXTRACT(MONTH FROM a.date)::integer, "
        f"a.{status}) AS level FROM a GROUP BY GROUPING SETS ({sets}, (a.pairing_id, a.branch_id, a.{status}), "
        "(a.pairing_id))"
    )
    # every part's rows in one shape: (pairing, type, type name, type order, branch, branch name, short name, month,
    # status, count, the four people sums, level, hours, volunteers); the level tells the parts apart
    sql = (
        f"WITH a AS MATERIALIZED ({inner}) "
        "SELECT g.pairing_id, g.activity_type_id, t.name, t.\"order\", g.branch_id, o.name, o.short_name, g.month, "
        "g.status, g.n, g.party_members, g.teachers, g.students, g.residents_served, g.level, NULL::numeric, NULL::bigint "
        f"FROM ({grouped}) g LEFT JOIN {kind_table} t ON t.id = g.activity_type_id "
        f"LEFT JOIN {org} o ON o.id = g.branch_id"
    )
    params = [*inner_params]
    if co_hosts:
        # per (pairing, co-host, status), the co-host in the branch's columns; a host listed as its own co-host is
        # not credited twice (as co_branch_counts)
        through = Activity.co_branches.through._meta.db_table
        sql += (
            " UNION ALL SELECT c.pairing_id, NULL, NULL, NULL, c.organization_id, o.name, o.short_name, NULL, "
            f"c.status, c.n, NULL, NULL, NULL, NULL, {CO_HOSTS}, NULL, NULL FROM ("
            f"SELECT a.pairing_id, cb.organization_id, a.{status} AS status, COUNT(*) AS n "
            f"FROM a INNER JOIN {through} cb ON cb.activity_id = a.id WHERE cb.organization_id <> a.branch_id "
            f"GROUP BY a.pairing_id, cb.organization_id, a.{status}) c LEFT JOIN {org} o ON o.id = c.organization_id"
        )
    if service:
        # service_summary's groupings (per pairing, host branch and status; per pairing; overall) over the records of
        # these activities, their levels moved up by SERVICE; as at a day, a record is verified if verified by then
        verified = ServiceRecord.Status.VERIFIED
        if as_at is None:
            record_status, status_params = "sr.status", []
        else:
            record_status = "CASE WHEN sr.status = %s AND sr.verified_at < %s THEN %s ELSE %s END"
            status_params = [
                verified, connection.ops.adapt_datetimefield_value(end_of_day(as_at)), verified,
                ServiceRecord.Status.RECORDED,
            ]
        sql += (
            " UNION ALL SELECT s.pairing_id, NULL, NULL, NULL, s.branch_id, o.name, o.short_name, NULL, s.status, "
            f"s.records, NULL, NULL, NULL, NULL, {SERVICE} + s.level, s.hours, s.volunteers FROM ("
            "SELECT r.pairing_id, r.branch_id, r.status, SUM(r.hours) AS hours, COUNT(*) AS records, "
            "COUNT(DISTINCT r.volunteer_id) FILTER (WHERE r.status = %s) AS volunteers, "
            "GROUPING(r.pairing_id, r.branch_id, r.status) AS level FROM ("
            f"SELECT a.pairing_id, a.branch_id, {record_status} AS status, sr.hours, sr.volunteer_id "
            f"FROM {ServiceRecord._meta.db_table} sr INNER JOIN a ON a.id = sr.activity_id "
            "WHERE sr.deleted_at IS NULL) r "
            "GROUP BY GROUPING SETS ((r.pairing_id, r.branch_id, r.status), (r.pairing_id), ())"
            f") s LEFT JOIN {org} o ON o.id = s.branch_id"
        )
        params += [verified, *status_params]
    counts, volunteers, overall = SummaryCounts(), {}, 0
    # GROUPING's bits, first argument highest: pairing 16, type 8, branch 4, month 2, status 1
    by_type, by_host, by_month, per_pairing = 4 | 2, 8 | 2, 8 | 4, 8 | 4 | 2 | 1
    if not by_pairing:  # the program's types and months (no pairing), and the pairings' totals per status
        by_type, by_month, totals = 16 | 4 | 2, 16 | 8 | 4, 8 | 4 | 2
        counts.pairing_totals = []
    # a read of a program's year: without JIT (compiling it costs more than it saves), its grouping and the sort of
    # its service records in memory
    # the rows repeat a few hundred ids, names and statuses: each is kept once, not once per row (psycopg makes a
    # new object for every value it reads: a program's year of 551 pairings held some 5 MB of copies); the texts
    # are interned, so that they are the same strings as the other queries' (read_records)
    once = {}.setdefault
    with long_read(connection, sql, params, work_mem=SUMMARY_WORK_MEM) as cursor:
        for (
            pairing_id, type_id, type_name, type_order, branch_id, name, short_name, month, state, n, party_members,
            teachers, students, residents, level, hours, served,
        ) in cursor.stream(sql, params, size=2000):  # a program's year: some 40,000 grouped rows, streamed
            pairing_id, state = once(pairing_id, pairing_id), shared(state)
            if name is not None:
                branch_id = once(branch_id, branch_id)
                name, short_name = shared(name), shared(short_name)
            if level == by_type:
                type_name = shared(type_name)
                counts.types.append(TypeCount(pairing_id, type_id, type_name, type_order, state, n))
            elif level == by_host:
                counts.hosts.append(HostCount(pairing_id, branch_id, name, short_name, state, n))
            elif level == by_month:
                counts.months.append(MonthCount(pairing_id, month, state, n))
            elif not by_pairing and level == totals:
                counts.pairing_totals.append(TypeCount(pairing_id, None, None, None, state, n))
            elif level == per_pairing:
                counts.people.append(PeopleSum(pairing_id, party_members, teachers, students, residents))
            elif level == CO_HOSTS:
                counts.co_hosts.append(CoHostCount(pairing_id, branch_id, name, short_name, state, n))
            elif level == SERVICE:  # per pairing, host branch and status
                counts.hours.append(ServiceHours(pairing_id, branch_id, name, short_name, state, hours, n))
            elif level == SERVICE + 3:  # per pairing
                if served:
                    volunteers[pairing_id] = served
            elif level == SERVICE + 7:  # overall
                overall = served or 0
    if service:
        # in service_summary's order: the program-wide activities' rows (pairing None) last
        counts.hours.sort(key=lambda row: (
            row["activity__pairing_id"] is None, row["activity__pairing_id"] or 0, row["activity__branch__name"],
            row["status"],
        ))
        counts.volunteers = (volunteers, overall)
    return counts


def activity_month_rows(pairing_ids, start, end, as_at=None, wide=None, months=None):
    """Counted activities per (pairing, month, status) from ``start`` (the year's first day) to ``end``; with
    ``months``, of those pairings' months only (_in_range)."""
    status = _status(as_at)
    return _renamed(list(
        _read_then(_in_range(pairing_ids, start, end, as_at, wide=wide, months=months), as_at)
        .values("pairing_id", "date__month", status)
        .annotate(n=Count("id"))
        .order_by()
    ), status, "status")


def months_changed_since(pairing_ids, start, end, as_at):
    """The (pairing id, first day of the month) pairs of ``pairing_ids``' months ``start``..``end`` holding an
    activity whose status at the end of ``as_at`` may differ from its status now (as pairings_changed_since, a
    month at a time: the changes after a year's end fall in its last weeks, the rollup holds the other months as
    they stood). One query."""
    if not pairing_ids:
        return set()
    return set(
        Activity.objects.filter(pairing_id__in=pairing_ids, date__range=(start, end))
        .filter(changed_since(as_at))
        .annotate(month=TruncMonth("date"))
        .order_by()
        .values_list("pairing_id", "month")
        .distinct()
    )


def pairings_changed_since(pairing_ids, start, end, as_at):
    """The pairings among ``pairing_ids`` with an activity dated ``start``..``end`` whose status at the end of
    ``as_at`` may differ from its status now (activities.selectors.changed_since: saved since, or stamped
    submitted or confirmed after). The others' months count as they stood exactly as the rollup counts them
    now. One query."""
    if not pairing_ids:
        return set()
    return set(
        Activity.objects.filter(pairing_id__in=pairing_ids, date__range=(start, end))
        .filter(changed_since(as_at))
        .order_by()
        .values_list("pairing_id", flat=True)
        .distinct()
    )


def activity_rows(pairing_ids, start, end, as_at=None, wide=None):
    """The activities themselves, for the lists of a report; when a report lists them, its counts per type,
    host branch and pairing are added up from these rows (builders.counts_from_items)."""
    status = _status(as_at)
    return _renamed(list(
        _read_then(_in_range(pairing_ids, start, end, as_at, wide=wide), as_at)
        .order_by("date", "id")
        .values(
            "id", "pairing_id", "branch_id", "branch__name", "branch__short_name", "activity_type_id",
            "activity_type__name", "activity_type__order", "title", "date", "place", status, "party_members",
            "teachers", "students", "residents_served",
        )
    ), status, "status")


def co_branch_rows(pairing_ids, start, end, as_at=None, wide=None):
    """(activity, co-hosting branch) pairs of the counted activities in the range, for the lists."""
    through = Activity.co_branches.through
    return list(
        through.objects.filter(activity__in=_in_range(pairing_ids, start, end, as_at, wide=wide))
        .exclude(organization_id=F("activity__branch_id"))
        .order_by("activity_id", "organization__name")
        .values("activity_id", "organization_id", "organization__name", "organization__short_name")
    )


def program_metrics(program):
    return list(
        Metric.objects.filter(program=program).order_by("order", "id").values("id", "code", "name", "unit", "aggregation")
    )


def metric_sums(pairing_ids, year_start, start, end, as_at=None, wide=None):
    """Per (metric, pairing) of the ``sum`` metrics: the period's total and the year-to-date total."""
    in_period = Q(activity__date__gte=start)
    return list(
        ActivityMetricValue.objects.filter(
            metric__aggregation=Metric.Aggregation.SUM, activity__in=_in_range(pairing_ids, year_start, end, as_at, wide=wide)
        )
        .values("metric_id", "activity__pairing_id")
        .annotate(period=Sum("value", filter=in_period), ytd=Sum("value"))
        .order_by()
    )


def snapshot_value_rows(pairing_ids, year_start, end, as_at=None, wide=None):
    """The values of ``snapshot`` metrics from the year's start, oldest first (the last one is the latest)."""
    return list(
        ActivityMetricValue.objects.filter(
            metric__aggregation=Metric.Aggregation.SNAPSHOT, activity__in=_in_range(pairing_ids, year_start, end, as_at, wide=wide)
        )
        .order_by("activity__date", "activity_id")
        .values("metric_id", "value", "activity_id", "activity__date", "activity__pairing_id")
    )


def latest_snapshot_rows(pairing_ids, year_start, start, end, as_at=None, wide=None):
    """What ``snapshot_value_rows`` gives that a report reads (builders.metric_section: the last value of the year
    to date and the last of the period, by date then activity): per pairing and ``snapshot`` metric, the latest
    value dated before ``start`` and the latest dated ``start``..``end``, at most two rows, oldest first. A fixed
    number of rows per pairing, whatever the number of values (a year's of a large program: tens of thousands)."""
    in_period = ExpressionWrapper(Q(activity__date__gte=start), output_field=BooleanField())
    partition = [F("activity__pairing_id"), F("metric_id"), in_period]
    return list(
        ActivityMetricValue.objects.filter(
            metric__aggregation=Metric.Aggregation.SNAPSHOT, activity__in=_in_range(pairing_ids, year_start, end, as_at, wide=wide)
        )
        .annotate(rank=Window(RowNumber(), partition_by=partition, order_by=[F("activity__date").desc(), F("activity_id").desc()]))
        .filter(rank=1)
        .order_by("activity__date", "activity_id")
        .values("metric_id", "value", "activity_id", "activity__date", "activity__pairing_id")
    )


def period_metric_rows(pairing_ids, start, end, as_at=None, wide=None, months=None, *, ordered=False):
    """Per (pairing, metric), over the counted activities dated ``start``..``end`` (with ``months``, the pairings'
    of those months only: _in_range): the sum of the values and the latest value (by activity date, then activity
    id), as (pairing id, metric id, sum, latest value, its date, its activity id). One row per pairing and metric,
    whatever the number of values. Read from the activities of _in_range joined to their values, not from the
    values with ``activity__in`` (_in_range): that form joined every activity a second time, by its key, to read
    its pairing and date (a third of the query's time for a 551-pairing program).

    ``ordered=True``: an iterator read in chunks, in the order of the pairing (the program-wide rows, pairing None,
    last), then the metric, to be merged as it is read with rows in the same order (builders._merged)."""
    partition = [F("pairing_id"), F("metric_values__metric_id")]
    rows = (
        _in_range(pairing_ids, start, end, as_at, wide=wide, months=months)
        .filter(metric_values__isnull=False)
        .annotate(
            rank=Window(RowNumber(), partition_by=partition, order_by=[F("date").desc(), F("id").desc()]),
            period_total=Window(Sum("metric_values__value"), partition_by=partition),
        )
        .filter(rank=1)
        .values_list("pairing_id", "metric_values__metric_id", "period_total", "metric_values__value", "date", "id")
    )
    if ordered:
        return rows.order_by(F("pairing_id").asc(nulls_last=True), "metric_values__metric_id").iterator(
            chunk_size=figures.ROWS_PER_CHUNK
        )
    return list(rows.order_by())


def target_rows(pairing_ids, year, as_at=None):
    """The targets of the year's plans, but those of cancelled items (now, or as at ``as_at``)."""
    targets = PlanTarget.objects.filter(item__plan__pairing_id__in=pairing_ids, item__plan__year=year)
    if as_at is None:
        targets = targets.exclude(item__status=PlanItem.Status.CANCELLED)
    else:
        cancelled = PlanItem.objects.filter(plan__pairing_id__in=pairing_ids, plan__year=year).alias(
            status_then=item_status_on(as_at)
        ).filter(status_then=PlanItem.Status.CANCELLED)
        targets = targets.exclude(item_id__in=cancelled.values("id"))
    return read_records(TargetRecord, targets)


@dataclass(slots=True)
class TargetRecord(Record):
    """A plan target's metric and value, with its plan's pairing."""

    metric_id: int
    value: decimal.Decimal
    item__plan__pairing_id: int


@dataclass(slots=True)
class PlanItemRecord(Record):
    """A plan item as a report reads it; ``status`` as it stood at the report's day for a past period's."""

    id: int
    plan__pairing_id: int
    plan__year: int
    title: str
    category: str
    owner_branch__name: str | None
    owner_branch__short_name: str | None
    village_counterpart: str
    due_date: datetime.date | None
    status: str
    progress: int


def plan_item_rows(pairing_ids, year, due_until, as_at=None):
    """Items of the year's plans, plus open items of any plan due on or before ``due_until``; their status now,
    or (given ``as_at``) as it stood at the end of that day (its history)."""
    items = PlanItem.objects.filter(plan__pairing_id__in=pairing_ids)
    status = "status"
    if as_at is not None:
        items, status = items.annotate(status_read=item_status_on(as_at)), "status_read"
    return read_records(
        PlanItemRecord,
        items.filter(Q(plan__year=year) | Q(**{f"{status}__in": OPEN_ITEM, "due_date__lte": due_until}))
        .order_by("due_date", "plan__pairing_id", "order", "id"),
        *(status if name == "status" else name for name in PlanItemRecord.__slots__),
    )


def closed_by(moment, prefix=""):
    """A Q over needs closed by ``moment``: rated before it (a rating closes a need), or closed without a rating
    (by hand, at a moment not kept)."""
    return Q(**{f"{prefix}status": Need.Status.CLOSED}) & (
        Q(**{f"{prefix}rated_at__isnull": True}) | Q(**{f"{prefix}rated_at__lt": moment})
    )


@dataclass(slots=True)
class NeedRecord(Record):
    """A need as a report reads it."""

    id: int
    pairing_id: int
    title: str
    category: str
    status: str
    raised_at: datetime.datetime
    claimed_at: datetime.datetime | None
    fulfilled_at: datetime.datetime | None
    rated_at: datetime.datetime | None
    rating: int | None
    claimed_by_branch__name: str | None


def need_rows(pairing_ids, start_at, end_at, stands_at, stale_before):
    """Needs with something happening in [start_at, end_at), and those still unanswered and not closed at
    ``stands_at`` (the report's moment: the period's end, or the build if earlier) that were raised before
    ``stale_before`` (open for over 30 days then)."""
    happened = (
        Q(raised_at__gte=start_at, raised_at__lt=end_at)
        | Q(claimed_at__gte=start_at, claimed_at__lt=end_at)
        | Q(fulfilled_at__gte=start_at, fulfilled_at__lt=end_at)
        | Q(rated_at__gte=start_at, rated_at__lt=end_at)
    )
    stale = (
        Q(raised_at__lt=stale_before)
        & ~closed_by(stands_at)
        & (Q(claimed_at__isnull=True) | Q(claimed_at__gte=stands_at))
        & (Q(fulfilled_at__isnull=True) | Q(fulfilled_at__gte=stands_at))
    )
    return read_records(NeedRecord, Need.objects.filter(pairing_id__in=pairing_ids).filter(happened | stale).order_by("raised_at", "id"))


def service_rows(pairing_ids, start, end, as_at=None, wide=None):
    """Hours and records per (pairing, host branch, status) for the counted activities in the range (as at a
    day: verified if verified by then, else recorded)."""
    records = ServiceRecord.objects.filter(activity__in=_in_range(pairing_ids, start, end, as_at, wide=wide))
    status = "status"
    if as_at is not None:
        verified, recorded = ServiceRecord.Status.VERIFIED, ServiceRecord.Status.RECORDED
        records = records.annotate(
            status_read=Case(When(figures.verified_then(as_at, ""), then=Value(verified)), default=Value(recorded))
        )
        status = "status_read"
    return _renamed(list(
        records.values("activity__pairing_id", "activity__branch_id", "activity__branch__name", "activity__branch__short_name", status)
        .annotate(hours=Sum("hours"), records=Count("id"))
        .order_by("activity__pairing_id", "activity__branch__name", status)
    ), status, "status")


def service_summary(pairing_ids, start, end, wide=None, as_at=None):
    """``(service_rows(...), *volunteer_counts(...))`` in one query: one pass over the service records of the
    counted activities in the range instead of three. On PostgreSQL one GROUP BY GROUPING SETS (per pairing,
    host branch and status; per pairing; overall); elsewhere the three groupings joined by UNION ALL. The
    branch names are joined to the few grouped rows, not to every record. With ``wide``, the program's
    program-wide activities too (of_scope: their rows under the pairing id None). With ``as_at`` (a past
    period's report): the activities that counted at the end of that day (_in_range, their status then) and
    their records' hours as verified by then (figures.verified_then), as service_rows and volunteer_counts
    read them."""
    if not pairing_ids and wide is None:
        return [], {}, 0
    record, activity = ServiceRecord._meta.db_table, Activity._meta.db_table
    org = Activity._meta.get_field("branch").related_model._meta.db_table
    verified = ServiceRecord.Status.VERIFIED
    connection = connections[router.db_for_read(ServiceRecord)]  # where the ORM would read them
    if as_at is None:
        scope = f"a.pairing_id IN ({', '.join(['%s'] * len(pairing_ids))})" if pairing_ids else "1 = 0"
        scope_params = [*pairing_ids]
        if wide is not None:
            scope = f"({scope} OR (a.pairing_id IS NULL AND a.program_id = %s))"
            scope_params.append(wide)
        records = (
            f"SELECT a.pairing_id, a.branch_id, sr.status, sr.hours, sr.volunteer_id "
            f"FROM {record} sr INNER JOIN {activity} a ON a.id = sr.activity_id "
            f"WHERE sr.deleted_at IS NULL AND a.deleted_at IS NULL AND a.status IN (%s, %s) AND {scope} "
            "AND a.date >= %s AND a.date <= %s"
        )
        records_params = [*COUNTED, *scope_params, start, end]
    else:
        # the activities that counted then (their status then: a subquery on their history where they changed
        # since), each record verified if verified by then, else waiting
        counted_sql, counted_params = (
            _in_range(pairing_ids, start, end, as_at, wide=wide).order_by().values("id", "pairing_id", "branch_id")
            .query.sql_with_params()
        )
        records = (
            f"SELECT a.pairing_id, a.branch_id, "
            f"CASE WHEN sr.status = %s AND sr.verified_at < %s THEN %s ELSE %s END AS status, sr.hours, sr.volunteer_id "
            f"FROM {record} sr INNER JOIN ({counted_sql}) a ON a.id = sr.activity_id WHERE sr.deleted_at IS NULL"
        )
        records_params = [
            # the moment as the ORM writes it for this database (SQLite keeps naive UTC text and compares text)
            verified, connection.ops.adapt_datetimefield_value(end_of_day(as_at)), verified,
            ServiceRecord.Status.RECORDED, *counted_params,
        ]
    postgresql = connection.vendor == "postgresql"
    if postgresql:
        grouped = (
            "SELECT r.pairing_id, r.branch_id, r.status, SUM(r.hours) AS hours, COUNT(*) AS records, "
            "COUNT(DISTINCT r.volunteer_id) FILTER (WHERE r.status = %s) AS volunteers, "
            "GROUPING(r.pairing_id, r.branch_id, r.status) AS level "
            f"FROM ({records}) r "
            "GROUP BY GROUPING SETS ((r.pairing_id, r.branch_id, r.status), (r.pairing_id), ())"
        )
        params = [verified, *records_params]
    else:
        grouped = (
            "SELECT r.pairing_id, r.branch_id, r.status, SUM(r.hours) AS hours, COUNT(*) AS records, "
            f"NULL AS volunteers, 0 AS level FROM ({records}) r GROUP BY r.pairing_id, r.branch_id, r.status "
            "UNION ALL SELECT r.pairing_id, NULL, NULL, NULL, NULL, COUNT(DISTINCT r.volunteer_id), 3 "
            f"FROM ({records}) r WHERE r.status = %s GROUP BY r.pairing_id "
            "UNION ALL SELECT NULL, NULL, NULL, NULL, NULL, COUNT(DISTINCT r.volunteer_id), 7 "
            f"FROM ({records}) r WHERE r.status = %s"
        )
        params = [*records_params, *records_params, verified, *records_params, verified]
    sql = (
        "SELECT g.pairing_id, g.branch_id, g.status, g.hours, g.records, g.volunteers, g.level, o.name, o.short_name "
        f"FROM ({grouped}) g LEFT JOIN {org} o ON o.id = g.branch_id"
    )
    rows, per_pairing, overall = [], {}, 0
    # on PostgreSQL without JIT (compiling it costs more than it saves) and with the sort of a program's year's
    # records (hundreds of thousands) in memory, not on disk
    read = long_read(connection, sql, params, work_mem=SUMMARY_WORK_MEM) if postgresql else connection.cursor()
    with read as cursor:
        cursor.execute(sql, params)
        for pairing_id, branch_id, status, hours, records, volunteers, level, name, short_name in cursor.fetchall():
            if level == 0:
                rows.append({
                    "activity__pairing_id": pairing_id, "activity__branch_id": branch_id,
                    "activity__branch__name": name, "activity__branch__short_name": short_name, "status": status,
                    # SQLite adds decimals as floats: back to the field's Decimal, as the ORM's Sum gives it
                    "hours": _decimal(hours), "records": records,
                })
            elif level == 3:
                if volunteers:
                    per_pairing[pairing_id] = volunteers
            else:
                overall = volunteers or 0
    # the program-wide activities' rows (pairing None) last
    rows.sort(key=lambda row: (
        row["activity__pairing_id"] is None, row["activity__pairing_id"] or 0, row["activity__branch__name"], row["status"]
    ))
    return rows, per_pairing, overall


def _decimal(value):
    """A sum read by a raw query as the ORM's Sum gives it (SQLite returns floats: Django's converter makes a
    Decimal of 15 digits)."""
    if value is None or isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return DECIMAL_CONTEXT.create_decimal_from_float(value)
    return Decimal(value)


def volunteer_counts(pairing_ids, start, end, as_at=None, *, overall=True, wide=None):
    """Distinct volunteers with verified hours, per pairing and overall (人, not 人次). For one pairing the
    overall count is that pairing's (one query); a volunteer serving two pairings counts once overall.
    ``overall=False`` (a batch of pairing reports): the per-pairing counts only, one query. With ``wide``, the
    program-wide activities too (per pairing under None)."""
    is_verified = Q(status=ServiceRecord.Status.VERIFIED) if as_at is None else figures.verified_then(as_at, "")
    verified = ServiceRecord.objects.filter(is_verified, activity__in=_in_range(pairing_ids, start, end, as_at, wide=wide))
    per_pairing = {
        row["activity__pairing_id"]: row["n"]
        for row in verified.values("activity__pairing_id").annotate(n=Count("volunteer_id", distinct=True)).order_by()
    }
    if len(pairing_ids) + (wide is not None) <= 1 or not overall:
        return per_pairing, sum(per_pairing.values())
    overall = verified.aggregate(n=Count("volunteer_id", distinct=True))["n"] or 0
    return per_pairing, overall


def last_counted_on(pairing_ids, as_at, then=None):
    """{pairing id: the date of its last counted activity dated on or before ``as_at``} (with ``then``, counted as
    it stood at the end of that day): what Pairing.last_activity_on says today, as at a report's day. One query."""
    if then is None:
        activities = Activity.objects.filter(pairing_id__in=pairing_ids, date__lte=as_at, status__in=COUNTED)
        return dict(activities.order_by().values("pairing_id").annotate(last=Max("date")).values_list("pairing_id", "last"))
    # as it stood: per pairing, its activities newest first (its date index) up to the first that counted then, not
    # the status then of every activity it ever had (3 s for a program of 550 pairings)
    newest = figures.counted_then(Activity.objects.filter(pairing_id=OuterRef("pk"), date__lte=as_at), then)
    rows = Pairing.objects.filter(pk__in=pairing_ids).annotate(
        last=Subquery(newest.order_by("-date").values("date")[:1])
    ).order_by().values_list("pk", "last")
    return {pairing_id: last for pairing_id, last in rows if last is not None}


def highlight_rows(pairing_ids, start, end, limit=6, as_at=None, wide=None):
    """The period's activities with photos that may be shown (never those flagged shows_minors): confirmed
    first, then the most residents served."""
    shown = Q(photos__shows_minors=False)
    status = _status(as_at)
    return _renamed(list(
        _read_then(_in_range(pairing_ids, start, end, as_at, wide=wide), as_at)
        .annotate(shown_photos=Count("photos", filter=shown))
        .filter(shown_photos__gt=0)
        .order_by(status, "-residents_served", "-date", "-id")  # "confirmed" sorts before "submitted"
        .values("id", "pairing_id", "title", "date", "branch__name", "branch__short_name", "activity_type__name",
                "description", status, "residents_served")[:limit]
    ), status, "status")


def highlight_photo_rows(activity_ids, per_activity=3):
    rows = (
        ActivityPhoto.objects.filter(activity_id__in=activity_ids, shows_minors=False)
        .order_by("activity_id", "id")
        .values("id", "activity_id", "caption")
    )
    kept, seen = [], {}
    for row in rows:
        seen[row["activity_id"]] = seen.get(row["activity_id"], 0) + 1
        if seen[row["activity_id"]] <= per_activity:
            kept.append(row)
    return kept


# --------------------------------------------------------------------------------------------------------
# Drafts waiting to be published: the bulk publish and the admin's home page
# --------------------------------------------------------------------------------------------------------


class Selection:
    """The drafts a bulk publish is about: the report list's filter (its GET parameters) over the drafts the
    user may publish, narrowed to the ticked rows unless every draft the filter shows is asked for."""

    FILTER_KEYS = ("kind", "status", "program", "period", "ids")

    def __init__(self, user, params, *, request=None):
        self.every = params.get("all") == "1"
        self.ticked, self.bad_ticks = [], False
        for value in params.getlist("report"):
            try:
                self.ticked.append(int(value))
            except ValueError:
                self.bad_ticks = True
        self.filter_params = params.copy()
        for name in list(self.filter_params):
            if name not in self.FILTER_KEYS:
                del self.filter_params[name]
        drafts = Report.objects.editable_by(user).filter(status=Report.Status.DRAFT)
        self.filterset = ReportFilter(self.filter_params, queryset=drafts, request=request)
        self.valid = self.filterset.is_valid() and not self.bad_ticks
        queryset = self.filterset.qs if self.valid else drafts.none()
        if not self.every:
            queryset = queryset.filter(pk__in=self.ticked)
        self.queryset = queryset.order_by()

    @property
    def empty_choice(self):
        return not self.every and not self.ticked

    def summary(self, up_to=None):
        """[{kind, count, without_notes}] by kind, and the highest id (one query)."""
        queryset = self.queryset if up_to is None else self.queryset.filter(pk__lte=up_to)
        rows = list(
            queryset.values("kind").annotate(
                count=Count("id"),
                without_notes=Count("id", filter=Q(kind=Report.Kind.QUARTERLY, notes="")),
                top=Max("id"),
            ).order_by("kind")
        )
        return rows, max((row["top"] for row in rows), default=None)

    def shown(self, limit):
        return list(
            self.queryset.select_related("program", "pairing__supporter", "pairing__supported")
            .defer("data")
            .order_by("program__name", "kind", "-period", "scope_key")[:limit]
        )


def drafts_waiting(user):
    """The drafts the user may publish, counted by program, kind and period (one query): the admin's home."""
    return list(
        Report.objects.editable_by(user)
        .filter(status=Report.Status.DRAFT)
        .values("program_id", "program__name", "kind", "period")
        .annotate(count=Count("id"), without_notes=Count("id", filter=Q(kind=Report.Kind.QUARTERLY, notes="")))
        .order_by("-period", "program__name", "kind")
    )


def _unread_sql(user_id_sql):
    """The capped COUNT of the unread notices of the user whose id ``user_id_sql`` gives (a placeholder, or a
    column of the statement it is part of), the cap its one parameter. Written in SQL: the ORM's count of a sliced
    queryset builds a subquery each time, four times the statement's own cost."""
    table = connections[router.db_for_read(Notification)].ops.quote_name(Notification._meta.db_table)
    return f"SELECT COUNT(*) FROM (SELECT 1 FROM {table} WHERE user_id = {user_id_sql} AND read_at IS NULL LIMIT %s) AS unread"


def unread_count_with_session(cap):
    """`unread_count` as SQL over a session's row (portal.models.UserSession), for its user: read in the session's own
    query (portal/sessions.py), it costs the page no round trip of its own. (SQL, parameters)."""
    from portal.models import UserSession

    quote = connections[router.db_for_read(Notification)].ops.quote_name
    return _unread_sql(f"{quote(UserSession._meta.db_table)}.{quote('user_id')}"), [cap]


def unread_count(user, cap):
    """How many notices the user has not read, counted up to ``cap`` (the header's badge on every page)."""
    with connections[router.db_for_read(Notification)].cursor() as cursor:
        cursor.execute(_unread_sql("%s"), [user.pk, cap])
        return cursor.fetchone()[0]
