"""Every format read back with its own reader: .docx with python-docx, .xlsx with openpyxl, CSV with csv.
The same numbers reach every format; Chinese survives; formula-like text is neutralised."""

import csv
import io
import re
import zipfile

import docx
import openpyxl
import pytest

from reports.charts import report_charts
from portal.csvsafe import neutralise
from reports.renderers.csv import render_csv
from reports.renderers.docx import render_docx
from reports.renderers.xlsx import render_xlsx
from reports.builders import build_report_data
from reports.models import Report
from tests import factories as f

pytestmark = pytest.mark.django_db


def report_generate(*, kind, period, program, pairing=None):
    """A draft report as the service makes it (the service itself is tested in test_services)."""
    data = build_report_data(kind, period, program, pairing)
    return Report.objects.create(kind=kind, period=period, program=program, pairing=pairing, data=data), True

EVIL = "=HYPERLINK(\"http://evil.example\",\"点我\")"


@pytest.fixture
def report(records):
    # a user-typed title that a spreadsheet would run as a formula
    records["activities"]["a2"].title = EVIL
    records["activities"]["a2"].save()
    report, _ = report_generate(kind="monthly", period="2024-03", program=records["program"], pairing=records["pairing"])
    report.notes = "+请第五党支部下月补录活动"
    return report


@pytest.fixture
def quarterly(records):
    report, _ = report_generate(kind="quarterly", period="2024Q1", program=records["program"], pairing=records["pairing"])
    report.notes = "一、加快推进小电匠项目。\n二、@各支部按时验单。"
    return report


def test_csv_has_bom_chinese_and_no_live_formulas(report):
    content = render_csv(report)
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    flat = [cell for row in rows for cell in row]
    assert rows[0][0] == "一月一提示"
    assert "'" + EVIL in flat and EVIL not in flat
    assert not [cell for cell in flat if cell[:1] in ("=", "+", "-", "@")]
    # the same numbers as the data: the activities table and the verified hours
    assert any("本期共开展活动3次" in cell and "已验单2次" in cell for cell in flat)
    hours_header = next(i for i, row in enumerate(rows) if row[:2] == ["支部", "已核验时长(小时)"])
    assert rows[hours_header + 1][:2] == ["第三党支部", "5.5"]
    metric_header = next(i for i, row in enumerate(rows) if row and row[0] == "指标")
    # a percentage is a plain number, its header saying (%)
    assert rows[metric_header][6] == "完成率(%)"
    assert rows[metric_header + 1][:7] == ["维修家电", "件", "累加", "11.5", "18.5", "100", "18.5"]


@pytest.mark.parametrize("cell, written", [("=1+1", "'=1+1"), ("+86", "'+86"), ("-3", "'-3"), ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"), ("龙石村", "龙石村"), (-3, -3), (2.5, 2.5), (None, "")])
def test_neutralise(cell, written):
    assert neutralise(cell) == written


def test_docx_reads_back(quarterly):
    content = render_docx(quarterly)
    document = docx.Document(io.BytesIO(content))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "一季一调度" in text and "(2024年第1季度)" in text
    assert "一、本季度工作概况" in text
    assert "调度意见" in text and "一、加快推进小电匠项目。" in text and "@各支部按时验单" in text
    assert "本期共开展活动4次,其中村(社区)已验单3次" in text
    cells = {cell.text for table in document.tables for row in table.rows for cell in row.cells}
    assert {"维修家电", "第三党支部", "井上添画", "18.5%"} <= cells
    # one photo (血压检测) embedded; the one flagged as showing minors is not
    assert len(document.inline_shapes) == 1
    assert "血压检测" in text and "小朋友" not in text
    # red masthead title
    title_run = next(p for p in document.paragraphs if p.text == "一季一调度").runs[0]
    assert str(title_run.font.color.rgb) == "C00000"
    assert "草稿" in document.sections[0].header.paragraphs[0].text


def test_docx_never_embeds_a_photo_flagged_later(quarterly, records):
    records["photo"].shows_minors = True
    records["photo"].save()
    document = docx.Document(io.BytesIO(render_docx(quarterly)))
    assert len(document.inline_shapes) == 0


def test_xlsx_reads_back_with_native_charts(quarterly):
    content = render_xlsx(quarterly)
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    assert workbook.sheetnames[0] == "概况"
    assert "图表" in workbook.sheetnames
    summary = [c.value for c in workbook["概况"]["A"] if c.value]
    assert summary[0] == "一季一调度"
    values = [cell.value for ws in workbook for row in ws.iter_rows() for cell in row if cell.value is not None]
    assert "本期共开展活动4次,其中村(社区)已验单3次、待验单1次;参与党员9人次、教师3人次、学生12人次,服务群众75人次。" in values
    metrics = workbook["成效指标完成进度"]
    rows = [[c.value for c in row] for row in metrics.iter_rows()]
    repairs = next(row for row in rows if row[0] == "维修家电")
    assert repairs[:7] == ["维修家电", "件", "累加", 18.5, 18.5, 100, 0.185]
    assert isinstance(repairs[3], float)  # numbers stay numbers
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        charts = [name for name in archive.namelist() if name.startswith("xl/charts/chart")]
        chart_xml = "".join(archive.read(name).decode("utf-8") for name in charts)
    assert len(charts) == 3  # activities per month, metric progress, hours per branch
    assert "各月活动数" in chart_xml and "成效指标完成进度" in chart_xml
    # formula-looking text is stored as text, never as a formula
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        sheets = "".join(archive.read(n).decode("utf-8") for n in archive.namelist() if n.startswith("xl/worksheets/"))
    assert "<f>" not in sheets


def test_xlsx_formula_text_stays_text(report):
    workbook = openpyxl.load_workbook(io.BytesIO(render_xlsx(report)))
    values = [cell.value for ws in workbook for row in ws.iter_rows() for cell in row]
    assert EVIL in values  # as text: openpyxl reads a formula cell back with data_type "f"
    cells = [cell for ws in workbook for row in ws.iter_rows() for cell in row if cell.value == EVIL]
    assert all(cell.data_type == "s" for cell in cells)


def test_annual_workbook_has_a_sheet_per_pairing(records):
    second = f.PairingFactory(program=records["program"], supporter=records["school"], supported=f.OrganizationFactory(name="港口镇", kind="town"))
    report, _ = report_generate(kind="annual", period="2024", program=records["program"])
    workbook = openpyxl.load_workbook(io.BytesIO(render_xlsx(report)))
    assert str(records["pairing"]) in workbook.sheetnames and str(second) in workbook.sheetnames
    overview = workbook["年度总体情况"]
    rows = [[c.value for c in row] for row in overview.iter_rows()]
    total = next(row for row in rows if row[0] == "合计")
    assert total[1] == 4  # activities of the year, all pairings


def test_chart_text_is_escaped(records):
    records["branch"].name = "<script>alert(1)</script>支部"
    records["branch"].save()
    report, _ = report_generate(kind="monthly", period="2024-03", program=records["program"], pairing=records["pairing"])
    svg = report_charts(report.data)["hours"]
    assert "<script>" not in svg and "&lt;script&gt;" in svg


PERCENT_TEXT = re.compile(r"^\s*-?\d+(\.\d+)?\s*%$")


def percent_cells(workbook):
    return [cell for ws in workbook for row in ws.iter_rows() for cell in row if "%" in cell.number_format]


@pytest.mark.parametrize("kind, period, scope", [
    ("monthly", "2024-03", "pairing"), ("quarterly", "2024Q1", "pairing"), ("quarterly", "2024Q1", "program"),
    ("annual", "2024", "program"),
])
def test_xlsx_percentages_are_numbers_formatted_as_percent(records, kind, period, scope):
    """What a user checks in Excel: no percentage typed as text ("62.0%") anywhere; each one a number (0.185)
    with a percent format, the metric's 完成率 in the metrics sheet and in the chart sheet, a plan item's 进度."""
    pairing = records["pairing"] if scope == "pairing" else None
    report, _ = report_generate(kind=kind, period=period, program=records["program"], pairing=pairing)
    workbook = openpyxl.load_workbook(io.BytesIO(render_xlsx(report)))
    texts = [cell.value for ws in workbook for row in ws.iter_rows() for cell in row if cell.data_type == "s"]
    assert not [text for text in texts if PERCENT_TEXT.match(text)]
    cells = percent_cells(workbook)
    assert cells and all(cell.data_type == "n" and 0 <= cell.value <= 1.5 for cell in cells)
    metric = next(m for m in report.data["metrics"] if m["code"] == "repairs")
    chart = [[c for c in row] for row in workbook["图表"].iter_rows()]
    header = next(i for i, row in enumerate(chart) if row[0].value == "指标")
    assert chart[header][3].value == "完成率"
    repairs = next(row for row in chart[header:] if row[0].value == "维修家电(件)")
    assert repairs[3].value == pytest.approx(metric["progress"] / 100) and repairs[3].number_format == "0.0%"
    if kind != "monthly":
        plan = next(ws for ws in workbook if any(c.value == "进度" for row in ws.iter_rows() for c in row))
        rows = [[c for c in row] for row in plan.iter_rows()]
        head = next(i for i, row in enumerate(rows) if any(c.value == "进度" for c in row))
        column = [c.value for c in rows[head]].index("进度")
        items = {row[column - 6].value: row[column] for row in rows[head + 1:] if row[column].value is not None}
        progress = {item["title"]: item["progress"] for item in report.data["plan"]["items"]}
        assert {title: cell.value for title, cell in items.items()} == {t: p / 100 for t, p in progress.items()}
        assert {cell.number_format for cell in items.values()} == {"0%"}


def test_csv_percentages_are_plain_numbers_under_a_percent_header(records):
    report, _ = report_generate(kind="quarterly", period="2024Q1", program=records["program"], pairing=records["pairing"])
    rows = list(csv.reader(io.StringIO(render_csv(report).decode("utf-8-sig"))))
    assert not [cell for row in rows for cell in row if PERCENT_TEXT.match(cell)]
    plan = next(i for i, row in enumerate(rows) if "进度(%)" in row)
    column = rows[plan].index("进度(%)")
    written = {row[0]: row[column] for row in rows[plan + 1:] if len(row) > column}
    assert written == {item["title"]: str(item["progress"]) for item in report.data["plan"]["items"]}
    assert rows[next(i for i, row in enumerate(rows) if row and row[0] == "指标")][6] == "完成率(%)"


def test_page_and_word_still_show_percent_signs(quarterly):
    from reports.renderers.html import html_context
    from django.template.loader import render_to_string

    html = render_to_string("reports/_document.html", html_context(quarterly))
    assert "18.5%" in html
    document = docx.Document(io.BytesIO(render_docx(quarterly)))
    assert "18.5%" in {cell.text for table in document.tables for row in table.rows for cell in row.cells}
