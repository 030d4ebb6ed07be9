"""On the demo: an activity of 龙石村's pairing submitted by its branch reaches `longshi` (issue 14's "done when"),
and the day's scan runs on the demo without telling anyone of a record they cannot open."""

import datetime

import pytest
from django.urls import reverse

from activities import services
from activities.models import Activity
from portal.models import User
from reports import events
from reports.models import Notification

pytestmark = pytest.mark.django_db


def test_longshi_is_told_of_an_activity_waiting_for_confirmation(demo_output, client):
    longshi = User.objects.get(username="longshi")
    secretary = User.objects.get(username="secretary3")
    draft = Activity.objects.filter(
        status=Activity.Status.DRAFT, pairing__supported__memberships__user=longshi, branch__memberships__user=secretary,
    ).first()
    if draft is None:  # the demo's drafts are of other branches: record one
        draft = Activity.objects.filter(pairing__supported__memberships__user=longshi, branch__memberships__user=secretary).first()
        draft.status, draft.submitted_at = Activity.Status.DRAFT, None
        draft.save()
    services.activity_submit(activity=draft, actor=secretary)
    notice = Notification.objects.get(user=longshi, kind=Notification.Kind.ACTIVITY_TO_CONFIRM)
    assert "龙石村" in notice.message and "待验单" in notice.message
    client.force_login(longshi)
    assert client.get(reverse("reports:notification_open", args=[notice.pk]), follow=True).status_code == 200


def test_the_scan_on_the_demo_points_each_person_to_a_page_they_open(demo_output, client):
    events.due_scan(today=datetime.date(2026, 12, 5))
    for notice in Notification.objects.exclude(url="").select_related("user").order_by("id")[:40]:
        client.force_login(notice.user)
        assert client.get(notice.url).status_code == 200, (notice.user, notice.url)
