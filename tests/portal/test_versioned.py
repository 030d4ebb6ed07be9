"""Values built from the set-up and cached until it changes (portal/versioned.py): a change is seen by the very
next request, and a cache that does not answer costs nothing but speed."""

import socket

import pytest
from django.urls import reverse

from activities.selectors import list_choices
from portal import versioned
from portal.models import Membership, Organization
from tests import factories as f

pytestmark = pytest.mark.django_db


def pairing_ids(user):
    return list_choices(user).pairing_ids


def test_a_change_to_the_set_up_is_seen_at_once(world):
    admin, secretary = world["users"]["admin"], world["users"]["secretary"]
    assert pairing_ids(admin) == {world["pairing"].pk}
    assert list_choices(admin) == list_choices(admin)  # the second answer is the cached one
    pairing = f.PairingFactory(program=world["program"])  # a new pairing of the admin's program
    assert pairing_ids(admin) == {world["pairing"].pk, pairing.pk}
    f.PairingBranchFactory(pairing=pairing, branch=world["branch"])  # the secretary's branch joins it
    assert pairing.pk in pairing_ids(secretary)

    Membership.objects.filter(user=secretary).delete()  # the secretary's role is removed
    secretary = type(secretary).objects.get(pk=secretary.pk)  # a new request: the user read afresh
    assert pairing_ids(secretary) == frozenset()

    world["village"].name = "新龙石村"
    world["village"].save()
    assert list_choices(admin).village_labels[world["pairing"].pk] == "新龙石村"


def test_the_version_is_replaced_again_when_the_transaction_commits(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        before = versioned.setup_version()
        Organization.objects.create(name="新单位", kind=Organization.Kind.SCHOOL)
        during = versioned.setup_version()
    assert during != before
    for callback in callbacks:
        callback()
    # a request that read between the save and the commit cached under `during`: no longer read
    assert versioned.setup_version() not in (before, during)


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_pages_work_when_the_cache_does_not_answer(client, world, settings, caplog):
    """A Redis cache on a port where nothing listens (a real refused connection, no mock): the list, its
    search and the pickers answer from the database, and the failure is logged."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": f"redis://127.0.0.1:{closed_port()}/0"}}
    client.force_login(world["users"]["admin"])
    response = client.get(reverse("activities:list"), {"q": "龙石"})
    assert response.status_code == 200
    assert response.context["filter"].choices.pairing_ids == {world["pairing"].pk}
    assert client.get(reverse("dashboards:volunteer_picker"), {"q": "张"}).status_code == 200
    assert "cache unavailable" in caplog.text


def test_a_cached_page_reads_its_versions_in_one_round_trip_with_the_value(client, world, monkeypatch):
    """The program dashboard's two cached values (the user's figures, the program's page) cost one read of every
    version token the request needs (the set-up's and the rollup's), and nothing more once the process keeps them."""
    reads = []

    class Counted:
        def __init__(self, inner):
            self.inner = inner

        def __getattr__(self, name):
            method = getattr(self.inner, name)

            def call(*args, **kwargs):
                reads.append(name)
                return method(*args, **kwargs)

            return call

    monkeypatch.setattr(versioned, "cache", Counted(versioned.cache))
    client.force_login(world["users"]["admin"])
    url = reverse("dashboards:program_dashboard", args=[world["program"].pk])
    assert client.get(url, {"year": 2024}).status_code == 200  # builds and keeps both values
    reads.clear()
    assert client.get(url, {"year": 2024}).status_code == 200
    assert reads == ["get_many"]
    versioned._kept.clear()  # another process: reads them from the cache
    reads.clear()
    assert client.get(url, {"year": 2024}).status_code == 200
    assert reads == ["get_many", "get", "get"]


def test_a_request_reads_the_tokens_once_and_sees_its_own_changes(world):
    """In a request the tokens are kept after the first read; a change the request makes replaces its kept token;
    outside a request every call reads the cache (a Celery task sees a change made while it runs)."""
    from django.core.cache import cache
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    # a request's signals, without closing the test's connection (as Django's test client sends them)
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    request_started.send(sender=None)
    try:
        before = versioned.setup_version()
        cache.set(versioned.VERSION_KEY, "made-elsewhere", None)  # another process's change, meanwhile
        assert versioned.setup_version() == before  # this request goes on with the token it began with
        Organization.objects.create(name="新单位", kind=Organization.Kind.SCHOOL)  # this request's own change
        mine = versioned.setup_version()
        assert mine not in (before, "made-elsewhere") and mine == cache.get(versioned.VERSION_KEY)
    finally:
        request_finished.send(sender=None)
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    cache.set(versioned.VERSION_KEY, "made-elsewhere", None)
    assert versioned.setup_version() == "made-elsewhere"  # outside a request: read at every call


class Hung:
    """The cache as a stopped or hung Redis answers (after its timeout): every call fails."""

    def __getattr__(self, name):
        def call(*args, **kwargs):
            raise ConnectionError("cache unavailable")

        return call


def test_a_change_made_while_the_cache_is_down_is_seen_once_it_answers_again(world, monkeypatch):
    """A role taken away while Redis hangs: its token cannot be replaced then, and once Redis answers the old token
    and the secretary's cached pairings would be read again (for an hour). The process owes the replacement and
    makes it at its first call that the cache answers."""
    secretary = world["users"]["secretary"]
    assert pairing_ids(secretary) == {world["pairing"].pk}  # cached
    with monkeypatch.context() as hung:
        hung.setattr(versioned, "cache", Hung())
        Membership.objects.filter(user=secretary).delete()
        secretary = type(secretary).objects.get(pk=secretary.pk)
        assert pairing_ids(secretary) == frozenset()  # read from the database meanwhile
    assert pairing_ids(secretary) == frozenset()  # Redis answers again: not the value cached before


def test_a_process_that_saw_the_cache_fail_replaces_every_token_when_it_answers(world, monkeypatch):
    """A change made in another process whose replacement was lost is not owed here; but this process saw the
    outage, so every token it knows is replaced once the cache answers, and nothing cached before is read."""
    from django.core.cache import cache

    before = versioned.setup_version()
    with monkeypatch.context() as hung:
        hung.setattr(versioned, "cache", Hung())
        assert versioned.setup_version() is None  # a request during the outage
    after = versioned.setup_version()
    assert after not in (before, None) and after == cache.get(versioned.VERSION_KEY)
    assert versioned.setup_version() == after  # replaced once, not at every call


def test_a_value_kept_in_the_process_is_read_only_under_the_tokens_the_cache_gives(world, monkeypatch):
    """The process keeps what it read or built (no round trip, no unpickling), under the tokens: a change replaces
    them and the value is built afresh; while the cache does not answer nothing kept is read either."""
    builds = []

    def build():
        builds.append(1)
        return ["value"]

    assert versioned.cached("kept", build, 1) == ["value"]
    assert versioned.cached("kept", build, 1) == ["value"]
    assert len(builds) == 1
    versioned.setup_changed()
    assert versioned.cached("kept", build, 1) == ["value"]
    assert len(builds) == 2
    with monkeypatch.context() as hung:
        hung.setattr(versioned, "cache", Hung())
        assert versioned.cached("kept", build, 1) == ["value"]  # from the database
    assert len(builds) == 3
    assert versioned.cached("kept", build, 1) == ["value"]  # the outage replaced every token: built afresh
    assert len(builds) == 4
    monkeypatch.setattr(versioned, "KEPT_SECONDS", -1)  # kept no longer: read from the cache (which has it)
    versioned._kept.clear()
    assert versioned.cached("kept", build, 1) == ["value"]
    assert versioned.cached("kept", build, 1) == ["value"]
    assert len(builds) == 4
