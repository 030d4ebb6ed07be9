"""The header's unread count (reports.selectors.unread_count, one SQL statement) equals the ORM's capped count:
read notices, other people's and those past the cap left out."""

import pytest
from django.utils import timezone

from reports.context_processors import BADGE_CAP
from reports.models import Notification
from reports.selectors import unread_count
from tests import factories as f

pytestmark = pytest.mark.django_db


def orm_count(user, cap):
    return Notification.objects.for_user(user).unread()[:cap].count()


def notices(user, unread, read):
    Notification.objects.bulk_create(
        [Notification(user=user, message=f"unread {i}") for i in range(unread)]
        + [Notification(user=user, message=f"read {i}", read_at=timezone.now()) for i in range(read)]
    )


@pytest.mark.parametrize("unread, read", [(0, 0), (0, 3), (1, 0), (7, 5), (BADGE_CAP - 1, 2), (BADGE_CAP + 20, 1)])
def test_unread_count_equals_the_orms(unread, read):
    user, other = f.UserFactory(), f.UserFactory()
    notices(user, unread, read)
    notices(other, 4, 4)
    assert unread_count(user, BADGE_CAP) == orm_count(user, BADGE_CAP) == min(unread, BADGE_CAP)
    assert unread_count(other, BADGE_CAP) == orm_count(other, BADGE_CAP) == 4
    assert unread_count(user, 3) == orm_count(user, 3)


def test_the_badge_shows_it(client):
    user = f.UserFactory()
    notices(user, BADGE_CAP + 1, 0)
    client.force_login(user)
    assert '<span class="count" title="' in client.get("/").content.decode()
    assert "99+" in client.get("/").content.decode()
