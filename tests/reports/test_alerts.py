"""Alerts in the monthly reminder (一月一提示): dormant pairings and agreements ending within 60 days, as at the
report's day, in every format; the same rules as the pairing page's warnings and the daily notices."""

import datetime
import io

import docx
import openpyxl
import pytest

from pairings.selectors import agreements_expiring, pairings_dormant
from reports.builders import build_pairing_reports, build_report_data
from reports.models import Report
from reports.periods import TZ
from reports.renderers.csv import render_csv
from reports.renderers.docx import render_docx
from django.template.loader import render_to_string

from reports.renderers.html import html_context
from reports.renderers.xlsx import render_xlsx
from tests import factories as f

pytestmark = pytest.mark.django_db
NOW = datetime.datetime(2025, 11, 20, 12, tzinfo=TZ)  # the world's pairing: no activity, its term ends 2025-12-31


def report_of(world, pairing=None, kind="monthly", period="2025-11"):
    data = build_report_data(kind, period, world["program"], pairing, now=NOW)
    return Report(kind=kind, period=period, program=world["program"], pairing=pairing, data=data, version=1)


def test_the_reminder_lists_dormant_and_ending_pairings(world):
    report = report_of(world, world["pairing"])
    assert [(a["code"], a["day"]) for a in report.data["alerts"]] == [("dormant", None), ("ending", "2025-12-31")]
    today = NOW.date()
    assert world["pairing"] in pairings_dormant(today) and world["pairing"] in agreements_expiring(today)  # the notices agree
    program = report_of(world)
    assert {a["pairing_id"] for a in program.data["alerts"]} == {world["pairing"].pk}
    assert report_of(world, world["pairing"], "quarterly", "2025Q4").data["alerts"] is None


def test_an_activity_within_60_days_ends_the_dormancy(world):
    f.ActivityFactory(pairing=world["pairing"], branch=world["branch"], status="submitted", submitted_at=NOW,
                      date=datetime.date(2025, 10, 1))
    f.ActivityFactory(pairing=world["pairing"], branch=world["branch"], status="draft", date=datetime.date(2025, 11, 1))
    alerts = report_of(world, world["pairing"]).data["alerts"]
    assert [a["code"] for a in alerts] == ["ending"]  # the draft does not count, the submitted one does


def test_a_batch_gives_the_same_alerts(world):
    alone = report_of(world, world["pairing"]).data["alerts"]
    batch = build_pairing_reports("monthly", "2025-11", world["program"], [world["pairing"]], now=NOW)
    assert batch[world["pairing"].pk]["alerts"] == alone


def test_every_format_shows_the_alerts(world):
    report = report_of(world)
    page = render_to_string("reports/_document.html", html_context(report))
    assert "结对预警" in page and "协议即将到期" in page
    assert "协议即将到期" in render_csv(report).decode("utf-8-sig")
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(render_docx(report))).paragraphs)
    tables = "\n".join(c.text for t in docx.Document(io.BytesIO(render_docx(report))).tables for r in t.rows for c in r.cells)
    assert "结对预警" in text and "长期未开展活动" in tables
    book = openpyxl.load_workbook(io.BytesIO(render_xlsx(report)))
    cells = [str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value]
    assert any("协议即将到期" in c for c in cells)
