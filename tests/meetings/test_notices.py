"""The daily scan tells the owners of a meeting's decision when it comes due and when it is overdue, once each,
with a link to its close form that they may open; the member who only reads, and other villages, are not told."""

import datetime

from django.urls import reverse

from reports import events
from reports.models import Notification
from tests.meetings.conftest import items


def told(kind=Notification.Kind.ACTION_ITEM):
    return sorted(n.user.username for n in Notification.objects.filter(kind=kind).select_related("user"))


def test_owners_are_told_when_due_and_when_overdue_once_each(client, world, cast, meeting):
    by_owner = items(meeting)
    branch_item = by_owner[world["branch"].pk]  # due 2024-03-31, named the secretary's
    village_item = by_owner[world["village"].pk]  # due 2024-06-30

    events.due_scan(today=datetime.date(2024, 3, 25))
    events.due_scan(today=datetime.date(2024, 3, 25))
    assert told() == ["secretary"]  # the branch's: its secretary (the member only reads; the other branch not)
    notice = Notification.objects.get(kind=Notification.Kind.ACTION_ITEM)
    assert notice.url == reverse("activities:action_item_close", args=[branch_item.pk])
    client.force_login(cast["secretary"])
    assert client.get(notice.url).status_code == 200

    events.due_scan(today=datetime.date(2024, 4, 2))  # overdue now: told once more
    events.due_scan(today=datetime.date(2024, 4, 3))
    assert told() == ["secretary", "secretary"]

    events.due_scan(today=datetime.date(2024, 6, 25))  # the village's comes due
    assert told().count("village") == 1 and "outsider" not in told()
    assert Notification.objects.get(user=cast["village"]).url.endswith(f"/{village_item.pk}/close/")
