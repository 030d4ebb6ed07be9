"""The activities ledger (台账导入): a CSV or workbook of activities, previewed, saved all or nothing, idempotent,
undoable, refused outside the importer's scope."""

import csv
import datetime
import io

import pytest
from django.urls import reverse

from activities.models import Activity
from pairings.models import Metric
from portal.models import ImportBatch, ImportRow
from tests import factories as f

HEAD = ["日期", "开始时间", "结束时间", "结对", "党支部", "类型", "标题", "地点", "状态", "参与党员", "参与教师", "参与学生",
        "服务群众（人次）", "家电维修(件)", "说明"]


@pytest.fixture
def ledger_world(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    f.ActivityTypeFactory(code="volunteer-service", name="志愿服务")
    f.ActivityTypeFactory(code="party-day", name="主题党日")
    f.MetricFactory(program=world["program"], code="repairs", name="家电维修", unit=Metric.Unit.ITEMS)
    return world


def row(date="2024-03-05", title="家电义修", branch="第三党支部", pairing="龙石村", status="", repairs="3", note="修好电饭煲"):
    return [date, "09:00", "11:30", pairing, branch, "志愿服务", title, "村委会", status, "5", "1", "0", "20", repairs, note]


def csv_bytes(rows, encoding="utf-8"):
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(HEAD)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def upload(client, user, data, name="ledger.csv", program=None, world=None):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(user)
    response = client.post(reverse("imports:upload"), {
        "kind": "activities", "program": program or world["program"].pk,
        "file": SimpleUploadedFile(name, data),
    })
    return response


def last_batch():
    return ImportBatch.objects.order_by("-pk").first()


def confirm(client, batch):
    return client.post(reverse("imports:confirm", args=[batch.pk]))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_each_encoding_keeps_rare_characters(client, ledger_world, encoding):
    admin = ledger_world["users"]["admin"]
    data = csv_bytes([row(title="龑䶮与𠮷祥家电义修", note="𠮷")], encoding)
    response = upload(client, admin, data, world=ledger_world)
    batch = last_batch()
    assert response.status_code == 302, response.content.decode()[:2000]
    assert batch.encoding == ("GB18030" if encoding == "gb18030" else "UTF-8")
    page = client.get(reverse("imports:detail", args=[batch.pk])).content.decode()
    assert "龑䶮与𠮷祥家电义修" in page and "新增" in page
    confirm(client, batch)
    activity = Activity.objects.get()
    assert activity.title == "龑䶮与𠮷祥家电义修" and activity.description == "𠮷"
    assert activity.status == Activity.Status.DRAFT
    assert activity.metric_values.get().value == 3


@pytest.mark.parametrize("text", ["45356", "2024-03-05", "2024/3/5", "2024.3.5", "2024年3月5日"])
def test_each_date_form(client, ledger_world, text):
    upload(client, ledger_world["users"]["admin"], csv_bytes([row(date=text)]), world=ledger_world)
    confirm(client, last_batch())
    assert Activity.objects.get().date == datetime.date(2024, 3, 5)


def test_one_bad_row_in_the_middle_saves_nothing(client, ledger_world):
    rows = [row(title="一"), row(title="二", date="2024/13/5"), row(title="三")]
    upload(client, ledger_world["users"]["admin"], csv_bytes(rows), world=ledger_world)
    batch = last_batch()
    assert (batch.new_rows, batch.error_rows) == (2, 1)
    page = client.get(reverse("imports:detail", args=[batch.pk])).content.decode()
    assert "第 3 行「日期」列：值“2024/13/5”不是有效日期" in page
    response = confirm(client, batch)
    assert response.status_code == 302
    assert not Activity.objects.exists()
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.PREVIEW


def test_the_same_file_twice_adds_nothing(client, ledger_world):
    data = csv_bytes([row(title="一"), row(title="二", date="2024/3/6")])
    admin = ledger_world["users"]["admin"]
    upload(client, admin, data, world=ledger_world)
    confirm(client, last_batch())
    assert Activity.objects.count() == 2
    upload(client, admin, data, world=ledger_world)
    second = last_batch()
    assert (second.new_rows, second.unchanged_rows) == (0, 2)
    page = client.get(reverse("imports:detail", args=[second.pk])).content.decode()
    assert "同一文件已于" in page
    confirm(client, second)
    assert Activity.objects.count() == 2


def test_undo_restores_the_state_before(client, ledger_world):
    existing = f.ActivityFactory(pairing=ledger_world["pairing"], branch=ledger_world["branch"], title="旧活动") \
        if hasattr(f, "ActivityFactory") else None
    before = set(Activity.all_objects.values_list("pk", flat=True))
    admin = ledger_world["users"]["admin"]
    upload(client, admin, csv_bytes([row(title="一", status="已确认"), row(title="二")]), world=ledger_world)
    batch = last_batch()
    confirm(client, batch)
    assert Activity.objects.count() == len(before) + 2
    confirmed = Activity.objects.get(title="一")
    assert confirmed.status == Activity.Status.CONFIRMED and confirmed.confirmed_by == admin
    assert confirmed.history.filter(history_change_reason__startswith="confirmed by ledger import").exists()
    client.post(reverse("imports:undo", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.UNDONE and batch.undone_by == admin
    assert set(Activity.all_objects.values_list("pk", flat=True)) == before
    assert existing is None or Activity.objects.filter(pk=existing.pk).exists()


def test_undo_is_refused_once_the_village_has_acted(client, ledger_world):
    admin = ledger_world["users"]["admin"]
    upload(client, admin, csv_bytes([row(title="一", status="已提交")]), world=ledger_world)
    batch = last_batch()
    confirm(client, batch)
    from activities.services import activity_confirm

    activity_confirm(activity=Activity.objects.get(), actor=ledger_world["users"]["village"])
    response = client.post(reverse("imports:undo", args=[batch.pk]), follow=True)
    assert "无法撤销" in response.content.decode()
    assert Activity.objects.count() == 1


def test_a_foreign_pairing_is_refused_as_if_it_did_not_exist(client, ledger_world):
    other = ledger_world["other_pairing"]
    secretary = ledger_world["users"]["secretary"]
    rows = [row(pairing=other.supported.name), row(pairing="不存在村"), row(branch="第四党支部")]
    upload(client, secretary, csv_bytes(rows), world=ledger_world)
    batch = last_batch()
    errors = list(ImportRow.objects.filter(batch=batch).order_by("number").values_list("errors", flat=True))
    assert errors[0][0].replace(other.supported.name, "X")[4:] == errors[1][0].replace("不存在村", "X")[4:]
    assert "不是本项目中您可以导入的结对" in errors[0][0]
    assert "第四党支部" in errors[2][0] and "不是该结对中您可以导入的党支部" in errors[2][0]


def test_a_secretary_may_not_import_confirmed_activities(client, ledger_world):
    upload(client, ledger_world["users"]["secretary"], csv_bytes([row(status="已确认")]), world=ledger_world)
    batch = last_batch()
    assert batch.error_rows == 1
    assert "只有项目管理员" in ImportRow.objects.get(batch=batch).errors[0]


def test_a_program_the_user_does_not_import_for_is_refused(client, ledger_world):
    response = upload(client, ledger_world["users"]["secretary"], csv_bytes([row()]), world=ledger_world,
                      program=ledger_world["other_program"].pk)
    assert response.status_code == 200
    assert not ImportBatch.objects.exists()


def test_export_round_trip_is_unchanged(client, ledger_world):
    admin = ledger_world["users"]["admin"]
    upload(client, admin, csv_bytes([row(title="一", status="已确认")]), world=ledger_world)
    confirm(client, last_batch())
    exported = b"".join(client.get(reverse("activities:export")).streaming_content)
    upload(client, admin, exported, name="export.csv", world=ledger_world)
    batch = last_batch()
    assert (batch.unchanged_rows, batch.new_rows, batch.error_rows) == (1, 0, 0), list(batch.rows.values("errors"))


def test_preview_query_count_does_not_grow(client, ledger_world):
    admin = ledger_world["users"]["admin"]
    counts = []
    for n in (3, 30):
        upload(client, admin, csv_bytes([row(title=f"活动{i}") for i in range(n)]), world=ledger_world)
        url = reverse("imports:detail", args=[last_batch().pk])
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_the_figures_are_current_after_a_batch_import(client, ledger_world, django_capture_on_commit_callbacks):
    """The import writes in bulk and tells the rollup once: the pairing's months count what it saved, the
    same figures a rebuild from the activities gives."""
    from figures import rollups
    from figures.models import PairingMonth, PairingMonthMetric

    admin, pairing = ledger_world["users"]["admin"], ledger_world["pairing"]
    rows = [
        row(date="2024-03-05", title="三月一", status="已确认", repairs="3"),
        row(date="2024-03-20", title="三月二", status="已提交", repairs="2"),
        row(date="2024-03-25", title="三月草稿", status="", repairs="9"),
        row(date="2024-04-02", title="四月一", status="已确认", repairs="4"),
    ]
    upload(client, admin, csv_bytes(rows), world=ledger_world)
    with django_capture_on_commit_callbacks(execute=True):
        confirm(client, last_batch())
    assert last_batch().status == ImportBatch.Status.APPLIED
    months = {m.month: m for m in PairingMonth.objects.filter(pairing=pairing)}
    march, april = months[datetime.date(2024, 3, 1)], months[datetime.date(2024, 4, 1)]
    assert (march.activities, march.confirmed, march.residents_served) == (2, 1, 40)  # the draft does not count
    assert (april.activities, april.confirmed, april.residents_served) == (1, 1, 20)
    totals = dict(PairingMonthMetric.objects.filter(pairing=pairing).values_list("month", "total"))
    assert totals == {datetime.date(2024, 3, 1): 5, datetime.date(2024, 4, 1): 4}
    assert rollups.rollups_rebuild().written == 0  # nothing left for a rebuild to correct
    history = Activity.history.filter(title__in=["三月一", "三月二"]).order_by("title")
    assert [(h.title, h.status, h.history_change_reason) for h in history] == [
        ("三月一", "confirmed", f"confirmed by ledger import #{last_batch().pk}"),
        ("三月二", "submitted", f"created by ledger import #{last_batch().pk}"),
    ]


def test_a_past_months_report_built_after_the_import_counts_the_ledger(client, ledger_world,
                                                                        django_capture_on_commit_callbacks):
    """A ledger is the past: its submitted and confirmed activities count in the report of their month, built
    after the import, as the ledger says they stood (a draft does not count); the audit trail keeps when they
    entered the portal."""
    from reports.builders import build_report_data

    admin, pairing = ledger_world["users"]["admin"], ledger_world["pairing"]
    rows = [
        row(date="2024-03-05", title="三月一", status="已确认"),
        row(date="2024-03-31", title="三月末", status="已提交"),
        row(date="2024-03-25", title="三月草稿", status=""),
    ]
    upload(client, admin, csv_bytes(rows), world=ledger_world)
    with django_capture_on_commit_callbacks(execute=True):
        confirm(client, last_batch())
    data = build_report_data("monthly", "2024-03", ledger_world["program"], pairing)
    items = {item["title"]: item["status"] for item in data["activities"]["items"]}
    assert items == {"三月一": "confirmed", "三月末": "submitted"}
    assert (data["activities"]["total"], data["activities"]["confirmed"]) == (2, 1)
    entered = Activity.history.get(title="三月末").history_date
    assert entered.date() > datetime.date(2024, 3, 31)  # the trail says when it really came in


def test_the_program_admin_reads_every_batch_of_the_program_but_only_the_uploader_saves_it(client, ledger_world):
    users = ledger_world["users"]
    upload(client, users["secretary"], csv_bytes([row(title="支部自己上传")]), world=ledger_world)
    batch = last_batch()
    for name, sees in (("admin", True), ("committee", False), ("other_secretary", False)):
        client.force_login(users[name])
        listing = client.get(reverse("imports:list")).content.decode()
        assert (batch.file_name in listing) is sees, name
        assert client.get(reverse("imports:detail", args=[batch.pk])).status_code == (200 if sees else 404), name
    client.force_login(users["admin"])
    page = client.get(reverse("imports:detail", args=[batch.pk])).content.decode()
    assert "支部自己上传" in page and reverse("imports:confirm", args=[batch.pk]) not in page
    assert confirm(client, batch).status_code == 403
    assert not Activity.objects.exists()
    client.force_login(users["secretary"])
    assert reverse("imports:confirm", args=[batch.pk]) in client.get(reverse("imports:detail", args=[batch.pk])).content.decode()
    confirm(client, batch)
    assert Activity.objects.get().title == "支部自己上传"


def test_the_activity_page_says_it_was_confirmed_by_ledger_import_and_by_whom(client, ledger_world):
    admin = ledger_world["users"]["admin"]
    upload(client, admin, csv_bytes([row(title="台账确认", status="已确认"), row(title="台账草稿")]),
           world=ledger_world)
    batch = last_batch()
    confirm(client, batch)
    confirmed, draft = Activity.objects.get(title="台账确认"), Activity.objects.get(title="台账草稿")
    page = client.get(reverse("activities:detail", args=[confirmed.pk])).content.decode()
    assert f"由 {admin} 经台账导入确认（#{batch.pk}）" in page
    assert "经台账导入确认" not in client.get(reverse("activities:detail", args=[draft.pk])).content.decode()


def test_a_batch_of_submitted_activities_tells_each_village_once(client, ledger_world, django_capture_on_commit_callbacks):
    from reports.events import activities_to_confirm
    from reports.models import Notification

    # a second village side member of the pairing, and a second pairing of the program with its own village
    village, world = ledger_world["users"]["village"], ledger_world
    other_member = f.UserFactory(username="village2")
    f.MembershipFactory(user=other_member, organization=world["village"], role="village_committee")
    far_village = f.OrganizationFactory(name="石门村", kind="village")
    far_pairing = f.PairingFactory(program=world["program"], supporter=world["school"], supported=far_village)
    f.PairingBranchFactory(pairing=far_pairing, branch=world["branch"])
    far_cadre = f.UserFactory(username="far")
    f.MembershipFactory(user=far_cadre, organization=far_village, role="village_committee")

    rows = [row(title=f"义修{i}", status="已提交") for i in range(12)]
    rows += [row(title=f"议事{i}", status="已提交", pairing="石门村") for i in range(3)]
    rows += [row(title="草稿", status="")]
    upload(client, world["users"]["secretary"], csv_bytes(rows), world=world)
    with django_capture_on_commit_callbacks(execute=True):
        confirm(client, last_batch())
    assert Activity.objects.filter(status=Activity.Status.SUBMITTED).count() == 15

    def counts():
        return {user.username: Notification.objects.filter(user=user).count()
                for user in (village, other_member, far_cadre, world["users"]["secretary"])}

    assert counts() == {"village": 1, "village2": 1, "far": 1, "secretary": 0}
    notice = Notification.objects.get(user=village)
    assert notice.message == "第三党支部经台账导入提交了 12 条活动，待验单"
    assert notice.url == reverse("activities:list") + f"?pairing={world['pairing'].pk}&status=submitted"
    assert Notification.objects.get(user=far_cadre).message == "第三党支部经台账导入提交了 3 条活动，待验单"
    # the link lists exactly those twelve for the village
    client.force_login(village)
    page = client.get(notice.url).content.decode()
    assert page.count("义修") >= 12 and "议事" not in page and "草稿" not in page
    # announced again (a retried task): nothing more
    ids = list(Activity.objects.filter(status=Activity.Status.SUBMITTED).values_list("pk", flat=True))
    assert activities_to_confirm(sender=Activity, activity_ids=ids, actor=world["users"]["secretary"]) == 0
    assert counts() == {"village": 1, "village2": 1, "far": 1, "secretary": 0}


# --- co-hosts (共同承办支部): read from the export's column ------------------------------------------------------


def with_co_hosts(rows, co_hosts):
    """The file of ``rows`` with the export's co-host column after 党支部, one cell per row."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow([*HEAD[:5], "共同承办支部", *HEAD[5:]])
    for cells, cell in zip(rows, co_hosts):
        writer.writerow([*cells[:5], cell, *cells[5:]])
    return out.getvalue().encode()


def test_a_ledger_names_co_hosts_and_they_are_credited(client, ledger_world):
    # the secretary of 第三党支部 names 第四党支部, a branch of the pairing they do not record for
    secretary = ledger_world["users"]["secretary"]
    upload(client, secretary, with_co_hosts([row(title="联合义修"), row(title="单独义修")], ["第四党支部", ""]),
           world=ledger_world)
    batch = last_batch()
    assert (batch.new_rows, batch.error_rows) == (2, 0), list(batch.rows.values("errors"))
    confirm(client, batch)
    joint, alone = Activity.objects.get(title="联合义修"), Activity.objects.get(title="单独义修")
    assert list(joint.co_branches.all()) == [ledger_world["other_branch"]]
    assert not alone.co_branches.exists()
    # the list and its export show the co-host as for a typed one
    client.force_login(ledger_world["users"]["admin"])
    exported = b"".join(client.get(reverse("activities:export")).streaming_content).decode("utf-8-sig")
    lines = {line.split(",")[8]: line for line in exported.splitlines()[1:]}
    assert lines["联合义修"].split(",")[6] == "第四党支部" and lines["单独义修"].split(",")[6] == ""


@pytest.mark.parametrize("cell, reason", [
    ("第四党支部、田心村支部", "值“第四党支部、田心村支部”中的“田心村支部”不是本结对的参与支部"),
    ("第三党支部", "值“第三党支部”含举办支部本身"),
    ("田心村支部", "值“田心村支部”不是本结对的参与支部"),
])
def test_a_co_host_outside_the_pairing_or_the_host_itself_is_refused(client, ledger_world, cell, reason):
    upload(client, ledger_world["users"]["admin"], with_co_hosts([row()], [cell]), world=ledger_world)
    batch = last_batch()
    assert batch.error_rows == 1
    page = client.get(reverse("imports:detail", args=[batch.pk])).content.decode()
    assert "「共同承办支部」列" in page and reason in page
    confirm(client, batch)
    assert not Activity.objects.exists()


def test_a_recorded_activity_with_other_co_hosts_is_not_rewritten(client, ledger_world):
    admin = ledger_world["users"]["admin"]
    upload(client, admin, with_co_hosts([row()], ["第四党支部"]), world=ledger_world)
    confirm(client, last_batch())
    # the same file again: unchanged; without the column: unchanged (it says nothing of co-hosts)
    upload(client, admin, with_co_hosts([row()], ["第四党支部"]), world=ledger_world)
    assert (last_batch().unchanged_rows, last_batch().error_rows) == (1, 0)
    upload(client, admin, csv_bytes([row()]), world=ledger_world)
    assert (last_batch().unchanged_rows, last_batch().error_rows) == (1, 0)
    # the column left blank: the recorded co-host is not dropped behind the village's back
    upload(client, admin, with_co_hosts([row()], [""]), world=ledger_world)
    batch = last_batch()
    assert batch.error_rows == 1
    assert "共同承办支部" in client.get(reverse("imports:detail", args=[batch.pk])).content.decode()
    assert list(Activity.objects.get().co_branches.all()) == [ledger_world["other_branch"]]


def test_the_import_service_refuses_a_co_host_not_taking_part(ledger_world):
    from django.core.exceptions import ValidationError

    from activities import services

    fields = services.ActivityFields(
        pairing=ledger_world["pairing"], activity_type=f.ActivityTypeFactory(code="x", name="其他"), title="义修",
        date=datetime.date(2024, 3, 5), co_branches=[f.OrganizationFactory(name="外校支部")],
    )
    entry = services.ImportEntry(fields=fields, branch=ledger_world["branch"], row=2)
    with pytest.raises(ValidationError, match="外校支部"):
        services.activities_import(actor=ledger_world["users"]["admin"], entries=[entry])
    assert not Activity.objects.exists()


# --- program-wide rows (不针对结对村): the program's work that serves no paired village ------------------------


@pytest.mark.parametrize("label", ["不针对结对村", "双联双助 · 不针对结对村"])
def test_a_program_wide_row_is_imported_for_the_program(client, ledger_world, django_capture_on_commit_callbacks, label):
    from reports.models import Notification

    world = ledger_world
    rows = [row(title="小电匠进东区", pairing=label, status="已提交"), row(title="进村义修", status="已提交")]
    upload(client, world["users"]["secretary"], with_co_hosts(rows, ["第四党支部", ""]), world=world)
    batch = last_batch()
    assert (batch.new_rows, batch.error_rows) == (2, 0), list(batch.rows.values("errors"))
    with django_capture_on_commit_callbacks(execute=True):
        confirm(client, batch)
    wide = Activity.objects.get(title="小电匠进东区")
    assert wide.pairing_id is None and wide.program == world["program"] and wide.branch == world["branch"]
    assert list(wide.co_branches.all()) == [world["other_branch"]]
    assert wide.metric_values.get().value == 3
    # no village confirms it: the program's admins are told, once, on the list of the program's program-wide work
    assert not Notification.objects.filter(user=world["users"]["village"], message__contains="1 条活动").exclude(
        url__contains=f"pairing={world['pairing'].pk}").exists()
    notice = Notification.objects.get(user=world["users"]["admin"])
    assert notice.message == "第三党支部经台账导入提交了 1 条活动，待验单"
    client.force_login(world["users"]["admin"])
    page = client.get(notice.url).content.decode()
    assert "小电匠进东区" in page and "进村义修" not in page
    # its export reads back unchanged
    exported = b"".join(client.get(reverse("activities:export")).streaming_content)
    upload(client, world["users"]["admin"], exported, name="export.csv", world=world)
    again = last_batch()
    assert (again.unchanged_rows, again.new_rows, again.error_rows) == (2, 0, 0), list(again.rows.values("errors"))


def test_a_program_wide_row_of_another_branch_is_refused_to_a_secretary(client, ledger_world):
    upload(client, ledger_world["users"]["secretary"], csv_bytes([row(pairing="不针对结对村", branch="第四党支部")]),
           world=ledger_world)
    batch = last_batch()
    assert batch.error_rows == 1
    page = client.get(reverse("imports:detail", args=[batch.pk])).content.decode()
    assert "不是该项目中您可以导入的党支部" in page
    confirm(client, batch)
    assert not Activity.objects.exists()


@pytest.fixture
def two_schools(ledger_world):
    """A second school of the program with a 第三党支部 of its own (names repeat across schools)."""
    from portal.models import Organization

    school = f.OrganizationFactory(name="二中", kind=Organization.Kind.SCHOOL)
    namesake = f.OrganizationFactory(name="第三党支部", short_name="二中第三党支部", kind=Organization.Kind.BRANCH,
                                     parent=school)
    pairing = f.PairingFactory(program=ledger_world["program"], supporter=school,
                               supported=f.OrganizationFactory(name="东村", kind=Organization.Kind.VILLAGE))
    f.PairingBranchFactory(pairing=pairing, branch=namesake)
    return {**ledger_world, "namesake": namesake}


def test_a_program_wide_branch_name_two_schools_share_is_refused_not_guessed(client, two_schools):
    admin = two_schools["users"]["admin"]
    upload(client, admin, csv_bytes([row(pairing="不针对结对村", title="全项目")]), world=two_schools)
    batch = last_batch()
    assert batch.error_rows == 1
    assert "对应本项目中多个同名支部，请填写其简称" in client.get(reverse("imports:detail", args=[batch.pk])).content.decode()
    # its short name names one
    upload(client, admin, csv_bytes([row(pairing="不针对结对村", branch="二中第三党支部", title="全项目")]), world=two_schools)
    confirm(client, last_batch())
    assert Activity.objects.get(title="全项目").branch == two_schools["namesake"]


def test_a_program_wide_co_host_is_read_among_the_hosts_own_side(client, two_schools):
    # 第四党支部's secretary names their own school's 第三党支部; 二中's namesake is of another side
    rows = with_co_hosts([row(pairing="不针对结对村", branch="第四党支部", title="全项目")], ["第三党支部"])
    upload(client, two_schools["users"]["other_secretary"], rows, world=two_schools)
    batch = last_batch()
    assert (batch.new_rows, batch.error_rows) == (1, 0), list(batch.rows.values("errors"))
    confirm(client, batch)
    assert list(Activity.objects.get(title="全项目").co_branches.all()) == [two_schools["branch"]]
