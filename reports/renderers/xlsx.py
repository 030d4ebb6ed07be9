"""Excel (.xlsx, XlsxWriter): a summary sheet, one sheet per section, a chart sheet with native charts
(activities per month, metric progress against target, hours per branch), and for the annual summary one
sheet per pairing. Text is written as strings, never as formulas (portal.xlsxsafe); percentages are numbers
(0.62) formatted as percentages (``Percent`` cells)."""

from __future__ import annotations

import datetime
import io
import re
import unicodedata

import xlsxwriter
from django.utils.translation import gettext as _

from portal.xlsxsafe import inline_string, workbook_options, write_text
from reports.renderers.base import Percent, document

INVALID_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
PERCENT_FORMATS = {0: "0%", 1: "0.0%"}


def text_width(value):
    """Display width in Excel columns: CJK characters take two."""
    text = str(value) if value is not None else ""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


class Formats:
    def __init__(self, workbook):
        self.title = workbook.add_format({"bold": True, "font_size": 16, "font_color": "#C00000"})
        self.subtitle = workbook.add_format({"bold": True, "font_size": 12})
        self.heading = workbook.add_format({"bold": True, "font_size": 12, "font_color": "#8E1414"})
        self.caption = workbook.add_format({"bold": True})
        self.header = workbook.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1, "text_wrap": True, "valign": "top"})
        self.text = workbook.add_format({"border": 1, "valign": "top"})
        self.integer = workbook.add_format({"border": 1, "num_format": "#,##0"})
        self.decimal = workbook.add_format({"border": 1, "num_format": "#,##0.00"})
        self.total_text = workbook.add_format({"border": 1, "bold": True})
        self.total_integer = workbook.add_format({"border": 1, "bold": True, "num_format": "#,##0"})
        self.total_decimal = workbook.add_format({"border": 1, "bold": True, "num_format": "#,##0.00"})
        # a percentage is the number (0.62), shown as 62.0 % / 62 %: Percent cells, by their decimals
        self.percent = {places: workbook.add_format({"border": 1, "num_format": PERCENT_FORMATS[places]}) for places in (0, 1)}
        self.total_percent = {
            places: workbook.add_format({"border": 1, "bold": True, "num_format": PERCENT_FORMATS[places]}) for places in (0, 1)
        }
        self.date = workbook.add_format({"num_format": "yyyy-mm-dd"})
        self.wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
        self.muted = workbook.add_format({"font_color": "#667085"})
        self.plain = workbook.add_format()


class SheetNames:
    """Excel's rules: at most 31 characters, none of []:*?/\\, unique ignoring case."""

    def __init__(self):
        self.used = set()

    def __call__(self, wanted):
        base = INVALID_SHEET_CHARS.sub("_", wanted).strip("'") or "Sheet"
        name, n = base[:31], 1
        while name.lower() in self.used:
            n += 1
            suffix = f"({n})"
            name = base[: 31 - len(suffix)] + suffix
        self.used.add(name.lower())
        return name


def strip_number(title):
    """"三、志愿服务" → "志愿服务" (sheet names without the outline numbers)."""
    return re.sub(r"^[一二三四五六七八九十\d]+、", "", title)


class SheetWriter:
    """Writes rows top to bottom (so it also works in constant_memory mode) and tracks column widths."""

    SAMPLE_ROWS = 300  # column widths come from the first rows: measuring every cell of a ledger costs

    def __init__(self, worksheet, formats, max_width=60):
        self.ws, self.f, self.row, self.widths, self.max_width = worksheet, formats, 0, {}, max_width

    def _track(self, col, value, cap=None):
        if self.row > self.SAMPLE_ROWS:
            return
        width = min(text_width(value) + 2, cap or self.max_width)
        if width > self.widths.get(col, 8):
            self.widths[col] = width

    def line(self, text, fmt=None, track=False):
        write_text(self.ws, self.row, 0, str(text), fmt, self.f.plain)
        if track:
            self._track(0, text)
        self.row += 1

    def blank(self, n=1):
        self.row += n

    def cells(self, values, bold=False, header=False):
        f = self.f
        for col, value in enumerate(values):
            if header:
                write_text(self.ws, self.row, col, str(value), f.header, f.plain)
                self._track(col, value, cap=24)
            elif value is None:
                self.ws.write_blank(self.row, col, None, f.total_text if bold else f.text)
            elif isinstance(value, bool):
                write_text(self.ws, self.row, col, str(value), f.text, f.plain)
            elif isinstance(value, int):
                self.ws.write_number(self.row, col, value, f.total_integer if bold else f.integer)
                self._track(col, f"{value:,}")
            elif isinstance(value, float):
                self.ws.write_number(self.row, col, value, f.total_decimal if bold else f.decimal)
                self._track(col, f"{value:,.2f}")
            elif isinstance(value, Percent):
                places = min(value.places, 1)
                if value.value is None:
                    self.ws.write_blank(self.row, col, None, f.total_text if bold else f.text)
                else:
                    self.ws.write_number(self.row, col, value.fraction, (f.total_percent if bold else f.percent)[places])
                    self._track(col, str(value))
            else:
                write_text(self.ws, self.row, col, str(value), f.total_text if bold else f.text, f.plain)
                self._track(col, value)
        self.row += 1

    def table(self, table):
        self.line(table.caption, self.f.caption)
        first = self.row
        self.cells(table.columns, header=True)
        last = len(table.rows) - 1
        for n, row in enumerate(table.rows):
            self.cells(row, bold=table.total_row and n == last)
        if not table.rows and table.empty:
            self.line(table.empty, self.f.muted)
        self.blank()
        return first

    def finish(self):
        for col, width in self.widths.items():
            self.ws.set_column(col, col, width)


class LedgerSheet:
    """One pairing's ledger in a constant_memory workbook: a caption, the header, then one row per activity
    as the ledger streams past, each row written once, as the sheet's XML, straight into the sheet's temporary
    file (XlsxWriter assembles the file around it: styles, the other sheets, the zip).

    The hot path: per-cell writes cost more than the rest of the export (a cell object, its checks and its XML
    each), so a row is one string here: text as an inline string, escaped as XlsxWriter escapes it (markup,
    control characters, kept whitespace: text stays text, never a formula or rich-string markup, portal.xlsxsafe's
    rule), a date as its serial number in the date format, a number as written. Cells are None (left empty),
    str, a date, an int or a float. Column widths come from the header and the first rows,
    measured cheaply (CJK characters are three UTF-8 bytes and two columns). The texts of the ``repeated``
    columns (names from the set-up: a branch, a type, a status; not what people typed) are escaped once each and
    kept in ``known`` (a dict shared by a workbook's sheets): their number does not grow with the rows."""

    SAMPLE_ROWS = 50
    EPOCH = datetime.date(1899, 12, 30)  # Excel's day 0 (1900 date system, its leap-year bug included)

    def __init__(self, workbook, formats, name, caption, columns, *, repeated=(), known=None):
        self.repeated = frozenset(repeated)
        self.known = {} if known is None else known
        self.ws = ws = workbook.add_worksheet(name)
        self.plain, self.date = formats.plain, formats.date
        write_text(ws, 0, 0, caption, formats.caption, self.plain)
        for col, title in enumerate(columns):
            write_text(ws, 1, col, title, formats.header, self.plain)
        self.widths = [min(max(8, text_width(title) + 2), 24) for title in columns]
        self.row = 2
        self.letters = [xlsxwriter.utility.xl_col_to_name(col) for col in range(len(columns))]
        self.date_style = formats.date._get_xf_index()
        self.fh = None
        if ws.constant_memory:
            ws._write_single_row(2)  # the header row out to the file: the rows below are written there directly
            self.fh = ws.fh

    def write(self, cells):
        if self.fh is None:  # a workbook held in memory (not constant_memory): cell by cell
            return self._write_cells(cells)
        row = self.row
        number = str(row + 1)
        sample = row < self.SAMPLE_ROWS + 2
        parts = [f'<row r="{number}">']
        letters, repeated, known = self.letters, self.repeated, self.known
        for col, value in enumerate(cells):
            if value is None or value == "":
                continue
            ref = letters[col] + number
            kind = value.__class__
            if kind is str:
                if col in repeated:
                    xml = known.get(value)
                    if xml is None:
                        xml = known[value] = inline_string(self.ws, value)
                else:
                    xml = inline_string(self.ws, value)
                parts.append(f'<c r="{ref}"{xml}')
                if sample:
                    width = (len(value.encode()) + len(value)) // 2 + 2
                    if width > self.widths[col]:
                        self.widths[col] = min(width, 60)
            elif kind is datetime.date:
                parts.append(f'<c r="{ref}" s="{self.date_style}"><v>{(value - self.EPOCH).days}</v></c>')
            elif kind is int:
                parts.append(f'<c r="{ref}"><v>{value}</v></c>')
            else:  # a float, as XlsxWriter writes one
                parts.append(f'<c r="{ref}"><v>{value:.16G}</v></c>')
        parts.append("</row>")
        self.fh.write("".join(parts))
        self.row = row + 1

    def _write_cells(self, cells):
        ws, row = self.ws, self.row
        for col, value in enumerate(cells):
            if value is None or value == "":
                continue
            if value.__class__ is str:
                write_text(ws, row, col, value, None, self.plain)
            elif value.__class__ is datetime.date:
                ws.write_datetime(row, col, value, self.date)
            else:
                ws.write_number(row, col, value)
        self.row = row + 1

    def finish(self):
        ws = self.ws
        if self.fh is not None and self.row > 2:  # what XlsxWriter would have noted, cell by cell: the sheet's extent
            ws.dim_rowmax = max(ws.dim_rowmax or 0, self.row - 1)
            ws.dim_colmax = max(ws.dim_colmax or 0, len(self.letters) - 1)
            ws.previous_row = self.row
        for col, width in enumerate(self.widths):
            ws.set_column(col, col, width)
        # Close the sheet's temporary file now (XlsxWriter reopens it when the workbook is assembled), so a
        # program of a thousand pairings does not hold a thousand open files and their buffers.
        close = getattr(ws, "_opt_close", None)
        if close is not None and ws.constant_memory:
            close()
            compact = getattr(ws, "compact", None)  # portal.xlsxsafe.TemporaryFileWorksheet: what the sheet keeps
            if compact is not None:
                compact()


def write_sections(writer, sections):
    for section in sections:
        writer.line(section.title, writer.f.heading)
        for paragraph in section.paragraphs:
            writer.line(paragraph, writer.f.wrap)
        for photo in section.photos:
            writer.line(_("照片:%(caption)s") % {"caption": photo["caption"]}, writer.f.muted)
        for table in section.tables:
            writer.table(table)
        writer.blank()


def write_summary_sheet(workbook, formats, names, doc):
    ws = workbook.add_worksheet(names(_("概况")))
    ws.set_column(0, 0, 110)
    writer = SheetWriter(ws, formats, max_width=110)
    writer.line(doc.title, formats.title)
    writer.line(doc.subtitle, formats.subtitle)
    for label, value in doc.meta:
        writer.line(f"{label}:{value}")
    writer.blank()
    for section in doc.sections:
        writer.line(section.title, formats.heading)
        for paragraph in section.paragraphs:
            writer.line(paragraph, formats.wrap)
        writer.blank()
    return ws


def write_chart_sheet(workbook, formats, names, data):
    """Chart data on the left, native charts on the right (the same three charts as the web page)."""
    name = names(_("图表"))
    ws = workbook.add_worksheet(name)
    writer = SheetWriter(ws, formats)

    months = data["activities"]["by_month"]
    writer.line(_("各月活动数"), formats.caption)
    writer.cells([_("月份"), _("活动数"), _("其中已验单")], header=True)
    first = writer.row
    for m in months:
        writer.cells([m["label"], m["total"], m["confirmed"]])
    last = writer.row - 1
    chart = workbook.add_chart({"type": "column"})
    for col, colour, title in ((1, "#EF9A9A", _("活动数")), (2, "#B71C1C", _("其中已验单"))):
        chart.add_series(
            {
                "name": title,
                "categories": [name, first, 0, last, 0],
                "values": [name, first, col, last, col],
                "fill": {"color": colour},
            }
        )
    chart.set_title({"name": _("各月活动数")})
    chart.set_y_axis({"name": _("次"), "min": 0})
    chart.set_legend({"position": "bottom"})
    ws.insert_chart(1, 5, chart, {"x_scale": 1.3, "y_scale": 1.1})
    writer.blank()

    metrics = [m for m in data["metrics"] if m["progress"] is not None]
    writer.line(_("成效指标完成率(年度累计/年度目标)"), formats.caption)
    writer.cells([_("指标"), _("年度累计"), _("年度目标"), _("完成率")], header=True)
    first = writer.row
    for m in metrics:
        writer.cells([f"{m['name']}({m['unit']})", m["ytd_value"], m["target"], Percent(m["progress"])])
    last = writer.row - 1
    if metrics:
        chart = workbook.add_chart({"type": "bar"})
        chart.add_series(
            {
                "name": _("完成率"),
                "categories": [name, first, 0, last, 0],
                "values": [name, first, 3, last, 3],
                "fill": {"color": "#B71C1C"},
                "data_labels": {"value": True, "num_format": PERCENT_FORMATS[1]},
            }
        )
        chart.set_title({"name": _("成效指标完成进度")})
        chart.set_x_axis({"num_format": PERCENT_FORMATS[0], "min": 0})
        chart.set_legend({"none": True})
        ws.insert_chart(18, 5, chart, {"x_scale": 1.3, "y_scale": 1.1})
    writer.blank()

    hours = data["volunteers"]["by_branch"]
    writer.line(_("各支部已核验志愿服务时长"), formats.caption)
    writer.cells([_("支部"), _("已核验时长(小时)")], header=True)
    first = writer.row
    for row in hours:
        writer.cells([row["branch"], row["verified_hours"]])
    last = writer.row - 1
    if hours:
        chart = workbook.add_chart({"type": "bar"})
        chart.add_series(
            {
                "name": _("已核验时长(小时)"),
                "categories": [name, first, 0, last, 0],
                "values": [name, first, 1, last, 1],
                "fill": {"color": "#1A7F37"},
                "data_labels": {"value": True},
            }
        )
        chart.set_title({"name": _("各支部已核验志愿服务时长")})
        chart.set_legend({"none": True})
        ws.insert_chart(35, 5, chart, {"x_scale": 1.3, "y_scale": 1.1})
    writer.finish()
    return ws


def write_workbook(workbook, doc, data):
    formats = Formats(workbook)
    names = SheetNames()
    write_summary_sheet(workbook, formats, names, doc)
    for section in doc.sections:
        if not section.tables:
            continue
        writer = SheetWriter(workbook.add_worksheet(names(strip_number(section.title))), formats)
        write_sections(writer, [section])
        writer.finish()
    write_chart_sheet(workbook, formats, names, data)
    for pairing_name, sections in doc.details:
        ws = workbook.add_worksheet(names(pairing_name))
        writer = SheetWriter(ws, formats)
        writer.line(pairing_name, formats.title)
        writer.blank()
        write_sections(writer, sections)
        writer.finish()


def render_xlsx(report) -> bytes:
    doc = document(report)
    stream = io.BytesIO()
    workbook = xlsxwriter.Workbook(stream, workbook_options(in_memory=True))
    write_workbook(workbook, doc, report.data)
    workbook.close()
    return stream.getvalue()
