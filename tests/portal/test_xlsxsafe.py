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


def _workbook_parts(tmp_path, worksheet_class):
    """A constant_memory workbook of two sheets, text, numbers, dates and a closed-then-reopened sheet, written
    with ``worksheet_class``: its parts (the creation time left out) and what was left in its temporary folder."""
    import datetime
    import zipfile

    folder = tmp_path / worksheet_class.__name__
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
        ws._opt_close()  # as LedgerSheet.finish does: reopened when the workbook is assembled
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
