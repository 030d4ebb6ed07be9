"""The needs list's exports (微心愿, CSV and XLSX): the list's rows under the list's filters, all its pages, nobody
else's; read back as a spreadsheet would."""

import datetime
from urllib.parse import unquote

import pytest
from django.urls import reverse
from django.utils import timezone

from activities.models import Need
from activities.views import PAGE_SIZE
from tests import factories as f
from tests.downloads import csv_table, download, xlsx_table

pytestmark = pytest.mark.django_db

HEADER = ["提出日期", "结对工作项目", "结对", "村（社区）", "类别", "标题", "心愿人", "状态", "认领单位", "认领日期",
          "实现日期", "超过30天未响应", "评分", "说明"]


def titles_on_the_list(client, params):
    """The titles the list shows for ``params``, over all its pages."""
    response = client.get(reverse("activities:need_list"), params)
    return [need.title for need in response.context["page"].paginator.object_list]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_filtered_export_holds_the_lists_rows_over_all_its_pages(client, world, fmt):
    for i in range(PAGE_SIZE + 2):
        f.NeedFactory(pairing=world["pairing"], category=Need.Category.REPAIR, title=f"修电视{i:02}")
    f.NeedFactory(pairing=world["pairing"], category=Need.Category.HEALTH, title="量血压")
    f.NeedFactory(pairing=world["other_pairing"], category=Need.Category.REPAIR, title="别村的心愿")
    client.force_login(world["users"]["admin"])
    params = {"category": Need.Category.REPAIR, "pairing": "", "status": ""}
    shown = titles_on_the_list(client, params)
    name = "activities:need_export" if fmt == "csv" else "activities:need_export_xlsx"
    response, body, _ = download(client, reverse(name), params)
    header, rows = csv_table(body) if fmt == "csv" else xlsx_table(body)[1:]
    assert header == HEADER
    assert [row[5] for row in rows] == shown and len(shown) == PAGE_SIZE + 2
    assert "量血压" not in shown and "别村的心愿" not in [row[5] for row in rows]


def test_csv_cells_and_the_answer(client, world):
    need = f.NeedFactory(
        pairing=world["pairing"], title="=HYPERLINK(\"http://x\")", wanted_by="王小明", mask_wanted_by=True,
        raised_at=timezone.make_aware(datetime.datetime(2026, 11, 30, 23, 30)), rating=None,
    )
    client.force_login(world["users"]["secretary"])
    response, body, _ = download(client, reverse("activities:need_export"))
    assert response["Cache-Control"] == "private, no-store"
    disposition = unquote(response["Content-Disposition"])
    assert disposition.startswith("attachment;") and f"微心愿-{timezone.localdate():%Y%m%d}.csv" in disposition
    header, rows = csv_table(body)
    row = dict(zip(header, rows[0]))
    assert row["标题"] == "'" + need.title  # shown as text, never run as a formula
    assert row["心愿人"] == "王**"  # masked, as the list shows it to a branch
    assert row["提出日期"] == "2026-11-30" and row["评分"] == "" and row["状态"] == "待认领"
    client.force_login(world["users"]["village"])
    header, rows = csv_table(download(client, reverse("activities:need_export"))[1])
    assert dict(zip(header, rows[0]))["心愿人"] == "王小明"


def test_xlsx_cells_are_typed(client, world):
    f.NeedFactory(pairing=world["pairing"], title="@SUM(A1)", rating=5,
                  raised_at=timezone.make_aware(datetime.datetime(2026, 3, 5, 9, 0)))
    client.force_login(world["users"]["admin"])
    response, body, _ = download(client, reverse("activities:need_export_xlsx"))
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response["Cache-Control"] == "private, no-store"
    sheets, header, rows = xlsx_table(body)
    assert sheets == ["微心愿"] and header == HEADER
    row = dict(zip(header, rows[0]))
    assert row["提出日期"] == datetime.datetime(2026, 3, 5) and row["评分"] == 5 and row["标题"] == "@SUM(A1)"
    assert row["认领日期"] is None


@pytest.mark.parametrize("name", ["activities:need_export", "activities:need_export_xlsx"])
def test_queries_do_not_grow_with_the_rows(client, world, name):
    client.force_login(world["users"]["admin"])
    counts = []
    raised = timezone.now() - datetime.timedelta(days=3)
    for added in (1, 30):
        for _ in range(added):
            f.NeedFactory(pairing=world["pairing"], claimed_by_branch=world["branch"], status=Need.Status.CLAIMED,
                          raised_at=raised, claimed_at=raised + datetime.timedelta(days=1))
        download(client, reverse(name))  # the user's scope, read afresh after a change to the set-up and kept
        counts.append(download(client, reverse(name))[2])
    assert counts[0] == counts[1]


def test_bad_filters_show_the_list(client, world):
    client.force_login(world["users"]["admin"])
    response = client.get(reverse("activities:need_export"), {"status": "nonsense"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    assert response.context["filter"].errors


def test_the_list_links_both_downloads_with_its_filters(client, world):
    client.force_login(world["users"]["admin"])
    page = client.get(reverse("activities:need_list"), {"category": "repair", "page": "1"}).content.decode()
    assert f'href="{reverse("activities:need_export")}?category=repair"' in page
    assert f'href="{reverse("activities:need_export_xlsx")}?category=repair"' in page
