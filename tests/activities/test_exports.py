"""The activity list's CSV export: one data query whatever the rows, written in blocks, the figures in the
catalog's order, numbers as the page shows them; and the same content on SQLite and PostgreSQL."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from activities import exports, selectors
from activities.models import Activity
from tests import factories as f
from tests.activities.test_queries import rich_activities

pytestmark = pytest.mark.django_db


def export(client, params=None):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("activities:export"), params or {})
        chunks = list(response.streaming_content)
    return response, chunks, [q["sql"] for q in captured.captured_queries]


def rows_of(chunks):
    body = b"".join(chunks).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


# The tables an export row is made of: only the data query may read them (the filter's drop-downs read the
# catalog of activity types, pairings and organisations, never these).
ROW_TABLES = (
    '"activities_activity"', '"activities_activitymetricvalue"', '"activities_servicerecord"',
    '"activities_activityphoto"', '"activities_activity_co_branches"',
)


def reads_activities(sql):
    return any(table in sql for table in ROW_TABLES)


def test_one_data_query_whatever_the_rows(client, kit):
    """Besides the session, the user and the scope (memberships and the organisation tree), the export runs
    one query: the activities with their figures, hours and photo counts (subqueries of that query). The
    same queries at 1 row and at 50 rows."""
    counts = []
    for added, rows in ((1, 1), (49, 50)):
        rich_activities(kit, added)
        client.force_login(kit["users"]["secretary"])
        response, chunks, queries = export(client)
        assert response.status_code == 200
        assert len(rows_of(chunks)) == rows + 1
        data = [sql for sql in queries if reads_activities(sql)]
        assert len(data) == 1, data
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_filtered_export_reads_the_activities_once(client, kit):
    """Filtered by pairing, branch, type and dates (the list's FilterSet): still one data query."""
    rich_activities(kit, 3)
    f.ActivityFactory(pairing=kit["pairing"], branch=kit["other_branch"], date=datetime.date(2024, 1, 2))
    client.force_login(kit["users"]["secretary"])
    response, chunks, queries = export(
        client,
        {"pairing": kit["pairing"].pk, "branch": kit["branch"].pk, "activity_type": kit["type"].pk,
         "date_from": "2024-01-02", "date_to": "2024-01-31"},
    )
    assert [row[0] for row in rows_of(chunks)[1:]] == ["2024-01-03", "2024-01-02"]
    assert sum(reads_activities(sql) for sql in queries) == 1


def test_rows_are_written_in_blocks(kit):
    """Many rows per chunk, not one chunk per row; a block is cut once it passes the block size."""
    rich_activities(kit, 30)
    qs = selectors.activity_export(kit["users"]["secretary"])
    chunks = list(exports.csv_blocks(qs))
    assert len(chunks) == 1  # 30 rows fit in one 64 KB block
    small = list(exports.csv_blocks(qs, block_bytes=1000))
    assert 2 < len(small) < 31
    assert all(len(chunk.encode()) >= 1000 for chunk in small[:-1])
    assert "".join(small) == chunks[0]


def test_cells_as_before(client, kit):
    """Times HH:MM, hours and figures without trailing zeros, figures in the catalog's order (not the order
    they were saved in), the pairing's short names, counts of photos; empty cells stay empty."""
    kit["repairs"].order, kit["income"].order = 2, 1
    kit["repairs"].save()
    kit["income"].save()
    activity = f.ActivityFactory(
        pairing=kit["pairing"], branch=kit["branch"], activity_type=kit["type"], title="义诊", place="",
        date=datetime.date(2024, 5, 4), start_time=datetime.time(9, 5), end_time=None, party_members=3,
    )
    f.ActivityMetricValueFactory(activity=activity, metric=kit["repairs"], value=Decimal("12.00"))
    f.ActivityMetricValueFactory(activity=activity, metric=kit["income"], value=Decimal("2.50"))
    f.ServiceRecordFactory(activity=activity, volunteer=kit["volunteer"], hours=Decimal("1.5"))
    f.ServiceRecordFactory(activity=activity, volunteer=kit["foreign_volunteer"], hours=Decimal("2.5"))
    f.ActivityPhotoFactory(activity=activity, sha256="a")
    f.ActivityPhotoFactory(activity=activity, sha256="b")
    bare = f.ActivityFactory(pairing=kit["pairing"], branch=kit["branch"], title="无记录", date=datetime.date(2024, 5, 1))
    client.force_login(kit["users"]["secretary"])
    header, first, second = rows_of(export(client)[1])
    record = dict(zip(header, first))
    assert record[_("Date")] == "2024-05-04"
    assert (record[_("Start")], record[_("End")]) == ("09:05", "")
    assert record[_("Outcome figures")] == "增收 2.5 元; 家电维修 12 件"
    assert record[_("Volunteer hours")] == "4"  # 1.5 + 2.5, as the page shows it (not 4.0)
    assert record[_("Photos")] == "2"
    assert record[_("Place")] == ""
    assert record[_("Pairing")] == str(kit["pairing"])
    assert record[_("Program")] == kit["program"].name
    assert record[_("Status")] == _("draft")
    assert record[_("Party members")] == "3"
    empty = dict(zip(header, second))
    assert empty[_("Title")] == bare.title
    assert (empty[_("Outcome figures")], empty[_("Volunteer hours")], empty[_("Photos")]) == ("", "0", "0")


def test_deleted_hours_do_not_count(client, kit):
    activity = f.ActivityFactory(pairing=kit["pairing"], branch=kit["branch"])
    f.ServiceRecordFactory(activity=activity, volunteer=kit["volunteer"], hours=Decimal("3.0"))
    gone = f.ServiceRecordFactory(activity=activity, volunteer=kit["foreign_volunteer"], hours=Decimal("5.0"))
    type(gone).all_objects.filter(pk=gone.pk).update(deleted_at=timezone.now())
    client.force_login(kit["users"]["secretary"])
    header, row = rows_of(export(client)[1])
    assert dict(zip(header, row))[_("Volunteer hours")] == "3"


def test_export_of_several_statuses(client, kit):
    """?status=submitted&status=confirmed (what the figures count): the filter makes the query DISTINCT."""
    rich_activities(kit, 2)
    Activity.objects.update(status="submitted", submitted_at=timezone.now())
    f.ActivityFactory(pairing=kit["pairing"], branch=kit["branch"], title="草稿")
    client.force_login(kit["users"]["secretary"])
    response, chunks, queries = export(client, {"status": ["submitted", "confirmed"]})
    rows = rows_of(chunks)
    assert len(rows) == 3 and all(len(row) == len(rows[0]) for row in rows)
    assert "草稿" not in {row[7] for row in rows}
