"""The annual export of one program: a workbook (XlsxWriter in constant_memory mode: a summary, one sheet
per section, native charts, one ledger sheet per pairing), the CSV ledger of every counted activity
(UTF-8 with BOM, formula cells neutralised) and the Word summary.

Memory stays flat and the ledger costs one query: the summary is added up by the database
(``build_report(itemized=False)``, a fixed number of queries), and the ledger of the whole year is ONE
query (``ledger_query``: every pairing, ordered as the summary lists the pairings, then by date; each row
complete in itself, the co-hosts, verified and pending hours and figures computed by the database), streamed
(``portal.db.stream_rows``). Both files are written from that one pass: a CSV row and a workbook row
per activity, a new ledger sheet each time the stream reaches the next pairing (constant_memory writes row by
row, so each sheet is written top to bottom and then closed). Progress is saved every few thousand rows
(``Progress``: through a second connection on PostgreSQL, the first being busy with the stream).
"""

from __future__ import annotations

import csv
import logging
import tempfile
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import xlsxwriter
from django.core.files import File
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import CharField, DecimalField, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Cast, Coalesce, Concat, NullIf
from django.utils import timezone
from django.utils.translation import gettext as _

from activities.models import Activity, ActivityMetricValue
from activities.selectors import hours_total, program_wide_label
from portal.csvsafe import BOM, neutralise_text
from portal.db import PlainNumber, StringAgg, stream_rows
from figures.selectors import COUNTED_STATUSES, counted_then, pending_q, pending_then, verified_q, verified_then
from reports import selectors
from reports.builders import as_at_day, build_report_data, reads_history
from reports.models import AnnualExport
from reports.periods import Year
from reports.renderers.base import document, status_label
from reports.renderers.docx import write_docx
from reports.renderers.xlsx import (
    OPTIONS, Formats, LedgerSheet, SheetNames, SheetWriter, strip_number, write_chart_sheet, write_sections,
    write_summary_sheet,
)

log = logging.getLogger(__name__)

FORMATS = ("xlsx", "csv", "docx")
FETCH_ROWS = 2000  # rows per chunk read from the database
PROGRESS_EVERY = 5000  # rows between two progress updates (one UPDATE each)


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


def _label(path):
    """An organisation's short name, else its name (as the reports show branches)."""
    return Coalesce(NullIf(f"{path}__short_name", Value("")), f"{path}__name")


LEDGER_FIELDS = (
    "pairing_id", "date", "title", "host", "co_hosts", "activity_type__name", "status", "place", "party_members",
    "teachers", "students", "residents_served", "verified_hours", "pending_hours", "figures",
)


def ledger_query(program, start, end, as_at=None):
    """The ledger's one query: the counted activities of ``program`` dated ``start``..``end``, ordered by pairing
    (as ``selectors.scope_pairings`` orders them; the program-wide activities, of no pairing, last), date and id. Per row: the host branch's label, the co-hosts'
    labels ("、", by name; the host listed again is left out), the verified and the pending hours (the figures'
    rules: figures.selectors.verified_q, pending_q) and the figures ("<metric id>:<value>;…") as text without
    trailing zeros. With ``as_at`` (a past year's export, as its summary): the activities that counted at the end
    of that day, with their status and their hours' verification then (verified_then, pending_then)."""
    zero = Value(Decimal(0), output_field=DecimalField(max_digits=8, decimal_places=1))

    def hours(which):
        return PlainNumber(Coalesce(hours_total(which), zero))

    if as_at is None:
        verified_rule, pending_rule = verified_q(""), pending_q("")
    else:  # the activity counted then (the filter below): only the records' own state then is asked here
        verified_rule, pending_rule = verified_then(as_at, ""), pending_then(as_at, "")
    co_hosts = (
        Activity.co_branches.through.objects.filter(activity_id=OuterRef("pk"))
        .exclude(organization_id=OuterRef("branch_id"))
        .order_by()
        .values("activity_id")
        .annotate(text=StringAgg(_label("organization"), "、", order_by=("organization__name", "organization_id")))
        .values("text")
    )
    figures = (
        ActivityMetricValue.objects.filter(activity_id=OuterRef("pk"))
        .order_by()
        .values("activity_id")
        .annotate(
            text=StringAgg(
                Concat(Cast("metric_id", CharField()), Value(":"), PlainNumber("value"), output_field=CharField()),
                ";",
                order_by=("metric_id",),
            )
        )
        .values("text")
    )
    # the program's pairings' activities and its program-wide ones (no pairing: selectors.of_scope), as the summary
    activities = Activity.objects.filter(
        Q(pairing__program=program) | Q(pairing_id__isnull=True, program=program), date__gte=start, date__lte=end
    )
    fields = LEDGER_FIELDS
    if as_at is None:
        activities = activities.filter(status__in=COUNTED_STATUSES)
    else:
        activities = counted_then(activities, as_at).annotate(status_read=F("status_then"))
        fields = tuple("status_read" if name == "status" else name for name in LEDGER_FIELDS)
    return (
        activities
        .annotate(
            host=_label("branch"),
            co_hosts=Subquery(co_hosts),
            verified_hours=hours(verified_rule),
            pending_hours=hours(pending_rule),
            figures=Subquery(figures),
        )
        # the program-wide activities last (their own sheet), on every database
        .order_by(
            F("pairing__supporter__name").asc(nulls_last=True), "pairing__supported__name", "pairing_id", "date", "id"
        )
        .values_list(*fields)
    )


def write_ledgers(rows, pairing_names, metrics, year, *, csv_stream=None, workbook=None, formats=None, names=None,
                  progress=None):
    """Write the ledger ``rows`` (from ``ledger_query``) to a CSV stream and/or ledger sheets of ``workbook``,
    in one pass. Returns the number of rows. ``progress(done)`` is called every PROGRESS_EVERY rows."""
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
    for (
        pairing_id, date, title, host, co_hosts, kind, status, place, party_members, teachers, students, residents,
        hours, pending, figures,
    ) in rows:
        if pairing_id != current:
            current = pairing_id
            pairing_name = pairing_names.get(pairing_id, "")
            pairing_cell = text(pairing_name)
            if workbook is not None:
                if sheet is not None:
                    sheet.finish()
                caption = _("%(pairing)s %(year)s年活动台账") % {"pairing": pairing_name, "year": year}
                sheet = LedgerSheet(workbook, formats, names(_("台账") + "·" + pairing_name), caption, columns[1:])
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


def write_export(program, year, folder, export_id=None, *, formats=FORMATS):
    """Write the files (``formats``, by default all three) into ``folder``; returns (paths by format, number of
    ledger rows). The ledger (CSV and workbook together) is one query."""
    period = Year(year)
    now = timezone.now()
    data = build_report_data("annual", period, program, None, itemized=False, now=now)
    if export_id:
        _progress(export_id, 0, data["activities"]["total"])  # what the ledger will list, counted with the summary
    stand_in = SimpleNamespace(
        data=data, notes="", status="export", status_label=_("年度导出"), version=1, published_at=None, generated_at=now
    )
    doc = document(stand_in)
    metrics = selectors.program_metrics(program)
    folder = Path(folder)
    paths = {fmt: folder / f"{program.code}-{year}-annual.{fmt}" for fmt in formats}

    workbook = sheet_formats = names = None
    if "xlsx" in paths:
        workbook = xlsxwriter.Workbook(str(paths["xlsx"]), {**OPTIONS, "constant_memory": True, "tmpdir": str(folder)})
        sheet_formats, names = Formats(workbook), SheetNames()
        write_summary_sheet(workbook, sheet_formats, names, doc)
        for section in doc.sections:
            if section.tables:
                writer = SheetWriter(workbook.add_worksheet(names(strip_number(section.title))), sheet_formats)
                write_sections(writer, [section])
                writer.finish()
        write_chart_sheet(workbook, sheet_formats, names, data)

    done = 0
    if "xlsx" in paths or "csv" in paths:
        # the ledger stands where the summary does: a past year's as at its last day, with the statuses of then
        as_at = as_at_day(period, now) if reads_history(period, now) else None
        rows = stream_rows(ledger_query(program, period.start, period.end, as_at), chunk_size=FETCH_ROWS)
        progress = Progress(export_id) if export_id else None
        pairing_names = {p["id"]: p["name"] for p in data["pairings"]}
        pairing_names[None] = program_wide_label()
        stream = open(paths["csv"], "w", encoding="utf-8", newline="") if "csv" in paths else None
        try:
            done = write_ledgers(
                rows, pairing_names, metrics, year, csv_stream=stream, workbook=workbook, formats=sheet_formats,
                names=names, progress=progress,
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
        with open(paths["docx"], "wb") as stream:
            write_docx(doc, stream)
    return paths, done


def export_run(*, export_id):
    """The task's body: write the files, store them, mark the export done (or failed, with the reason).
    A redelivered message for an export already done does nothing."""
    export = AnnualExport.objects.select_related("program__office").get(pk=export_id)
    if export.status == AnnualExport.Status.DONE:
        return export.pk
    AnnualExport.objects.filter(pk=export.pk).update(
        status=AnnualExport.Status.RUNNING, started_at=timezone.now(), rows_done=0, error=""
    )
    try:
        with tempfile.TemporaryDirectory(prefix="annual-export-") as folder:
            paths, done = write_export(export.program, export.year, folder, export_id=export.pk)
            export.refresh_from_db()
            stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
            for fmt, path in paths.items():
                old = getattr(export, fmt)
                if old:
                    old.delete(save=False)
                with open(path, "rb") as handle:
                    getattr(export, fmt).save(f"{path.stem}-{stamp}{path.suffix}", File(handle), save=False)
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
