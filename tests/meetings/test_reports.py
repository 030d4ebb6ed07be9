"""The joint meetings in the reports: the monthly reminder lists the pairing's decisions open at its end (overdue
first), the quarterly report the last meeting's decisions and what became of each, both as they stood at the
period's end: a decision closed or reopened later does not rewrite a past period's report. Every format shows them;
a batch of pairing reports gives each the same as alone."""

import csv
import datetime
import io

import docx
import openpyxl
import pytest
import time_machine
from django.template.loader import render_to_string

from activities import services
from activities.models import ActionItem
from reports.builders import build_pairing_reports, build_report_data
from reports.models import Report
from reports.periods import TZ
from reports.renderers.base import document
from reports.renderers.csv import render_csv
from reports.renderers.docx import render_docx
from reports.renderers.html import html_context
from reports.renderers.xlsx import render_xlsx
from tests.meetings.conftest import attendees, fields, items
from tests.pairings.helpers import activity

pytestmark = pytest.mark.django_db
AFTER = datetime.datetime(2024, 10, 8, 9, tzinfo=TZ)  # every period below has ended


def at(year, month, day, hour=10):
    return time_machine.travel(datetime.datetime(year, month, day, hour, tzinfo=TZ), tick=False)


def build(world, kind, period, pairing="pairing", now=AFTER):
    return build_report_data(kind, period, world["program"], world[pairing] if pairing else None, now=now)


def texts(rows):
    return [row["text"] for row in rows]


@pytest.fixture
def history(world, meeting):
    """The branch's decision (due 03-31) done on 04-15 with an activity, reopened on 07-10; the village's (due
    06-30) dropped on 07-05."""
    mine, theirs = items(meeting)[world["branch"].pk], items(meeting)[world["village"].pk]
    done_by = activity(world["pairing"], world["branch"], date=datetime.date(2024, 4, 12), title="小电匠进村维修")
    with at(2024, 4, 15):
        services.action_item_close(item=mine, status="done", activity=done_by, actor=world["users"]["secretary"])
    with at(2024, 7, 5):
        services.action_item_close(item=theirs, status="dropped", note="需求已由街道解决", actor=world["users"]["village"])
    with at(2024, 7, 10):
        services.action_item_reopen(item=mine, actor=world["users"]["admin"])
    return {"mine": mine, "theirs": theirs}


def test_the_monthly_reminder_lists_the_decisions_open_at_the_months_end(world, history):
    march = build(world, "monthly", "2024-03")["meetings"]
    # both open at the end of March; the branch's, due on 03-31, overdue in a past month's report
    assert texts(march["open_items"]) == ["第三党支部牵头组织“小电匠”进村维修", "村委会摸排独居老人需求清单"]
    assert [row["overdue"] for row in march["open_items"]] == [True, False] and march["overdue"] == 1
    april = build(world, "monthly", "2024-04")["meetings"]
    assert texts(april["open_items"]) == ["村委会摸排独居老人需求清单"]  # the branch's was done on 04-15
    july = build(world, "monthly", "2024-07")["meetings"]
    assert texts(july["open_items"]) == ["第三党支部牵头组织“小电匠”进村维修"]  # reopened; the village's dropped


def test_the_running_month_stands_at_the_build(world, meeting):
    with at(2024, 3, 31):
        data = build_report_data("monthly", "2024-03", world["program"], world["pairing"])["meetings"]
    assert [row["overdue"] for row in data["open_items"]] == [False, False]  # due today is not overdue yet


def test_the_quarterly_report_says_what_became_of_the_last_meetings_decisions_as_at_its_end(world, history):
    q1 = build(world, "quarterly", "2024Q1")["meetings"]
    assert q1["last_meeting"]["date"] == "2024-03-10"
    assert [(row["status"], row["overdue"]) for row in q1["decisions"]] == [("open", True), ("open", False)]
    q2 = build(world, "quarterly", "2024Q2")["meetings"]
    mine, theirs = q2["decisions"]
    # done on 04-15 and reopened on 07-10: done as the second quarter ended
    assert (mine["status"], mine["closed_on"], mine["activity"]) == ("done", "2024-04-15", "2024-04-12 小电匠进村维修")
    # dropped on 07-05, after the quarter: open (and due 06-30: overdue) at its end
    assert (theirs["status"], theirs["overdue"], theirs["note"]) == ("open", True, "")
    q3 = build(world, "quarterly", "2024Q3")["meetings"]
    assert [row["status"] for row in q3["decisions"]] == ["open", "dropped"]
    assert q3["decisions"][1]["note"] == "需求已由街道解决"


def test_a_later_meeting_becomes_the_last_one(world, meeting):
    later = services.meeting_create(
        actor=world["users"]["admin"], program=world["program"], pairing=world["pairing"],
        fields=fields(date=datetime.date(2024, 5, 20), title="第二季度联席会议"), attendees=attendees(world),
        decisions=[services.DecisionEntry(text="暑期艺术课堂", owner_org=world["branch"], due_date=datetime.date(2024, 7, 31))],
    )
    q2 = build(world, "quarterly", "2024Q2")["meetings"]
    assert q2["last_meeting"]["id"] == later.pk and texts(q2["decisions"]) == ["暑期艺术课堂"]
    # the first meeting's decisions still open are listed apart
    assert set(texts(q2["open_items"])) == {"暑期艺术课堂", "第三党支部牵头组织“小电匠”进村维修", "村委会摸排独居老人需求清单"}
    q1 = build(world, "quarterly", "2024Q1")["meetings"]
    assert q1["last_meeting"]["id"] == meeting.pk  # a meeting after the quarter is not its last


def test_rows_written_without_history_are_read_by_their_closing_time(world, meeting):
    mine = items(meeting)[world["branch"].pk]
    ActionItem.history.all().delete()
    ActionItem.objects.filter(pk=mine.pk).update(
        status="done", note="已完成", closed_at=datetime.datetime(2024, 4, 15, 10, tzinfo=TZ)
    )
    assert build(world, "quarterly", "2024Q1")["meetings"]["decisions"][0]["status"] == "open"
    assert build(world, "quarterly", "2024Q2")["meetings"]["decisions"][0]["status"] == "done"


def test_other_pairings_and_annual_reports(world, meeting):
    other = build_report_data("monthly", "2024-03", world["other_program"], world["other_pairing"], now=AFTER)["meetings"]
    assert other == {"open_items": [], "overdue": 0, "last_meeting": None, "decisions": []}
    assert build(world, "annual", "2024")["meetings"] is None


def test_the_program_report_lists_every_pairings_open_decisions_and_the_last_program_wide_meeting(world, meeting):
    wide = services.meeting_create(
        actor=world["users"]["admin"], program=world["program"], pairing=None,
        fields=fields(date=datetime.date(2024, 3, 20), title="全项目推进会"),
        attendees=[services.AttendeeEntry(side="other", name="项目办主任")],
        decisions=[services.DecisionEntry(text="各结对报送季度材料", owner_org=world["office"], due_date=datetime.date(2024, 4, 10))],
    )
    data = build(world, "quarterly", "2024Q1", pairing=None)
    assert data["meetings"]["last_meeting"]["id"] == wide.pk and texts(data["meetings"]["decisions"]) == ["各结对报送季度材料"]
    assert {row["pairing"] for row in data["meetings"]["open_items"]} == {"", str(world["pairing"])}
    doc = document(Report(kind="quarterly", data=data, notes="", status="draft", version=1))
    section = next(s for s in doc.sections if s.key == "meetings")
    earlier = next(t for t in section.tables if t.key == "earlier_open_decisions")
    assert earlier.columns[0] == "结对" and {row[0] for row in earlier.rows} == {str(world["pairing"])}
    monthly = build(world, "monthly", "2024-03", pairing=None)["meetings"]
    assert len(monthly["open_items"]) == 3


def test_a_batch_gives_each_pairing_what_it_gets_alone(world, history):
    from tests import factories as f

    second = f.PairingFactory(program=world["program"], supporter=world["school"])
    f.PairingBranchFactory(pairing=second, branch=world["other_branch"])
    services.meeting_create(
        actor=world["users"]["admin"], program=world["program"], pairing=second, fields=fields(date=datetime.date(2024, 2, 1)),
        attendees=[services.AttendeeEntry(side="supporter", name="甲"), services.AttendeeEntry(side="supported", name="乙")],
        decisions=[services.DecisionEntry(text="第二结对事项", owner_org=second.supported, due_date=datetime.date(2024, 5, 1))],
    )
    for kind, period in (("monthly", "2024-04"), ("quarterly", "2024Q2")):
        batch = build_pairing_reports(kind, period, world["program"], [world["pairing"], second], now=AFTER)
        assert batch[world["pairing"].pk] == build(world, kind, period)
        assert batch[second.pk] == build_report_data(kind, period, world["program"], second, now=AFTER)
        assert texts(batch[second.pk]["meetings"]["open_items"]) == ["第二结对事项"]


@pytest.fixture
def reports(world, history):
    def made(kind, period):
        return Report.objects.create(
            kind=kind, period=period, program=world["program"], pairing=world["pairing"], data=build(world, kind, period)
        )
    return made("monthly", "2024-03"), made("quarterly", "2024Q2")


def test_every_format_shows_them(reports):
    monthly, quarterly = reports
    for report, words in ((monthly, ["联席会议决定事项提示", "第三党支部牵头组织“小电匠”进村维修", "逾期未完成"]),
                          (quarterly, ["联席会议决定事项落实情况", "上次会议决定事项落实情况", "2024-04-12 小电匠进村维修", "已完成"])):
        html = render_to_string("reports/_document.html", html_context(report))
        word = "\n".join(p.text for p in docx.Document(io.BytesIO(render_docx(report))).paragraphs)
        word += "\n".join(cell.text for table in docx.Document(io.BytesIO(render_docx(report))).tables for row in table.rows for cell in row.cells)
        book = openpyxl.load_workbook(io.BytesIO(render_xlsx(report)), read_only=True)
        sheets = "\n".join(str(cell) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for cell in row if cell)
        rows = "\n".join(cell for row in csv.reader(io.StringIO(render_csv(report).decode("utf-8-sig"))) for cell in row)
        for text in words:
            for name, rendered in (("html", html), ("docx", word), ("xlsx", sheets), ("csv", rows)):
                assert text in rendered, (report.kind, name, text)


def test_a_report_built_before_meetings_were_recorded_still_renders(reports):
    monthly, _ = reports
    del monthly.data["meetings"]
    assert not [s for s in document(monthly).sections if s.key == "meetings"]
