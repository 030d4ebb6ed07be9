"""The annual export: the ledger of a whole program-year is one query whatever its size; the workbook keeps
its summary, section sheets, charts and one ledger sheet per pairing (in the summary's order), and the CSV
the same rows; text a user typed stays text in both files; progress is saved as it goes."""

import csv
import datetime
import io
import zipfile
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pairings.models import Metric
from portal.models import Organization
from reports import exports
from reports.models import AnnualExport
from tests import factories as f
from tests.reports.conftest import activity

pytestmark = pytest.mark.django_db

LEDGER_TABLE = '"activities_activity"."title"'  # only the ledger reads the activities' titles


def ledger_queries(captured):
    return [q["sql"] for q in captured.captured_queries if LEDGER_TABLE in q["sql"]]


@pytest.fixture
def second_pairing(records):
    """A second pairing of the program whose school sorts first ("A" before "学"), with two activities on one day."""
    school = f.OrganizationFactory(name="A城学院", kind=Organization.Kind.SCHOOL)
    branch = f.OrganizationFactory(name="阿城第一党支部", short_name="阿一支部", kind=Organization.Kind.BRANCH, parent=school)
    pairing = f.PairingFactory(program=records["program"], supporter=school, supported=f.OrganizationFactory(name="东坑村"))
    f.PairingBranchFactory(pairing=pairing, branch=branch)
    first = activity(pairing, branch, "2024-06-01", title="义诊")
    second = activity(pairing, branch, "2024-06-01", title="=HYPERLINK(\"http://x\")", place="@村委", status="submitted")
    f.ActivityMetricValueFactory(activity=second, metric=records["metrics"]["visits"], value=Decimal("12.50"))
    return {"pairing": pairing, "branch": branch, "first": first, "second": second}


def write(records, folder, **kwargs):
    folder.mkdir(exist_ok=True)
    with CaptureQueriesContext(connection) as captured:
        paths, rows = exports.write_export(records["program"], 2024, folder, **kwargs)
    return paths, rows, captured


def test_the_ledger_is_one_query_per_file_whatever_its_size(records, second_pairing, tmp_path):
    # on PostgreSQL the CSV is written first by COPY, without waiting for the summary, and the workbook's ledger
    # sheets read the ledger again; elsewhere one pass writes both
    per_pass = 2 if connection.vendor == "postgresql" else 1
    paths, rows, captured = write(records, tmp_path / "small", formats=("xlsx", "csv"))
    assert rows == 6
    assert len(ledger_queries(captured)) == per_pass
    small = len(captured.captured_queries)
    for i in range(30):
        a = activity(second_pairing["pairing"], second_pairing["branch"], f"2024-07-{i % 28 + 1:02d}")
        a.co_branches.add(records["branch"])
        f.ActivityMetricValueFactory(activity=a, metric=records["metrics"]["repairs"], value=Decimal(i))
        f.ServiceRecordFactory(activity=a, volunteer=f.VolunteerFactory(organization=second_pairing["branch"]),
                               hours=Decimal("1.5"), status="verified", verified_at=a.confirmed_at)
    paths, rows, captured = write(records, tmp_path / "large", formats=("xlsx", "csv"))
    assert rows == 36
    assert len(ledger_queries(captured)) == per_pass
    assert len(captured.captured_queries) == small  # the summary is added up by the database too
    # the CSV alone: on PostgreSQL its rows written by the database (COPY), still one query
    paths, rows, captured = write(records, tmp_path / "csv", formats=("csv",))
    assert rows == 36 and len(ledger_queries(captured)) == 1


def test_workbook_and_csv(records, second_pairing, tmp_path):
    paths, rows, _ = write(records, tmp_path / "x")
    book = openpyxl.load_workbook(paths["xlsx"])
    ledgers = [name for name in book.sheetnames if name.startswith("台账")]
    # the summary, section sheets and the chart sheet come first, then one ledger sheet per pairing
    assert book.sheetnames[0] == "概况" and "图表" in book.sheetnames
    assert book.sheetnames.index("图表") < book.sheetnames.index(ledgers[0])
    assert len(book["图表"]._charts) == 3
    assert ledgers == ["台账·" + str(second_pairing["pairing"])[:28], "台账·" + str(records["pairing"])[:28]]

    first = list(book[ledgers[0]].iter_rows(values_only=True))
    assert first[0][0] == f"{second_pairing['pairing']} 2024年活动台账"
    header = first[1]
    assert header[:4] == ("日期", "活动", "主办支部", "联合支部") and header[-3:] == ("维修家电(件)", "成效指标·服务群众(人次)", "人均纯收入(元)")
    assert len(set(header)) == len(header)  # no two columns read the same
    assert header[11:13] == ("已核验志愿服务时长(小时)", "待核验志愿服务时长(小时)")
    # same day: by id; text a user typed stays text (openpyxl reads formulas as "=..." strings of type 'f')
    assert [row[1] for row in first[2:]] == ["义诊", "=HYPERLINK(\"http://x\")"]
    assert book[ledgers[0]]["B4"].data_type == "s"
    assert first[3][2] == "阿一支部" and first[3][5] == "已提交" and first[3][6] == "@村委"
    assert first[3][-2] == 12.5 and first[3][-1] is None and first[3][11:13] == (0, 0)

    second = list(book[ledgers[1]].iter_rows(values_only=True))
    a1 = next(row for row in second if row[1] == records["activities"]["a1"].title)
    # a date (shown yyyy-mm-dd); the co-host (not the host again); verified hours, none pending
    assert a1[0] == datetime.datetime(2024, 3, 5) and a1[3] == "第四党支部" and a1[11:13] == (5.5, 0)
    assert book[ledgers[1]].cell(row=2 + second[2:].index(a1) + 1, column=1).number_format == "yyyy-mm-dd"
    assert a1[-3:] == (9, 40, 16861)
    a2 = next(row for row in second if row[1] == records["activities"]["a2"].title)
    assert a2[11:13] == (0, 4) and a2[-3:] == (2.5, None, None)  # recorded hours are pending, not verified

    with open(paths["csv"], encoding="utf-8-sig", newline="") as handle:
        table = list(csv.reader(handle))
    assert table[0][0] == "结对" and table[0][1:] == list(header)
    assert len(table) == 1 + rows == 7
    assert [row[0] for row in table[1:]] == [str(second_pairing["pairing"])] * 2 + [str(records["pairing"])] * 4
    formula = table[2]
    assert formula[2] == "'=HYPERLINK(\"http://x\")" and formula[7] == "'@村委"
    assert formula[12:14] == ["0", "0"] and formula[-3:] == ["", "12.5", ""]
    by_title = {row[2]: row for row in table[1:]}
    assert by_title[records["activities"]["a1"].title][12:] == ["5.5", "0", "9", "40", "16861"]
    assert by_title[records["activities"]["a2"].title][12:] == ["0", "4", "2.5", "", ""]
    # the CSV rows are the workbook's rows (text that could run as a formula carries a leading ' in the CSV)
    def plain(cell):
        return cell[1:] if cell[:1] == "'" and cell[1:2] in "=+-@" else cell

    def shown(cell):
        if cell is None:
            return ""
        if isinstance(cell, datetime.datetime):
            return cell.date().isoformat()
        return f"{cell:g}" if isinstance(cell, (int, float)) else cell

    assert [[plain(cell) for cell in row[1:]] for row in table[1:3]] == [[shown(cell) for cell in row] for row in first[2:]]


def test_the_ledger_adds_up_to_the_figures(records, second_pairing, tmp_path):
    """What a user checks in the ledger: per pairing, each sum metric's column adds up to the pairing's figure of the
    year (figures.selectors.metric_totals), the verified hours column to its verified hours, the pending column to
    its hours pending (figures.selectors: the same rules); and the CSV says the same."""
    from django.db.models import Sum

    from activities.models import ServiceRecord
    from figures import rollups
    from figures.selectors import metric_totals, pairing_headline, pending_q

    rollups.rollups_rebuild()
    paths, rows, _ = write(records, tmp_path / "x")
    book = openpyxl.load_workbook(paths["xlsx"])
    with open(paths["csv"], encoding="utf-8-sig", newline="") as handle:
        table = list(csv.reader(handle))
    for pairing in (records["pairing"], second_pairing["pairing"]):
        sheet = list(book["台账·" + str(pairing)[:28]].iter_rows(min_row=2, values_only=True))
        header, body = sheet[0], sheet[1:]
        csv_rows = [row[1:] for row in table[1:] if row[0] == str(pairing)]
        assert len(csv_rows) == len(body) > 0

        def column_sum(title):
            i = header.index(title)
            in_sheet = sum(row[i] for row in body if row[i] is not None)
            in_csv = sum(Decimal(row[i]) for row in csv_rows if row[i] != "")
            assert Decimal(str(in_sheet)) == in_csv
            return in_csv

        for metric in metric_totals(pairing, 2024):
            if metric.aggregation == Metric.Aggregation.SUM:
                title = f"{metric.name}({metric.unit})"
                title = "成效指标·" + title if metric.code == "visits" else title  # beside the people count 服务群众(人次)
                assert column_sum(title) == metric.total, metric.name
        assert column_sum("已核验志愿服务时长(小时)") == pairing_headline(pairing, 2024).volunteer_hours
        pending = ServiceRecord.objects.filter(
            pending_q(""), activity__pairing=pairing, activity__date__year=2024
        ).aggregate(h=Sum("hours"))["h"] or 0
        assert column_sum("待核验志愿服务时长(小时)") == pending
    assert pairing_headline(records["pairing"], 2024).volunteer_hours == Decimal("7.0")  # the records' own


def test_text_that_looks_like_markup_stays_text(records, tmp_path):
    """XlsxWriter's constant_memory mode writes "<r>…</r>" into the sheet unescaped: a title typed like that
    would be markup, even a formula, in the file. It is written as plain text."""
    evil = '<r><t>x</t></r></is></c><c r="B1"><f>1+1</f></c><c r="C1" t="inlineStr"><is><r><t>y</t></r>'
    activity(records["pairing"], records["branch"], "2024-08-01", title=evil[:120], place=evil[:120])
    paths, rows, _ = write(records, tmp_path / "x", formats=("xlsx",))
    with zipfile.ZipFile(paths["xlsx"]) as archive:
        sheets = [archive.read(name).decode() for name in archive.namelist() if name.startswith("xl/worksheets/")]
    assert not any("<f>" in sheet for sheet in sheets)
    book = openpyxl.load_workbook(paths["xlsx"])
    ledger = book[next(name for name in book.sheetnames if name.startswith("台账"))]
    row = next(row for row in ledger.iter_rows(values_only=True) if row[1] == evil[:120])
    assert row[6] == evil[:120]


def test_progress_is_saved_as_the_ledger_is_written(records, second_pairing, tmp_path, monkeypatch):
    monkeypatch.setattr(exports, "PROGRESS_EVERY", 2)
    seen = []
    progress = exports.Progress

    class Watching(progress):
        def __call__(self, done):
            super().__call__(done)
            seen.append(done)

    monkeypatch.setattr(exports, "Progress", Watching)
    export = AnnualExport.objects.create(program=records["program"], year=2024)
    exports.export_run(export_id=export.pk)
    export.refresh_from_db()
    assert seen == [2, 4, 6]
    assert (export.status, export.rows_total, export.rows_done) == ("done", 6, 6)


@pytest.mark.django_db(transaction=True)
def test_progress_is_visible_at_once(records):
    """Progress goes through its own connection on PostgreSQL (the export's is busy streaming): each update
    is committed at once, so the export page sees it while the export runs."""
    export = AnnualExport.objects.create(program=records["program"], year=2024, status="running", rows_total=10)
    progress = exports.Progress(export.pk)
    try:
        progress(7)
        assert AnnualExport.objects.get(pk=export.pk).rows_done == 7
    finally:
        progress.close()


def test_write_ledgers_streams_pairing_by_pairing(records):
    """Rows of one pairing arrive together (the query orders them): a sheet is opened when its pairing's
    first row passes and finished before the next pairing's sheet is opened."""
    import xlsxwriter

    from portal.xlsxsafe import workbook_options
    from reports.renderers.xlsx import Formats, SheetNames

    stream = io.BytesIO()
    book = xlsxwriter.Workbook(stream, workbook_options(in_memory=True))
    opened = []
    rows = [
        (1, datetime.date(2024, 1, d), f"活动{d}", 5, "", 7, "confirmed", "", 0, 0, 0, 0, "0", "0", "")
        for d in (1, 2)
    ] + [(2, datetime.date(2024, 1, 3), "活动3", 5, "5,6", 7, "submitted", "地点", 1, 2, 3, 4, "1.5", "2", "99:1")]
    metrics = [{"id": 99, "name": "植树", "unit": Metric.Unit.PLANTS}]
    names = SheetNames()

    def naming(name):
        opened.append(name)
        return names(name)

    names_of = exports.LedgerNames()
    names_of.organisations, names_of.types = {5: ("第五党支部", "五支部"), 6: ("联合支部", "联合")}, {7: "类型"}
    done = exports.write_ledgers(
        iter(rows), {1: "甲–乙", 2: "丙–丁"}, metrics, 2024, workbook=book, formats=Formats(book), names=naming,
        names_of=names_of,
    )
    book.close()
    assert done == 3 and opened == ["台账·甲–乙", "台账·丙–丁"]
    read = openpyxl.load_workbook(io.BytesIO(stream.getvalue()))
    assert [row[-1] for row in read["台账·丙–丁"].iter_rows(min_row=3, values_only=True)] == [1]
    # the ids read as names: the host's label, the co-hosts' (the host listed again left out), the type
    assert [row[2:5] for row in read["台账·丙–丁"].iter_rows(min_row=3, values_only=True)] == [("五支部", "联合", "类型")]


def test_ledger_rows_written_as_xml_read_back_as_typed(records, tmp_path):
    """The ledger sheets' rows are written as the sheet's XML directly (reports.renderers.xlsx.LedgerSheet): what
    a user typed reads back the same, XML's own characters and spaces around it included; a control character is
    written as XlsxWriter writes it (_x0001_, which Excel reads back as the character)."""
    typed = ' A&B <小组> "引号" 末尾 '
    activity(records["pairing"], records["branch"], "2024-08-02", title=typed, place="\t村委")
    paths, rows, _ = write(records, tmp_path / "x", formats=("xlsx",))
    book = openpyxl.load_workbook(paths["xlsx"])
    ledger = book[next(name for name in book.sheetnames if name.startswith("台账"))]
    row = next(row for row in ledger.iter_rows(min_row=3) if row[1].value and "小组" in row[1].value)
    assert row[1].value == typed and row[6].value == "\t村委"
    assert row[0].value == datetime.datetime(2024, 8, 2) and row[0].number_format == "yyyy-mm-dd"
    assert ledger.max_row == 2 + sum(1 for r in ledger.iter_rows(min_row=3) if r[0].value is not None)
    activity(records["pairing"], records["branch"], "2024-08-03", title="铃\x07声")
    paths, rows, _ = write(records, tmp_path / "y", formats=("xlsx",))
    with zipfile.ZipFile(paths["xlsx"]) as archive:
        assert any("铃_x0007_声" in archive.read(name).decode() for name in archive.namelist() if "worksheets/" in name)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the COPY path is PostgreSQL's; SQLite has the Python one")
@pytest.mark.parametrize("as_at", [None, datetime.date(2024, 12, 31)], ids=["now", "as-at"])
def test_the_csv_by_copy_is_the_csv_python_writes(records, second_pairing, as_at):
    """On PostgreSQL the ledger's CSV rows are written by COPY (exports.copy_ledger, ledger_cells): byte for byte
    what write_ledgers writes in Python, with text a spreadsheet would run, quotes, commas and line breaks, co-hosts
    (the host listed again, names sorting by code point), a short name, a program-wide activity and figures of
    several metrics; now, and as at a past day (the statuses and hours of then)."""
    from portal.db import stream_rows
    from reports import selectors

    program, metrics = records["program"], records["metrics"]
    school = records["pairing"].supporter
    zeta = f.OrganizationFactory(name="Zeta支部", short_name="", kind=Organization.Kind.BRANCH, parent=school)
    alpha = f.OrganizationFactory(name="Alpha支部", short_name="=A", kind=Organization.Kind.BRANCH, parent=school)
    tricky = activity(
        records["pairing"], records["branch"], "2024-05-04", title='说"明", 第一行\r\n第二行', place="+村, 委",
        party_members=3, residents_served=7,
    )
    tricky.co_branches.add(zeta, alpha, records["branch"])
    f.ActivityMetricValueFactory(activity=tricky, metric=metrics["repairs"], value=Decimal("3.50"))
    f.ActivityMetricValueFactory(activity=tricky, metric=metrics["income"], value=Decimal("120"))
    f.ServiceRecordFactory(activity=tricky, volunteer=f.VolunteerFactory(organization=records["branch"]),
                           hours=Decimal("2.5"), status="verified", verified_at=tricky.confirmed_at)
    f.ServiceRecordFactory(activity=tricky, volunteer=f.VolunteerFactory(organization=records["branch"]),
                           hours=Decimal("1"), status="recorded")
    wide = activity(None, records["branch"], "2024-05-06", program=program, title="-全镇", place="")
    wide.co_branches.add(alpha)
    from activities.kept import kept_refresh

    kept_refresh([tricky.pk, wide.pk])
    pairing_names = {second_pairing["pairing"].pk: "@A城学院–东坑村", records["pairing"].pk: str(records["pairing"]),
                     None: "不针对结对村"}
    program_metrics = selectors.program_metrics(program)
    start, end = datetime.date(2024, 1, 1), datetime.date(2024, 12, 31)
    by_python = io.StringIO()
    rows = stream_rows(exports.ledger_query(program, start, end, as_at), as_read=True)
    written = exports.write_ledgers(rows, pairing_names, program_metrics, 2024, csv_stream=by_python)
    by_copy = io.StringIO()
    seen = []
    copied = exports.copy_ledger(program, start, end, as_at, by_copy, pairing_names=pairing_names,
                                 metrics=program_metrics, progress=seen.append)
    assert copied == written == 8
    assert by_copy.getvalue() == by_python.getvalue()
    table = list(csv.reader(io.StringIO(by_copy.getvalue()[1:])))
    row = next(row for row in table if row[2].startswith("说"))
    assert row[2] == '说"明", 第一行\r\n第二行' and row[4] == "'=A、Zeta支部" and row[7] == "'+村, 委"
    assert table[-1][0] == "不针对结对村" and table[-1][2] == "'-全镇"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the COPY path is PostgreSQL's; SQLite has the Python one")
@pytest.mark.django_db(transaction=True)
def test_the_csv_copied_in_parts_is_the_csv_of_one_copy(records, second_pairing, tmp_path):
    """Outside a transaction the ledger is copied in runs of pairings by several connections at once
    (settings.LEDGER_COPY_PARTS): the file is byte for byte the one a single COPY writes, whatever the number of
    parts (more parts than pairings too), the program-wide activity last."""
    from reports import selectors

    program = records["program"]
    wide = activity(None, records["branch"], "2024-05-06", program=program, title="全镇宣讲")
    activity(second_pairing["pairing"], second_pairing["branch"], "2024-05-07", title="东坑村走访")
    from activities.kept import kept_refresh

    kept_refresh([wide.pk])
    names = exports.ledger_pairing_names(program)
    metrics = selectors.program_metrics(program)
    start, end = datetime.date(2024, 1, 1), datetime.date(2024, 12, 31)
    written = {}
    for parts in (1, 2, 3, 5):
        out = io.StringIO()
        rows = exports.copy_ledger(program, start, end, None, out, pairing_names=names, metrics=metrics, parts=parts)
        written[parts] = (rows, out.getvalue())
    assert len(exports.ledger_parts(exports.pairing_order(program), 2)) == 2
    assert written[2] == written[3] == written[5] == written[1]
    table = list(csv.reader(io.StringIO(written[1][1][1:])))
    assert written[1][0] == len(table) - 1 >= 3
    assert {row[0] for row in table[1:]} >= {str(records["pairing"]), str(second_pairing["pairing"])}
    assert table[-1][0] == "不针对结对村" and table[-1][2] == "全镇宣讲"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="snapshots shared between connections are PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_the_parts_of_a_copy_read_one_snapshot(records):
    """A later part, copied by a connection of its own, reads the rows as they stood when the copy began: a
    change committed meanwhile by someone else is in no part of the file."""
    from django.db import DEFAULT_DB_ALIAS, connections

    from activities.models import Activity

    target = Activity.objects.filter(program=records["program"]).order_by("pk").first()
    before = target.title
    out = io.StringIO()
    with exports.ParallelCopy() as parallel:
        other = connections.create_connection(DEFAULT_DB_ALIAS)
        try:
            with other.cursor() as cursor:  # autocommit: committed at once
                cursor.execute("UPDATE activities_activity SET title = %s WHERE id = %s", ["改过的标题", target.pk])
        finally:
            other.close()
        spool = parallel.start(Activity.objects.filter(pk=target.pk).values("title"), None, lambda n: None)
        parallel.append(spool, out)
    assert out.getvalue() == f"{before}\r\n"
    assert Activity.objects.get(pk=target.pk).title == "改过的标题"


def test_a_process_that_writes_no_word_file_does_not_load_python_docx(tmp_path):
    """python-docx and lxml are some 6 MB of a process: a web or worker process loads them when it first writes a
    Word file (a report's, a certificate's, an annual export's), not when it starts, nor to write a workbook."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = (
        "import sys, django; django.setup()\n"
        "from django.urls import resolve; resolve('/')\n"  # the whole URLconf: every view module
        "from portal.celery import app; app.loader.import_default_modules()\n"  # what a worker imports
        "from reports import certificates, exports, report_views\n"
        "print(sorted(m for m in sys.modules if m == 'docx' or m.startswith('docx.')))\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings"}
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", script], cwd=root, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "[]"


def test_the_workbook_written_alone_is_the_workbook_written_with_the_word_file(records, second_pairing, tmp_path):
    # alone, the workbook's summary is built without the part per pairing that only the Word file shows
    both, _, _ = write(records, tmp_path / "both", formats=("xlsx", "docx"))
    alone, _, _ = write(records, tmp_path / "alone", formats=("xlsx",))
    with zipfile.ZipFile(both["xlsx"]) as one, zipfile.ZipFile(alone["xlsx"]) as other:
        assert one.namelist() == other.namelist()
        for name in one.namelist():
            if name != "docProps/core.xml":  # the time it was written
                assert one.read(name) == other.read(name), name
