"""The rollup: what the pairing page and the program dashboard read instead of scanning activities.

Two levels, five tables (figures/models.py):

* from the source rows, per pairing and month: PairingMonth (counted activities, of which confirmed, 人次,
  people taking part, verified hours, last activity date) and PairingMonthMetric (each metric's sum and its
  latest value with date and activity);
* added up from those: PairingYear (the dashboard's per-pairing table), ProgramMonth and ProgramMonthMetric
  (the dashboard's totals and monthly chart), so a program of a thousand pairings is read in a few dozen rows.

Counting rules (figures/selectors.py states and defines them: ``counted``, ``verified_q``; the report builders
count the same way): a pairing-month counts the
pairing's *submitted or confirmed* activities that are not deleted, each once (a co-hosted activity is one row
of its pairing); volunteer hours count once verified and not deleted, on counted activities; each metric keeps
the sum of its values and the latest value (by activity date, then id), so `sum` and `snapshot` metrics read
the same row and changing a metric's aggregation needs no rebuild. A period with nothing counted has no row.

Kept current by figures/signals.py: every save or delete of an activity, a metric value or a service record
(services, admin, soft delete and restore), the volunteers app's bulk verification and a pairing moved to
another program mark what they touch; an activity whose date or pairing changes marks its old month too. The
marks are collected per transaction and refreshed once, synchronously, when it commits, so the next page view
is current. ``rebuild_rollups`` recomputes everything (or one year) for data loaded behind the application's
back (COPY, bulk inserts, a restored dump).

Each refresh runs in its own transaction and, on PostgreSQL, first takes advisory locks on the pairings and then
on the programs it touches (each kind in id order, so two refreshes never deadlock): a refresh waits for any
other refresh of the same pairing or program, then reads everything committed before it, so the last refresh
always writes the current figures.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections import defaultdict
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from decimal import Decimal

from django.db import connections, router, transaction
from django.db.models import Count, Max, Q, Sum
from django.db.models.functions import ExtractYear
from django.utils import timezone

from activities.kept import kept_rebuild
from activities.models import Activity
from pairings.models import Pairing, Program
from figures.cache import rollup_changed
from figures.models import PairingMonth, PairingMonthMetric, PairingYear, ProgramMonth, ProgramMonthMetric
# a pairing-month's figures are computed by the figures' own rule (figures.selectors.compute_pairing_months)
from figures.selectors import PEOPLE, compute_pairing_months, exact, pairing_month_queries
from portal.db import ids_listed_q

logger = logging.getLogger(__name__)

# pg_advisory_xact_lock(space, id): one refresh of a pairing's (or a program's) rollup at a time.
PAIRING_LOCKS = int.from_bytes(b"ROLP", "big")
PROGRAM_LOCKS = int.from_bytes(b"ROLG", "big")
KEYS_PER_BATCH = 1000  # (pairing, month) keys refreshed in one round of statements
PAIRINGS_PER_REBUILD_BATCH = 100
ZERO = Decimal("0")

MONTH_FIELDS = ("activities", "confirmed", *PEOPLE, "verified_hours", "last_activity_on")
METRIC_FIELDS = ("total", "latest_value", "latest_on", "latest_activity_id")
YEAR_FIELDS = MONTH_FIELDS
PROGRAM_FIELDS = ("pairings", "activities", "confirmed", *PEOPLE, "verified_hours")
PROGRAM_METRIC_FIELDS = ("total", "pairings")


def month_of(day):
    """The first day of the month of `day` (a date)."""
    return day.replace(day=1)


def next_month(month):
    return (month + datetime.timedelta(days=32)).replace(day=1)


def key_of(pairing_id, day):
    return (pairing_id, month_of(day))


# --------------------------------------------------------------------------------------------------------
# Which rows: Q objects for a set of keys or a batch of pairings
# --------------------------------------------------------------------------------------------------------


def _month_ranges(months):
    """Sorted months as runs of consecutive months: [(first, last)]."""
    months = sorted(months)
    runs = []
    for month in months:
        if runs and month == next_month(runs[-1][1]):
            runs[-1] = (runs[-1][0], month)
        else:
            runs.append((month, month))
    return runs


def _rectangles(keys):
    """The (owner id, month) keys as few [(owner ids, first month, last month)]: the owners that share the same
    months together, each run of consecutive months once (a month of every pairing is one rectangle)."""
    months_of = defaultdict(set)
    for owner_id, month in keys:
        months_of[owner_id].add(month)
    owners_of = defaultdict(list)
    for owner_id, months in months_of.items():
        owners_of[frozenset(months)].append(owner_id)
    return sorted(
        (sorted(owners), first, last)
        for months, owners in owners_of.items()
        for first, last in _month_ranges(months)
    )


def _keys_q(keys, *, owner="pairing_id", date_field="date", prefix=""):
    """A Q over rows (reached through `prefix`) of the given (owner id, month) keys: activities by their
    date (date_field="date") or rollup rows by their month (date_field="month")."""
    q = Q(pk__in=[])
    for owner_ids, first, last in _rectangles(keys):
        if date_field == "month":
            bounds = {f"{prefix}month__gte": first, f"{prefix}month__lte": last}
        else:
            bounds = {f"{prefix}{date_field}__gte": first, f"{prefix}{date_field}__lt": next_month(last)}
        q |= ids_listed_q(f"{prefix}{owner}", owner_ids) & Q(**bounds)
    return q


def _pairings_q(pairing_ids, year, *, prefix="", date_field="date"):
    """A Q over the pairings' rows (activities; rollup rows with date_field="month"), in a year if given."""
    q = ids_listed_q(f"{prefix}pairing_id", pairing_ids) if pairing_ids is not None else Q()
    if year is not None:
        q &= Q(**{
            f"{prefix}{date_field}__gte": datetime.date(year, 1, 1),
            f"{prefix}{date_field}__lt": datetime.date(year + 1, 1, 1),
        })
    return q


# --------------------------------------------------------------------------------------------------------
# Computing: pairing-months from the source rows (three queries), the rest from the pairing-months
# --------------------------------------------------------------------------------------------------------


def pairing_years_query(where, *, using):
    """Per (pairing, year), the pairing-months `where` selects added up (columns pairing_id, year, then
    YEAR_FIELDS)."""
    return (
        PairingMonth.objects.using(using).filter(where)
        .annotate(year=ExtractYear("month"))
        .order_by()
        .values("pairing_id", "year")
        .annotate(
            **{name: Sum(name) for name in ("activities", "confirmed", *PEOPLE)},
            verified_hours=Sum("verified_hours"),
            last_activity_on=Max("last_activity_on"),
        )
    )


def compute_pairing_years(where, *, using):
    """{(pairing, year): fields} from the pairing-months `where` selects."""
    result = {}
    for row in pairing_years_query(where, using=using):
        key = (row.pop("pairing_id"), row.pop("year"))
        row["verified_hours"] = exact(row["verified_hours"], "0.1")
        result[key] = row
    return result


def compute_program_months(where, *, using, wide=None):
    """{(program, month): fields} and {(program, month, metric): fields} from the pairing rollup rows that
    `where` (a Q over PairingMonth and PairingMonthMetric) selects, plus the program-wide activities (no pairing)
    that `wide(prefix)` selects, read from the source rows (they are few: a branch's service days in the towns)."""
    months = {}
    rows = (
        PairingMonth.objects.using(using).filter(where)
        .order_by()
        .values("pairing__program_id", "month")
        .annotate(
            pairings=Count("id"),
            **{name: Sum(name) for name in ("activities", "confirmed", *PEOPLE)},
            verified_hours=Sum("verified_hours"),
        )
    )
    for row in rows:
        key = (row.pop("pairing__program_id"), row.pop("month"))
        row["verified_hours"] = exact(row["verified_hours"], "0.1")
        months[key] = row
    metrics = {
        (program_id, month, metric_id): {"total": exact(total, "0.01"), "pairings": pairings}
        for program_id, month, metric_id, total, pairings in PairingMonthMetric.objects.using(using)
        .filter(where)
        .order_by()
        .values("pairing__program_id", "month", "metric_id")
        .annotate(total=Sum("total"), pairings=Count("id"))
        .values_list("pairing__program_id", "month", "metric_id", "total", "pairings")
    }
    if wide is not None:
        _add_program_wide(months, metrics, wide, using)
    return months, metrics


def _add_program_wide(months, metrics, wide, using):
    """Add the program-wide activities' months to the programs' months (each once; no pairing reports them)."""
    wide_months, wide_metrics = compute_pairing_months(
        lambda prefix: wide(prefix) & Q(**{f"{prefix}pairing__isnull": True}), using=using, owner="program_id"
    )
    for key, row in wide_months.items():
        into = months.setdefault(key, {
            "pairings": 0, "activities": 0, "confirmed": 0, **{name: 0 for name in PEOPLE}, "verified_hours": exact(None, "0.1"),
        })
        for name in ("activities", "confirmed", *PEOPLE):
            into[name] += row[name]
        into["verified_hours"] = exact(into["verified_hours"] + row["verified_hours"], "0.1")
    for key, row in wide_metrics.items():
        into = metrics.setdefault(key, {"total": exact(None, "0.01"), "pairings": 0})
        into["total"] = exact(into["total"] + row["total"], "0.01")


# --------------------------------------------------------------------------------------------------------
# Writing the program rows (a few per program-month): read, compare, write only what differs
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    model: type
    key: tuple  # attnames of the unique key, in the order of the computed dicts' keys
    fields: tuple

    def sync(self, computed, scope, using):
        """Make the rows `scope` (a Q) selects equal `computed` ({key tuple: {field: value}}): read them (one
        query), delete the ones no longer computed, upsert the new and changed ones. Rows already right are
        not written. Returns the number of rows written or deleted."""
        manager = self.model.objects.using(using)
        existing = {}
        for row in manager.filter(scope).order_by().values_list("pk", *self.key, *self.fields):
            existing[tuple(row[1:1 + len(self.key)])] = (row[0], dict(zip(self.fields, row[1 + len(self.key):])))
        stale = [pk for key, (pk, _values) in existing.items() if key not in computed]
        changed = [
            self.model(**dict(zip(self.key, key)), **values)
            for key, values in computed.items()
            if key not in existing or existing[key][1] != values
        ]
        if stale:
            manager.filter(pk__in=stale).delete()
        if changed:
            # an upsert: a row that appeared since it was read (SQLite takes no advisory lock) is updated
            manager.bulk_create(
                changed, batch_size=1000, update_conflicts=True,
                unique_fields=[name.removesuffix("_id") for name in self.key],
                update_fields=[*(name.removesuffix("_id") for name in self.fields), "updated_at"],
            )
        return len(stale) + len(changed)


PROGRAM_MONTHS = Table(ProgramMonth, ("program_id", "month"), PROGRAM_FIELDS)
PROGRAM_MONTH_METRICS = Table(ProgramMonthMetric, ("program_id", "month", "metric_id"), PROGRAM_METRIC_FIELDS)


# --------------------------------------------------------------------------------------------------------
# Writing the pairing rows set-based: computed and written by one statement per table for the whole set of keys
# (INSERT … SELECT … ON CONFLICT DO UPDATE and a DELETE: PostgreSQL, and SQLite since 3.24; UPDATE … FROM since
# 3.33; Python 3.11 here ships 3.40)
# --------------------------------------------------------------------------------------------------------


def _compiled(queryset, using):
    return queryset.query.get_compiler(using=using).as_sql()


def _month(column, connection):
    """A computed month column as a date: TruncMonth gives a timestamp on PostgreSQL, 'YYYY-MM-01' on SQLite."""
    return f"CAST({column} AS date)" if connection.vendor == "postgresql" else column


def _differs(connection):
    """Null-safe "differs from" (latest_activity_id may be NULL)."""
    return "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"


def _same(connection):
    """Null-safe "equals"."""
    return "IS NOT DISTINCT FROM" if connection.vendor == "postgresql" else "IS"


def _scope_condition(model, scope, using):
    """(sql, params): `scope` (a Q over the model's own columns) as a condition on its table, for a DELETE; a Q
    that needs a join as "id IN (…)"."""
    query = model.objects.using(using).filter(scope).order_by().values("pk").query
    compiler = query.get_compiler(using=using)
    if sum(1 for count in query.alias_refcount.values() if count) > 1:  # a join the condition needs
        sql, params = compiler.as_sql()
        return f"{connections[using].ops.quote_name('id')} IN ({sql})", params
    return compiler.compile(query.where)


def _replace(model, key, fields, select, params, scope, using):
    """Make the rows `scope` (a Q) selects equal the rows `select` yields (its columns named as the model's: `key`,
    then `fields`): insert the new ones, update the stored ones where a field differs (rows already right are not
    written) and delete those whose key it no longer yields. On PostgreSQL one statement (the computed rows once,
    in a CTE); elsewhere a DELETE and an INSERT … ON CONFLICT DO UPDATE. Returns the number of rows written or
    deleted."""
    connection = connections[using]
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    key_columns = ", ".join(qn(c) for c in key)
    scope_sql, scope_params = _scope_condition(model, scope, using)
    # the scope as a condition on the table itself (not "id IN (…)", which PostgreSQL joined to a scan of the whole
    # table: 300,000 metric rows for a month's 8,741), each of its rows looked up in a hash of the computed keys
    delete = f"DELETE FROM {table} WHERE {scope_sql} AND ({key_columns}) NOT IN (SELECT {key_columns} FROM {{rows}} k)"
    # The rows already stored as computed are left out before the INSERT: ON CONFLICT DO UPDATE locks (so writes)
    # every row it meets, even one its WHERE then leaves alone. The WHERE stays for a row written meanwhile
    # (SQLite takes no advisory lock). A WHERE is needed anyway: SQLite would otherwise read ON CONFLICT's ON as
    # a join constraint.
    stored = " AND ".join(
        [f"t.{qn(c)} = c.{qn(c)}" for c in key] + [f"t.{qn(c)} {_same(connection)} c.{qn(c)}" for c in fields]
    )
    upsert = (
        f"INSERT INTO {table} ({', '.join(qn(c) for c in (*key, *fields, 'updated_at'))}) "
        f"SELECT c.*, %s FROM {{rows}} c WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {stored}) "
        f"ON CONFLICT ({key_columns}) DO UPDATE SET "
        + ", ".join(f"{qn(c)} = excluded.{qn(c)}" for c in (*fields, "updated_at"))
        + " WHERE " + " OR ".join(f"{table}.{qn(c)} {_differs(connection)} excluded.{qn(c)}" for c in fields)
    )
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"WITH computed AS MATERIALIZED ({select}), "
                f"deleted AS ({delete.format(rows='computed')} RETURNING 1), "
                f"written AS ({upsert.format(rows='computed')} RETURNING 1) "
                "SELECT (SELECT COUNT(*) FROM deleted) + (SELECT COUNT(*) FROM written)",
                [*params, *scope_params, now],
            )
            return cursor.fetchone()[0]
        rows = f"({select})"
        cursor.execute(delete.format(rows=rows), [*scope_params, *params])
        deleted = max(cursor.rowcount, 0)
        cursor.execute(upsert.format(rows=rows), [now, *params])
        return deleted + max(cursor.rowcount, 0)


def _write_pairing_months(where, scope, using, *, by_index=False):
    """PairingMonth and PairingMonthMetric of the activities `where(prefix)` selects, for the rollup rows `scope`
    (a Q) selects: computed from the source rows by the figures' own rule (figures.selectors.pairing_month_queries)
    inside the statements that write them (_replace). `by_index`: a few months' activities, whose metric values
    are read through the activity index (_by_activity_index); a rebuild's years of them are not."""
    connection = connections[using]
    months, metrics = pairing_month_queries(where, using=using)
    months_sql, months_params = _compiled(months, using)
    metrics_sql, metrics_params = _compiled(metrics, using)
    month = _month("m.month", connection)
    written = _replace(
        PairingMonth, ("pairing_id", "month"), MONTH_FIELDS,
        f"SELECT m.owner AS pairing_id, {month} AS month, m.activities, m.confirmed, "
        f"{', '.join(f'm.{name}' for name in PEOPLE)}, ROUND(COALESCE(m.verified_hours, 0), 1) AS verified_hours, "
        f"m.last_activity_on FROM ({months_sql}) m",
        months_params, scope, using,
    )
    with _by_activity_index(connection) if by_index else nullcontext():
        written += _replace(
            PairingMonthMetric, ("pairing_id", "month", "metric_id"), METRIC_FIELDS,
            f"SELECT m.owner AS pairing_id, {month} AS month, m.metric_id, ROUND(m.month_total, 2) AS total, "
            "m.value AS latest_value, m.latest_on, m.activity_id AS latest_activity_id "
            f"FROM ({metrics_sql}) m",
            metrics_params, scope, using,
        )
    return written


@contextmanager
def _by_activity_index(connection):
    """On PostgreSQL, inside it: the metric values of the activities read are looked up through their activity's
    index, not found by hashing the whole table. PostgreSQL costs the two alike for a month of every pairing
    (31,538 activities, 47,234 of the 1,499,611 values) and chose the hash: 268 ms against 125 ms through the index,
    the refresh's largest statement. For this statement only; the transaction's own settings come back after."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('enable_hashjoin'), current_setting('enable_mergejoin'), "
            "set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)"
        )
        hashjoin, mergejoin = cursor.fetchone()[:2]
    yield
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('enable_hashjoin', %s, true), set_config('enable_mergejoin', %s, true)", [hashjoin, mergejoin]
        )


def _write_pairing_years(where, scope, using):
    """PairingYear of the pairing-months `where` selects, for the rows `scope` selects (_replace)."""
    years_sql, years_params = _compiled(pairing_years_query(where, using=using), using)
    return _replace(
        PairingYear, ("pairing_id", "year"), YEAR_FIELDS,
        "SELECT y.pairing_id, CAST(y.year AS integer) AS year, y.activities, y.confirmed, "
        f"{', '.join(f'y.{name}' for name in PEOPLE)}, ROUND(y.verified_hours, 1) AS verified_hours, "
        f"y.last_activity_on FROM ({years_sql}) y",
        years_params, scope, using,
    )


def _years_of(pairing_keys):
    """(where, scope): Q over the PairingMonth rows of the keys' pairing-years, and over their PairingYear rows."""
    where, scope = Q(pk__in=[]), Q(pk__in=[])
    for pairing_ids, first, _last in _rectangles({(p, datetime.date(month.year, 1, 1)) for p, month in pairing_keys}):
        where |= ids_listed_q("pairing_id", pairing_ids) & Q(month__gte=first, month__lte=first.replace(month=12))
        scope |= ids_listed_q("pairing_id", pairing_ids) & Q(year=first.year)
    return where, scope


def _tune(using):
    """On PostgreSQL, for this transaction (the outermost one: a loader that rebuilds inside its own keeps them to
    its end, harmlessly): no JIT (compiling the few large statements of a refresh costs more than
    running them) and the random page cost of data in memory or on SSD, so the service records and metric values of
    a month's activities are fetched through their activity index, not by scanning the whole table."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        # work_mem: the month's metric rows are sorted for their window in memory, not in a temporary file
        cursor.execute(
            "SELECT set_config('jit', 'off', true), set_config('random_page_cost', '1.1', true), "
            "set_config('work_mem', '32MB', true)"
        )


def _lock(space, ids, using):
    """On PostgreSQL, wait until no other transaction refreshes these pairings/programs (ids in order)."""
    connection = connections[using]
    if connection.vendor != "postgresql" or not ids:
        return
    with connection.cursor() as cursor:
        # unnest yields the sorted array in order, so the locks are taken in id order
        cursor.execute("SELECT pg_advisory_xact_lock(%s, p) FROM unnest(%s::int[]) AS p", [space, sorted(ids)])


def _refresh_derived(pairing_keys, program_keys, using):
    """Re-add PairingYear for the pairings' years and ProgramMonth(Metric) for the programs' months."""
    written = 0
    if pairing_keys:
        written += _write_pairing_years(*_years_of(pairing_keys), using)
    if program_keys:
        _lock(PROGRAM_LOCKS, {program_id for program_id, _month in program_keys}, using)
        months, metrics = compute_program_months(
            _program_months_q(program_keys), using=using,
            wide=lambda prefix: _keys_q(program_keys, owner="program_id", prefix=prefix),
        )
        scope = _keys_q(program_keys, owner="program_id", date_field="month")
        written += PROGRAM_MONTHS.sync(months, scope, using)
        written += PROGRAM_MONTH_METRICS.sync(metrics, scope, using)
    return written


def _sync_last_activity(pairing_ids, using):
    """Pairing.last_activity_on, the pairing's own copy of its last counted activity's date, from its month
    rows: one UPDATE … FROM, of the pairings whose date changed (raw SQL, so no history row and no signal)."""
    if not pairing_ids:
        return
    connection = connections[using]
    qn = connection.ops.quote_name
    pairing, month = qn(Pairing._meta.db_table), qn(PairingMonth._meta.db_table)
    last = qn("last_activity_on")
    # the ids written into the statement (portal.db.IdsListed)
    ids = ", ".join(str(int(pk)) for pk in sorted(pairing_ids))
    sql = (
        f"UPDATE {pairing} SET {last} = s.last FROM (SELECT p.id, MAX(m.last_activity_on) AS last FROM {pairing} p "
        f"LEFT JOIN {month} m ON m.pairing_id = p.id WHERE p.id IN ({ids}) "
        f"GROUP BY p.id) s WHERE {pairing}.id = s.id AND {pairing}.{last} {_differs(connection)} s.last"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)


def _program_months_q(program_keys):
    """A Q over pairing rollup rows of the programs' months (the pairing's program now)."""
    by_program = defaultdict(set)
    for program_id, month in program_keys:
        by_program[program_id].add(month)
    q = Q(pk__in=[])
    for program_id, months in by_program.items():
        for first, last in _month_ranges(months):
            q |= Q(pairing__program_id=program_id, month__gte=first, month__lte=last)
    return q


# --------------------------------------------------------------------------------------------------------
# The services
# --------------------------------------------------------------------------------------------------------


def rollup_refresh(*, pairing_id, month, using=None):
    """Recompute one pairing-month from the source rows, and what is added up from it (rollups_refresh)."""
    return rollups_refresh(keys=[(pairing_id, month)], using=using)


def rollups_refresh(*, keys, program_keys=(), using=None):
    """Recompute the given (pairing id, month) keys from the source rows, then the pairing-years and the
    program-months they belong to (and the extra (program id, month) `program_keys`, for a pairing that moved
    to another program), storing only what differs. A fixed number of statements per KEYS_PER_BATCH keys,
    whatever their number: the planner settings (twice more around the metric rows: _by_activity_index), two
    locks, the pairings' programs; for the pairing rows
    (PairingMonth, PairingMonthMetric, PairingYear) one set-based statement each that computes and writes them
    (_replace) and one UPDATE of the pairings' last_activity_on; for the few program rows one read of what they
    are added up from and of the program-wide activities, one read of the stored rows, at most two writes.
    Returns the number of rows written or deleted."""
    using = using or router.db_for_write(PairingMonth)
    keys = sorted({(pairing_id, month_of(month)) for pairing_id, month in keys if pairing_id is not None})
    extra_program_keys = {(program_id, month_of(month)) for program_id, month in program_keys}
    written = 0
    for start in range(0, max(len(keys), 1), KEYS_PER_BATCH):
        batch = keys[start:start + KEYS_PER_BATCH]
        if not batch and not extra_program_keys:
            break
        with transaction.atomic(using=using):
            pairing_ids = {pairing_id for pairing_id, _month in batch}
            _tune(using)
            _lock(PAIRING_LOCKS, pairing_ids, using)
            programs = dict(Pairing.objects.using(using).filter(ids_listed_q("pk", pairing_ids)).values_list("pk", "program_id"))
            if batch:  # none: only a moved pairing's old program-months
                written += _write_pairing_months(
                    lambda prefix: _keys_q(batch, prefix=prefix), _keys_q(batch, date_field="month"), using, by_index=True
                )
                _sync_last_activity(pairing_ids, using)
            program_keys_now = {(programs[p], month) for p, month in batch if p in programs} | extra_program_keys
            extra_program_keys = set()  # once, with the first batch
            written += _refresh_derived(batch, program_keys_now, using)
    rollup_changed()  # the figures cached from the rollup (figures/cache.py) are read again
    return written


@dataclass
class RebuildStats:
    pairings: int = 0
    month_rows: int = 0
    metric_rows: int = 0
    written: int = 0
    seconds: float = 0.0


def rollups_rebuild(*, year=None, using=None):
    """Recompute the whole rollup (or one year of it) from the source rows, a hundred pairings at a time,
    then the programs' months; rows already right are left alone, so a second run writes nothing. First the
    activities' kept columns (activities.kept, every activity: set-based, writing only what differs), which the
    months' verified hours are read from, for data loaded behind the application's back."""
    using = using or router.db_for_write(PairingMonth)
    started = time.monotonic()
    kept_rebuild(using=using)
    stats = RebuildStats()
    # rows of deleted pairings and programs went with them (ON DELETE CASCADE): the pairings suffice
    pairing_ids = list(Pairing.objects.using(using).order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(pairing_ids), PAIRINGS_PER_REBUILD_BATCH):
        batch = pairing_ids[start:start + PAIRINGS_PER_REBUILD_BATCH]
        rollup_scope = _pairings_q(batch, year, date_field="month")
        with transaction.atomic(using=using):
            _tune(using)
            _lock(PAIRING_LOCKS, batch, using)
            stats.written += _write_pairing_months(lambda prefix: _pairings_q(batch, year, prefix=prefix), rollup_scope, using)
            years_scope = ids_listed_q("pairing_id", batch) & (Q(year=year) if year is not None else Q())
            stats.written += _write_pairing_years(rollup_scope, years_scope, using)
            _sync_last_activity(batch, using)
        stats.pairings += len(batch)
    rows = _pairings_q(None, year, date_field="month")
    stats.month_rows = PairingMonth.objects.using(using).filter(rows).count()
    stats.metric_rows = PairingMonthMetric.objects.using(using).filter(rows).count()
    with transaction.atomic(using=using):
        programs_scope = Q(month__year=year) if year is not None else Q()
        _lock(PROGRAM_LOCKS, set(Program.objects.using(using).values_list("pk", flat=True)), using)
        months, metrics = compute_program_months(programs_scope, using=using, wide=lambda prefix: _pairings_q(None, year, prefix=prefix))
        stats.written += PROGRAM_MONTHS.sync(months, programs_scope, using)
        stats.written += PROGRAM_MONTH_METRICS.sync(metrics, programs_scope, using)
    stats.seconds = time.monotonic() - started
    rollup_changed()
    return stats


# --------------------------------------------------------------------------------------------------------
# Collecting what a transaction touched, refreshed once when it commits
# --------------------------------------------------------------------------------------------------------


class PendingRefresh:
    """The keys, activities (resolved to keys at commit) and program-months one transaction changed."""

    def __init__(self, using):
        self.using = using
        self.keys = set()
        self.activity_ids = set()
        self.program_keys = set()
        self.done = False

    def run(self):
        self.done = True
        keys = set(self.keys)
        ids = sorted(self.activity_ids)
        for start in range(0, len(ids), 1000):
            for pairing_id, program_id, day in (
                Activity.all_objects.using(self.using).filter(pk__in=ids[start:start + 1000])
                .values_list("pairing_id", "program_id", "date")
            ):
                if pairing_id is None:  # a program-wide activity: its program's month
                    self.program_keys.add((program_id, month_of(day)))
                else:
                    keys.add(key_of(pairing_id, day))
        if keys or self.program_keys:
            rollups_refresh(keys=keys, program_keys=self.program_keys, using=self.using)


def pending_refresh(using):
    """This transaction's PendingRefresh, registered to run on commit (robust: a failure is logged and the
    write that caused it stands; rebuild_rollups repairs). Outside a transaction: None."""
    connection = transaction.get_connection(using)
    if not connection.in_atomic_block:
        return None
    for _savepoints, func, _robust in connection.run_on_commit:
        pending = getattr(func, "__self__", None)
        if isinstance(pending, PendingRefresh) and not pending.done:
            return pending
    pending = PendingRefresh(using)
    transaction.on_commit(pending.run, using=using, robust=True)
    return pending


def mark_changed(*, using, keys=(), activity_ids=(), program_keys=()):
    """Note that these (pairing, month) keys, these activities' months or these (program, month) keys
    changed: refreshed when the transaction commits, or at once outside a transaction."""
    pending = pending_refresh(using)
    now = pending is None
    if now:
        pending = PendingRefresh(using)
    pending.keys.update(keys)
    pending.activity_ids.update(activity_ids)
    pending.program_keys.update(program_keys)
    if now:
        try:
            pending.run()
        except Exception:  # the write stands; logged like on_commit(robust=True) does
            logger.exception("Refreshing the rollup failed; run manage.py rebuild_rollups.")
