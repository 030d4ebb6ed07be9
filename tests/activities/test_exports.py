"""The activity list's exports, CSV and XLSX, read back as a user would (csv, openpyxl): one column per metric
whose sum is the figure the pairing page shows, verified and pending hours apart, blanks blank, numbers as numbers
(dates as dates in the workbook), text that could run as a formula neutralised; two queries for the data (the
metric columns, then the rows) whatever the rows and the metrics."""

import csv
import datetime
import io
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import openpyxl
import pytest
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from activities import exports, selectors
from activities.models import Activity, ServiceRecord
from figures import rollups
from figures.selectors import pairing_headline, pending_q, verified_q
from pairings.models import Metric
from tests import factories as f
from tests.activities.test_queries import rich_activities

pytestmark = pytest.mark.django_db

VERIFIED = "Verified volunteer hours (hours)"
PENDING = "Pending volunteer hours (hours)"


def export(client, params=None, fmt="csv"):
    name = "activities:export" if fmt == "csv" else "activities:export_xlsx"
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse(name), params or {})
        chunks = list(response.streaming_content)
    return response, chunks, [q["sql"] for q in captured.captured_queries]


def rows_of(chunks):
    body = b"".join(chunks).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def records_of(chunks):
    header, *rows = rows_of(chunks)
    return [dict(zip(header, row)) for row in rows]


def sheet_of(chunks):
    """The workbook's activity sheet as (header, rows of cells)."""
    book = openpyxl.load_workbook(io.BytesIO(b"".join(chunks)))
    assert book.sheetnames == [_("Activities")]
    ws = book.active
    header = [cell.value for cell in ws[1]]
    return header, [list(row) for row in ws.iter_rows(min_row=2)]


def number(text):
    """A CSV cell a spreadsheet reads as a number (None: blank)."""
    return None if text == "" else Decimal(text)


# The tables an export row is made of: only the two data queries may read them (the metric columns, then the rows;
# the filter's drop-downs read the catalog of activity types, pairings and organisations, never these).
ROW_TABLES = (
    '"activities_activity"', '"activities_activitymetricvalue"', '"activities_servicerecord"',
    '"activities_activityphoto"', '"activities_activity_co_branches"',
)


def reads_activities(sql):
    return any(table in sql for table in ROW_TABLES)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_two_data_queries_whatever_the_rows_and_the_metrics(client, kit, fmt):
    """Besides the session, the user and the scope (memberships and the organisation tree), the export runs two
    queries: the metric columns (the metrics of the programs present), then the activities with their hours,
    photo counts and each metric's value (subqueries of that one query). The same queries at 1 row and 2
    metrics as at 50 rows and 7 metrics."""
    counts = []
    for added, rows, metrics in ((1, 1, 0), (49, 50, 5)):
        rich_activities(kit, added)
        for i in range(metrics):
            metric = f.MetricFactory(program=kit["program"], code=f"m{i}", name=f"指标{i}", unit=Metric.Unit.ITEMS)
            for activity in Activity.objects.filter(pairing=kit["pairing"])[:3]:
                f.ActivityMetricValueFactory(activity=activity, metric=metric, value=i)
        client.force_login(kit["users"]["secretary"])
        response, chunks, queries = export(client, fmt=fmt)
        assert response.status_code == 200
        if fmt == "csv":
            header, *data = rows_of(chunks)
        else:
            header, data = sheet_of(chunks)
        assert len(data) == rows
        assert len([column for column in header if column.endswith("(件)") or column.endswith("(元)")]) == 2 + metrics
        data_queries = [sql for sql in queries if reads_activities(sql)]
        assert len(data_queries) == 2, data_queries
        assert '"pairings_metric"' in data_queries[0]
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_filtered_export_reads_the_activities_twice(client, kit):
    """Filtered by pairing, branch, type and dates (the list's FilterSet): still the same two data queries."""
    rich_activities(kit, 3)
    f.ActivityFactory(pairing=kit["pairing"], branch=kit["other_branch"], date=datetime.date(2024, 1, 2))
    client.force_login(kit["users"]["secretary"])
    response, chunks, queries = export(
        client,
        {"pairing": kit["pairing"].pk, "branch": kit["branch"].pk, "activity_type": kit["type"].pk,
         "date_from": "2024-01-02", "date_to": "2024-01-31"},
    )
    assert [row[0] for row in rows_of(chunks)[1:]] == ["2024-01-03", "2024-01-02"]
    assert sum(reads_activities(sql) for sql in queries) == 2


def test_rows_are_written_in_blocks(kit):
    """Many rows per chunk, not one chunk per row; a block is cut once it passes the block size."""
    rich_activities(kit, 30)
    activities = selectors.activity_export(kit["users"]["secretary"])
    metrics = selectors.export_metrics(activities)
    qs = selectors.export_rows(activities, metrics)
    chunks = list(exports.csv_blocks(qs, metrics))
    assert len(chunks) == 1  # 30 rows fit in one 64 KB block
    small = list(exports.csv_blocks(qs, metrics, block_bytes=300))
    assert 2 < len(small) < 31
    assert all(len(chunk.encode()) >= 300 for chunk in small[:-1])
    assert "".join(small) == chunks[0]


@pytest.fixture
def year(kit):
    """2024 in the kit's pairing, then the rollup the pairing page reads rebuilt from it: three counted activities
    and a draft, a returned and a deleted one that do not count; a value of 0, values left blank, hours verified,
    recorded, deleted and on activities that do not count."""
    pairing, branch, other = kit["pairing"], kit["branch"], kit["other_branch"]
    metrics = {
        "repairs": kit["repairs"], "income": kit["income"],
        "cups": f.MetricFactory(program=kit["program"], code="cups", name="捐赠水杯", unit=Metric.Unit.ITEMS),
    }
    made = {}

    def activity(key, day, status, **values):
        made[key] = a = f.ActivityFactory(
            pairing=pairing, branch=branch if key != "c" else other, activity_type=kit["type"], title=key,
            date=datetime.date.fromisoformat(day), status=status, residents_served=10,
            submitted_at=timezone.now() if status != "draft" else None,
            confirmed_at=timezone.now() if status == "confirmed" else None,
        )
        for metric, value in values.items():
            f.ActivityMetricValueFactory(activity=a, metric=metrics[metric], value=Decimal(value))
        return a

    def hours(a, volunteer, value, status="recorded"):
        return f.ServiceRecordFactory(
            activity=a, volunteer=volunteer, hours=Decimal(value), status=status,
            verified_at=timezone.now() if status == "verified" else None,
        )

    a = activity("a", "2024-03-05", "confirmed", repairs="12.5", income="300")
    b = activity("b", "2024-05-10", "submitted", repairs="7", cups="0")  # income left blank; cups a real 0
    c = activity("c", "2024-08-01", "confirmed", income="150")  # no repairs: a blank, not 0
    draft = activity("draft", "2024-06-01", "draft", repairs="1000")
    returned = activity("returned", "2024-06-02", "returned", repairs="1000")
    gone = activity("gone", "2024-06-03", "confirmed", repairs="1000")
    Activity.all_objects.filter(pk=gone.pk).update(deleted_at=timezone.now())
    activity("earlier", "2023-12-31", "confirmed", repairs="500")  # another year

    helper = f.VolunteerFactory(organization=branch, name="王同学")
    hours(a, kit["volunteer"], "3.5", "verified")
    hours(a, helper, "2.0")  # recorded, pending
    deleted = hours(b, kit["volunteer"], "9.0", "verified")
    deleted.deleted_at = timezone.now()  # as the form removes hours (a save: the kept hours follow)
    deleted.save(update_fields=["deleted_at"])
    hours(b, helper, "1.5", "verified")
    hours(c, kit["volunteer"], "4.0")
    hours(draft, kit["volunteer"], "8.0", "verified")  # on a draft: neither verified nor pending
    hours(returned, helper, "6.0")
    rollups.rollups_rebuild()
    return made


def test_each_metric_column_sums_to_the_pairing_pages_figure(client, kit, year):
    """For each figure of the pairing page's year (figures.selectors.pairing_headline), the export under the
    figure's own link (its filters) sums, in the metric's column, to the figure; and the year's list sums, in the
    verified hours column, to the page's hours, in the pending column to the hours pending by the same rule."""
    headline = pairing_headline(kit["pairing"], 2024)
    client.force_login(kit["users"]["secretary"])
    sums = [m for m in headline.metrics if m.metric.aggregation == Metric.Aggregation.SUM]
    assert {m.label: m.value for m in sums} == {"家电维修": Decimal("19.5"), "增收": Decimal("450"), "捐赠水杯": 0}
    for figure in sums:
        params = parse_qsl(urlsplit(figure.url).query)
        for fmt in ("csv", "xlsx"):
            response, chunks, _queries = export(client, params, fmt=fmt)
            column = f"{figure.label}({figure.unit})"
            if fmt == "csv":
                cells = [number(record[column]) for record in records_of(chunks)]
            else:
                header, rows = sheet_of(chunks)
                cells = [row[header.index(column)].value for row in rows]
                assert all(isinstance(cell, (int, float)) for cell in cells if cell is not None)
            assert sum(cell for cell in cells if cell is not None) == figure.value, (fmt, figure.label)

    year_list = parse_qsl(urlsplit(headline.url).query)
    pending = ServiceRecord.objects.filter(
        pending_q(""), activity__pairing=kit["pairing"], activity__date__year=2024
    ).aggregate(h=Sum("hours"))["h"]
    verified = ServiceRecord.objects.filter(
        verified_q(""), activity__pairing=kit["pairing"], activity__date__year=2024
    ).aggregate(h=Sum("hours"))["h"]
    assert verified == headline.volunteer_hours == Decimal("5.0")
    records = records_of(export(client, year_list)[1])
    assert sum(number(r[_(VERIFIED)]) for r in records) == headline.volunteer_hours
    assert sum(number(r[_(PENDING)]) for r in records) == pending == Decimal("6.0")
    header, rows = sheet_of(export(client, year_list, fmt="xlsx")[1])
    assert sum(row[header.index(_(VERIFIED))].value for row in rows) == float(headline.volunteer_hours)
    assert sum(row[header.index(_(PENDING))].value for row in rows) == float(pending)


def test_hours_apart_and_blanks_blank(client, kit, year):
    """Per activity: verified and pending hours by the figures' rules (deleted hours nowhere); an activity that
    does not count has both cells blank; a metric it recorded no value for is blank, a recorded 0 is 0."""
    client.force_login(kit["users"]["secretary"])
    by_title = {r[_("Title")]: r for r in records_of(export(client)[1])}
    hours = {title: (r[_(VERIFIED)], r[_(PENDING)]) for title, r in by_title.items()}
    assert hours == {
        "a": ("3.5", "2"), "b": ("1.5", "0"), "c": ("0", "4"), "draft": ("", ""), "returned": ("", ""),
        "earlier": ("0", "0"),
    }
    assert (by_title["b"]["增收(元)"], by_title["b"]["捐赠水杯(件)"], by_title["b"]["家电维修(件)"]) == ("", "0", "7")
    assert by_title["c"]["家电维修(件)"] == ""
    assert by_title["a"]["家电维修(件)"] == "12.5"

    header, rows = sheet_of(export(client, fmt="xlsx")[1])
    cells = {row[header.index(_("Title"))].value: {h: cell for h, cell in zip(header, row)} for row in rows}
    assert cells["b"]["增收(元)"].value is None and cells["b"]["捐赠水杯(件)"].value == 0
    assert cells["b"]["捐赠水杯(件)"].data_type == "n"
    assert cells["draft"][_(VERIFIED)].value is None and cells["draft"][_(PENDING)].value is None
    assert (cells["a"][_(VERIFIED)].value, cells["a"][_(PENDING)].value) == (3.5, 2)
    assert cells["a"]["家电维修(件)"].value == 12.5


def test_the_metric_columns_are_those_of_the_programs_present(client, kit, year):
    """The superuser reads both programs: a column for each metric of each program present under the filters;
    filtered to one program, only its metrics."""
    other = f.ActivityFactory(
        pairing=kit["other_pairing"], date=datetime.date(2024, 4, 1), status="submitted", submitted_at=timezone.now()
    )
    f.ActivityMetricValueFactory(activity=other, metric=kit["foreign_metric"], value=3)
    client.force_login(kit["users"]["superuser"])
    ours, theirs = ["家电维修(件)", "增收(元)", "捐赠水杯(件)"], ["植树(株)"]
    both = theirs + ours if kit["other_program"].name < kit["program"].name else ours + theirs  # by program name
    header = rows_of(export(client)[1])[0]
    assert [column for column in header if column in both] == both
    header = rows_of(export(client, {"program": kit["program"].pk})[1])[0]
    assert [column for column in header if column in both] == ours
    header = rows_of(export(client, {"program": kit["other_program"].pk})[1])[0]
    assert [column for column in header if column in both] == theirs


def test_the_same_metric_name_in_two_programs_is_told_apart(client, kit):
    twin = f.MetricFactory(program=kit["other_program"], code="repairs", name="家电维修", unit=Metric.Unit.ITEMS)
    f.ActivityFactory(pairing=kit["pairing"], branch=kit["branch"])
    f.ActivityMetricValueFactory(activity=f.ActivityFactory(pairing=kit["other_pairing"]), metric=twin, value=1)
    client.force_login(kit["users"]["superuser"])
    header = rows_of(export(client)[1])[0]
    assert f"{kit['program'].name}·家电维修(件)" in header and f"{kit['other_program'].name}·家电维修(件)" in header


def test_cells(client, kit):
    """Times HH:MM, numbers without trailing zeros, the pairing's short names, counts of photos; empty cells stay
    empty; in the workbook the date is a date, the times times, the numbers numbers."""
    activity = f.ActivityFactory(
        pairing=kit["pairing"], branch=kit["branch"], activity_type=kit["type"], title="义诊", place="",
        date=datetime.date(2024, 5, 4), start_time=datetime.time(9, 5), end_time=None, party_members=3,
        status="submitted", submitted_at=timezone.now(),
    )
    f.ActivityMetricValueFactory(activity=activity, metric=kit["repairs"], value=Decimal("12.00"))
    f.ServiceRecordFactory(activity=activity, volunteer=kit["volunteer"], hours=Decimal("1.5"))
    f.ServiceRecordFactory(activity=activity, volunteer=kit["foreign_volunteer"], hours=Decimal("2.5"))
    f.ActivityPhotoFactory(activity=activity, sha256="a")
    f.ActivityPhotoFactory(activity=activity, sha256="b")
    client.force_login(kit["users"]["secretary"])
    [record] = records_of(export(client)[1])
    assert record[_("Date")] == "2024-05-04"
    assert (record[_("Start")], record[_("End")]) == ("09:05", "")
    assert record["家电维修(件)"] == "12" and record["增收(元)"] == ""
    assert (record[_(VERIFIED)], record[_(PENDING)]) == ("0", "4")  # 1.5 + 2.5 recorded, none verified yet
    assert record[_("Photos")] == "2"
    assert record[_("Place")] == ""
    assert record[_("Pairing")] == str(kit["pairing"])
    assert record[_("Program")] == kit["program"].name
    assert record[_("Status")] == _("submitted")
    assert record[_("Party members")] == "3"

    header, [row] = sheet_of(export(client, fmt="xlsx")[1])
    cell = dict(zip(header, row))
    assert cell[_("Date")].value == datetime.datetime(2024, 5, 4) and cell[_("Date")].is_date
    assert cell[_("Start")].value == datetime.time(9, 5) and cell[_("End")].value is None
    assert cell[_("Party members")].value == 3 and cell[_("Photos")].value == 2
    assert cell[_(PENDING)].value == 4 and cell["家电维修(件)"].value == 12
    assert cell[_("Place")].value is None and cell[_("Status")].value == _("submitted")


def test_text_stays_text(client, kit):
    """A title a spreadsheet would run as a formula: neutralised in the CSV (a leading '), stored as text in
    the workbook; markup-like text stays text too."""
    markup = '<r><t>x</t></r></is></c><c r="B1"><f>1+1</f></c><c r="C1" t="inlineStr"><is><r><t>y</t></r>'[:120]
    f.ActivityFactory(pairing=kit["pairing"], branch=kit["branch"], title="=1+1", place="-3", description=markup)
    client.force_login(kit["users"]["secretary"])
    [record] = records_of(export(client)[1])
    assert (record[_("Title")], record[_("Place")]) == ("'=1+1", "'-3")
    header, [row] = sheet_of(export(client, fmt="xlsx")[1])
    cell = dict(zip(header, row))
    assert cell[_("Title")].value == "=1+1" and cell[_("Title")].data_type == "s"
    assert cell[_("Place")].value == "-3" and cell[_("Place")].data_type == "s"
    assert cell[_("Description")].value == markup


def test_deleted_hours_do_not_count(client, kit):
    activity = f.ActivityFactory(pairing=kit["pairing"], branch=kit["branch"], status="submitted",
                                 submitted_at=timezone.now())
    f.ServiceRecordFactory(activity=activity, volunteer=kit["volunteer"], hours=Decimal("3.0"))
    gone = f.ServiceRecordFactory(activity=activity, volunteer=kit["foreign_volunteer"], hours=Decimal("5.0"))
    gone.deleted_at = timezone.now()  # as the form removes hours (a save: the kept hours follow)
    gone.save(update_fields=["deleted_at"])
    client.force_login(kit["users"]["secretary"])
    [record] = records_of(export(client)[1])
    assert (record[_(VERIFIED)], record[_(PENDING)]) == ("0", "3")


def test_export_of_several_statuses(client, kit):
    """?status=submitted&status=confirmed (what the figures count): the filter makes the query DISTINCT."""
    rich_activities(kit, 2)
    Activity.objects.update(status="submitted", submitted_at=timezone.now())
    f.ActivityFactory(pairing=kit["pairing"], branch=kit["branch"], title="草稿")
    client.force_login(kit["users"]["secretary"])
    for fmt in ("csv", "xlsx"):
        response, chunks, queries = export(client, {"status": ["submitted", "confirmed"]}, fmt=fmt)
        header, rows = (rows_of(chunks)[0], rows_of(chunks)[1:]) if fmt == "csv" else sheet_of(chunks)
        titles = [row[8] if fmt == "csv" else row[8].value for row in rows]
        assert len(rows) == 2 and "草稿" not in titles


def test_bad_filters_show_the_list_with_the_message(client, kit):
    """A range that ends before it starts: no file, the list page with the form's message (never a 500)."""
    client.force_login(kit["users"]["secretary"])
    for name in ("activities:export", "activities:export_xlsx"):
        response = client.get(reverse(name), {"date_from": "2024-02-01", "date_to": "2024-01-01"})
        assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
        assert _("The end of the range is before its start.") in response.content.decode()


def test_the_list_offers_both_downloads(client, kit):
    client.force_login(kit["users"]["secretary"])
    page = client.get(reverse("activities:list")).content.decode()
    assert f'formaction="{reverse("activities:export")}"' in page
    assert f'formaction="{reverse("activities:export_xlsx")}"' in page


def test_xlsx_download(client, kit):
    f.ActivityFactory(pairing=kit["pairing"], branch=kit["branch"])
    client.force_login(kit["users"]["secretary"])
    response = client.get(reverse("activities:export_xlsx"))
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response["Content-Disposition"].startswith("attachment;") and ".xlsx" in response["Content-Disposition"]
    assert response["Cache-Control"] == "private, no-store"
    assert len(sheet_of(response.streaming_content)[1]) == 1


def test_no_two_columns_read_the_same(client, kit):
    """A metric 服务群众(人次) beside the people count 服务群众（人次）: marked as a metric (in Chinese, the default)."""
    visits = f.MetricFactory(program=kit["program"], code="visits", name="服务群众", unit=Metric.Unit.PERSON_TIMES)
    activity = f.ActivityFactory(pairing=kit["pairing"], branch=kit["branch"], residents_served=40)
    f.ActivityMetricValueFactory(activity=activity, metric=visits, value=35)
    client.force_login(kit["users"]["secretary"])
    header, row = rows_of(export(client)[1])
    assert len(set(header)) == len(header)
    record = dict(zip(header, row))
    assert (record["服务群众（人次）"], record["成效指标·服务群众(人次)"]) == ("40", "35")


def test_xlsx_numbers_show_without_a_dangling_point(client, kit, year):
    """Excel and WPS show a whole 5 under "#,##0.##" as "5.": counts are "#,##0", hours and figures "General"
    (5 as 5, 2.5 as 2.5)."""
    client.force_login(kit["users"]["secretary"])
    header, rows = sheet_of(export(client, fmt="xlsx")[1])
    cells = {row[header.index(_("Title"))].value: {h: cell for h, cell in zip(header, row)} for row in rows}
    a = cells["a"]
    assert (a[_(PENDING)].value, a[_(PENDING)].number_format) == (2, "General")
    assert (a[_(VERIFIED)].value, a[_(VERIFIED)].number_format) == (3.5, "General")
    assert a["家电维修(件)"].number_format == "General"
    assert a[_("Residents served (人次)")].number_format == "#,##0"
    assert a[_("Photos")].number_format == "#,##0"
    assert not any(cell.number_format.endswith(".##") for row in rows for cell in row)


NASTY = ["=cmd|' /C calc'!A0", "+1", "-", "@SUM(A1)", "\tTab", "\rCR", 'say "hi", then go', "two\nlines",
         "\r\nstarts with a break", "中文，标点；“引号”", " lead space", "tail, comma,", '"', "'already"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the COPY path is PostgreSQL's; SQLite has the Python one")
def test_the_database_writes_the_same_csv_as_python(kit, year):
    """On PostgreSQL the CSV's rows are written by COPY (exports.copy_cells, portal.db.copy_csv): byte for byte what
    the Python writer (exports.written_blocks, SQLite's path) makes of the same filtered list, nasty text included
    (formula starts, tabs, quotes, line breaks, commas, Chinese), in the names, the co-hosts, the place and the
    description; statuses in the reader's language, times, hours, every metric's values and blanks."""
    from activities.filters import ActivityFilter
    from django.test import RequestFactory
    from django.utils import translation

    kit["other_branch"].name = "=HYPERLINK(\"x\"),乙"
    kit["other_branch"].save()
    kit["program"].name = "@项目, \"一\""
    kit["program"].save()
    for i, text in enumerate(NASTY):
        activity = f.ActivityFactory(
            pairing=kit["pairing"], branch=kit["branch"], activity_type=kit["type"], title=text, place=NASTY[-1 - i],
            description=text + "\r\n" + NASTY[(i + 3) % len(NASTY)], date=datetime.date(2024, 2, 1 + i % 3),
            start_time=datetime.time(8, 5) if i % 2 else None, end_time=datetime.time(17, 30) if i % 2 else None,
            status=(status := ["submitted", "confirmed", "returned", "draft"][i % 4]),
            submitted_at=timezone.now() if status != "draft" else None,
            confirmed_at=timezone.now() if status == "confirmed" else None,
        )
        if i % 3 == 0:
            activity.co_branches.add(kit["other_branch"])
        f.ActivityMetricValueFactory(activity=activity, metric=kit["repairs"], value=Decimal(i) / 4 + 100)
        f.ServiceRecordFactory(
            activity=activity, volunteer=kit["volunteer"], hours=Decimal("1.5") * (i % 4 + 1),
            status="verified" if i % 2 else "recorded", verified_at=timezone.now() if i % 2 else None,
        )
    user = kit["users"]["superuser"]
    for params in ({}, {"pairing": kit["pairing"].pk, "date_from": "2024-02-02"}):
        for language in ("zh-hans", "en"):
            with translation.override(language):
                request = RequestFactory().get("/activities/export/", params)
                request.user = user
                filterset = ActivityFilter(params or None, queryset=selectors.activity_export(user), request=request)
                metrics = selectors.export_metrics(filterset.qs)
                rows = selectors.export_rows(filterset.qs, metrics)
                by_copy = "".join(exports.csv_blocks(rows, metrics, block_bytes=500))
                by_python = "".join(exports.written_blocks(rows, metrics))
                title = _("Title")
            assert by_copy == by_python
            written = list(csv.reader(io.StringIO(by_copy[1:])))
            assert len(written) == 1 + rows.count() and len(metrics) >= 3
            titles = {row[written[0].index(title)] for row in written[1:]}
            assert {"'+1", "two\nlines", "'\tTab", " lead space"} <= titles  # dated 2 Feb
