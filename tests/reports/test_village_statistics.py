"""A pairing's report shows its village's statistics as at the report's day: each indicator's latest value dated on
or before it, with that date and its source, never a later one; in every format."""

import csv
import datetime
import io
from decimal import Decimal

import docx
import openpyxl
import pytest
from django.template.loader import render_to_string

from reports import generation
from reports.builders import build_pairing_reports, build_report_data
from reports.renderers.csv import render_csv
from reports.renderers.docx import render_docx
from reports.renderers.html import html_context
from reports.renderers.xlsx import render_xlsx
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def statistics(records):
    """人均纯收入 of 龙石村 as at the end of 2023, of March 2024 (the last day of Q1) and of June 2024; 集体经济收入 as
    at May 2024 only. Another village's value, dated in Q1, belongs to another pairing."""
    village = records["pairing"].supported
    income = f.VillageIndicatorFactory(code="per_capita_net_income")
    collective = f.VillageIndicatorFactory(code="collective_income")
    f.VillageStatisticFactory(village=village, indicator=income, as_at=datetime.date(2023, 12, 31), value=Decimal("15000"), source="2023年统计年报")
    f.VillageStatisticFactory(village=village, indicator=income, as_at=datetime.date(2024, 3, 31), value=Decimal("15500.5"), source="一季度统计")
    f.VillageStatisticFactory(village=village, indicator=income, as_at=datetime.date(2024, 6, 30), value=Decimal("16861"), source="半年统计")
    f.VillageStatisticFactory(village=village, indicator=collective, as_at=datetime.date(2024, 5, 31), value=Decimal("32"), source="村账")
    f.VillageStatisticFactory(village=records["other_pairing"].supported, indicator=income, as_at=datetime.date(2024, 2, 1), value=Decimal("9999"))
    return records


def shown(data):
    return [(row["indicator"], row["value"], row["unit"], row["as_at"], row["source"]) for row in data["village_statistics"]]


def test_a_back_dated_report_shows_the_value_as_at_its_day_not_a_later_one(statistics):
    program, pairing = statistics["program"], statistics["pairing"]
    q1 = build_report_data("quarterly", "2024Q1", program, pairing)
    assert q1["as_at"] == "2024-03-31"
    assert shown(q1) == [("人均纯收入", 15500.5, "元", "2024-03-31", "一季度统计")]  # on the as-at day itself: in
    february = build_report_data("monthly", "2024-02", program, pairing)
    assert shown(february) == [("人均纯收入", 15000, "元", "2023-12-31", "2023年统计年报")]
    year = build_report_data("annual", "2024", program, pairing, now=datetime.datetime(2025, 1, 5, tzinfo=datetime.timezone.utc))
    assert shown(year) == [
        ("人均纯收入", 16861, "元", "2024-06-30", "半年统计"),
        ("村集体经济收入", 32, "万元", "2024-05-31", "村账"),
    ]
    assert build_report_data("monthly", "2023-11", program, pairing)["village_statistics"] == []


def test_a_report_built_before_its_period_ends_stands_at_its_build_day(statistics):
    built = datetime.datetime(2024, 6, 10, 12, tzinfo=datetime.timezone.utc)
    data = build_report_data("quarterly", "2024Q2", statistics["program"], statistics["pairing"], now=built)
    assert data["as_at"] == "2024-06-10"
    assert [row["as_at"] for row in data["village_statistics"]] == ["2024-03-31", "2024-05-31"]


def test_a_batch_gives_each_pairing_its_own_village(statistics):
    program, pairing = statistics["program"], statistics["pairing"]
    second = f.PairingFactory(program=program)
    f.VillageStatisticFactory(village=second.supported, as_at=datetime.date(2024, 1, 15), value=Decimal("8000"))
    batch = build_pairing_reports("quarterly", "2024Q1", program, [pairing, second])
    assert shown(batch[pairing.pk]) == [("人均纯收入", 15500.5, "元", "2024-03-31", "一季度统计")]
    assert [row["value"] for row in batch[second.pk]["village_statistics"]] == [8000]


def test_a_program_report_carries_none(statistics):
    assert build_report_data("quarterly", "2024Q1", statistics["program"])["village_statistics"] is None


@pytest.fixture
def q1_report(statistics):
    report, _ = generation.report_generate(kind="quarterly", period="2024Q1", program=statistics["program"], pairing=statistics["pairing"])
    return report


def test_every_format_shows_the_q1_value_and_not_the_later_one(q1_report):
    html = render_to_string("reports/_document.html", html_context(q1_report))
    assert "村(社区)统计数据" in html and "15,500.5" in html and "一季度统计" in html
    assert "16,861" not in html and "半年统计" not in html

    rows = list(csv.reader(io.StringIO(render_csv(q1_report).decode("utf-8-sig"))))
    header = next(i for i, row in enumerate(rows) if row[:3] == ["指标", "数值", "单位"])
    assert rows[header + 1] == ["人均纯收入", "15500.5", "元", "2024-03-31", "一季度统计"]
    assert not any("16861" in cell for row in rows for cell in row)

    document = docx.Document(io.BytesIO(render_docx(q1_report)))
    cells = [[cell.text for cell in row.cells] for table in document.tables for row in table.rows]
    assert ["人均纯收入", "15,500.5", "元", "2024-03-31", "一季度统计"] in cells
    assert not any("16,861" in text or "半年统计" in text for row in cells for text in row)

    workbook = openpyxl.load_workbook(io.BytesIO(render_xlsx(q1_report)))
    sheet = workbook["村(社区)统计数据"]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert ["人均纯收入", 15500.5, "元", "2024-03-31", "一季度统计"] in [row[:5] for row in values]
    assert not any(v in (16861, "半年统计") for row in values for v in row)


def test_a_village_without_statistics_says_so_and_never_shows_a_zero(records):
    report, _ = generation.report_generate(kind="monthly", period="2024-03", program=records["program"], pairing=records["pairing"])
    rows = list(csv.reader(io.StringIO(render_csv(report).decode("utf-8-sig"))))
    title = next(i for i, row in enumerate(rows) if row and row[0].endswith("村(社区)统计数据") and "、" in row[0])
    assert ["截至该日未登记统计数据"] in rows[title:]


def test_a_report_stored_before_statistics_existed_renders_as_it_was(q1_report):
    del q1_report.data["village_statistics"]
    rows = list(csv.reader(io.StringIO(render_csv(q1_report).decode("utf-8-sig"))))
    assert not any("统计数据" in cell for row in rows for cell in row)
