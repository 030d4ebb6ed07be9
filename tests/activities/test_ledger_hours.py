"""The service-hours ledger (服务时长台账): one row per volunteer per activity, the activity by its natural key, the
volunteer by name and phone among those who may serve; hours enter as recorded, never verified; all or nothing,
idempotent, undoable."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from activities.models import Activity, ServiceRecord
from portal.models import ImportBatch, ImportRow
from tests import factories as f

HEAD = ["结对", "党支部", "日期", "标题", "姓名", "手机号", "时长（小时）", "服务内容"]


@pytest.fixture
def hours_world(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    world["activity"] = f.ActivityFactory(
        pairing=world["pairing"], branch=world["branch"], title="家电义修", date=datetime.date(2024, 3, 5),
        status=Activity.Status.SUBMITTED, submitted_at=datetime.datetime(2024, 3, 5, 12, tzinfo=datetime.UTC),
    )
    world["zhang"] = f.VolunteerFactory(organization=world["branch"], name="张三", phone="13800000000")
    world["li"] = f.VolunteerFactory(organization=world["branch"], name="李四", phone="13900000000")
    return world


def line(name="张三", phone="13800000000", hours="2.5", title="家电义修", date="2024/3/5", content="修电饭煲"):
    return ["龙石村", "第三党支部", date, title, name, phone, hours, content]


def csv_bytes(rows):
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(HEAD)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def send(client, user, rows, world):
    client.force_login(user)
    response = client.post(reverse("imports:upload"), {
        "kind": "hours", "program": world["program"].pk, "file": SimpleUploadedFile("时长.csv", csv_bytes(rows)),
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    return ImportBatch.objects.order_by("-pk").first()


def confirm(client, batch):
    client.post(reverse("imports:confirm", args=[batch.pk]))
    batch.refresh_from_db()
    return batch


def test_new_hours_enter_as_recorded_and_the_same_file_twice_adds_nothing(client, hours_world):
    secretary = hours_world["users"]["secretary"]
    rows = [line(), line(name="李四", phone="13900000000", hours="1", content="")]
    batch = send(client, secretary, rows, hours_world)
    assert (batch.new_rows, batch.error_rows) == (2, 0)
    assert confirm(client, batch).status == ImportBatch.Status.APPLIED
    records = {r.volunteer.name: r for r in ServiceRecord.objects.select_related("volunteer")}
    assert records["张三"].hours == Decimal("2.5") and records["张三"].content == "修电饭煲"
    assert {r.status for r in records.values()} == {ServiceRecord.Status.RECORDED}  # never verified by a file
    assert records["张三"].recorded_by == secretary
    assert records["张三"].history.first().history_change_reason == f"recorded by ledger import #{batch.pk}"
    again = send(client, secretary, rows, hours_world)
    assert (again.new_rows, again.updated_rows, again.unchanged_rows) == (0, 0, 2)
    confirm(client, again)
    assert ServiceRecord.objects.count() == 2


def test_a_foreign_volunteer_or_activity_is_refused_as_unknown(client, hours_world):
    stranger = f.VolunteerFactory(organization=hours_world["other_pairing"].supported, name="王五", phone="13700000000")
    foreign = f.ActivityFactory(pairing=hours_world["pairing"], branch=hours_world["other_branch"], title="别支部活动",
                                date=datetime.date(2024, 3, 5))
    rows = [
        line(name="王五", phone="13700000000"), line(name="赵六", phone="13600000000"),
        ["龙石村", "第四党支部", "2024-03-05", "别支部活动", "张三", "13800000000", "1", ""],
        ["龙石村", "第三党支部", "2024-03-05", "没有的活动", "张三", "13800000000", "1", ""],
    ]
    batch = send(client, hours_world["users"]["secretary"], rows, hours_world)
    errors = [r.errors[0] for r in ImportRow.objects.filter(batch=batch).order_by("number")]
    assert batch.error_rows == 4
    # someone who exists elsewhere reads exactly like someone who does not exist
    assert errors[0][4:].replace("王五", "X") == errors[1][4:].replace("赵六", "X")
    assert "「姓名」列" in errors[0]
    assert "「党支部」列" in errors[2]  # the other branch is not the secretary's: as if it did not exist
    assert "「标题」列" in errors[3]
    assert foreign.service_records.count() == 0 and not stranger.service_records.exists()


def test_a_bad_middle_row_saves_nothing(client, hours_world):
    rows = [line(), line(name="李四", phone="13900000000", hours="25"), line(name="李四", phone="13900000000",
                                                                             title="家电义修", hours="1", date="2024-03-05")]
    batch = send(client, hours_world["users"]["secretary"], rows, hours_world)
    # the third row is the second's key again, but the second is an error: the third stands on its own
    assert (batch.new_rows, batch.error_rows) == (2, 1)
    assert ImportRow.objects.get(batch=batch, number=3).errors == [
        "第 3 行「时长（小时）」列：值“25”超过 24：每人每天服务时长不能超过 24 小时。"
    ]
    confirm(client, batch)
    assert batch.status == ImportBatch.Status.PREVIEW
    assert not ServiceRecord.objects.exists()


def test_a_day_holds_24_hours_across_activities(client, hours_world):
    other = f.ActivityFactory(pairing=hours_world["pairing"], branch=hours_world["branch"], title="环境整治",
                              date=datetime.date(2024, 3, 5))
    f.ServiceRecordFactory(activity=other, volunteer=hours_world["zhang"], hours=Decimal("20"))
    batch = send(client, hours_world["users"]["secretary"], [line(hours="5")], hours_world)
    assert batch.error_rows == 1 and "25" in ImportRow.objects.get(batch=batch).errors[0]


def test_changed_hours_update_and_undo_restores_the_state_before(client, hours_world):
    admin = hours_world["users"]["admin"]
    kept = f.ServiceRecordFactory(activity=hours_world["activity"], volunteer=hours_world["li"], hours=Decimal("1"),
                                  content="旧")
    batch = send(client, admin, [line(), line(name="李四", phone="13900000000", hours="3", content="新")], hours_world)
    assert (batch.new_rows, batch.updated_rows) == (1, 1)
    confirm(client, batch)
    kept.refresh_from_db()
    assert (kept.hours, kept.content) == (Decimal("3"), "新")
    client.post(reverse("imports:undo", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.UNDONE
    kept.refresh_from_db()
    assert (kept.hours, kept.content) == (Decimal("1"), "旧")
    assert list(ServiceRecord.objects.values_list("pk", flat=True)) == [kept.pk]


def test_undo_is_refused_once_the_hours_are_verified(client, hours_world):
    secretary = hours_world["users"]["secretary"]
    batch = confirm(client, send(client, secretary, [line()], hours_world))
    ServiceRecord.objects.update(status=ServiceRecord.Status.VERIFIED, verified_by=secretary,
                                 verified_at=datetime.datetime(2024, 3, 6, tzinfo=datetime.UTC))
    client.post(reverse("imports:undo", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.APPLIED and ServiceRecord.objects.count() == 1
    # verified hours are not rewritten by a file either
    again = send(client, secretary, [line(hours="3")], hours_world)
    assert again.error_rows == 1


def test_the_template_has_the_columns(client, hours_world):
    from openpyxl import load_workbook

    client.force_login(hours_world["users"]["secretary"])
    response = client.get(reverse("imports:template") + f"?kind=hours&program={hours_world['program'].pk}")
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    assert [c.value for c in sheet[1]] == HEAD


def test_a_ledger_of_hours_is_announced_once_per_branch_not_per_activity(client, hours_world):
    """Hours on three activities of the branch: its secretary gets one notice for the lot, on the home page where
    the activities with hours to verify are listed; the same file again tells nobody anything."""
    from reports.models import Notification

    for day in (6, 7):
        f.ActivityFactory(
            pairing=hours_world["pairing"], branch=hours_world["branch"], title="家电义修", date=datetime.date(2024, 3, day),
            status=Activity.Status.SUBMITTED, submitted_at=datetime.datetime(2024, 3, day, 12, tzinfo=datetime.UTC),
        )
    committee = hours_world["users"]["committee"]  # the import is the committee's; the secretary verifies
    rows = [line(date=f"2024/3/{day}") for day in (5, 6, 7)] + [line(name="李四", phone="13900000000", hours="1")]
    confirm(client, send(client, committee, rows, hours_world))
    notices = Notification.objects.filter(kind=Notification.Kind.HOURS_TO_VERIFY)
    assert [(n.user.username, n.url) for n in notices] == [("secretary", reverse("home"))]
    assert "4" in notices[0].message and "3" in notices[0].message  # 4 records on 3 activities
    confirm(client, send(client, committee, rows, hours_world))
    assert notices.count() == 1


def test_hours_of_a_program_wide_activity_name_it_without_a_village(client, hours_world):
    wide = f.ActivityFactory(
        pairing=None, program=hours_world["program"], branch=hours_world["branch"], title="小电匠进东区",
        date=datetime.date(2024, 3, 5),
    )
    secretary = hours_world["users"]["secretary"]
    rows = [["不针对结对村", "第三党支部", "2024/3/5", "小电匠进东区", "张三", "13800000000", "3", "检修电风扇"]]
    batch = send(client, secretary, rows, hours_world)
    assert (batch.new_rows, batch.error_rows) == (1, 0), list(batch.rows.values("errors"))
    confirm(client, batch)
    assert ServiceRecord.objects.get().activity == wide
    # another branch's program-wide work is not the secretary's to import for
    rows = [["不针对结对村", "第四党支部", "2024/3/5", "小电匠进东区", "张三", "13800000000", "3", ""]]
    refused = send(client, secretary, rows, hours_world)
    assert refused.error_rows == 1
    assert "不是该项目中您可以导入的党支部" in client.get(reverse("imports:detail", args=[refused.pk])).content.decode()
