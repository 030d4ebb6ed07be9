"""Query budget: each volunteer page runs the same number of queries for 1 row as for 30 (pinned here)."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests import factories as f
from tests.pairings.helpers import activity
from reports import certificates

pytestmark = pytest.mark.django_db

# Pinned counts, the same for 1 and 30 rows. The viewer is the branch secretary: 2 of each count are the
# session read with its user, and the scope (memberships with their subtrees, one query); pages (not the download) add the
# header's count of unread notifications.
# each a first page: the session with its user and the header's unread count (one query), the scope, the page's own
BUDGET = {
    "volunteer_list": 5,
    "volunteer_detail": 9,
    "team_list": 4,
    "team_detail": 6,
    "certificate_issue": 5,
    "certificate_download": 2,  # after the issue page: the scope is kept
}


def queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


def volunteer_with_records(world, n, volunteer=None):
    volunteer = volunteer or f.VolunteerFactory(organization=world["branch"], phone="13800000000")
    for i in range(n):
        act = activity(world["pairing"], world["branch"], date=datetime.date(2024, 1, 1) + datetime.timedelta(days=i))
        f.ServiceRecordFactory(
            activity=act, volunteer=volunteer, status="recorded" if i % 2 else "verified",
            verified_at=None if i % 2 else timezone.now(),
        )
    return volunteer


@pytest.fixture
def viewer(client, world):
    client.force_login(world["users"]["secretary"])
    return client


@pytest.mark.parametrize("size", [1, 30])
def test_volunteer_list(viewer, world, size):
    for _ in range(size):
        volunteer = volunteer_with_records(world, 2)
        f.TeamFactory(organization=world["branch"]).members.add(volunteer)
    assert queries(viewer, reverse("dashboards:volunteer_list")) == BUDGET["volunteer_list"]


@pytest.mark.parametrize("size", [1, 30])
def test_volunteer_detail(viewer, world, size):
    volunteer = volunteer_with_records(world, size)
    for _ in range(size):
        f.TeamFactory(organization=world["branch"]).members.add(volunteer)
    for month in range(1, min(size, 12) + 1):  # certificates too
        certificates.certificate_issue(
            volunteer=volunteer, start=datetime.date(2024, 1, 1), end=datetime.date(2024, month, 28),
            actor=world["users"]["secretary"],
        )
    assert queries(viewer, reverse("dashboards:volunteer_detail", args=[volunteer.pk])) == BUDGET["volunteer_detail"]


@pytest.mark.parametrize("size", [1, 30])
def test_team_list(viewer, world, size):
    for _ in range(size):
        team = f.TeamFactory(organization=world["branch"], leader=volunteer_with_records(world, 1))
        team.members.add(team.leader)
    assert queries(viewer, reverse("dashboards:team_list")) == BUDGET["team_list"]


@pytest.mark.parametrize("size", [1, 30])
def test_team_detail(viewer, world, size):
    team = f.TeamFactory(organization=world["branch"])
    for _ in range(size):
        team.members.add(volunteer_with_records(world, 2))
        f.ServiceOfferingFactory(team=team)
    assert queries(viewer, reverse("dashboards:team_detail", args=[team.pk])) == BUDGET["team_detail"]


@pytest.mark.parametrize("size", [1, 30])
def test_certificate_pages(viewer, world, size):
    volunteer = volunteer_with_records(world, size * 2)  # half of them verified
    assert queries(viewer, reverse("reports:certificate_issue", args=[volunteer.pk])) == BUDGET["certificate_issue"]
    certificate, _ = certificates.certificate_issue(
        volunteer=volunteer, start=datetime.date(2024, 1, 1), end=datetime.date(2024, 12, 31),
        actor=world["users"]["secretary"],
    )
    assert len(certificate.lines) == size
    assert certificate.total_hours == Decimal("2.0") * size
    assert queries(viewer, reverse("reports:certificate_download", args=[certificate.pk])) == BUDGET["certificate_download"]
