"""portal.xlsxsafe.inline_string: the text cell's XML as XlsxWriter would escape it, its quick path (a text with
nothing to escape written as it is) included."""

import io

import pytest
import xlsxwriter

from portal.xlsxsafe import inline_string

TEXTS = [
    "第三党支部", "plain text", "=1+1", "<r>markup</r>", "a & b", "x > y < z", 'say "hi"', "two\nlines", "tab\there",
    "bell\x07", "nul\x00", "esc\x1b[0m", "_x0041_", "_x not hex", "not\ufffe", "end\uffff", " leading", "trailing ",
    "", "中文、标点", "&amp;",
]


@pytest.mark.parametrize("text", TEXTS)
def test_inline_string_escapes_as_xlsxwriter_does(text):
    ws = xlsxwriter.Workbook(io.BytesIO()).add_worksheet()
    escaped = ws._escape_data(ws._escape_control_characters(text))
    space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
    assert inline_string(ws, text) == f' t="inlineStr"><is><t{space}>{escaped}</t></is></c>'


def _workbook_parts(tmp_path, worksheet_class, compact=False):
    """A constant_memory workbook of two sheets, text, numbers, dates, column widths and a closed-then-reopened
    sheet, written with ``worksheet_class`` (``compact``: each sheet compacted once closed): its parts (the creation
    time left out) and what was left in its temporary folder."""
    import datetime
    import zipfile

    folder = tmp_path / f"{worksheet_class.__name__}-{compact}"
    folder.mkdir()
    path = folder / "book.xlsx"
    temporary = folder / "tmp"
    temporary.mkdir()
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "tmpdir": str(temporary)})
    workbook.worksheet_class = worksheet_class
    date = workbook.add_format({"num_format": "yyyy-mm-dd"})
    for name in ("台账一", "台账二"):
        ws = workbook.add_worksheet(name)
        for row in range(300):
            ws.write_string(row, 0, f"{name}第{row}行")
            ws.write_number(row, 1, row * 1.5)
            ws.write_datetime(row, 2, datetime.datetime(2025, 1, 1) + datetime.timedelta(days=row), date)
        for col, width in enumerate((20, 12, 12, 30)):
            ws.set_column(col, col, width)
        ws._opt_close()  # as LedgerSheet.finish does: reopened when the workbook is assembled
        if compact:
            ws.compact()
    workbook.close()
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist() if name != "docProps/core.xml"}
    return parts, sorted(p.name for p in temporary.iterdir())


def test_the_worksheet_that_spares_its_temporary_files_writes_the_same_workbook(tmp_path):
    """TemporaryFileWorksheet opens its temporary files without truncating them (so ext4 does not write them to
    disk when they are closed); the workbook is part for part the one XlsxWriter's own worksheet writes, and no
    temporary file is left behind."""
    from xlsxwriter.worksheet import Worksheet

    from portal.xlsxsafe import TemporaryFileWorksheet

    ours, left = _workbook_parts(tmp_path, TemporaryFileWorksheet)
    theirs, _ = _workbook_parts(tmp_path, Worksheet)
    assert ours == theirs
    assert any(name.startswith("xl/worksheets/sheet2") for name in ours)
    assert b"\xe5\x8f\xb0\xe8\xb4\xa6\xe4\xba\x8c\xe7\xac\xac299\xe8\xa1\x8c" in ours["xl/worksheets/sheet2.xml"]  # 台账二第299行
    assert left == []


def test_a_compacted_sheet_keeps_little_and_writes_the_same_workbook(tmp_path):
    """TemporaryFileWorksheet.compact, called by the annual workbook on each ledger sheet once written: the sheet
    keeps only what differs from a new one (the defaults left to the class, equal column settings shared, its
    closed file's object dropped), and the workbook is part for part the one written without it."""
    import xlsxwriter

    from portal.xlsxsafe import TemporaryFileWorksheet

    compacted, left = _workbook_parts(tmp_path, TemporaryFileWorksheet, compact=True)
    plain, _ = _workbook_parts(tmp_path, TemporaryFileWorksheet)
    assert compacted == plain
    assert left == []

    workbook = xlsxwriter.Workbook(str(tmp_path / "kept.xlsx"), {"constant_memory": True, "tmpdir": str(tmp_path)})
    workbook.worksheet_class = TemporaryFileWorksheet
    sheets = []
    for name in ("一", "二"):
        ws = workbook.add_worksheet(name)
        ws.write_string(0, 0, name)
        ws.set_column(0, 2, 15)
        ws._opt_close()
        sheets.append(ws)
    attributes = len(vars(sheets[0]))
    for ws in sheets:
        ws.compact()
    first, second = sheets
    assert len(vars(first)) < attributes / 3
    assert first.row_data_fh is None and first.merge == () and first.name == "一"
    assert first.col_info[0] is first.col_info[2] is second.col_info[1]  # one ColumnInfo for the width 15
    with pytest.raises(AttributeError):
        first.merge.append((0, 0, 1, 1))  # a default is read-only: never filled for every sheet at once
    workbook.close()


def test_every_workbook_of_a_process_has_the_same_styles():
    """workbook_options gives each workbook its own default format: XlsxWriter writes into the dict it is given,
    and one shared by the process's workbooks made the second workbook's default font differ from the first's."""
    import zipfile

    from portal.xlsxsafe import OPTIONS, workbook_options

    def styles():
        stream = io.BytesIO()
        workbook = xlsxwriter.Workbook(stream, workbook_options(in_memory=True))
        workbook.add_worksheet().write_string(0, 0, "结对共建")
        workbook.close()
        return zipfile.ZipFile(stream).read("xl/styles.xml")

    first, second = styles(), styles()
    assert first == second
    assert "宋体".encode() in first
    with pytest.raises(TypeError):  # OPTIONS as it is would be written into: it refuses
        xlsxwriter.Workbook(io.BytesIO(), {**OPTIONS, "in_memory": True})
