"""The annual export of one program: a workbook (XlsxWriter in constant_memory mode: a summary, one sheet
per section, native charts, one ledger sheet per pairing), the CSV ledger of every counted activity
(UTF-8 with BOM, formula cells neutralised) and the Word summary.

Memory stays flat: the summary is added up by the database (``build_report(itemized=False)``), and the
ledger is read pairing by pairing in keyset-paginated batches (three queries per batch: the activities
with their verified hours, their co-hosting branches, their metric values) and written straight to disk.
Progress is saved after every batch, so the export page can show it.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from types import SimpleNamespace

import xlsxwriter
from django.core.files import File
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from activities.models import Activity, ActivityMetricValue, ServiceRecord
from reports import selectors
from reports.builders import build_report_data
from reports.models import AnnualExport
from reports.periods import Year
from reports.renderers.base import document, status_label
from reports.renderers.csv import BOM, CsvWriter
from reports.renderers.docx import write_docx
from reports.renderers.xlsx import OPTIONS, Formats, SheetNames, SheetWriter, strip_number, write_chart_sheet, write_sections, write_summary_sheet

log = logging.getLogger(__name__)

BATCH = 2000


def ledger_columns(metrics):
    return [
        _("结对"), _("日期"), _("活动"), _("主办支部"), _("联合支部"), _("类型"), _("状态"), _("地点"),
        _("参与党员(人次)"), _("参与教师(人次)"), _("参与学生(人次)"), _("服务群众(人次)"), _("已核验志愿服务时长(小时)"),
    ] + [f"{m['name']}({m['unit']})" for m in metrics]


def _number(value):
    if value is None:
        return None
    return int(value) if value == int(value) else float(value)


def ledger_batches(pairing_ids, year, batch=BATCH):
    """Yield lists of ledger rows (dicts), pairing by pairing, date by date; never more than ``batch``
    activities in memory."""
    verified = Q(service_records__status=ServiceRecord.Status.VERIFIED, service_records__deleted_at__isnull=True)
    through = Activity.co_branches.through
    for pairing_id in pairing_ids:
        last = None
        while True:
            qs = selectors.counted_activities().filter(pairing_id=pairing_id, date__year=year)
            if last is not None:
                qs = qs.filter(Q(date__gt=last[0]) | Q(date=last[0], id__gt=last[1]))
            rows = list(
                qs.order_by("date", "id")
                .values(
                    "id", "pairing_id", "date", "title", "branch__name", "branch__short_name", "activity_type__name",
                    "status", "place", "party_members", "teachers", "students", "residents_served",
                )
                .annotate(verified_hours=Sum("service_records__hours", filter=verified))[:batch]
            )
            if not rows:
                break
            ids = [row["id"] for row in rows]
            co = {}
            for link in (
                through.objects.filter(activity_id__in=ids)
                .order_by("activity_id", "organization__name")
                .values("activity_id", "activity__branch_id", "organization_id", "organization__name", "organization__short_name")
            ):
                if link["organization_id"] != link["activity__branch_id"]:
                    co.setdefault(link["activity_id"], []).append(link["organization__short_name"] or link["organization__name"])
            values = {}
            for value in ActivityMetricValue.objects.filter(activity_id__in=ids).values("activity_id", "metric_id", "value"):
                values.setdefault(value["activity_id"], {})[value["metric_id"]] = value["value"]
            for row in rows:
                row["co_branches"] = co.get(row["id"], [])
                row["metric_values"] = values.get(row["id"], {})
            yield rows
            last = (rows[-1]["date"], rows[-1]["id"])
            if len(rows) < batch:
                break


def ledger_cells(row, pairing_name, metrics):
    return [
        pairing_name,
        row["date"].isoformat(),
        row["title"],
        row["branch__short_name"] or row["branch__name"],
        "、".join(row["co_branches"]),
        row["activity_type__name"],
        status_label(Activity.Status, row["status"]),
        row["place"],
        row["party_members"],
        row["teachers"],
        row["students"],
        row["residents_served"],
        _number(row["verified_hours"]) or 0,
    ] + [_number(row["metric_values"].get(m["id"])) for m in metrics]


def _progress(export_id, done, total=None):
    fields = {"rows_done": done}
    if total is not None:
        fields["rows_total"] = total
    AnnualExport.objects.filter(pk=export_id).update(**fields)


def write_export(program, year, folder, export_id=None):
    """Write the three files into ``folder``; returns (paths by format, number of ledger rows)."""
    period = Year(year)
    now = timezone.now()
    total = selectors.counted_activities().filter(pairing__program=program, date__year=year).count()
    if export_id:
        _progress(export_id, 0, total)
    data = build_report_data("annual", period, program, None, itemized=False, now=now)
    stand_in = SimpleNamespace(
        data=data, notes="", status="export", status_label=_("年度导出"), version=1, published_at=None, generated_at=now
    )
    doc = document(stand_in)
    metrics = selectors.program_metrics(program)
    folder = Path(folder)
    paths = {fmt: folder / f"{program.code}-{year}-annual.{fmt}" for fmt in ("xlsx", "csv", "docx")}

    workbook = xlsxwriter.Workbook(str(paths["xlsx"]), {**OPTIONS, "constant_memory": True, "tmpdir": str(folder)})
    formats, names = Formats(workbook), SheetNames()
    write_summary_sheet(workbook, formats, names, doc)
    for section in doc.sections:
        if section.tables:
            writer = SheetWriter(workbook.add_worksheet(names(strip_number(section.title))), formats)
            write_sections(writer, [section])
            writer.finish()
    write_chart_sheet(workbook, formats, names, data)

    columns = ledger_columns(metrics)
    pairing_names = {p["id"]: p["name"] for p in data["pairings"]}
    done = 0
    with open(paths["csv"], "w", encoding="utf-8", newline="") as stream:
        stream.write(BOM)
        csv_writer = CsvWriter(stream)
        csv_writer.writerow(columns)
        for pairing in data["pairings"]:
            sheet = None
            for rows in ledger_batches([pairing["id"]], year):
                if sheet is None:
                    sheet = SheetWriter(workbook.add_worksheet(names(_("台账") + "·" + pairing["name"])), formats)
                    sheet.line(_("%(pairing)s %(year)s年活动台账") % {"pairing": pairing["name"], "year": year}, formats.caption)
                    sheet.cells(columns[1:], header=True)
                for row in rows:
                    cells = ledger_cells(row, pairing_names.get(row["pairing_id"], ""), metrics)
                    csv_writer.writerow(cells)
                    sheet.plain_row(cells[1:])
                done += len(rows)
                if export_id:
                    _progress(export_id, done)
            if sheet is not None:
                sheet.finish()
    workbook.close()

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
            export.rows_done = done
            export.finished_at = timezone.now()
            export.save(update_fields=["xlsx", "csv", "docx", "status", "rows_done", "finished_at"])
    except Exception as exc:
        log.exception("annual export %s failed", export_id)
        AnnualExport.objects.filter(pk=export_id).update(
            status=AnnualExport.Status.FAILED, error=str(exc)[:300], finished_at=timezone.now()
        )
        raise
    return export.pk
