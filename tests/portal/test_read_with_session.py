"""What every signed-in page needs of its user, read with the session (portal/sessions.py): the set-up's token, under
which the user's reach is cached (permissions.scope_for), and the header's unread count. A role taken away narrows
the very next page however warm the cache, and whatever Redis did meanwhile (hung or stopped, then back with what it
held); a notice created or read changes the next page's badge."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal import cache as portal_cache
from portal import services, versioned
from portal.models import Membership, SetupToken
from reports.models import Notification
from reports.notifications import notify
from tests.portal.test_resilience import SCRATCH_DB, closed_port, hung_port  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


def reach_reads(queries):
    return [q["sql"] for q in queries if "WITH RECURSIVE" in q["sql"] and "m.role" in q["sql"]]


def pairing_page(client, world):
    return client.get(reverse("pairings:pairing_detail", args=[world["pairing"].pk]))


def take_away(world, username):
    membership = Membership.objects.get(user=world["users"][username])
    services.membership_remove(actor=world["users"]["superuser"], membership=membership)


def test_a_page_reads_its_users_reach_from_the_cache_once_warm(client, world):
    client.force_login(world["users"]["secretary"])
    assert pairing_page(client, world).status_code == 200  # reads the reach and keeps it
    with CaptureQueriesContext(connection) as queries:
        assert pairing_page(client, world).status_code == 200
    assert reach_reads(queries.captured_queries) == []
    # the session, its user, the set-up's token and the unread count: one query
    assert "portal_setuptoken" in queries.captured_queries[0]["sql"]
    assert "reports_notification" in queries.captured_queries[0]["sql"]


def test_a_role_taken_away_narrows_the_next_page_with_the_cache_warm(client, world):
    client.force_login(world["users"]["secretary"])
    assert pairing_page(client, world).status_code == 200
    assert pairing_page(client, world).status_code == 200  # from the cache
    take_away(world, "secretary")
    assert pairing_page(client, world).status_code == 404


def test_an_organisation_switched_off_narrows_the_next_page(client, world):
    client.force_login(world["users"]["secretary"])
    assert pairing_page(client, world).status_code == 200
    world["branch"].is_active = False
    world["branch"].save()
    assert pairing_page(client, world).status_code == 404


def test_a_role_taken_away_while_redis_hangs_stays_away_when_it_answers_again(client, world, redis_cache, hung_port):
    client.force_login(world["users"]["secretary"])
    assert pairing_page(client, world).status_code == 200  # the reach is in Redis

    redis_cache(f"redis://127.0.0.1:{hung_port}/0")  # Redis hangs: the change's replacement of its token is lost
    take_away(world, "secretary")
    assert pairing_page(client, world).status_code == 404  # read from the database

    redis_cache()  # Redis answers again, holding the reach it held before the change
    assert pairing_page(client, world).status_code == 404


def test_pages_are_right_while_redis_is_stopped(client, world, settings, closed_port):
    settings.CACHES = {"default": {"BACKEND": "portal.cache.FailOpenRedisCache",
                                   "LOCATION": f"redis://127.0.0.1:{closed_port}/0"}}
    portal_cache.reset_breaker()
    try:
        client.force_login(world["users"]["secretary"])
        assert pairing_page(client, world).status_code == 200
        take_away(world, "secretary")
        assert pairing_page(client, world).status_code == 404
    finally:
        portal_cache.reset_breaker()


def test_without_the_tokens_row_pages_read_the_reach_and_the_next_change_puts_it_back(client, world):
    SetupToken.objects.all().delete()  # as a flushed database would be
    client.force_login(world["users"]["secretary"])
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            assert pairing_page(client, world).status_code == 200
        assert len(reach_reads(queries.captured_queries)) == 1  # not cached: nothing to key it by
    versioned.setup_changed()
    assert SetupToken.objects.get().token
    take_away(world, "secretary")
    assert pairing_page(client, world).status_code == 404


def test_each_change_to_the_set_up_gives_a_new_token_in_its_own_transaction(world):
    before = SetupToken.objects.get().token
    world["school"].save()
    after = SetupToken.objects.get().token
    assert after != before


def badge(response):
    html = response.content.decode()
    start = html.find('class="notices"')
    return html[start:html.find("</a>", start)]


def test_the_badge_follows_notices_created_and_read(client, world):
    secretary = world["users"]["secretary"]
    client.force_login(secretary)
    home = reverse("home")
    assert 'class="count"' not in badge(client.get(home))
    notify(kind=Notification.Kind.ACTION_ITEM, message="请核对", users=[secretary])
    notify(kind=Notification.Kind.ACTION_ITEM, message="请再核对", users=[secretary])
    assert ">2</span>" in badge(client.get(home))
    notice = Notification.objects.filter(user=secretary).first()
    client.get(reverse("reports:notification_open", args=[notice.pk]))
    assert ">1</span>" in badge(client.get(home))
    client.post(reverse("reports:notification_read_all"))
    assert 'class="count"' not in badge(client.get(home))


def test_the_badge_says_99_plus_past_99(client, world):
    secretary = world["users"]["secretary"]
    Notification.objects.bulk_create(Notification(user=secretary, message=f"第{i}条") for i in range(101))
    client.force_login(secretary)
    assert ">99+</span>" in badge(client.get(reverse("home")))


def test_a_reach_read_after_the_requests_own_change_is_not_kept(client, world):
    """A request that changed the set-up reads its own change before it commits; were that kept under the token
    its session read, a rollback would leave it there for the next request."""
    from django.db import transaction

    from portal.permissions import scope_for

    secretary = world["users"]["secretary"]
    client.force_login(secretary)
    token = SetupToken.objects.get().token
    versioned._begin_request()  # as a request's start does (not the signal: it would close the test's connection)
    try:
        with transaction.atomic():
            user = type(secretary).objects.get(pk=secretary.pk)
            user._portal_setup_token = token  # as the session read it, before the change
            Membership.objects.filter(user=secretary).delete()
            assert scope_for(user).branch_orgs == frozenset()
            transaction.set_rollback(True)
    finally:
        versioned._end_request()
    assert SetupToken.objects.get().token == token  # rolled back with the change
    assert pairing_page(client, world).status_code == 200
