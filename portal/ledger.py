"""The ledger import engine (台账导入): reading a spreadsheet, safely, into rows of text a kind can check.

This module names no app to its right. Each kind of ledger (organisations, volunteers, activities, service
hours) is a `Kind` that its own app registers in its AppConfig.ready (`register`); the engine reads the file,
matches the headers, and hands the kind one row at a time. See docs/ledger-import.md for the rules.

Reading, in a fixed order of checks:
- size: at most MAX_BYTES; rows: at most MAX_ROWS (data rows, the header not counted);
- .xlsx: it is a zip; its members' declared uncompressed size must stay under MAX_UNZIPPED_BYTES, and the
  archive must be a workbook, before openpyxl opens it (read_only: one row in memory at a time). The first sheet
  is the ledger. Formula cells are refused (an error on the row, naming the cell): a ledger is values;
- .csv: the encoding is detected in this order: UTF-8 (with or without a byte-order mark), then GB18030
  (which covers GBK and GB2312, and the characters outside the BMP such as 𠮷); anything else is refused;
- every cell becomes text: control characters stripped, surrounding spaces trimmed, the apostrophe the portal's
  own CSV export puts before = + - @ removed again (so an export imports back); numbers as Excel shows them.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20_000
MAX_UNZIPPED_BYTES = 100 * 1024 * 1024
MAX_CELL_CHARS = 2000
ENCODINGS = ("utf-8-sig", "gb18030")  # utf-8-sig reads UTF-8 with and without the byte-order mark

EXCEL_EPOCH = datetime.date(1899, 12, 30)  # serial 1 is 1900-01-01 (Excel's 1900 leap-year bug included)
_DATE_FORMS = (
    re.compile(r"(\d{4})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?"),
    re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?"),
)
_SERIAL = re.compile(r"\d{1,6}(?:\.0+)?")
_TIME = re.compile(r"(\d{1,2})[:：](\d{2})(?::\d{2})?")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
FORMULA_STARTS = ("=", "+", "-", "@")


class LedgerFileError(Exception):
    """The file as a whole cannot be read (too large, not a workbook, unknown encoding …): nothing is saved."""


@dataclass
class Table:
    """A read file: its headers, its rows (lists of text, one per header), and how it was read."""

    headers: list
    rows: list  # (row number in the file, [cell text …], {column index: problem})
    encoding: str = ""


# ---------------------------------------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------------------------------------


def clean_text(value):
    """A cell as text: control and invisible direction characters removed, spaces trimmed, our CSV export's
    formula-guarding apostrophe removed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, float):
        value = int(value) if value.is_integer() else value
    if isinstance(value, datetime.datetime):
        value = value.date() if not (value.hour or value.minute or value.second) else value
    if isinstance(value, (datetime.date, datetime.time)):
        value = value.isoformat()
    text = _CONTROL.sub("", str(value)).strip()
    if text.startswith("'") and text[1:2] in FORMULA_STARTS:
        text = text[1:]
    return text[:MAX_CELL_CHARS]


def normalise_header(text):
    """A header as it is matched: NFKC (full-width brackets and letters as plain ones), no spaces at all."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", clean_text(text)))


def parse_date(text):
    """A date from any of the forms a ledger uses: an Excel serial (45356), 2024-03-05, 2024/3/5, 2024.3.5,
    2024年3月5日 (and the same with a time after it). None when it is none of them or no real day."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        if _SERIAL.fullmatch(text):
            serial = int(float(text))
            if 1 <= serial <= 2958465:
                return EXCEL_EPOCH + datetime.timedelta(days=serial)
            return None
        for form in _DATE_FORMS:
            match = form.fullmatch(text)
            if match:
                return datetime.date(int(match[1]), int(match[2]), int(match[3]))
    except (ValueError, OverflowError):
        return None
    return None


def parse_time(text):
    """09:30, 9:30 or 9：30 (full-width colon); an Excel fraction of a day (0.395833…). None when it is not."""
    text = (text or "").strip()
    if not text:
        return None
    match = _TIME.fullmatch(text)
    try:
        if match:
            return datetime.time(int(match[1]), int(match[2]))
        fraction = float(text)
    except ValueError:
        return None
    if 0 <= fraction < 1:
        minutes = round(fraction * 24 * 60)
        return datetime.time(minutes // 60 % 24, minutes % 60)
    return None


def parse_decimal(text):
    """A number (1,234.5 and full-width digits accepted); None when it is not one."""
    text = unicodedata.normalize("NFKC", (text or "")).replace(",", "").strip()
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def parse_int(text):
    number = parse_decimal(text)
    if number is None or number != number.to_integral_value():
        return None
    return int(number)


YES = {"是", "yes", "y", "true", "1", "√", "✓"}
NO = {"否", "no", "n", "false", "0", ""}


def parse_bool(text):
    value = (text or "").strip().lower()
    if value in YES:
        return True
    if value in NO:
        return False
    return None


# ---------------------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------------------


def file_hash(data):
    return hashlib.sha256(data).hexdigest()


def read_file(name, data):
    """The file's Table; LedgerFileError with a message in the user's language when it cannot be read."""
    if len(data) > MAX_BYTES:
        raise LedgerFileError(
            _("The file is %(size)s MB; at most %(limit)d MB can be imported. Split it into smaller files.")
            % {"size": f"{len(data) / 1024 / 1024:.1f}", "limit": MAX_BYTES // 1024 // 1024}
        )
    if not data:
        raise LedgerFileError(_("The file is empty."))
    lower = (name or "").lower()
    if lower.endswith(".xlsx"):
        table = _read_xlsx(data)
    elif lower.endswith(".csv"):
        table = _read_csv(data)
    else:
        raise LedgerFileError(_("Upload an Excel workbook (.xlsx) or a CSV file (.csv). An old .xls must be saved "
                                "as .xlsx first."))
    if not table.headers or not any(table.headers):
        raise LedgerFileError(_("The first row must hold the column headers; it is empty."))
    if not table.rows:
        raise LedgerFileError(_("The file has headers but no rows."))
    return table


def _too_many_rows():
    return LedgerFileError(
        _("The file has more than %(limit)s rows; split it into files of at most %(limit)s rows.")
        % {"limit": f"{MAX_ROWS:,}"}
    )


def _read_csv(data):
    for encoding in ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        break
    else:
        raise LedgerFileError(_("The CSV file is neither UTF-8 nor GB18030/GBK. Save it from Excel or WPS as "
                                "“CSV UTF-8” and upload it again."))
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        headers = [clean_text(cell) for cell in next(reader, [])]
        rows = []
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) >= MAX_ROWS:
                raise _too_many_rows()
            rows.append((number, [clean_text(cell) for cell in cells], {}))
    except csv.Error as exc:
        raise LedgerFileError(_("The CSV file cannot be read: %(error)s") % {"error": exc}) from None
    return Table(headers=headers, rows=rows, encoding="GB18030" if encoding == "gb18030" else "UTF-8")


def _read_xlsx(data):
    from openpyxl import load_workbook  # read only when a workbook is imported

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError):
        raise LedgerFileError(_("The file is not a valid .xlsx workbook.")) from None
    if sum(member.file_size for member in members) > MAX_UNZIPPED_BYTES or len(members) > 10_000:
        raise LedgerFileError(_("The workbook unpacks to more than %(limit)d MB; it cannot be imported.")
                              % {"limit": MAX_UNZIPPED_BYTES // 1024 // 1024})
    if "xl/workbook.xml" not in {member.filename for member in members}:
        raise LedgerFileError(_("The file is not a valid .xlsx workbook."))
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:  # openpyxl raises many kinds on a damaged file
        raise LedgerFileError(_("The file is not a valid .xlsx workbook.")) from None
    try:
        sheet = workbook.worksheets[0]
        rows_iter = sheet.iter_rows()
        header_cells = next(rows_iter, ())
        headers = [clean_text(cell.value) for cell in header_cells]
        while headers and not headers[-1]:
            headers.pop()
        rows = []
        for index, cells in enumerate(rows_iter, start=2):
            values, problems = [], {}
            for column, cell in enumerate(cells):
                value = cell.value
                if getattr(cell, "data_type", None) == "f" or (isinstance(value, str) and value.startswith("=")):
                    problems[column] = "formula"
                    value = ""
                values.append(clean_text(value))
            if not any(values) and not problems:
                continue
            if len(rows) >= MAX_ROWS:
                raise _too_many_rows()
            rows.append((getattr(cells[0], "row", None) or index, values, problems))
    finally:
        workbook.close()
    return Table(headers=headers, rows=rows, encoding="xlsx")


# ---------------------------------------------------------------------------------------------------------
# Kinds
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A column of a kind's template: its key in the row dict, its header, whether it must have a value, and
    the help the template's second sheet shows."""

    key: str
    header: str
    required: bool = False
    help: str = ""


@dataclass
class RowCheck:
    """What a row would do: new, unchanged, updated or error; the errors (already worded with row, column,
    value and reason); the natural key (text, to find duplicates within the file); what would change."""

    outcome: str
    errors: list = field(default_factory=list)
    key: str = ""
    changes: dict = field(default_factory=dict)
    summary: str = ""
    checked: dict = field(default_factory=dict)  # the row's checked values (JSON), kept for apply: no re-parsing


class Outcome:
    NEW = "new"
    UNCHANGED = "unchanged"
    UPDATED = "updated"
    ERROR = "error"


def cell_error(row_number, header, value, reason):
    """第 12 行「日期」列：值“2024/13/5”不是有效日期 — the one shape of every row error."""
    if value:
        return _("Row %(row)s, column “%(column)s”: the value “%(value)s” %(reason)s") % {
            "row": row_number, "column": header, "value": value, "reason": reason,
        }
    return _("Row %(row)s, column “%(column)s”: %(reason)s") % {"row": row_number, "column": header, "reason": reason}


def choice_lookup(choices):
    """{label or value: value} of a TextChoices class: a ledger's cell may hold the Chinese label or the code."""
    return {str(label): value for value, label in choices.choices} | {value: value for value in choices.values}


def org_path(org):
    """How a ledger names an organisation without ambiguity: "parent/name" (its bare name at the top)."""
    return f"{org.parent.name}/{org.name}" if org.parent is not None else org.name


def org_index(orgs):
    """(by_name, by_path) of the organisations (their parents selected) a ledger's cells may name."""
    by_name, by_path = {}, {}
    for org in orgs:
        by_name.setdefault(org.name, []).append(org)
        if org.parent is not None:
            by_path[org_path(org)] = org
    return by_name, by_path


def orgs_named(text, by_name, by_path):
    """The organisations a cell names: the one at "parent/name" (full-width ／ too), else all of that name."""
    text = text.strip().replace("／", "/")
    return [by_path[text]] if text in by_path else by_name.get(text, [])


class Kind:
    """A kind of ledger. Subclasses (in their own app) say what the columns are and how a row is checked,
    applied and undone; the engine does the rest."""

    code = ""
    label = ""
    needs_program = True
    key_help = ""

    # who and for what
    def programs(self, user):
        """[(id, label)] of the programs this user may import this kind for (empty: may not import it)."""
        raise NotImplementedError

    def overseen_program_ids(self, user):
        """The programs whose batches of this kind the user reads, whoever uploaded them (a program admin: the
        programs they administer). Default: none (each sees their own uploads)."""
        return []

    def may_import(self, user, program_id):
        return any(pid == program_id for pid, _label in self.programs(user))

    def columns(self, program_id):
        raise NotImplementedError

    def example(self, user, program_id):
        """One example row: {key: value}."""
        return {}

    def allowed_values(self, user, program_id):
        """[(title, [values …])] for the template's second sheet."""
        return []

    # rows
    def context(self, *, user, program_id, batch=None):
        """What checking every row needs, read once (lookups by name)."""
        return {}

    def prepare(self, ctx, rows):
        """Read once, before the rows are checked, what they will look up (e.g. the natural keys already
        recorded); rows: every row's dict of text. The default reads nothing."""

    # A kind may also define `apply_rows(ctx, rows, progress)`: save a whole checked batch at once (rows: the
    # ImportRow objects, their `changes["checked"]` holding what the check kept; it sets each row's outcome,
    # object_id and previous) and return the errors; the engine then skips the per-row check and `apply`.

    def check(self, ctx, number, row):
        """A RowCheck for one row (a dict of text by column key)."""
        raise NotImplementedError

    def apply(self, ctx, number, row, check):
        """Save the row: return (object id, previous values or None)."""
        raise NotImplementedError

    def undo_blockers(self, *, batch, records):
        """Why the batch cannot be undone (a list of messages); records: [(outcome, object_id, previous)]."""
        return []

    def undo(self, *, batch, user, records):
        """Delete what was created, restore what was updated (reverse order); the caller holds the transaction."""
        raise NotImplementedError

    def object_url(self, object_id):
        return ""


_KINDS = {}


def register(kind):
    _KINDS[kind.code] = kind
    return kind


def kinds():
    return dict(_KINDS)


def get_kind(code):
    return _KINDS.get(code)


def match_headers(table, columns):
    """({key: column index}, [unknown headers], [missing required headers])."""
    wanted = {normalise_header(column.header): column for column in columns}
    by_key, unknown = {}, []
    for index, header in enumerate(table.headers):
        column = wanted.get(normalise_header(header))
        if column is None:
            if header:
                unknown.append(header)
        elif column.key not in by_key:
            by_key[column.key] = index
    missing = [column.header for column in columns if column.required and column.key not in by_key]
    return by_key, unknown, missing


def row_dict(cells, by_key):
    return {key: (cells[index] if index < len(cells) else "") for key, index in by_key.items()}


class OrganisationScopedKind(Kind):
    """A kind imported for organisations rather than for a program (volunteers, organisations): whoever reaches
    some organisation (``org_ids``) may import it."""

    needs_program = False

    def org_ids(self, user):
        """The organisations the user may import this kind for (None: all, for a superuser)."""
        raise NotImplementedError

    def programs(self, user):
        ids = self.org_ids(user)
        if ids is not None and not ids:
            return []
        return [(None, _("the organisations you manage"))]

    def may_import(self, user, program_id):
        return bool(self.programs(user))
