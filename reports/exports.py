"""The annual export of one program: a workbook (XlsxWriter in constant_memory mode: a summary, one sheet
per section, native charts, one ledger sheet per pairing), the CSV ledger of every counted activity
(UTF-8 with BOM, formula cells neutralised) and the Word summary.

Memory stays flat and each file's ledger costs one query: the summary is added up by the database
(``build_report(itemized=False)``, a fixed number of queries), and the ledger of the whole year is ONE
query (``ledger_query``: every pairing, ordered as the summary lists the pairings, then by date; each row
the activity's own, its hours, co-hosts and figures kept on it by activities.kept, no lookup per row).
On PostgreSQL the CSV comes first: the database writes it (``copy_ledger``, COPY, runs of pairings copied side by
side on one snapshot) without waiting for the summary, which the CSV does not hold, and it is stored at once,
downloadable while the rest is made. The workbook then reads the ledger again, streamed
(``portal.db.stream_rows``), a row per activity and a new ledger sheet each time the stream reaches the next
pairing (constant_memory writes row by row, so each sheet is written top to bottom and then closed); elsewhere
that one pass writes the CSV too. Progress is saved every few thousand rows
(``Progress``: through a second connection on PostgreSQL, the first being busy with the stream)"""

from __future__ import annotations

import csv
import json
import logging
import shutil
import threading
import tempfile
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import xlsxwriter
from django.conf import settings
from django.core.files import File
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Case, CharField, DecimalField, F, Func, IntegerField, Q, Value, When
from django.db.models.functions import Coalesce, Concat, NullIf
from django.db.models.lookups import GreaterThan
from django.utils import timezone
from django.utils.translation import gettext as _

from activities.models import Activity, ActivityType
from activities.selectors import hours_total, program_wide_label
from portal.csvsafe import BOM, neutralise_text
from portal.xlsxsafe import TemporaryFileWorksheet, workbook_options
from portal.db import CsvText, PlainNumber, copy_csv, stream_rows
from portal.models import Organization
from figures.selectors import COUNTED_STATUSES, counted_then, pending_then, verified_then
from pairings.models import Pairing
from pairings.selectors import end_of_day
from reports import selectors
from reports.builders import as_at_day, build_report_data, reads_history
from reports.models import AnnualExport
from reports.periods import Year
from reports.renderers.base import document, status_label
from reports.renderers.xlsx import (
    Formats, LedgerSheet, SheetNames, SheetWriter, strip_number, write_chart_sheet, write_sections,
    write_summary_sheet,
)

log = logging.getLogger(__name__)

FORMATS = ("xlsx", "csv", "docx")
FETCH_ROWS = 2000  # rows per chunk read from the database
PROGRESS_EVERY = 5000  # rows between two progress updates (one UPDATE each)
LEDGER_WORK_MEM = "128MB"  # the database's sort of a year's ledger (narrow rows: ~200 MB per million)


def ledger_columns(metrics):
    """The ledger's columns: the activity, its people and hours, one per metric ("名称(单位)"; marked as a metric
    where it would read like another column, e.g. a metric 服务群众(人次) beside the people count)."""
    fixed = [
        _("结对"), _("日期"), _("活动"), _("主办支部"), _("联合支部"), _("类型"), _("状态"), _("地点"),
        _("参与党员(人次)"), _("参与教师(人次)"), _("参与学生(人次)"), _("服务群众(人次)"), _("已核验志愿服务时长(小时)"),
        _("待核验志愿服务时长(小时)"),
    ]
    headers = [f"{m['name']}({m['unit']})" for m in metrics]
    return fixed + [f"{_('成效指标')}·{header}" if header in fixed else header for header in headers]


LEDGER_FIELDS = (
    "pairing_id", "date", "title", "branch_id", "kept_co_host_ids", "activity_type_id", "status", "place",
    "party_members", "teachers", "students", "residents_served", "verified_hours", "pending_hours", "kept_figures",
)


def by_id(ids, values, gap=None):
    """(offset, array): ``values`` laid out so that ``array[id - offset]`` (1-based, as PostgreSQL's arrays) is the
    value of ``ids``' id, ``gap`` between them: a lookup by id that costs the same for one pairing or a thousand,
    where array_position reads the list from its start on every row. The array spans the ids' range (the
    pairings' ids: at most as many entries as there are pairings). An array holding a NULL is read from its
    start on every lookup (where each element lies is then counted, not computed): a gap that is not NULL keeps
    the lookup direct."""
    if not ids:
        return 0, []
    low = min(ids)
    array = [gap] * (max(ids) - low + 1)
    for pk, value in zip(ids, values):
        array[pk - low] = value
    return low - 1, array


class Position(Func):
    """The place of an integer column's value in a list of ids (0-based), the list's length for any other value
    and for NULL (after every listed one): an ORDER BY key."""

    output_field = IntegerField()

    def __init__(self, expression, ids):
        super().__init__(expression)
        self.ids = [int(pk) for pk in ids]

    def as_sql(self, compiler, connection, **extra_context):  # PostgreSQL: a lookup in an array by id (by_id)
        sql, params = compiler.compile(self.source_expressions[0])
        offset, places = by_id(self.ids, range(len(self.ids)), gap=len(self.ids))
        return f"COALESCE((%s::int[])[{sql} - %s], %s)", (places, *params, offset, len(self.ids))

    def as_sqlite(self, compiler, connection, **extra_context):  # the ids are integers, written in
        sql, params = compiler.compile(self.source_expressions[0])
        whens = " ".join(f"WHEN {pk} THEN {n}" for n, pk in enumerate(self.ids))
        if not self.ids:
            return "0", ()
        return f"(CASE {sql} {whens} ELSE {len(self.ids)} END)", params


def ledger_pairing_names(program):
    """The names the ledger gives the program's pairings, by id, as the summary names them (str(pairing)), and
    the program-wide activities' label under None. One query, not reading activities: the ledger does not wait
    for the summary."""
    pairings = (
        Pairing.objects.filter(program=program).select_related("supporter", "supported").order_by()
        .only("supporter__name", "supporter__short_name", "supported__name", "supported__short_name")
    )
    # read as they come, not held: slsz's 551 pairings with their organisations were 1.1 MB held beside the summary
    names = {pairing.pk: str(pairing) for pairing in pairings.iterator(chunk_size=100)}
    names[None] = program_wide_label()
    return names


def pairing_order(program):
    """The ids of the program's pairings in the order the summary lists pairings (selectors.scope_pairings): one
    query, not reading activities."""
    return list(
        Pairing.objects.filter(program=program).order_by("supporter__name", "supported__name", "id")
        .values_list("id", flat=True)
    )


def ledger_query(program, start, end, as_at=None):
    """The ledger's one query: the counted activities of ``program`` dated ``start``..``end``, ordered by pairing
    (as ``selectors.scope_pairings`` orders them; the program-wide activities, of no pairing, last), date and id.
    Each row is the activity's own columns and nothing else (no join, no lookup per row): the branch and type
    ids (named in Python, ``LedgerNames``), the co-hosts' ids, the verified and pending hours and the figures
    ("<metric id>:<value>;…") as kept on it (activities.kept: the figures' rules, verified_q and pending_q),
    the hours as text without trailing zeros. With ``as_at`` (a past year's export, as its summary): the
    activities that counted at the end of that day, with their status then; their hours as kept when the last
    verification among them was before that day ended (nearly all), else read from the records as verified then
    (verified_then, pending_then)."""
    activities, fields = ledger_activities(program, start, end, as_at, pairing_order(program))
    return activities.values_list(*fields)


def ledger_activities(program, start, end, as_at, order):
    """(the ledger's activities, the names of its fields): ``ledger_query``'s rows before they are read, ordered by
    pairing as ``order`` (the program's pairings' ids, ``pairing_order``) lists them."""
    activities = Activity.objects.filter(program=program, date__gte=start, date__lte=end)  # its pairings' too
    fields = LEDGER_FIELDS
    if as_at is None:
        activities = activities.filter(status__in=COUNTED_STATUSES)
        verified, pending = F("kept_verified_hours"), F("kept_pending_hours")
    else:
        activities = counted_then(activities, as_at).annotate(status_read=F("status_then"))
        fields = tuple("status_read" if name == "status" else name for name in LEDGER_FIELDS)
        hours_field = DecimalField(max_digits=8, decimal_places=1)
        zero = Value(Decimal(0), output_field=hours_field)
        as_kept = Q(kept_verified_until__isnull=True) | Q(kept_verified_until__lt=end_of_day(as_at))

        def then(kept, rule):
            return Case(When(as_kept, then=kept), default=Coalesce(hours_total(rule), zero), output_field=hours_field)

        verified = then(F("kept_verified_hours"), verified_then(as_at, ""))
        pending = then(F("kept_pending_hours"), pending_then(as_at, ""))
    activities = (
        activities
        .annotate(verified_hours=PlainNumber(verified), pending_hours=PlainNumber(pending))
        # the program-wide activities (no pairing: NULL, after every pairing's id) last, on every database
        .order_by(Position("pairing_id", order), "pairing_id", "date", "id")
    )
    return activities, fields


class ListedText(Func):
    """The text kept for a pairing in a list (PostgreSQL): the text of the pairing's id, the ``none`` text for no
    pairing, NULL for a pairing not listed. The texts are one JSON object by id, read by its key (a binary
    search); a text[] indexed by id would be read from its start on every row, its elements being of varying
    width (0.15 s of the database's CPU for a year of 213,000 activities in 551 pairings)."""

    output_field = CharField()

    def __init__(self, expression, ids, texts, none):
        super().__init__(expression)
        self.by_id = {str(int(pk)): text for pk, text in zip(ids, texts) if text is not None}
        self.none = none

    def as_sql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        texts = json.dumps(self.by_id, ensure_ascii=False)
        return f"(CASE WHEN {sql} IS NULL THEN %s ELSE %s::jsonb ->> ({sql})::text END)", (*params, self.none, texts, *params)


class StatusLabel(Func):
    """A status as its label (PostgreSQL): ``CASE <status> WHEN <value> THEN <label> … ELSE <status> END``, the
    status (maybe an expression with subqueries: the status of then) read once per row."""

    output_field = CharField()

    def __init__(self, expression, labels):
        super().__init__(expression)
        self.labels = list(labels)

    def as_sql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        whens = " ".join("WHEN %s THEN %s" for _ in self.labels)
        return (
            f"(CASE ({sql}) {whens} ELSE ({sql}) END)",
            (*params, *[item for pair in self.labels for item in pair], *params),
        )


class CoHostLabels(Func):
    """The co-hosts' labels (short name, else name) from the kept ids ("12,40"), "、"-joined by name in code point
    order, then id (as Python sorts them), the host listed again left out; NULL for none (PostgreSQL). A
    subquery on the organisations by their ids."""

    output_field = CharField()

    def as_sql(self, compiler, connection, **extra_context):
        ids, ids_params = compiler.compile(self.source_expressions[0])
        host, host_params = compiler.compile(self.source_expressions[1])
        table = connection.ops.quote_name(Organization._meta.db_table)
        return (
            f"(CASE WHEN {ids} <> '' THEN (SELECT string_agg(COALESCE(NULLIF(o.short_name, ''), o.name), %s "
            f'ORDER BY o.name COLLATE "C", o.id) FROM {table} o '
            f"WHERE o.id = ANY(string_to_array({ids}, ',')::bigint[]) AND o.id IS DISTINCT FROM {host}) END)",
            (*ids_params, "、", *ids_params, *host_params),
        )


def ledger_cells(program, start, end, as_at, *, pairing_names, metrics, order=None, part=None):
    """The ledger's rows (``ledger_query``'s) as the CSV's cells, each made by the database by the rules
    ``write_ledgers`` applies in Python (for ``portal.db.copy_csv``, PostgreSQL): the pairing's name as the
    summary names it (``pairing_names``: by pairing id, None for the program-wide activities), text through
    CsvText (portal.csvsafe's rule), the host's and co-hosts' labels and the type's name joined by their ids,
    the status's label, the hours and the figures as kept (text without trailing zeros), a blank for none.
    ``part`` (one of ``ledger_parts``): the rows of those pairings only, in the same order. Returns the rows and
    the names of their cells (the rows begin with their sort keys)."""
    order = pairing_order(program) if order is None else order
    activities, fields = ledger_activities(program, start, end, as_at, order)
    if part is not None:
        ids, program_wide = part
        in_part = Q(pairing_id__in=ids)
        activities = activities.filter(in_part | Q(pairing__isnull=True) if program_wide else in_part)
    figures = Concat(Value(";"), "kept_figures", Value(";"), output_field=CharField())

    def figure(metric_id):
        # the text between ";<id>:" and the next ";", read only where "<id>:" occurs at all
        found = Func(Func(figures, Value(f";{metric_id}:"), Value(2), function="split_part"), Value(";"), Value(1),
                     function="split_part", output_field=CharField())
        present = Func(F("kept_figures"), Value(f"{metric_id}:"), function="strpos", output_field=IntegerField())
        return Case(When(GreaterThan(present, 0), then=NullIf(found, Value(""))), default=None, output_field=CharField())

    texts = [neutralise_text(pairing_names.get(pk, "")) or None for pk in order]
    labels = [(value, status_label(Activity.Status, value)) for value in Activity.Status.values]
    cells = {
        "c_pairing": ListedText(F("pairing_id"), order, texts, neutralise_text(pairing_names.get(None, "")) or None),
        "c_date": Func(F("date"), Value("YYYY-MM-DD"), function="to_char", output_field=CharField()),
        "c_title": CsvText(F("title")),
        "c_host": CsvText(Coalesce(NullIf(F("branch__short_name"), Value("")), F("branch__name"))),
        "c_co_hosts": CsvText(CoHostLabels(F("kept_co_host_ids"), F("branch_id"))),
        "c_type": CsvText(F("activity_type__name")),
        "c_status": StatusLabel(F(fields[6]), labels),
        "c_place": CsvText(F("place")),
        **{f"c_{name}": F(name) for name in ("party_members", "teachers", "students", "residents_served")},
        "c_verified_hours": F("verified_hours"),
        "c_pending_hours": F("pending_hours"),
        **{f"c_metric_{i}": figure(metric["id"]) for i, metric in enumerate(metrics)},
    }
    # The sort's keys first in the rows it sorts: rows tied on the first key are compared by reading the next ones
    # out of them, and a key behind twenty text cells is found by walking the cells (0.5 s of the database's 1.7 s
    # for a year of 213,000 activities). copy_csv writes the cells alone.
    keys = {"k_place": Position("pairing_id", order), "k_pairing": F("pairing_id"), "k_date": F("date"), "k_id": F("id")}
    return activities.values(**keys, **cells).order_by(*keys), list(cells)


def ledger_parts(order, parts):
    """The ledger cut into at most ``parts`` runs of consecutive pairings (``order``'s ids), as (ids, with the
    program-wide activities): those come last in the ledger, so with the last run."""
    size = max(1, -(-len(order) // max(1, parts)))
    runs = [order[i:i + size] for i in range(0, len(order), size)] or [[]]
    return [(ids, n == len(runs) - 1) for n, ids in enumerate(runs)]


def copy_ledger(program, start, end, as_at, stream, *, pairing_names, metrics, progress=None, parts=None):
    """Write the ledger's CSV (BOM, header, rows) to ``stream`` through ``COPY`` of ``ledger_cells``: the same
    bytes as ``write_ledgers`` writes (tests/reports/test_exports.py compares them), the database writing the
    rows. PostgreSQL only. Returns the number of rows; ``progress(done)`` as in ``write_ledgers``.

    The rows' cells are the database's work (about 0.55 s of its CPU per 100,000 rows). Outside a transaction the ledger is
    cut into ``parts`` (settings.LEDGER_COPY_PARTS) runs of pairings, each copied by a connection of its own at the
    same time (``ParallelCopy``), all reading one snapshot, the later runs into temporary files appended in order:
    the rows and their order are those of one COPY, written in a fraction of its time where the database has
    cores to spare (PostgreSQL plans no parallel workers for this query itself: its cells read the history and
    the organisations by correlated subqueries, which only the leader may run)."""
    stream.write(BOM)
    csv.writer(stream, lineterminator="\r\n").writerow(ledger_columns(metrics))
    done = 0
    lock = threading.Lock()

    def counted(n):
        nonlocal done
        with lock:
            before, done = done, done + n
            if progress is not None and done // PROGRESS_EVERY > before // PROGRESS_EVERY:
                progress(done // PROGRESS_EVERY * PROGRESS_EVERY)

    order = pairing_order(program)
    parts = settings.LEDGER_COPY_PARTS if parts is None else parts
    # a transaction of the caller's (a test's) holds rows no other connection sees: one COPY then
    runs = ledger_parts(order, parts) if parts > 1 and not connection.in_atomic_block else [None]

    def cells(part):
        return ledger_cells(
            program, start, end, as_at, pairing_names=pairing_names, metrics=metrics, order=order, part=part,
        )

    if len(runs) == 1:
        for block in copy_csv(*cells(None), work_mem=LEDGER_WORK_MEM, counted=counted):
            stream.write(block)
        return done

    def counted_later(n):  # progress is saved from this thread only (its connection is this thread's)
        nonlocal done
        with lock:
            done += n

    with ParallelCopy() as parallel:
        later = [parallel.start(*cells(part), counted_later) for part in runs[1:]]
        for block in copy_csv(*cells(runs[0]), work_mem=LEDGER_WORK_MEM, counted=counted):
            stream.write(block)
        for spool in later:
            parallel.append(spool, stream)
    return done


class ParallelCopy:
    """COPYs of several queries at once, on one snapshot: this connection's, in a read-only REPEATABLE READ
    transaction that exports it (pg_export_snapshot), the others on connections of their own that import it
    before they read a row, as pg_dump's workers do. Each later query is written by a thread into a temporary
    file (``start``), appended to the output in order once the rows before it are written (``append``). A failure
    in any of them is raised in the caller's thread; every transaction only reads."""

    def __init__(self):
        self.spools, self.errors = [], []

    def __enter__(self):
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            self.snapshot = cursor.fetchone()[0]
        return self

    def start(self, queryset, columns, counted):
        spool = SimpleNamespace(file=tempfile.TemporaryFile("w+", encoding="utf-8", newline=""))
        spool.thread = threading.Thread(target=self._copy, args=(queryset, columns, counted, spool), daemon=True)
        self.spools.append(spool)
        spool.thread.start()
        return spool

    def _copy(self, queryset, columns, counted, spool):
        # the snapshot stays importable: the exporting transaction ends only after every thread is joined
        other = connections.create_connection(DEFAULT_DB_ALIAS)
        try:
            with other.cursor() as cursor:
                cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                cursor.execute("SET TRANSACTION SNAPSHOT %s", [self.snapshot])
            for block in copy_csv(queryset, columns, work_mem=LEDGER_WORK_MEM, counted=counted, using=other):
                spool.file.write(block)
            with other.cursor() as cursor:
                cursor.execute("COMMIT")
        except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread (append, __exit__)
            self.errors.append(exc)
        finally:
            other.close()

    def append(self, spool, stream):
        spool.thread.join()
        if self.errors:
            raise self.errors[0]
        spool.file.seek(0)
        shutil.copyfileobj(spool.file, stream)

    def __exit__(self, *exc_info):
        for spool in self.spools:
            spool.thread.join()
            spool.file.close()
        self.atomic.__exit__(*exc_info)
        if self.errors and exc_info[0] is None:
            raise self.errors[0]


class LedgerNames:
    """What the ledger's ids read as: every organisation's name and label (short name, else name), the
    activity types' names. Two small queries, not reading activities."""

    def __init__(self):
        self.organisations = {
            pk: (name, short or name)
            for pk, name, short in Organization.objects.order_by().values_list("id", "name", "short_name")
        }
        self.types = dict(ActivityType.objects.order_by().values_list("id", "name"))

    def label(self, pk):
        found = self.organisations.get(pk)
        return found[1] if found else ""

    def co_hosts(self, ids, host_id):
        """The co-hosts' labels, "、"-joined by name (the host listed again left out), from kept ids "12,40"."""
        found = []
        for item in ids.split(","):
            pk = int(item)
            if pk != host_id and pk in self.organisations:
                name, label = self.organisations[pk]
                found.append((name, pk, label))
        if not found:
            return None
        found.sort()
        return "、".join(label for _name, _pk, label in found)


def write_ledgers(rows, pairing_names, metrics, year, *, csv_stream=None, workbook=None, formats=None, names=None,
                  progress=None, names_of=None):
    """Write the ledger ``rows`` (from ``ledger_query``) to a CSV stream and/or ledger sheets of ``workbook``,
    in one pass. Returns the number of rows. ``progress(done)`` is called every PROGRESS_EVERY rows; the ids
    are read against ``names_of`` (a LedgerNames, read here when not given)."""
    if names_of is None:
        names_of = LedgerNames()
    label, kinds, co_hosts_of = names_of.label, names_of.types, names_of.co_hosts
    columns = ledger_columns(metrics)
    slot = {str(m["id"]): i for i, m in enumerate(metrics)}
    statuses = {value: status_label(Activity.Status, value) for value in Activity.Status.values}
    text = neutralise_text
    csv_row = None
    if csv_stream is not None:
        csv_stream.write(BOM)
        csv_row = csv.writer(csv_stream, lineterminator="\r\n").writerow
        csv_row(columns)
    sheet = None
    current, pairing_cell = object(), ""
    done = 0
    known = {}  # the host's, the type's and the status's cells, escaped once for every sheet
    for (
        pairing_id, date, title, host_id, co_host_ids, kind_id, status, place, party_members, teachers, students,
        residents, hours, pending, figures,
    ) in rows:
        host, kind = label(host_id), kinds.get(kind_id, "")
        co_hosts = co_hosts_of(co_host_ids, host_id) if co_host_ids else None
        if pairing_id != current:
            current = pairing_id
            pairing_name = pairing_names.get(pairing_id, "")
            pairing_cell = text(pairing_name)
            if workbook is not None:
                if sheet is not None:
                    sheet.finish()
                caption = _("%(pairing)s %(year)s年活动台账") % {"pairing": pairing_name, "year": year}
                sheet = LedgerSheet(
                    workbook, formats, names(_("台账") + "·" + pairing_name), caption, columns[1:], repeated=(2, 4, 5),
                    known=known,
                )
        values = [None] * len(slot)
        if figures:
            for item in figures.split(";"):
                metric_id, value = item.split(":", 1)
                index = slot.get(metric_id)
                if index is not None:
                    values[index] = value
        status_text = statuses.get(status, status)
        if csv_row is not None:
            csv_row(
                [
                    pairing_cell, date.isoformat(), text(title), text(host), text(co_hosts), text(kind), status_text,
                    text(place), party_members, teachers, students, residents, hours, pending, *values,
                ]
            )
        if sheet is not None:
            sheet.write(
                [
                    date, title, host, co_hosts, kind, status_text, place or None, party_members, teachers, students,
                    residents, float(hours), float(pending), *[None if v is None else float(v) for v in values],
                ]
            )
        done += 1
        if progress is not None and not done % PROGRESS_EVERY:
            progress(done)
    if sheet is not None:
        sheet.finish()
    return done


def _progress(export_id, done, total=None):
    fields = {"rows_done": done}
    if total is not None:
        fields["rows_total"] = total
    AnnualExport.objects.filter(pk=export_id).update(**fields)


class Progress:
    """Saves how many ledger rows are written (one UPDATE every PROGRESS_EVERY rows). On PostgreSQL the export's
    own connection is busy streaming the ledger, so the updates go through a connection of their own, in
    autocommit: the export page sees them at once."""

    def __init__(self, export_id):
        self.export_id = export_id
        self.own = connection.vendor == "postgresql"
        self.connection = connections.create_connection(DEFAULT_DB_ALIAS) if self.own else connection
        ops = self.connection.ops
        self.sql = "UPDATE {table} SET {done} = %s WHERE {id} = %s".format(
            table=ops.quote_name(AnnualExport._meta.db_table), done=ops.quote_name("rows_done"), id=ops.quote_name("id")
        )

    def __call__(self, done):
        with self.connection.cursor() as cursor:
            cursor.execute(self.sql, [done, self.export_id])

    def close(self):
        if self.own:
            self.connection.close()


def write_export(program, year, folder, export_id=None, *, formats=FORMATS, csv_ready=None):
    """Write the files (``formats``, by default all three) into ``folder``; returns (paths by format, number of
    ledger rows). On PostgreSQL the CSV comes first, written by the database (COPY) without waiting for the
    summary, and ``csv_ready(path, rows)`` is called as soon as it is complete (export_run stores it then: the
    ledger can be downloaded while the workbook is written). The workbook's ledger sheets (and elsewhere the CSV)
    are written by Python in one pass over one query."""
    period = Year(year)
    now = timezone.now()
    folder = Path(folder)
    paths = {fmt: folder / f"{program.code}-{year}-annual.{fmt}" for fmt in formats}
    metrics = selectors.program_metrics(program)
    # the ledger stands where the summary does: a past year's as at its last day, with the statuses of then
    as_at = as_at_day(period, now) if reads_history(period, now) else None
    pairing_names = ledger_pairing_names(program)
    by_copy = "csv" in paths and connection.vendor == "postgresql"
    by_python = "xlsx" in paths or ("csv" in paths and not by_copy)
    done = 0
    if by_copy:
        # no progress saved while the database writes the CSV (seconds, its total not yet known); the page's bar
        # follows the workbook's pass, against the rows the CSV listed
        with open(paths["csv"], "w", encoding="utf-8", newline="") as stream:
            done = copy_ledger(
                program, period.start, period.end, as_at, stream, pairing_names=pairing_names, metrics=metrics,
            )
        if export_id:
            _progress(export_id, 0, done)
        if csv_ready is not None:
            csv_ready(paths["csv"], done)
    data = doc = None
    if "xlsx" in paths or "docx" in paths:  # the CSV is the ledger alone: it needs no summary
        # the part per pairing (its tables of types, branches, months, metrics, hours) is in the Word file only: the
        # workbook's summary is the program's sections and a row per pairing (slsz's 551 pairings: some 9 MB)
        data = build_report_data("annual", period, program, None, itemized=False, now=now, details="docx" in paths)
        if export_id and not by_copy:
            _progress(export_id, 0, data["activities"]["total"])  # what the ledger will list, counted with the summary
        # the files hold no links (a report's page links its figures to the activity list): none are made
        stand_in = SimpleNamespace(
            data={**data, "links": None}, notes="", status="export", status_label=_("年度导出"), version=1, published_at=None,
            generated_at=now,
        )
        doc = document(stand_in)  # the workbook's summary sheets and the Word file

    workbook = sheet_formats = names = None
    if "xlsx" in paths:
        workbook = xlsxwriter.Workbook(str(paths["xlsx"]), workbook_options(constant_memory=True, tmpdir=str(folder)))
        workbook.worksheet_class = TemporaryFileWorksheet
        sheet_formats, names = Formats(workbook), SheetNames()
        write_summary_sheet(workbook, sheet_formats, names, doc)
        for section in doc.sections:
            if section.tables:
                writer = SheetWriter(workbook.add_worksheet(names(strip_number(section.title))), sheet_formats)
                write_sections(writer, [section])
                writer.finish()
        write_chart_sheet(workbook, sheet_formats, names, data)
    if "docx" not in paths:
        data = doc = stand_in = None  # written: not held while the ledger streams

    if by_python:
        progress = Progress(export_id) if export_id else None
        # the rows as psycopg reads them (ids, text, dates, ints: what Django would give), sorted by the database
        rows = stream_rows(
            ledger_query(program, period.start, period.end, as_at), chunk_size=FETCH_ROWS, as_read=True,
            work_mem=LEDGER_WORK_MEM,
        )
        names_of = LedgerNames()  # before the stream starts: the connection is then busy with it
        stream = open(paths["csv"], "w", encoding="utf-8", newline="") if "csv" in paths and not by_copy else None
        try:
            done = write_ledgers(
                rows, pairing_names, metrics, year, csv_stream=stream, workbook=workbook, formats=sheet_formats,
                names=names, progress=progress, names_of=names_of,
            )
        finally:
            rows.close()
            if stream is not None:
                stream.close()
            if progress is not None:
                progress.close()
    if workbook is not None:
        workbook.close()

    if "docx" in paths:
        # imported here: python-docx and lxml (some 6 MB) are loaded by a run that writes the Word file, not by
        # every worker, nor by a run that writes the ledger or the workbook alone
        from reports.renderers.docx import write_docx

        with open(paths["docx"], "wb") as stream:
            write_docx(doc, stream)
    return paths, done


def _store(export, fmt, path, stamp):
    """Put the file at ``path`` in the export's ``fmt`` field (the file of an earlier attempt deleted)."""
    old = getattr(export, fmt)
    if old:
        old.delete(save=False)
    with open(path, "rb") as handle:
        getattr(export, fmt).save(f"{path.stem}-{stamp}{path.suffix}", File(handle), save=False)


def export_run(*, export_id):
    """The task's body: write the files, store them, mark the export done (or failed, with the reason).
    A redelivered message for an export already done does nothing."""
    export = AnnualExport.objects.select_related("program__office").get(pk=export_id)
    if export.status == AnnualExport.Status.DONE:
        return export.pk
    AnnualExport.objects.filter(pk=export.pk).update(
        status=AnnualExport.Status.RUNNING, started_at=timezone.now(), rows_done=0, error=""
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    stored = set()

    def csv_ready(path, rows):
        # the ledger is complete: offered for download now, while the workbook and the Word file are written
        _store(export, "csv", path, stamp)
        export.save(update_fields=["csv"])
        stored.add("csv")

    try:
        with tempfile.TemporaryDirectory(prefix="annual-export-") as folder:
            paths, done = write_export(export.program, export.year, folder, export_id=export.pk, csv_ready=csv_ready)
            export.refresh_from_db()
            for fmt, path in paths.items():
                if fmt not in stored:
                    _store(export, fmt, path, stamp)
            export.status = AnnualExport.Status.DONE
            export.rows_done = export.rows_total = done
            export.finished_at = timezone.now()
            export.save(update_fields=["xlsx", "csv", "docx", "status", "rows_done", "rows_total", "finished_at"])
    except Exception as exc:
        log.exception("annual export %s failed", export_id)
        AnnualExport.objects.filter(pk=export_id).update(
            status=AnnualExport.Status.FAILED, error=str(exc)[:300], finished_at=timezone.now()
        )
        raise
    return export.pk
