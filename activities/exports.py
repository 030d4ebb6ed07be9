"""The activity list's exports, CSV (for Excel and WPS) and XLSX: the list's rows under the list's filters (one
FilterSet, activities.filters.ActivityFilter), the same columns in both.

Columns that add up: the people counts, the verified and the pending volunteer hours (two columns, by the figures'
rules, ``verified_q`` and ``pending_q`` in activities.models: hours on a draft or returned activity are neither,
both cells blank), and one column per metric (成效指标) of the programs present, headed "名称(单位)": numbers, a
blank where the activity recorded no value (never 0), so a column's sum over the counted activities is the figure
the pairing page shows.

Queries: the metric list is one small query, read before the rows (``selectors.export_metrics``); the rows are ONE
query however many there are (``selectors.export_rows``: hours, photo count and the metrics' values as kept on the
activity's row by activities.kept, the values spread into their columns here), streamed (``portal.db.stream_rows``:
psycopg's chunked results on PostgreSQL).

CSV: UTF-8 with a byte-order mark, text that a spreadsheet would run as a formula neutralised (portal.csvsafe),
numbers written as numbers; rows are written into blocks of about 64 KB, each block one chunk of the HTTP response.
On PostgreSQL the database writes the rows (``COPY (SELECT …) TO STDOUT`` of ``copy_cells``: each cell's text made
in SQL by the same rules, portal.db.copy_csv), about half the CPU of writing them in Python; on SQLite Python does
(``written_blocks``). tests/activities/test_exports.py pins that both write the same bytes.

XLSX: XlsxWriter in constant_memory mode, each row written once and flushed to the sheet's temporary file; numbers
as numbers, dates as dates, times as times; text through portal.xlsxsafe (the names that repeat, program to type
and status, escaped once each); the metric cells from the kept figures as they are, not a loop over every metric
column of every row. Past Excel's 1,048,576 rows the rows go
on in another sheet.
"""

from __future__ import annotations

import csv
import datetime
import io
import tempfile
from decimal import Decimal

import xlsxwriter
from django.db import connections
from django.db.models import Case, CharField, DecimalField, F, Func, IntegerField, Value, When
from django.db.models.functions import Concat, NullIf
from django.db.models.lookups import GreaterThan
from django.utils.translation import gettext as _

from activities.models import Activity, Need
from activities.selectors import shown_wanted_by
from portal.csvsafe import BOM, neutralise_text
from portal.db import CsvText, PlainNumber, copy_csv, stream_rows
from portal.downloads import BLOCK_BYTES, DATE, INTEGER, XLSX_MAX_ROWS, Column, Formats as _Formats, local_day, plain, yes_no
from portal.downloads import text_width as _width
from portal.xlsxsafe import TemporaryFileWorksheet, inline_string, workbook_options, write_text

FETCH_ROWS = 2000  # rows per chunk read from the database
SORT_WORK_MEM = "128MB"  # the database's sort of the rows (newest first), in memory rather than on disk
EPOCH = datetime.date(1899, 12, 30)  # Excel's day 0 (the 1900 date system)

# What the query returns, in the order of the columns, before the metrics (see selectors.activity_export for the
# annotations); the CSV reads the times as "HH:MM" text, the workbook as times.
CSV_FIELDS = (
    "date", "start_text", "end_text", "program_name", "pairing_label", "branch__name", "co_branch_names",
    "activity_type__name", "title",
    "place", "status", "party_members", "teachers", "students", "residents_served", "verified_hours", "pending_hours",
    "photo_count", "description",
)
XLSX_FIELDS = ("date", "start_time", "end_time", *CSV_FIELDS[3:])


def header(metrics):
    """The columns: the activity, its people and hours, its photos, one per metric, its description. A metric
    whose header reads like one of the other columns' (a metric 服务群众(人次) beside the people count 服务群众(人次))
    is marked as a metric, so no two columns look the same."""
    fixed = [
        _("Date"), _("Start"), _("End"), _("Program"), _("Pairing"), _("Branch"), _("Co-hosting branches"), _("Type"),
        _("Title"),
        _("Place"), _("Status"), _("Party members"), _("Teachers"), _("Students"), _("Residents served (人次)"),
        _("Verified volunteer hours (hours)"), _("Pending volunteer hours (hours)"), _("Photos"), _("Description"),
    ]
    taken = {_looks(title) for title in fixed}
    told_apart = [
        f"{_('Metric')}·{metric.header}" if _looks(metric.header) in taken else metric.header for metric in metrics
    ]
    return [*fixed[:-1], *told_apart, fixed[-1]]


def _looks(title):
    """A header as it reads: full-width brackets as plain ones, no spaces."""
    return title.replace("（", "(").replace("）", ")").replace(" ", "")


def _fields(base, metrics):
    return (*base[:-1], "kept_figures", base[-1])


def _spread(rows, metrics):
    """The rows with their kept figures ("<metric id>:<value>;…", the column before the description) spread
    into one Decimal per metric of ``metrics``, None where the activity recorded none."""
    slot = {str(metric.pk): i for i, metric in enumerate(metrics)}
    width = len(metrics)
    blank = (None,) * width
    for row in rows:
        figures = row[-2]
        if not figures or not width:
            yield (*row[:-2], *blank, row[-1])
            continue
        values = [None] * width
        for item in figures.split(";"):
            key, _, value = item.partition(":")
            index = slot.get(key)
            if index is not None:
                values[index] = Decimal(value)
        yield (*row[:-2], *values, row[-1])


def csv_blocks(queryset, metrics, *, block_bytes=BLOCK_BYTES, fetch_rows=FETCH_ROWS):
    """The CSV file of ``queryset`` (``selectors.export_rows``: filtered, ordered, with the ``metrics``' columns),
    as text blocks of about ``block_bytes``. Runs one query however many rows there are: on PostgreSQL the
    database writes the rows (``copy_cells``), elsewhere Python (``written_blocks``), the same text."""
    if connections[queryset.db].vendor == "postgresql":
        buffer = io.StringIO()
        buffer.write(BOM)
        csv.writer(buffer).writerow(header(metrics))
        head = buffer.getvalue()
        for block in copy_csv(copy_cells(queryset, metrics), block_bytes=block_bytes, work_mem=SORT_WORK_MEM):
            yield head + block
            head = ""
        if head:  # no rows
            yield head
        return
    yield from written_blocks(queryset, metrics, block_bytes=block_bytes, fetch_rows=fetch_rows)


def copy_cells(queryset, metrics):
    """``queryset`` (as for ``csv_blocks``) as one text-or-number column per cell of the CSV, made by the database
    by the rules ``written_blocks`` applies in Python: text through CsvText (portal.csvsafe's rule), the status's
    label in the request's language, times as "HH:MM", hours and figures without trailing zeros (as
    portal.downloads.plain), each metric's value taken from the kept figures ("<metric id>:<value>;…"), a blank
    for none. For ``portal.db.copy_csv``."""
    statuses = [When(status=value, then=Value(str(label))) for value, label in Activity.Status.choices]
    figures = Concat(Value(";"), "kept_figures", Value(";"), output_field=CharField())

    def figure(metric):
        # the text between ";<id>:" and the next ";" ("" when the activity has no value for the metric), as a
        # number written as plain() writes it; read only where "<id>:" occurs at all (one strpos per metric and
        # row, where the reading takes a dozen calls: most rows hold one figure)
        found = Func(Func(figures, Value(f";{metric.pk}:"), Value(2), function="split_part"), Value(";"), Value(1),
                     function="split_part", output_field=CharField())
        value = PlainNumber(Func(NullIf(found, Value("")), template="(%(expressions)s)::numeric", output_field=DecimalField()))
        present = Func(F("kept_figures"), Value(f"{metric.pk}:"), function="strpos", output_field=IntegerField())
        return Case(When(GreaterThan(present, 0), then=value), default=None, output_field=CharField())

    cells = {
        "c_date": Func(F("date"), Value("YYYY-MM-DD"), function="to_char", output_field=CharField()),
        "c_start": F("start_text"),
        "c_end": F("end_text"),
        **{f"c_{name}": CsvText(F(name)) for name in CSV_FIELDS[3:10]},
        "c_status": Case(*statuses, default=F("status"), output_field=CharField()),
        **{f"c_{name}": F(name) for name in CSV_FIELDS[11:15]},
        "c_verified_hours": PlainNumber("verified_hours"),
        "c_pending_hours": PlainNumber("pending_hours"),
        "c_photo_count": F("photo_count"),
        **{f"c_metric_{i}": figure(metric) for i, metric in enumerate(metrics)},
        "c_description": CsvText(F("description")),
    }
    return queryset.values(**cells)


def written_blocks(queryset, metrics, *, block_bytes=BLOCK_BYTES, fetch_rows=FETCH_ROWS):
    """The CSV file of ``queryset`` (as for ``csv_blocks``) written by Python, row by row: the SQLite path."""
    statuses = dict(Activity.Status.choices)  # the labels in the request's language, looked up once
    text = neutralise_text
    width = len(metrics)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write(BOM)
    writer.writerow(header(metrics))
    # psycopg gives these columns (text, numbers, dates, times) as Django would: no converters per row
    rows = stream_rows(queryset.values_list(*_fields(CSV_FIELDS, metrics)), chunk_size=fetch_rows, as_read=True)
    try:
        for row in _spread(rows, metrics):
            (
                date, start_text, end_text, program, pairing, branch, co_hosts, kind, title, place, status, party_members,
                teachers, students, residents, verified, pending, photos,
            ) = row[:18]
            writer.writerow(
                (
                    date.isoformat(), start_text or "", end_text or "", text(program), text(pairing), text(branch),
                    text(co_hosts or ""), text(kind), text(title), text(place), statuses.get(status, status),
                    party_members, teachers, students, residents, plain(verified), plain(pending), photos,
                    *[plain(value) for value in row[18:18 + width]], text(row[-1]),
                )
            )
            if buffer.tell() >= block_bytes:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    finally:
        rows.close()  # on PostgreSQL the connection stays busy until the stream is closed (e.g. a client hung up)
    yield buffer.getvalue()


class _Sheet:
    """The workbook's one sheet of activities (another once Excel's rows run out), written top to bottom."""

    SAMPLE_ROWS = 50  # column widths come from the header and the first rows

    def __init__(self, workbook, formats, columns, n):
        self.ws = workbook.add_worksheet(_("Activities") if n == 1 else f"{_('Activities')} ({n})")
        self.f = formats
        self.ws.freeze_panes(1, 0)
        for col, title in enumerate(columns):
            write_text(self.ws, 0, col, title, formats.header, formats.plain)
        self.widths = [min(max(8, _width(title) + 2), 24) for title in columns]
        self.columns = len(columns)
        self.row = 1
        self.letters = [xlsxwriter.utility.xl_col_to_name(col) for col in range(len(columns))]
        self.ws._write_single_row(1)  # the header out to the sheet's file: the rows are written there as XML
        self.fh = self.ws.fh

    def full(self):
        return self.row >= XLSX_MAX_ROWS

    def sample(self, col, text):
        """A text of the first rows widens its column to fit (up to 60)."""
        width = _width(text) + 2
        if width > self.widths[col]:
            self.widths[col] = min(width, 60)

    def finish(self):
        if self.row > 1:  # what XlsxWriter would have noted cell by cell: the sheet's extent
            self.ws.dim_rowmax = self.row - 1
            self.ws.dim_colmax = self.columns - 1
        self.ws.previous_row = self.row
        for col, width in enumerate(self.widths):
            self.ws.set_column(col, col, width)
        if self.row > 1:
            self.ws.autofilter(0, 0, self.row - 1, self.columns - 1)


def write_xlsx(queryset, metrics, stream, *, tmpdir=None, fetch_rows=FETCH_ROWS):
    """Write the workbook of ``queryset`` (as for ``csv_blocks``) to ``stream`` (a file open for binary writing).
    Runs one query however many rows there are; memory stays flat (constant_memory: each row is flushed to the
    sheet's temporary file in ``tmpdir`` as soon as the next one starts). Returns the number of rows."""
    statuses = dict(Activity.Status.choices)
    columns = header(metrics)
    workbook = xlsxwriter.Workbook(
        stream, workbook_options(constant_memory=True, **({"tmpdir": tmpdir} if tmpdir else {}))
    )
    workbook.worksheet_class = TemporaryFileWorksheet
    formats = _Formats(workbook)
    date_style, time_style = formats.date._get_xf_index(), formats.time._get_xf_index()
    integer_style, number_style = formats.integer._get_xf_index(), formats.number._get_xf_index()
    text_columns = {3, 4, 5, 6, 7, 8, 9}  # program … place (and the description, last): typed by people
    repeated = {3, 4, 5, 6, 7}  # program … type: a few names over and over, their XML made once each
    known = {}
    fixed = len(XLSX_FIELDS) - 1  # the columns before the metrics; the row's figures, then its description follow
    slot = {str(metric.pk): fixed + i for i, metric in enumerate(metrics)}
    last = fixed + len(metrics)
    sheets = 1
    sheet = _Sheet(workbook, formats, columns, sheets)
    status_xml = {value: inline_string(sheet.ws, str(label)) for value, label in statuses.items()}
    done = 0
    rows = stream_rows(queryset.values_list(*_fields(XLSX_FIELDS, metrics)), chunk_size=fetch_rows, as_read=True)
    try:
        for row in rows:
            if sheet.full():
                sheet.finish()
                sheets += 1
                sheet = _Sheet(workbook, formats, columns, sheets)
            # one string per row, straight into the sheet's file: per-cell writes cost more than all the rest
            ws, r, sample = sheet.ws, sheet.row, sheet.row <= _Sheet.SAMPLE_ROWS
            number = str(r + 1)
            letters = sheet.letters
            parts = [f'<row r="{number}">']
            for col in range(fixed):
                value = row[col]
                if value is None or value == "":
                    continue  # a blank stays blank
                ref = letters[col] + number
                if col == 0:
                    parts.append(f'<c r="{ref}" s="{date_style}"><v>{(value - EPOCH).days}</v></c>')
                elif col in (1, 2):
                    seconds = value.hour * 3600 + value.minute * 60 + value.second
                    parts.append(f'<c r="{ref}" s="{time_style}"><v>{seconds / 86400:.16G}</v></c>')
                elif col == 10:
                    xml = status_xml.get(value) or inline_string(ws, str(value))
                    parts.append(f'<c r="{ref}"{xml}')
                elif col in text_columns:
                    if col in repeated:
                        xml = known.get(value)
                        if xml is None:
                            xml = known[value] = inline_string(ws, value)
                    else:
                        xml = inline_string(ws, value)
                    parts.append(f'<c r="{ref}"{xml}')
                    if sample:
                        sheet.sample(col, value)
                elif value.__class__ is int:  # people, photos
                    parts.append(f'<c r="{ref}" s="{integer_style}"><v>{value}</v></c>')
                else:  # hours: Decimals (as floats: what a cell holds)
                    parts.append(f'<c r="{ref}" s="{number_style}"><v>{float(value):.16G}</v></c>')
            figures = row[fixed]
            if figures:  # the kept figures ("<metric id>:<value>;…"), each in its metric's column, in column order
                cells = []
                for item in figures.split(";"):
                    key, _sep, value = item.partition(":")
                    col = slot.get(key)
                    if col is not None:
                        cells.append((col, value))
                cells.sort()
                for col, value in cells:
                    parts.append(f'<c r="{letters[col]}{number}" s="{number_style}"><v>{float(value):.16G}</v></c>')
            description = row[fixed + 1]
            if description:
                parts.append(f'<c r="{letters[last]}{number}"{inline_string(ws, description)}')
                if sample:
                    sheet.sample(last, description)
            parts.append("</row>")
            sheet.fh.write("".join(parts))
            sheet.row = r + 1
            done += 1
    finally:
        rows.close()
    sheet.finish()
    workbook.close()
    return done


def xlsx_file(queryset, metrics):
    """The workbook of ``queryset`` (as for ``write_xlsx``) in an anonymous temporary file, at its start: gone once
    closed (a FileResponse closes it when it is sent)."""
    handle = tempfile.TemporaryFile()
    try:
        write_xlsx(queryset, metrics, handle)
    except BaseException:
        handle.close()
        raise
    handle.seek(0)
    return handle


# --- the needs list (微心愿) ------------------------------------------------------------------------------


def need_columns():
    return [
        Column(_("Raised on"), DATE), Column(_("Program")), Column(_("Pairing")), Column(_("Village or community")),
        Column(_("Category")), Column(_("Title")), Column(_("Wanted by")), Column(_("Status")),
        Column(_("Claimed by")), Column(_("Claimed on"), DATE), Column(_("Fulfilled on"), DATE),
        Column(_("Waiting over 30 days")), Column(_("Rating"), INTEGER), Column(_("Description")),
    ]


def need_rows(user, queryset):
    """The rows of the needs in ``queryset`` (``selectors.need_list`` under the list's filters), the person's name
    as the list shows it (``selectors.shown_wanted_by``: masked where asked). One query, read in chunks."""
    statuses, categories = dict(Need.Status.choices), dict(Need.Category.choices)
    for need in queryset.iterator(chunk_size=FETCH_ROWS):
        pairing = need.pairing
        yield (
            local_day(need.raised_at), pairing.program.name, str(pairing), pairing.supported.name,
            categories.get(need.category, need.category), need.title, shown_wanted_by(user, need),
            statuses.get(need.status, need.status), need.claimed_by_branch.name if need.claimed_by_branch else None,
            local_day(need.claimed_at), local_day(need.fulfilled_at), yes_no(need.is_overdue), need.rating,
            need.description,
        )
