"""The pairing list's exports (CSV and XLSX): the list's rows under its filters, all its pages, nobody else's."""

import datetime

import pytest
from django.urls import reverse

from pairings.models import Pairing
from tests import factories as f
from tests.downloads import csv_table, download, xlsx_table

pytestmark = pytest.mark.django_db

HEADER = ["结对工作项目", "学校或单位", "村（社区）", "状态", "签订日期", "结对起始日期", "结对截止日期", "参与党支部", "最近活动"]


def pairings_on_the_list(client, params):
    response = client.get(reverse("pairings:pairing_list"), params)
    return [(p.supporter.name, p.supported.name) for p in response.context["paginator"].object_list]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_filtered_export_holds_the_lists_rows_over_all_its_pages(client, world, fmt):
    for i in range(51):
        f.PairingFactory(program=world["program"], supporter=world["school"],
                         supported=f.OrganizationFactory(name=f"村{i:02}", kind="village"))
    f.PairingFactory(program=world["program"], supporter=world["school"], status=Pairing.Status.ENDED,
                     supported=f.OrganizationFactory(name="已结束村", kind="village"))
    client.force_login(world["users"]["admin"])
    params = {"program": world["program"].pk, "status": "active"}
    shown = pairings_on_the_list(client, params)
    name = "pairings:pairing_export" if fmt == "csv" else "pairings:pairing_export_xlsx"
    body = download(client, reverse(name), params)[1]
    header, rows = csv_table(body) if fmt == "csv" else xlsx_table(body)[1:]
    assert header == HEADER
    assert [(row[1], row[2]) for row in rows] == shown and len(shown) == 52  # 51 and the world's own
    assert "已结束村" not in [row[2] for row in rows] and "田心村" not in [row[2] for row in rows]


def test_cells(client, world):
    pairing = world["pairing"]
    pairing.signed_on, pairing.term_start, pairing.term_end = (
        datetime.date(2023, 12, 20), datetime.date(2024, 1, 1), datetime.date(2025, 12, 31)
    )
    pairing.save()
    client.force_login(world["users"]["village"])
    response, body, _ = download(client, reverse("pairings:pairing_export_xlsx"))
    assert response["Cache-Control"] == "private, no-store"
    sheets, header, rows = xlsx_table(body)
    assert sheets == ["结对"] and len(rows) == 1
    row = dict(zip(header, rows[0]))
    assert row["村（社区）"] == "龙石村" and row["参与党支部"] == "第三党支部、第四党支部"
    assert row["签订日期"] == datetime.datetime(2023, 12, 20) and row["结对截止日期"] == datetime.datetime(2025, 12, 31)
    assert row["状态"] == "期满"  # flagged active, its term has ended: as the pages show it
    header, rows = csv_table(download(client, reverse("pairings:pairing_export"))[1])
    assert dict(zip(header, rows[0]))["结对起始日期"] == "2024-01-01"


@pytest.mark.parametrize("name", ["pairings:pairing_export", "pairings:pairing_export_xlsx"])
def test_queries_do_not_grow_with_the_rows(client, world, name):
    client.force_login(world["users"]["admin"])
    counts = []
    for added in (1, 30):
        for _ in range(added):
            pairing = f.PairingFactory(program=world["program"], supporter=world["school"])
            f.PairingBranchFactory(pairing=pairing, branch=world["branch"])
        counts.append(download(client, reverse(name))[2])
    assert counts[0] == counts[1]


def test_bad_filters_show_the_list(client, world):
    client.force_login(world["users"]["admin"])
    response = client.get(reverse("pairings:pairing_export"), {"year": "1800"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")


def test_the_list_links_both_downloads_with_its_filters(client, world):
    client.force_login(world["users"]["admin"])
    page = client.get(reverse("pairings:pairing_list"), {"status": "active", "page": "1"}).content.decode()
    assert f'href="{reverse("pairings:pairing_export")}?status=active"' in page
    assert f'href="{reverse("pairings:pairing_export_xlsx")}?status=active"' in page
