"""Program-wide activities (no pairing: a branch's work for the program that serves no paired village) in the
reports: a program's report counts them in its totals and lists them in a 不针对结对村 row, a pairing's report
never does, and every surface agrees figure by figure: the program dashboard (the rollup), the report's data, its
HTML document, its XLSX and CSV cells, the activity list's export under the report's links, and the annual
export's ledger."""

import csv
import datetime
import io
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import openpyxl
import pytest
from django.urls import reverse
from django.utils.translation import gettext as _

from activities.models import ServiceRecord
from activities.selectors import program_wide_label
from figures import rollups
from figures.models import ProgramMonth, ProgramMonthMetric
from reports.builders import build_report_data
from reports.exports import write_export
from reports.generation import report_generate
from reports.periods import TZ, parse
from reports.renderers.base import document, linker
from reports.renderers.csv import render_csv
from reports.renderers.xlsx import render_xlsx
from tests import factories as f
from tests.reports.conftest import activity, at

VERIFIED = "Verified volunteer hours (hours)"
WIDE = "不针对结对村"


@pytest.fixture
def wide(records):
    """The program's program-wide activities beside the pairing's March: w1 (confirmed, March, co-hosted, figures,
    verified and pending hours), w2 (submitted, February), and a draft that never counts."""
    program, branch, other = records["program"], records["branch"], records["other_branch"]
    metrics = records["metrics"]
    w1 = activity(None, branch, "2024-03-08", program=program, title="小电匠进镇街服务日", party_members=2, residents_served=30)
    w1.co_branches.add(other)
    f.ActivityMetricValueFactory(activity=w1, metric=metrics["repairs"], value=Decimal("20"))
    f.ActivityMetricValueFactory(activity=w1, metric=metrics["visits"], value=Decimal("30"))
    f.ActivityMetricValueFactory(activity=w1, metric=metrics["income"], value=Decimal("99999"))  # never added across
    repairer = f.VolunteerFactory(organization=branch, name="小电匠甲")
    f.ServiceRecordFactory(activity=w1, volunteer=repairer, hours=Decimal("2.5"), status=ServiceRecord.Status.VERIFIED,
                           verified_at=at("2024-03-09 10:00"))
    helper = f.VolunteerFactory(organization=other, name="小电匠乙")
    f.ServiceRecordFactory(activity=w1, volunteer=helper, hours=Decimal("1.0"))  # pending
    w2 = activity(None, other, "2024-02-10", status="submitted", program=program, residents_served=7)
    f.ActivityMetricValueFactory(activity=w2, metric=metrics["repairs"], value=Decimal("5"))
    draft = activity(None, branch, "2024-03-09", status="draft", program=program)
    f.ActivityMetricValueFactory(activity=draft, metric=metrics["repairs"], value=Decimal("1000"))
    rollups.rollups_rebuild()
    return {"w1": w1, "w2": w2, "draft": draft}


KINDS = [("monthly", "2024-03"), ("quarterly", "2024Q1"), ("annual", "2024")]
BUILDS = {
    "during": lambda kind: dict(now=datetime.datetime(2024, 3 if kind != "annual" else 12, 31, 12, tzinfo=TZ)),
    "after": lambda kind: {},  # today: a past period, read as it stood at its end
    "raw": lambda kind: dict(raw=True),
}


def dashboard_period(client, records, period):
    """The program dashboard's figures over the period's months (its month cells: ProgramMonth), and its year's
    cards and metric totals, as the page shows them."""
    client.force_login(records["users"]["admin"])
    response = client.get(reverse("dashboards:program_dashboard", args=[records["program"].pk]), {"year": 2024})
    assert response.status_code == 200
    context = response.context
    months = ProgramMonth.objects.filter(program=records["program"], month__gte=period.start, month__lte=period.end)
    metrics = ProgramMonthMetric.objects.filter(program=records["program"], month__gte=period.start, month__lte=period.end)
    cells = [m["this"] for m in context["months"][period.start.month - 1:period.end.month]]
    assert sum(c.activities for c in cells if c) == sum(m.activities for m in months)
    totals = {
        "activities": sum(m.activities for m in months),
        "confirmed": sum(m.confirmed for m in months),
        "residents_served": sum(m.residents_served for m in months),
        "verified_hours": sum((m.verified_hours for m in months), Decimal(0)),
        "metrics": {},
    }
    for row in metrics:
        totals["metrics"][row.metric_id] = totals["metrics"].get(row.metric_id, Decimal(0)) + row.total
    year = {
        "activities": context["totals"]["activities"].value, "confirmed": context["totals"]["confirmed"].value,
        "residents_served": context["totals"]["people"].value, "verified_hours": context["totals"]["hours"].value,
        "metrics": {metric.pk: change.value for metric, change in context["metrics"]},
    }
    return totals, year


def test_a_program_report_counts_them_and_a_pairing_report_never(records, wide):
    program, pairing = records["program"], records["pairing"]
    data = build_report_data("monthly", "2024-03", program)
    pairing_data = build_report_data("monthly", "2024-03", program, pairing)
    # the pairing's March: a1, a2, a3; the program's adds w1 (w2 is February's, the draft never counts)
    assert pairing_data["activities"]["total"] == 3 and data["activities"]["total"] == 4
    assert wide["w1"].pk in {item["id"] for item in data["activities"]["items"]}
    assert wide["w1"].pk not in {item["id"] for item in pairing_data["activities"]["items"]}
    assert pairing_data.get("program_wide") is None
    row = data["program_wide"]
    assert row["pairing"]["id"] is None
    assert (row["activities"], row["confirmed"], row["verified_hours"], row["volunteers"]) == (1, 1, 2.5, 1)
    assert row["metrics"] == {"repairs": 20, "visits": 30, "income": 99999}
    # the program's totals: the pairings' rows and the program-wide row added up
    rows = data["pairing_rows"] + [row]
    assert data["totals"]["activities"] == sum(r["activities"] for r in rows) == 4
    assert data["totals"]["verified_hours"] == sum(r["verified_hours"] for r in rows) == 9.5
    assert data["totals"]["metrics"]["repairs"] == sum(r["metrics"]["repairs"] for r in rows) == 31.5
    assert data["totals"]["metrics"]["income"] is None  # a snapshot is never taken across pairings and them
    assert data["volunteers"]["volunteers"] == 3  # 人: the two of the pairing and the repairer, each once
    assert data["volunteers"]["pending_hours"] == 5.0  # 4.0 on a2, 1.0 on w1
    # the host branch and the co-host are credited; the year to date holds February's program-wide w2
    by_branch = {r["key"]: r["total"] for r in data["activities"]["by_branch"]}
    assert by_branch[records["branch"].pk] == 3 and by_branch[records["other_branch"].pk] == 3
    assert next(m for m in data["metrics"] if m["code"] == "repairs")["ytd_value"] == 7 + 11.5 + 20 + 5
    # the February report has the row of w2 alone; a month without any has none
    assert build_report_data("monthly", "2024-02", program)["program_wide"]["activities"] == 1
    assert build_report_data("monthly", "2024-04", program)["program_wide"] is None


@pytest.mark.parametrize("build", list(BUILDS))
@pytest.mark.parametrize("kind, period", KINDS)
def test_one_truth_dashboard_report_and_activity_export(client, records, wide, kind, period, build):
    program = records["program"]
    data = build_report_data(kind, period, program, **BUILDS[build](kind))
    assert data["program_wide"] is not None
    by_period, by_year = dashboard_period(client, records, parse(period))
    figures = {
        "activities": data["activities"]["total"],
        "confirmed": data["activities"]["confirmed"],
        "residents_served": data["activities"]["participants"]["residents_served"],
        "verified_hours": Decimal(str(data["volunteers"]["verified_hours"])),
    }
    sums = {m["id"]: m for m in data["metrics"] if m["aggregation"] == "sum"}
    assert figures == {name: by_period[name] for name in figures}
    for metric_id, metric in sums.items():
        assert Decimal(str(metric["period_value"])) == by_period["metrics"].get(metric_id, 0), metric["code"]
    if kind == "annual":
        assert figures == {name: by_year[name] for name in figures}
        assert {i: Decimal(str(m["ytd_value"])) for i, m in sums.items()} == by_year["metrics"]
    else:
        # the months of the year to date, the report's and the dashboard's cells
        for month in data["activities"]["by_month"]:
            rolled = ProgramMonth.objects.filter(program=program, month=parse(month["month"]).start).first()
            assert month["total"] == (rolled.activities if rolled else 0), month["month"]

    # the activity list's export under the report's own links: the totals row's and the 不针对结对村 row's
    link = linker(data)
    client.force_login(records["users"]["admin"])
    expected = {None: data["totals"], "wide": data["program_wide"]}
    for scope, row in expected.items():
        wide_scope = scope == "wide"
        records_ = export(client, link(pairing_id=None, wide=wide_scope))
        assert len(records_) == row["activities"], scope
        assert sum(cell(r[_(VERIFIED)]) for r in records_) == Decimal(str(row["verified_hours"])), scope
        verified_only = export(client, link(pairing_id=None, wide=wide_scope, verified_hours=True))
        assert sum(cell(r[_(VERIFIED)]) for r in verified_only) == Decimal(str(row["verified_hours"])), scope
        for metric_id, metric in sums.items():
            column = next(name for name in records_[0] if name.endswith(f"{metric['name']}({metric['unit']})"))
            carrying = export(client, link(pairing_id=None, wide=wide_scope, metric_id=metric_id))
            value = row["metrics"][metric["code"]]
            assert sum(cell(r[column]) for r in carrying) == Decimal(str(value)), (scope, metric["code"])
    assert all(program_wide_label() in r[_("Pairing")] for r in export(client, link(pairing_id=None, wide=True)))


def export(client, url):
    response = client.get(reverse("activities:export"), parse_qsl(urlsplit(url).query))
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8")
    header, *rows = list(csv.reader(io.StringIO(body[1:])))
    return [dict(zip(header, row)) for row in rows]


def cell(text):
    return Decimal(0) if text == "" else Decimal(text)


def table_rows(rows, first):
    """The table rows (not headings) whose first cell is ``first``."""
    return [row for row in rows if len(row) > 4 and row[0] == first and row[1] not in (None, "")]


@pytest.mark.parametrize("kind, period", KINDS)
def test_xlsx_csv_and_html_cells(client, records, wide, kind, period):
    report, _created = report_generate(kind=kind, period=period, program=records["program"])
    data = report.data
    client.force_login(records["users"]["admin"])
    page = client.get(reverse("reports:report_detail", args=[report.pk])).content.decode()
    assert WIDE in page and "program_wide=on" in page
    expected_wide = [1 if kind == "monthly" else 2, 1, 2.5, 1]  # activities, confirmed, hours, volunteers
    totals = data["totals"]
    expected_total = [totals["activities"], totals["confirmed"], totals["verified_hours"], totals["volunteers"]]
    # the HTML document: the pairings' table has the 不针对结对村 row before the totals, each linked
    doc = document(report)
    table = next(t for s in doc.sections for t in s.tables if t.key == "pairings")
    labels = [row[0] for row in table.rows]
    assert labels[-2:] == [WIDE, "合计"]
    assert table.rows[-2][1:5] == expected_wide and table.rows[-1][1:5] == expected_total
    assert "program_wide=on" in table.links[-2][1] and "program_wide" not in table.links[-1][1]
    items = next((t for s in doc.sections for t in s.tables if t.key == "activities"), None)
    if items is not None:
        assert [row[1] for row in items.rows if row[2] == "小电匠进镇街服务日"] == [WIDE]
    if kind == "annual":
        assert WIDE in [name for name, _sections in doc.details]
    # CSV
    rows = list(csv.reader(io.StringIO(render_csv(report).decode("utf-8")[1:])))
    assert [r[1:5] for r in table_rows(rows, WIDE)] == [[str(v) for v in expected_wide]]
    assert [str(v) for v in expected_total] in [r[1:5] for r in table_rows(rows, "合计")]
    # XLSX: numbers stay numbers
    workbook = openpyxl.load_workbook(io.BytesIO(render_xlsx(report)))
    cells = [[c.value for c in row] for ws in workbook for row in ws.iter_rows()]
    assert [r[1:5] for r in table_rows(cells, WIDE)] == [expected_wide]
    assert expected_total in [r[1:5] for r in table_rows(cells, "合计")]


def test_the_annual_export_ledger_lists_them_last(records, wide, tmp_path):
    paths, done = write_export(records["program"], 2024, tmp_path)
    data = build_report_data("annual", "2024", records["program"], itemized=False)
    assert done == data["activities"]["total"] == 6  # a0..a3, w1, w2
    rows = list(csv.reader(io.StringIO(paths["csv"].read_text(encoding="utf-8")[1:])))
    pairings = [row[0] for row in rows[1:]]
    assert pairings[-2:] == [WIDE, WIDE] and WIDE not in pairings[:-2]
    workbook = openpyxl.load_workbook(paths["xlsx"], read_only=True)
    assert f"台账·{WIDE}" in workbook.sheetnames
