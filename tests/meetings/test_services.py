"""The meeting services: one atomic write of a meeting with its attendees, decisions and files; validation in
Chinese; organisations and people outside the meeting's scope refused as if they did not exist; closing and
reopening decisions by their owners and the program's admins only."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from PIL import Image

from activities import services
from activities.models import ActionItem, Meeting, MeetingAttachment, MeetingAttendee
from pairings.models import Liaison
from tests import factories as f
from tests.activities.images import GPS_IFD, jpeg_bytes
from tests.meetings.conftest import MEETING_DAY, attendees, decisions, fields, items
from tests.pairings.helpers import activity, pdf_bytes

pytestmark = pytest.mark.django_db


def create(world, actor="admin", pairing="pairing", **kwargs):
    arguments = {
        "fields": fields(), "attendees": attendees(world), "decisions": decisions(world),
        **kwargs,
    }
    return services.meeting_create(
        actor=world["users"][actor] if isinstance(actor, str) else actor, program=world["program"],
        pairing=world[pairing] if pairing else None, **arguments,
    )


def messages_of(error):
    return [m for messages in error.value.message_dict.values() for m in messages] if hasattr(error.value, "error_dict") else error.value.messages


def chinese(text):
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


# --- recording -----------------------------------------------------------------------------------------


def test_a_meeting_is_written_with_its_attendees_and_decisions(world, meeting):
    assert meeting.title == "结对共建联席会议" or meeting.title == "Joint meeting of the pairing"
    assert meeting.program == world["program"] and meeting.created_by == world["users"]["admin"]
    people = list(MeetingAttendee.objects.filter(meeting=meeting).order_by("order"))
    assert [p.name for p in people] == [str(world["users"]["secretary"]), "王校长", str(world["users"]["village"]), "镇党委组织委员"]
    assert people[3].organization is None and people[3].organization_name == "龙山镇党委"
    decisions_ = list(ActionItem.objects.filter(meeting=meeting).order_by("order"))
    assert [d.status for d in decisions_] == ["open", "open"]
    assert decisions_[0].owner_user == world["users"]["secretary"]
    assert meeting.history.count() == 1 and ActionItem.history.count() == 2  # audited like every model


@pytest.mark.parametrize("role", ["secretary", "other_secretary", "committee", "village", "admin", "superuser"])
def test_either_side_and_the_admin_record_a_pairings_meeting(world, role):
    assert create(world, actor=role).pk


def test_a_named_liaison_records_the_meeting(world):
    liaison = f.UserFactory(username="liaison")
    Liaison.objects.create(pairing=world["pairing"], side="supporter", name="刘志华", user=liaison)
    assert create(world, actor=liaison).pk


@pytest.mark.parametrize("role", ["outsider", "member"])
def test_others_do_not(world, cast, role):
    with pytest.raises(PermissionDenied):
        create(world, actor=cast[role])
    assert not Meeting.objects.exists()


def test_a_program_wide_meeting_is_the_admins(world):
    meeting = create(world, pairing=None, attendees=attendees(world)[:1])
    assert meeting.pairing is None
    with pytest.raises(PermissionDenied):
        create(world, actor="committee", pairing=None)


def test_a_pairing_of_another_program_is_refused(world):
    with pytest.raises(PermissionDenied):
        services.meeting_create(
            actor=world["users"]["superuser"], program=world["program"], pairing=world["other_pairing"],
            fields=fields(), attendees=attendees(world),
        )


@pytest.mark.parametrize(
    "change, field",
    [
        ({"fields": fields(date=None)}, "date"),
        ({"fields": fields(date=datetime.date(2099, 1, 1))}, "date"),
        ({"fields": fields(title="会" * 121)}, "title"),
        ({"attendees": []}, "attendees"),
        ({"attendees": [services.AttendeeEntry(side="supporter", name="王校长")]}, "attendees"),  # one side only
        ({"attendees": [services.AttendeeEntry(side="supporter", name="王校长")] * 2}, "attendees"),
        ({"attendees": [services.AttendeeEntry(side="nowhere", name="王校长")]}, "attendees"),
        ({"decisions": [services.DecisionEntry(text="", owner_org=None, due_date=None)]}, "decisions"),
        ({"decisions": [services.DecisionEntry(text="事项", owner_org=None, due_date=datetime.date(2024, 4, 1))]}, "decisions"),
        ({"decisions": [services.DecisionEntry(text="事项", owner_org="village", due_date=None)]}, "decisions"),
        ({"decisions": [services.DecisionEntry(text="事项", owner_org="village", due_date=datetime.date(2024, 3, 1))]}, "decisions"),
        ({"decisions": [services.DecisionEntry(text="事" * 301, owner_org="village", due_date=datetime.date(2024, 4, 1))]}, "decisions"),
    ],
    ids=["no-date", "future", "long-title", "no-attendees", "one-side", "twice", "bad-side", "empty-decision",
         "no-owner", "no-due", "due-before-meeting", "long-decision"],
)
def test_bad_input_is_refused_in_chinese_and_nothing_is_written(world, change, field):
    if "decisions" in change:
        change["decisions"] = [
            services.DecisionEntry(text=d.text, owner_org=world[d.owner_org] if isinstance(d.owner_org, str) else d.owner_org, due_date=d.due_date)
            for d in change["decisions"]
        ]
    with translation.override("zh-hans"), pytest.raises(ValidationError) as error:
        create(world, **change)
    assert field in error.value.message_dict
    assert all(chinese(m) for m in messages_of(error)), messages_of(error)
    assert not Meeting.objects.exists() and not ActionItem.objects.exists() and not MeetingAttendee.objects.exists()


def test_an_organisation_outside_the_pairing_is_refused_as_if_it_did_not_exist(world):
    foreign = world["other_pairing"].supported
    with translation.override("zh-hans"), pytest.raises(ValidationError) as error:
        create(world, decisions=[services.DecisionEntry(text="事项", owner_org=foreign, due_date=datetime.date(2024, 4, 1))])
    message = error.value.message_dict["decisions"][0]
    assert foreign.name not in message and "选择" in message
    with pytest.raises(ValidationError) as error:
        create(world, attendees=[*attendees(world), services.AttendeeEntry(side="other", name="某人", organization=foreign)])
    assert foreign.name not in str(error.value)


def test_a_person_outside_the_pairing_is_refused(world):
    with pytest.raises(ValidationError) as error:
        create(world, attendees=[*attendees(world), services.AttendeeEntry(side="other", user=world["users"]["outsider"])])
    assert "attendees" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        create(world, decisions=[services.DecisionEntry(
            text="事项", owner_org=world["village"], due_date=datetime.date(2024, 4, 1), owner_user=world["users"]["outsider"])])
    assert "decisions" in error.value.message_dict


def test_the_owner_person_acts_for_the_owner_organisation(world):
    with translation.override("zh-hans"), pytest.raises(ValidationError) as error:
        create(world, decisions=[services.DecisionEntry(
            text="事项", owner_org=world["village"], due_date=datetime.date(2024, 4, 1), owner_user=world["users"]["secretary"])])
    assert "龙石村" in error.value.message_dict["decisions"][0]
    # a school committee member acts for the branches below the school
    meeting = create(world, decisions=[services.DecisionEntry(
        text="事项", owner_org=world["branch"], due_date=datetime.date(2024, 4, 1), owner_user=world["users"]["committee"])])
    assert meeting.action_items.get().owner_user == world["users"]["committee"]


def test_the_recording_activity_is_a_joint_meeting_of_the_pairing_that_day(world):
    meeting_type = f.ActivityTypeFactory(code="joint-meeting", name="联席会议")
    other_type = f.ActivityTypeFactory(code="lecture", name="宣讲")
    recorded = activity(world["pairing"], world["branch"], date=MEETING_DAY, activity_type=meeting_type)
    lecture = activity(world["pairing"], world["branch"], date=MEETING_DAY, activity_type=other_type)
    elsewhere = activity(world["other_pairing"], f.PairingBranchFactory(pairing=world["other_pairing"]).branch,
                         date=MEETING_DAY, activity_type=meeting_type)
    other_day = activity(world["pairing"], world["branch"], date=MEETING_DAY + datetime.timedelta(days=1), activity_type=meeting_type)
    for wrong in (lecture, elsewhere, other_day):
        with pytest.raises(ValidationError) as error:
            create(world, fields=fields(activity=wrong))
        assert "activity" in error.value.message_dict
    meeting = create(world, fields=fields(activity=recorded))
    assert meeting.activity == recorded and recorded.meeting == meeting
    with pytest.raises(ValidationError):  # one activity records one meeting
        create(world, fields=fields(activity=recorded))


# --- files ---------------------------------------------------------------------------------------------


def upload(name, content):
    return SimpleUploadedFile(name, content)


def test_pdf_and_photos_are_kept_photos_without_their_metadata(world, media):
    files = [
        services.NewAttachment(file=services.clean_meeting_upload(upload("签到表.jpg", jpeg_bytes(gps=True))), kind="sign_in"),
        services.NewAttachment(file=services.clean_meeting_upload(upload("纪要.pdf", pdf_bytes(2)))),
    ]
    meeting = create(world, new_attachments=files)
    sheet, document = meeting.attachments.order_by("id")
    assert (sheet.kind, sheet.content_type) == ("sign_in", "image/jpeg") and sheet.thumbnail
    assert (document.kind, document.content_type) == ("document", "application/pdf")
    assert "纪要" not in document.file.name and "签到表" not in sheet.file.name  # names are made here
    with sheet.file.open("rb") as handle:
        stored = Image.open(handle)
        stored.load()
        assert not stored.getexif().get_ifd(GPS_IFD) and len(stored.getexif()) == 0


@pytest.mark.parametrize(
    "name, content",
    [
        ("纪要.docx", b"PK\x03\x04" + b"0" * 200),
        ("notes.txt", "会议纪要".encode()),
        ("cut.pdf", pdf_bytes()[:60]),
        ("big.pdf", b"%PDF-1.4\n" + b"0" * (services.MAX_DOCUMENT_BYTES + 1)),
        ("photo.jpg", b"\xff\xd8\xff\xe0" + b"0" * 100),
    ],
    ids=["docx", "text", "truncated-pdf", "too-large", "broken-jpeg"],
)
def test_other_files_are_refused_in_chinese(name, content):
    with translation.override("zh-hans"), pytest.raises(ValidationError) as error:
        services.clean_meeting_upload(upload(name, content))
    assert all(chinese(m) for m in error.value.messages), error.value.messages


def test_a_failed_write_leaves_no_file_behind(world, media):
    files = [services.NewAttachment(file=services.clean_meeting_upload(upload("a.jpg", jpeg_bytes())))]
    with pytest.raises(ValidationError):
        create(world, new_attachments=files, attendees=[])
    assert not Meeting.objects.exists() and not MeetingAttachment.objects.exists()
    assert not any(p.is_file() for p in (media / "meetings").rglob("*")) if (media / "meetings").exists() else True


def test_at_most_so_many_files(world, media, monkeypatch):
    monkeypatch.setattr(services, "MAX_ATTACHMENTS_PER_MEETING", 1)
    files = [services.NewAttachment(file=services.clean_meeting_upload(upload(f"{i}.pdf", pdf_bytes()))) for i in range(2)]
    with pytest.raises(ValidationError) as error:
        create(world, new_attachments=files)
    assert "attachments" in error.value.message_dict
    assert not Meeting.objects.exists()


# --- changing a meeting -------------------------------------------------------------------------------------


def test_update_changes_open_decisions_removes_and_adds(world, meeting):
    by_owner = items(meeting)
    mine, theirs = by_owner[world["branch"].pk], by_owner[world["village"].pk]
    services.action_item_close(item=theirs, status="done", note="清单已交支部", actor=world["users"]["village"])
    updated = services.meeting_update(
        meeting=meeting, actor=world["users"]["secretary"], fields=fields(title="第一季度联席会议"),
        attendees=attendees(world)[:3],
        decisions=[
            services.DecisionEntry(text="改为第四党支部牵头", owner_org=world["other_branch"], due_date=datetime.date(2024, 4, 15), item_id=mine.pk),
            services.DecisionEntry(text="新增:暑期课堂", owner_org=world["branch"], due_date=datetime.date(2024, 7, 31)),
        ],
    )
    assert updated.title == "第一季度联席会议" and updated.attendees.count() == 3
    mine.refresh_from_db()
    assert (mine.text, mine.owner_org) == ("改为第四党支部牵头", world["other_branch"])
    assert updated.action_items.count() == 3  # the closed one is kept as it was
    services.meeting_update(
        meeting=meeting, actor=world["users"]["secretary"], fields=fields(), attendees=attendees(world),
        decisions=[services.DecisionEntry(text="", owner_org=None, due_date=None, item_id=mine.pk, delete=True)],
    )
    assert not ActionItem.objects.filter(pk=mine.pk).exists()


def test_a_closed_decision_is_not_changed_nor_one_of_another_meeting(world, meeting):
    other = create(world)
    theirs = items(meeting)[world["village"].pk]
    services.action_item_close(item=theirs, status="dropped", note="已不需要", actor=world["users"]["admin"])
    for item_id in (theirs.pk, items(other)[world["village"].pk].pk):
        with pytest.raises(ValidationError) as error:
            services.meeting_update(
                meeting=meeting, actor=world["users"]["admin"], fields=fields(), attendees=attendees(world),
                decisions=[services.DecisionEntry(text="改", owner_org=world["village"], due_date=datetime.date(2024, 5, 1), item_id=item_id)],
            )
        assert "decisions" in error.value.message_dict
    theirs.refresh_from_db()
    assert theirs.text == "村委会摸排独居老人需求清单"


def test_who_may_edit(world, cast, meeting):
    for role in ("member", "outsider"):
        with pytest.raises((PermissionDenied, Meeting.DoesNotExist)):
            services.meeting_update(meeting=meeting, actor=cast[role], fields=fields(), attendees=attendees(world))


# --- closing and reopening ------------------------------------------------------------------------------------


def test_the_owner_closes_with_an_activity(world, meeting):
    item = items(meeting)[world["branch"].pk]
    done_by = activity(world["pairing"], world["branch"], date=datetime.date(2024, 3, 20))
    before = activity(world["pairing"], world["branch"], date=datetime.date(2024, 3, 1))
    draft = activity(world["pairing"], world["branch"], date=datetime.date(2024, 3, 21), status="draft")
    for wrong in (before, draft):
        with pytest.raises(ValidationError) as error:
            services.action_item_close(item=item, status="done", activity=wrong, actor=world["users"]["secretary"])
        assert "activity" in error.value.message_dict
    closed = services.action_item_close(item=item, status="done", activity=done_by, actor=world["users"]["secretary"])
    assert (closed.status, closed.done_by_activity, closed.closed_by) == ("done", done_by, world["users"]["secretary"])
    assert closed.closed_at is not None
    with pytest.raises(ValidationError):
        services.action_item_close(item=item, status="dropped", note="x", actor=world["users"]["secretary"])


@pytest.mark.parametrize(
    "status, note, field",
    [("done", "", "note"), ("dropped", "", "note"), ("later", "x", "status"), ("done", "说" * 301, "note")],
)
def test_closing_needs_its_reason(world, meeting, status, note, field):
    item = items(meeting)[world["village"].pk]
    with translation.override("zh-hans"), pytest.raises(ValidationError) as error:
        services.action_item_close(item=item, status=status, note=note, actor=world["users"]["village"])
    assert field in error.value.message_dict and chinese(error.value.message_dict[field][0])
    item.refresh_from_db()
    assert item.status == "open"


@pytest.mark.parametrize("role, allowed", [
    ("village", True), ("admin", True), ("superuser", True), ("secretary", False), ("committee", False),
    ("member", False), ("outsider", None),
])
def test_who_closes_the_villages_decision(world, cast, meeting, role, allowed):
    item = items(meeting)[world["village"].pk]
    if allowed:
        assert services.action_item_close(item=item, status="done", note="已完成", actor=cast[role]).status == "done"
    else:
        with pytest.raises(ActionItem.DoesNotExist if allowed is None else PermissionDenied):
            services.action_item_close(item=item, status="done", note="已完成", actor=cast[role])


def test_the_school_committee_closes_its_branchs_decision_and_the_owner_person_theirs(world, cast, meeting):
    mine = items(meeting)[world["branch"].pk]
    assert services.action_item_close(item=mine, status="done", note="已完成", actor=cast["committee"]).status == "done"
    services.action_item_reopen(item=mine, actor=cast["secretary"])
    with pytest.raises(PermissionDenied):
        services.action_item_close(item=mine, status="done", note="已完成", actor=cast["member"])


def test_reopen(world, meeting):
    item = items(meeting)[world["village"].pk]
    with pytest.raises(ValidationError):
        services.action_item_reopen(item=item, actor=world["users"]["village"])
    services.action_item_close(item=item, status="dropped", note="另行安排", actor=world["users"]["village"])
    item = services.action_item_reopen(item=item, actor=world["users"]["village"])
    assert (item.status, item.closed_at, item.note, item.closed_by) == ("open", None, "", None)
    assert [h.status for h in item.history.order_by("history_date", "history_id")] == ["open", "dropped", "open"]
