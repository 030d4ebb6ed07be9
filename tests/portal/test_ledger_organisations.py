"""The organisations ledger (.xlsx): key (上级单位, 名称), parents only among the organisations the importer manages,
roots only for a program admin (kept by the admin's office), parents created earlier in the same file, updates and
their undo."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from portal.models import ImportBatch, ImportRow, Membership, Organization
from tests import factories as f

HEAD = ["名称", "简称", "类型", "上级单位", "地址", "联系人", "联系电话"]


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
def oworld(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return world


def send(client, user, data):
    client.force_login(user)
    response = client.post(reverse("imports:upload"),
                           {"kind": "organisations", "file": SimpleUploadedFile("组织.xlsx", data)})
    return response, ImportBatch.objects.order_by("-pk").first()


def errors_of(batch):
    return [e for row in ImportRow.objects.filter(batch=batch).order_by("number") for e in row.errors]


def test_an_admin_adds_a_school_then_its_branches_in_one_file_and_undo_takes_them_back(client, oworld):
    admin = oworld["users"]["admin"]
    rows = [
        ["新华中学", "新华", "学校", "", "新华路 1 号", "李老师", "0591-1234567"],
        ["第一党支部", "", "党支部", "新华中学", "", "", ""],
        ["第二党支部", "", "党支部", "新华中学", "", "", ""],
    ]
    response, batch = send(client, admin, xlsx(rows))
    assert response.status_code == 302
    assert (batch.new_rows, batch.error_rows) == (3, 0), errors_of(batch)
    client.post(reverse("imports:confirm", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.APPLIED
    school = Organization.objects.get(name="新华中学")
    assert school.parent is None and school.managed_by == oworld["office"] and school.kind == "school"
    assert (school.short_name, school.address, school.contact_phone) == ("新华", "新华路 1 号", "0591-1234567")
    assert set(school.children.values_list("name", "kind")) == {("第一党支部", "branch"), ("第二党支部", "branch")}
    # the same file again adds nothing
    _response, again = send(client, admin, xlsx(rows))
    assert (again.new_rows, again.updated_rows, again.unchanged_rows) == (0, 0, 3)
    # undo: children before their parent, nothing left
    client.post(reverse("imports:undo", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.UNDONE
    assert not Organization.objects.filter(name__in=["新华中学", "第一党支部", "第二党支部"]).exists()


def test_updated_rows_are_restored_by_undo(client, oworld):
    committee = oworld["users"]["committee"]
    branch = oworld["branch"]
    branch.address, branch.contact_name = "旧址", "王书记"
    branch.save()
    rows = [["第三党支部", "三支部", "党支部", "学校", "新址", "王书记", ""], ["第五党支部", "", "党支部", "学校", "", "", ""]]
    _response, batch = send(client, committee, xlsx(rows))
    assert (batch.new_rows, batch.updated_rows, batch.error_rows) == (1, 1, 0), errors_of(batch)
    client.post(reverse("imports:confirm", args=[batch.pk]))
    branch.refresh_from_db()
    assert (branch.short_name, branch.address) == ("三支部", "新址")
    client.post(reverse("imports:undo", args=[batch.pk]))
    branch.refresh_from_db()
    assert (branch.short_name, branch.address, branch.contact_name) == ("", "旧址", "王书记")
    assert not Organization.objects.filter(name="第五党支部").exists()


def test_a_foreign_parent_is_refused_as_if_it_did_not_exist(client, oworld):
    f.OrganizationFactory(name="别校", kind="school")
    rows = [["甲支部", "", "党支部", "别校", "", "", ""], ["乙支部", "", "党支部", "没有的学校", "", "", ""]]
    _response, batch = send(client, oworld["users"]["committee"], xlsx(rows))
    errors = errors_of(batch)
    assert batch.error_rows == 2
    assert errors[0][4:].replace("别校", "X") == errors[1][4:].replace("没有的学校", "X")
    assert not Organization.objects.filter(name__in=["甲支部", "乙支部"]).exists()


def test_only_a_program_admin_adds_a_root(client, oworld):
    _response, batch = send(client, oworld["users"]["committee"], xlsx([["新学校", "", "学校", "", "", "", ""]]))
    assert batch.error_rows == 1
    assert "只有项目管理员可以添加顶级组织" in errors_of(batch)[0]
    response, none = send(client, oworld["users"]["secretary"], xlsx([["新学校", "", "学校", "", "", "", ""]]))
    assert none == batch  # a secretary manages no organisation: refused at the upload, no batch


def test_a_bad_middle_row_saves_nothing_and_type_has_no_default(client, oworld):
    rows = [["甲支部", "", "党支部", "学校", "", "", ""], ["乙支部", "", "", "学校", "", "", ""],
            ["丙支部", "", "党支部", "学校", "", "", ""]]
    _response, batch = send(client, oworld["users"]["committee"], xlsx(rows))
    assert (batch.new_rows, batch.error_rows) == (2, 1)
    assert errors_of(batch) == ["第 3 行「类型」列：为必填项。"]
    client.post(reverse("imports:confirm", args=[batch.pk]))
    assert not Organization.objects.filter(name__in=["甲支部", "丙支部"]).exists()


def test_undo_is_refused_once_people_were_added(client, oworld):
    admin = oworld["users"]["admin"]
    _response, batch = send(client, admin, xlsx([["新华中学", "", "学校", "", "", "", ""]]))
    client.post(reverse("imports:confirm", args=[batch.pk]))
    school = Organization.objects.get(name="新华中学")
    f.MembershipFactory(user=f.UserFactory(), organization=school, role=Membership.Role.COMMITTEE)
    client.post(reverse("imports:undo", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.APPLIED and Organization.objects.filter(pk=school.pk).exists()


def test_the_template_has_the_columns_and_the_types(client, oworld):
    client.force_login(oworld["users"]["committee"])
    response = client.get(reverse("imports:template") + "?kind=organisations")
    workbook = load_workbook(io.BytesIO(response.content))
    assert [c.value for c in workbook.worksheets[0][1]] == HEAD
    values = [c.value for row in workbook.worksheets[1].iter_rows() for c in row]
    assert "党支部" in values and "学校" in values
