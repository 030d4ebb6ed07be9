"""The meeting models' constraints: what the database refuses whatever writes it."""

import datetime

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from activities.models import ActionItem, MeetingAttachment, MeetingAttendee
from tests.meetings.conftest import items

pytestmark = pytest.mark.django_db


def refused(**changes):
    def check(item):
        with pytest.raises(IntegrityError), transaction.atomic():
            ActionItem.objects.filter(pk=item.pk).update(**changes)
    return check


@pytest.mark.parametrize(
    "changes",
    [
        {"status": "done", "note": "做完了"},  # closed without a time
        {"status": "open", "closed_at": timezone.now()},  # open with a closing time
        {"status": "done", "closed_at": timezone.now()},  # done with neither activity nor note
        {"status": "dropped", "closed_at": timezone.now()},  # dropped without a reason
        {"status": "finished", "closed_at": timezone.now(), "note": "x"},  # no such status
        {"text": ""},
    ],
    ids=["closed-no-time", "open-with-time", "done-no-evidence", "dropped-no-reason", "bad-status", "no-text"],
)
def test_action_item_constraints(meeting, world, changes):
    refused(**changes)(items(meeting)[world["branch"].pk])


def test_a_closed_item_with_its_evidence_is_accepted(meeting, world):
    item = items(meeting)[world["branch"].pk]
    ActionItem.objects.filter(pk=item.pk).update(status="done", note="已完成维修23件", closed_at=timezone.now())
    ActionItem.objects.filter(pk=item.pk).update(status="dropped", note="村里已自行解决", closed_at=timezone.now())
    item.refresh_from_db()
    assert item.status == "dropped" and not item.overdue_on(datetime.date(2030, 1, 1))


def test_attachment_is_a_pdf_or_a_jpeg(meeting):
    with pytest.raises(IntegrityError), transaction.atomic():
        MeetingAttachment.objects.create(meeting=meeting, kind="document", file="meetings/x.docx", content_type="application/msword")


def test_attendee_names_are_unique_per_side(meeting):
    with pytest.raises(IntegrityError), transaction.atomic():
        MeetingAttendee.objects.create(meeting=meeting, side="other", name="镇党委组织委员")
    MeetingAttendee.objects.create(meeting=meeting, side="supporter", name="镇党委组织委员")  # another side: another person


def test_overdue_is_open_and_due_before_the_day(meeting, world):
    item = items(meeting)[world["branch"].pk]
    assert not item.overdue_on(datetime.date(2024, 3, 31))  # due today: not yet
    assert item.overdue_on(datetime.date(2024, 4, 1))
