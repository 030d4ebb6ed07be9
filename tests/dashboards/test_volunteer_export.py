"""The volunteer list's exports (CSV and XLSX): the volunteer ledger's import columns first (so an export can be
imported back), the list's rows under its filters over all its pages, phones as the list shows them, hours by the
figures' rules."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from activities.models import ServiceRecord
from tests import factories as f
from tests.downloads import csv_table, download, xlsx_table
from tests.pairings.helpers import activity

pytestmark = pytest.mark.django_db

LEDGER = ["姓名", "手机号", "所属单位", "人员类别", "是否党员", "备注"]
HEADER = [*LEDGER, "服务队", "已核实时长", "待核实时长", "是否在册"]


def names_on_the_list(client, params):
    response = client.get(reverse("dashboards:volunteer_list"), params)
    return [volunteer.name for volunteer in response.context["paginator"].object_list]


@pytest.fixture
def people(world):
    zhang = f.VolunteerFactory(organization=world["branch"], name="张小电", phone="13812345678", kind="party_member",
                               is_party_member=True, note="电工")
    team = f.TeamFactory(organization=world["branch"], name="小电匠家电维修队")
    team.members.add(zhang)
    f.TeamFactory(organization=world["branch"], name="爱心送餐队").members.add(zhang)
    confirmed = activity(world["pairing"], world["branch"])
    f.ServiceRecordFactory(activity=confirmed, volunteer=zhang, hours=Decimal("3.5"),
                           status=ServiceRecord.Status.VERIFIED, verified_at=timezone.now())
    f.ServiceRecordFactory(activity=activity(world["pairing"], world["branch"], date=datetime.date(2024, 3, 16)),
                           volunteer=zhang, hours=Decimal("2"))
    return {"zhang": zhang}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_ledger_columns_and_a_row(client, world, people, fmt):
    client.force_login(world["users"]["secretary"])
    name = "dashboards:volunteer_export" if fmt == "csv" else "dashboards:volunteer_export_xlsx"
    response, body, _ = download(client, reverse(name))
    assert response["Cache-Control"] == "private, no-store"
    header, rows = csv_table(body) if fmt == "csv" else xlsx_table(body)[1:]
    assert header[:6] == LEDGER and header == HEADER
    row = dict(zip(header, rows[0]))
    assert row["姓名"] == "张小电" and row["手机号"] == "13812345678" and row["所属单位"] == "第三党支部"
    assert row["人员类别"] == "党员" and row["是否党员"] == "是" and row["备注"] == "电工" and row["是否在册"] == "是"
    assert row["服务队"] == "小电匠家电维修队、爱心送餐队"
    if fmt == "csv":
        assert (row["已核实时长"], row["待核实时长"]) == ("3.5", "2")
    else:
        assert (row["已核实时长"], row["待核实时长"]) == (3.5, 2)


def test_phones_are_masked_as_on_the_list(client, world, people):
    """The program admin does not manage the branch: the list and the file show the phone masked."""
    client.force_login(world["users"]["admin"])
    page = client.get(reverse("dashboards:volunteer_list")).content.decode()
    header, rows = csv_table(download(client, reverse("dashboards:volunteer_export"))[1])
    shown = dict(zip(header, rows[0]))["手机号"]
    assert shown != "13812345678" and shown[:3] == "138" and shown in page


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_filtered_export_holds_the_lists_rows_over_all_its_pages(client, world, fmt):
    for i in range(52):
        f.VolunteerFactory(organization=world["branch"], name=f"学生{i:02}", kind="student")
    f.VolunteerFactory(organization=world["branch"], name="王老师", kind="teacher")
    f.VolunteerFactory(organization=world["other_pairing"].supporter, name="别校学生", kind="student")
    client.force_login(world["users"]["committee"])
    params = {"kind": "student", "q": "学生"}
    shown = names_on_the_list(client, params)
    name = "dashboards:volunteer_export" if fmt == "csv" else "dashboards:volunteer_export_xlsx"
    header, rows = csv_table(download(client, reverse(name), params)[1]) if fmt == "csv" else xlsx_table(
        download(client, reverse(name), params)[1]
    )[1:]
    assert [row[0] for row in rows] == shown and len(shown) == 52


def test_the_pending_filter(client, world, people):
    f.VolunteerFactory(organization=world["branch"], name="无记录")
    client.force_login(world["users"]["secretary"])
    header, rows = csv_table(download(client, reverse("dashboards:volunteer_export"), {"pending": "on"})[1])
    assert [row[0] for row in rows] == ["张小电"]


def test_a_name_that_reads_as_a_formula_stays_text(client, world):
    f.VolunteerFactory(organization=world["branch"], name="=1+1", note="+86 电话")
    client.force_login(world["users"]["secretary"])
    header, rows = csv_table(download(client, reverse("dashboards:volunteer_export"))[1])
    assert rows[0][0] == "'=1+1" and rows[0][5] == "'+86 电话"


@pytest.mark.parametrize("name", ["dashboards:volunteer_export", "dashboards:volunteer_export_xlsx"])
def test_queries_do_not_grow_with_the_rows(client, world, name):
    client.force_login(world["users"]["secretary"])
    team = f.TeamFactory(organization=world["branch"], name="队")
    counts = []
    for added in (1, 30):
        for _ in range(added):
            volunteer = f.VolunteerFactory(organization=world["branch"], phone="13900000000")
            team.members.add(volunteer)
            f.ServiceRecordFactory(activity=activity(world["pairing"], world["branch"]), volunteer=volunteer)
        download(client, reverse(name))  # the user's scope, read afresh after a change to the set-up and kept
        counts.append(download(client, reverse(name))[2])
    assert counts[0] == counts[1]


def test_the_list_links_both_downloads_with_its_filters(client, world):
    client.force_login(world["users"]["secretary"])
    page = client.get(reverse("dashboards:volunteer_list"), {"kind": "student", "page": "1"}).content.decode()
    assert f'href="{reverse("dashboards:volunteer_export")}?kind=student"' in page
    assert f'href="{reverse("dashboards:volunteer_export_xlsx")}?kind=student"' in page
