"""Excel workbooks (XlsxWriter) the portal writes: text a user typed stays text, never a formula, a number or
markup. Every workbook is opened with workbook_options() and writes user text through `write_text`; the reports'
workbooks (reports/renderers/xlsx.py, reports/exports.py) and the activity list's export
(activities/exports.py) alike."""

import re
from types import MappingProxyType

from xlsxwriter.worksheet import ColumnInfo, Worksheet

OPTIONS = {
    "strings_to_formulas": False,  # a cell typed "=1+1" by a user stays text
    "strings_to_urls": False,
    "strings_to_numbers": False,
    # read-only: XlsxWriter writes into the dict it is given (workbook_options gives each workbook its own)
    "default_format_properties": MappingProxyType({"font_name": "宋体", "font_size": 11}),
}


def workbook_options(**options):
    """OPTIONS and ``options``, for one workbook. XlsxWriter adds the theme's font name to the default format's
    properties it is given: a dict shared by the process's workbooks made every workbook after the first differ
    from it (its default font tied to the theme's, scheme "minor"), so each gets its own copy."""
    return {**OPTIONS, "default_format_properties": dict(OPTIONS["default_format_properties"]), **options}


def is_rich_markup(text):
    """XlsxWriter in constant_memory mode writes a string that starts with "<r>" and ends with "</r>" into the
    sheet's XML unescaped, as a rich string: typed by a user, that is markup (even a formula) in the file."""
    return text.startswith("<r>") and text.endswith("</r>")


def write_text(ws, row, col, text, fmt, plain):
    """Write ``text`` as text whatever it looks like. A string that looks like rich-string markup is written as
    a rich string of its own characters (escaped by XlsxWriter), in ``plain`` (the default font)."""
    if is_rich_markup(text):
        return ws.write_rich_string(row, col, text[0], plain, text[1:], fmt) if fmt else ws.write_rich_string(
            row, col, text[0], plain, text[1:]
        )
    return ws.write_string(row, col, text, fmt) if fmt else ws.write_string(row, col, text)


# what XlsxWriter's escaping would change in a text (markup, control characters, "_xHHHH_", non-characters):
# most texts hold none of it and are written as they are, one search instead of five passes
NEEDS_ESCAPING = re.compile("[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x")


def inline_string(ws, text):
    """A text cell's XML after its reference, for rows written straight into a constant_memory sheet's file (the
    large exports' rows): escaped as XlsxWriter escapes an inline string (markup, control characters as
    _xHHHH_, spaces kept at either end), so it is always text, never markup or a formula."""
    escaped = ws._escape_data(ws._escape_control_characters(text)) if NEEDS_ESCAPING.search(text) else text
    if text[:1].isspace() or text[-1:].isspace():
        return f' t="inlineStr"><is><t xml:space="preserve">{escaped}</t></is></c>'
    return f' t="inlineStr"><is><t>{escaped}</t></is></c>'


class TemporaryFileWorksheet(Worksheet):
    """A constant_memory worksheet whose temporary files (its rows, then its assembled XML) are opened for writing
    without being truncated. XlsxWriter creates each file and then reopens it truncating ("w"), and ext4 takes a
    file truncated and rewritten for a file being replaced: it writes the file's blocks to disk when it is closed
    (auto_da_alloc), so that a crash leaves the old contents or the new, not an empty file. A temporary file read
    back and deleted seconds later is then written to disk for nothing, and where the file system discards the
    blocks it frees, deleting it takes milliseconds: 2.9 ms a file here, 2.5 s of a workbook with 551 ledger sheets
    (two files each). Used as the workbook's ``worksheet_class``."""

    def _initialize(self, init_data):
        super()._initialize(init_data)
        if self.constant_memory:
            # the empty file reopened for appending (the truncating handle closed before a byte went through it)
            self.row_data_fh.close()
            self.row_data_fh = self.fh = open(self.row_data_filename, mode="a+", encoding="utf-8")  # noqa: SIM115

    def _set_xml_writer(self, filename):
        if isinstance(filename, str):  # the packager's new, empty temporary file for the sheet's XML
            self.internal_fh = True
            self.fh = open(filename, "a", encoding="utf-8")  # noqa: SIM115 - closed by _xml_close
            return
        super()._set_xml_writer(filename)

    def compact(self):
        """Shrink a finished constant_memory sheet to what differs from a new one. XlsxWriter keeps every
        worksheet until the workbook is closed, some 12 KB each once its rows are in its temporary file: its 170
        attributes, most of them still their defaults (empty lists and dicts among them), one ColumnInfo per
        column and its closed temporary file's object. A program's annual workbook has a ledger sheet per pairing,
        so that grew with the program (551 sheets: 6.6 MB). Here the defaults are left to the class (below: the
        empty containers as an empty tuple or a read-only mapping, so that a library change that would fill one
        fails loudly rather than sharing it between sheets), equal column settings share one ColumnInfo, and the
        closed file's object is dropped (XlsxWriter reopens the file by its name). The sheet's XML is unchanged.
        Call it once the sheet is written and its file closed."""
        if not self.constant_memory or not self.row_data_fh_closed:
            return
        self.row_data_fh = self.fh = None
        self.col_info = {col: _shared_column(info) for col, info in self.col_info.items()}
        self.__dict__ = {name: value for name, value in vars(self).items() if not _is_default(name, value)}


def _shared_column(info):
    """One ColumnInfo for every unformatted column of the same width and settings (XlsxWriter changes a
    ColumnInfo only to autofit a column, which these sheets do not do)."""
    if info.column_format is not None or info.autofit:
        return info
    return _SHARED_COLUMNS.setdefault((info.width, info.hidden, info.level, info.collapsed), info)


def _is_default(name, value):
    if name in _EMPTY_LISTS:
        return value.__class__ is list and not value
    if name in _EMPTY_DICTS:
        return value.__class__ is dict and not value
    default = _VALUES.get(name, _VALUES)
    return default is not _VALUES and value.__class__ is default.__class__ and value == default


_SHARED_COLUMNS: dict[tuple, ColumnInfo] = {}
# a new worksheet's attributes: immutable values, empty lists, empty dicts (the defaultdicts, the formats and the
# rest stay each sheet's own)
_NEW = vars(Worksheet())
_VALUES = {name: value for name, value in _NEW.items() if value is None or value.__class__ in (bool, int, float, str, tuple)}
_EMPTY_LISTS = {name for name, value in _NEW.items() if value.__class__ is list and not value}
_EMPTY_DICTS = {name for name, value in _NEW.items() if value.__class__ is dict and not value}
for _name in _VALUES:
    setattr(TemporaryFileWorksheet, _name, _VALUES[_name])
for _name in _EMPTY_LISTS:
    setattr(TemporaryFileWorksheet, _name, ())
for _name in _EMPTY_DICTS:
    setattr(TemporaryFileWorksheet, _name, MappingProxyType({}))
del _NEW
