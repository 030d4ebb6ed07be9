"""The volunteers ledger (.xlsx): category required, updates and their undo, scope, the export's shape."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from portal.models import ImportBatch, ImportRow
from tests import factories as f
from volunteers.models import Volunteer

HEAD = ["姓名", "手机号", "所属单位", "人员类别", "是否党员", "备注"]


def xlsx(rows, head=HEAD):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(head)
    for r in rows:
        sheet.append(r)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@pytest.fixture
def vworld(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return world


def send(client, user, data, name="名册.xlsx"):
    client.force_login(user)
    response = client.post(reverse("imports:upload"), {"kind": "volunteers", "file": SimpleUploadedFile(name, data)})
    return response, ImportBatch.objects.order_by("-pk").first()


def test_import_update_and_undo(client, vworld):
    committee = vworld["users"]["committee"]
    existing = f.VolunteerFactory(organization=vworld["branch"], name="王五", phone="13900000000",
                                  kind=Volunteer.Kind.TEACHER, is_party_member=False, note="")
    rows = [["张三", "13800000000", "第三党支部", "党员", "是", ""], ["王五", "13900000000", "第三党支部", "教师", "是", "骨干"]]
    response, batch = send(client, committee, xlsx(rows))
    assert response.status_code == 302
    assert (batch.new_rows, batch.updated_rows, batch.error_rows) == (1, 1, 0)
    client.post(reverse("imports:confirm", args=[batch.pk]))
    existing.refresh_from_db()
    assert existing.is_party_member and existing.note == "骨干"
    assert Volunteer.objects.get(name="张三").kind == Volunteer.Kind.PARTY_MEMBER
    # the same file again adds nothing
    _response, again = send(client, committee, xlsx(rows))
    assert (again.new_rows, again.updated_rows, again.unchanged_rows) == (0, 0, 2)
    # undo restores the state before
    client.post(reverse("imports:undo", args=[batch.pk]))
    existing.refresh_from_db()
    assert not existing.is_party_member and existing.note == ""
    assert not Volunteer.objects.filter(name="张三").exists()


def test_a_missing_category_is_an_error_not_a_default(client, vworld):
    _response, batch = send(client, vworld["users"]["committee"], xlsx([["张三", "", "第三党支部", "", "否", ""]]))
    assert batch.error_rows == 1
    assert "「人员类别」列：为必填项" in ImportRow.objects.get(batch=batch).errors[0]


def test_a_foreign_organisation_is_refused_as_if_it_did_not_exist(client, vworld):
    other = f.OrganizationFactory(name="别校支部", kind="branch")
    rows = [["甲", "", "别校支部", "党员", "是", ""], ["乙", "", "没有的支部", "党员", "是", ""]]
    _response, batch = send(client, vworld["users"]["secretary"], xlsx(rows))
    errors = [e[0] for e in ImportRow.objects.filter(batch=batch).order_by("number").values_list("errors", flat=True)]
    assert errors[0].replace("别校支部", "X")[4:] == errors[1].replace("没有的支部", "X")[4:]
    assert not Volunteer.objects.filter(organization=other).exists()


def test_a_formula_cell_is_refused(client, vworld):
    _response, batch = send(client, vworld["users"]["committee"], xlsx([["张三", "", "第三党支部", "党员", "是", "=1+1"]]))
    assert batch.error_rows == 1
    assert "公式" in ImportRow.objects.get(batch=batch).errors[0]


def test_missing_column_and_bad_file_get_clear_messages(client, vworld):
    response, batch = send(client, vworld["users"]["committee"], xlsx([["张三"]], head=["姓名"]))
    assert batch is None and "文件缺少以下列" in response.content.decode()
    response, batch = send(client, vworld["users"]["committee"], b"not a workbook")
    assert batch is None and "不是有效的 .xlsx 工作簿" in response.content.decode()


def test_template_round_trips(client, vworld):
    client.force_login(vworld["users"]["committee"])
    response = client.get(reverse("imports:template") + "?kind=volunteers")
    workbook = load_workbook(io.BytesIO(response.content))
    sheet = workbook.worksheets[0]
    assert [c.value for c in sheet[1]] == HEAD
    assert "第三党支部" in [c.value for c in workbook.worksheets[1]["A"]] or any(
        "第三党支部" in str(c.value) for c in workbook.worksheets[1]["A"]
    )


def test_checking_reads_the_existing_volunteers_once_whatever_the_rows(vworld):
    """The check looks up the volunteers a file may already hold in one query for the batch, not one per row."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from portal.services import import_batch_check, import_batch_create

    committee = vworld["users"]["committee"]

    def queries(n):
        for i in range(n):
            f.VolunteerFactory(organization=vworld["branch"], name=f"志愿者{n}-{i}", phone=f"139{n:04d}{i:04d}",
                               kind=Volunteer.Kind.TEACHER)
        rows = [[f"志愿者{n}-{i}", f"139{n:04d}{i:04d}", "第三党支部", "教师", "否", ""] for i in range(n)]
        batch, table = import_batch_create(user=committee, kind="volunteers", program_id=None,
                                           upload=SimpleUploadedFile("名册.xlsx", xlsx(rows)))
        with CaptureQueriesContext(connection) as captured:
            checked = import_batch_check(batch=batch, table=table)
        assert checked.unchanged_rows == n
        return len(captured.captured_queries)

    assert queries(3) == queries(30)
