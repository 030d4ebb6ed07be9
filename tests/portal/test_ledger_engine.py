"""The ledger import engine (portal.ledger): encodings, dates, limits, formula cells, hostile text."""

import datetime
import io
import zipfile

import pytest
from openpyxl import Workbook

from portal import ledger


def xlsx(rows):
    workbook = Workbook()
    sheet = workbook.active
    for r in rows:
        sheet.append(r)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@pytest.mark.parametrize("encoding,name", [("utf-8", "UTF-8"), ("utf-8-sig", "UTF-8"), ("gb18030", "GB18030")])
def test_csv_encodings_in_order_keep_rare_characters(encoding, name):
    table = ledger.read_file("a.csv", "姓名,备注\n䶮,𠮷\n".encode(encoding))
    assert table.encoding == name
    assert table.headers == ["姓名", "备注"]
    assert table.rows[0][1] == ["䶮", "𠮷"]


def test_gbk_file_reads_as_gb18030():
    table = ledger.read_file("a.csv", "姓名\n张三\n".encode("gbk"))
    assert table.rows[0][1] == ["张三"]


def test_undecodable_csv_is_refused_clearly():
    with pytest.raises(ledger.LedgerFileError, match="GB18030"):
        ledger.read_file("a.csv", b"\xff\xfe\x00a\x81\x30")


@pytest.mark.parametrize("text", ["45356", "45356.0", "2024-03-05", "2024/3/5", "2024.3.5", "2024年3月5日",
                                  "2024 年 3 月 5 日", "2024-03-05 00:00:00"])
def test_date_forms(text):
    assert ledger.parse_date(text) == datetime.date(2024, 3, 5)


@pytest.mark.parametrize("text", ["2024/13/5", "2024-02-30", "昨天", "3/5/2024", "0"])
def test_not_dates(text):
    assert ledger.parse_date(text) is None


def test_xlsx_dates_and_numbers_read_as_text():
    table = ledger.read_file("a.xlsx", xlsx([["日期", "人数"], [datetime.datetime(2024, 3, 5), 12.0]]))
    assert table.rows[0][1] == ["2024-03-05", "12"]
    assert ledger.parse_date(table.rows[0][1][0]) == datetime.date(2024, 3, 5)


def test_formula_cells_are_flagged_not_read():
    table = ledger.read_file("a.xlsx", xlsx([["姓名", "备注"], ["张三", "=HYPERLINK(\"http://x\",\"y\")"]]))
    number, cells, problems = table.rows[0]
    assert problems == {1: "formula"} and cells[1] == ""


def test_control_characters_stripped_and_export_apostrophe_removed():
    table = ledger.read_file("a.csv", "名称,备注\n\u202e张\x07三,'=1+1\n".encode())
    assert table.rows[0][1] == ["张三", "=1+1"]


def test_headers_match_with_spaces_and_full_width_brackets():
    table = ledger.Table(headers=[" 服务群众（人次） ", "多余"], rows=[])
    by_key, unknown, missing = ledger.match_headers(table, [ledger.Column("served", "服务群众(人次)", True)])
    assert by_key == {"served": 0} and unknown == ["多余"] and missing == []


def test_size_limit(settings, monkeypatch):
    monkeypatch.setattr(ledger, "MAX_BYTES", 100)
    with pytest.raises(ledger.LedgerFileError, match="MB"):
        ledger.read_file("a.csv", b"x" * 101)


def test_row_limit(monkeypatch):
    monkeypatch.setattr(ledger, "MAX_ROWS", 3)
    with pytest.raises(ledger.LedgerFileError, match="3"):
        ledger.read_file("a.csv", ("名称\n" + "甲\n" * 4).encode())


def test_zip_bomb_is_refused_before_opening():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (ledger.MAX_UNZIPPED_BYTES + 1))
    data = out.getvalue()
    assert len(data) < ledger.MAX_BYTES
    with pytest.raises(ledger.LedgerFileError, match="解压后|unpacks"):
        ledger.read_file("bomb.xlsx", data)


def test_not_a_workbook():
    with pytest.raises(ledger.LedgerFileError):
        ledger.read_file("a.xlsx", b"PK not really")
    with pytest.raises(ledger.LedgerFileError):
        ledger.read_file("a.xls", b"whatever")
