"""Downloads of the lists: one way to answer with a file, and one writer of simple tables to CSV and XLSX.

Every export answers through ``csv_response`` / ``xlsx_response``: an attachment named after the list and the
day (``needs-20261205.csv``; a Chinese name goes out as RFC 5987 ``filename*=utf-8''…``), and
``Cache-Control: private, no-store`` (village offices share PCs: no copy stays in a browser's or a proxy's
cache).

The needs, volunteer and pairing lists export a table: ``Column`` s with a kind (text, date, integer, number)
and rows of Python values already in the reader's terms (labels, masked phones). ``csv_blocks`` writes them as
UTF-8 with a byte-order mark (Excel and WPS read Chinese), text through portal.csvsafe, numbers as numbers;
``xlsx_file`` with XlsxWriter in constant_memory mode (rows flushed as written), dates as dates, numbers as
numbers, text through portal.xlsxsafe. ``TableExportView`` is their view: the list page's FilterSet over the
list page's queryset, so the file holds exactly the list's rows (all its pages).
"""

from __future__ import annotations

import csv
import io
import tempfile
from dataclasses import dataclass

import xlsxwriter
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import pgettext
from django.views import View

from portal.csvsafe import BOM, neutralise_text
from portal.xlsxsafe import workbook_options, write_text

BLOCK_BYTES = 64 * 1024
XLSX_MAX_ROWS = 1_048_576  # Excel's rows per sheet
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NO_STORE = "private, no-store"

TEXT, DATE, INTEGER, NUMBER = "text", "date", "integer", "number"


# --- the answer -----------------------------------------------------------------------------------------


def download_name(stem, extension, *, today=None):
    """``<stem>-<yyyymmdd>.<extension>``: the list and the day it was taken (in the portal's time zone)."""
    day = today or timezone.localdate()
    return f"{stem}-{day:%Y%m%d}.{extension}"


def _attachment(response, filename):
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = NO_STORE
    return response


def csv_response(blocks, filename):
    """A streamed CSV attachment of the text ``blocks``."""
    return _attachment(StreamingHttpResponse(blocks, content_type="text/csv; charset=utf-8"), filename)


def xlsx_response(handle, filename):
    """A workbook attachment of ``handle`` (a file open for binary reading, at its start; closed once sent)."""
    return _attachment(FileResponse(handle, content_type=XLSX_TYPE), filename)


# --- cells ----------------------------------------------------------------------------------------------


def plain(number):
    """A decimal as a CSV number without trailing zeros (12.00 → "12", 2.50 → "2.5"); None as an empty cell."""
    if number is None:
        return ""
    return f"{number.normalize():f}"


def yes_no(value):
    """是 / 否: how a ledger writes a yes-or-no column (and how its import reads it)."""
    return pgettext("ledger cell", "yes") if value else pgettext("ledger cell", "no")


def local_day(moment):
    """The day of a moment in the portal's time zone (None stays None)."""
    return None if moment is None else timezone.localtime(moment).date()


def text_width(text):
    """Excel columns a text takes: about two for a CJK character (three UTF-8 bytes), one otherwise."""
    return (len(text.encode()) + len(text)) // 2


class Formats:
    """The cell formats of an export's workbook."""

    def __init__(self, workbook):
        self.header = workbook.add_format({"bold": True, "bg_color": "#F2F2F2", "text_wrap": True, "valign": "top"})
        self.date = workbook.add_format({"num_format": "yyyy-mm-dd"})
        self.time = workbook.add_format({"num_format": "hh:mm"})
        # "#,##0.##" would show a whole 5 as "5.": counts get "#,##0", hours and figures "General" (5, 2.5)
        self.integer = workbook.add_format({"num_format": "#,##0"})
        self.number = workbook.add_format({"num_format": "General"})
        self.plain = workbook.add_format()


# --- tables ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A column of an exported table: its header (in the request's language) and the kind of its cells."""

    title: str
    kind: str = TEXT


def csv_blocks(columns, rows, *, block_bytes=BLOCK_BYTES):
    """The CSV file of ``rows`` (tuples, one value per column; None is a blank) as text blocks of about
    ``block_bytes``, each one chunk of the HTTP response."""
    kinds = [column.kind for column in columns]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write(BOM)
    writer.writerow([neutralise_text(column.title) for column in columns])
    try:
        for row in rows:
            cells = []
            for kind, value in zip(kinds, row):
                if value is None:
                    cells.append("")
                elif kind == TEXT:
                    cells.append(neutralise_text(str(value)))
                elif kind == DATE:
                    cells.append(value.isoformat())
                elif kind == NUMBER:
                    cells.append(plain(value))
                else:
                    cells.append(value)
            writer.writerow(cells)
            if buffer.tell() >= block_bytes:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    finally:
        close = getattr(rows, "close", None)
        if close:
            close()  # a database stream keeps its connection busy until closed (e.g. a client hung up)
    yield buffer.getvalue()


def write_xlsx(columns, rows, stream, *, sheet_title, tmpdir=None):
    """Write the workbook of ``rows`` (as for ``csv_blocks``) to ``stream``: one sheet named ``sheet_title``
    (more once Excel's rows run out), a frozen, filterable header row. Returns the number of rows."""
    workbook = xlsxwriter.Workbook(
        stream, workbook_options(constant_memory=True, **({"tmpdir": tmpdir} if tmpdir else {}))
    )
    formats = Formats(workbook)
    kinds = [column.kind for column in columns]
    widths = [min(max(8, text_width(column.title) + 2), 24) for column in columns]
    sheets, done, ws, r = 0, 0, None, XLSX_MAX_ROWS

    def finish(ws, r):
        for col, width in enumerate(widths):
            ws.set_column(col, col, width)
        if r > 1:
            ws.autofilter(0, 0, r - 1, len(columns) - 1)

    try:
        for row in rows:
            if r >= XLSX_MAX_ROWS:
                if ws is not None:
                    finish(ws, r)
                ws, r = _new_sheet(workbook, formats, columns, sheet_title, sheets := sheets + 1), 1
            for col, (kind, value) in enumerate(zip(kinds, row)):
                if value is None or value == "":
                    continue  # a blank stays blank
                if kind == TEXT:
                    value = str(value)
                    write_text(ws, r, col, value, None, formats.plain)
                    if r <= 50:  # column widths come from the header and the first rows
                        widths[col] = max(widths[col], min(text_width(value) + 2, 60))
                elif kind == DATE:
                    ws.write_datetime(r, col, value, formats.date)
                elif kind == INTEGER:
                    ws.write_number(r, col, value, formats.integer)
                else:
                    ws.write_number(r, col, float(value), formats.number)
            r += 1
            done += 1
    finally:
        close = getattr(rows, "close", None)
        if close:
            close()
    if ws is None:
        ws, r = _new_sheet(workbook, formats, columns, sheet_title, 1), 1
    finish(ws, r)
    workbook.close()
    return done


def _new_sheet(workbook, formats, columns, title, n):
    ws = workbook.add_worksheet(title if n == 1 else f"{title} ({n})")
    ws.freeze_panes(1, 0)
    for col, column in enumerate(columns):
        write_text(ws, 0, col, column.title, formats.header, formats.plain)
    return ws


def xlsx_file(columns, rows, *, sheet_title):
    """The workbook of ``rows`` (as for ``write_xlsx``) in an anonymous temporary file, at its start."""
    handle = tempfile.TemporaryFile()
    try:
        write_xlsx(columns, rows, handle, sheet_title=sheet_title)
    except BaseException:
        handle.close()
        raise
    handle.seek(0)
    return handle


class TableExportView(LoginRequiredMixin, View):
    """A list's export: ``fmt`` "csv" or "xlsx". A subclass gives ``filterset()`` (the list page's FilterSet over
    the list page's queryset), ``columns()``, ``rows(queryset)`` (an iterable of tuples), ``names()`` (the file's
    stem and the sheet's title) and ``list_view`` (the page, answered instead of a file when the filters do not
    validate, so the form shows its messages)."""

    fmt = "csv"
    list_view = None

    def get(self, request, *args, **kwargs):
        filterset = self.filterset()
        if filterset.is_bound and not filterset.is_valid():
            return self.list_view.as_view()(request, *args, **kwargs)
        columns = self.columns()
        rows = self.rows(filterset.qs)
        stem, sheet_title = self.names()
        if self.fmt == "xlsx":
            return xlsx_response(xlsx_file(columns, rows, sheet_title=sheet_title), download_name(stem, "xlsx"))
        return csv_response(csv_blocks(columns, rows), download_name(stem, "csv"))
