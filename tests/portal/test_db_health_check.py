"""The PostgreSQL health check of persistent connections (portal/postgresql/base.py): a sound idle connection is
taken as it is, without a SELECT 1; one the server dropped between requests is replaced before the request's first
query. Real PostgreSQL: the connection is ended by the server (pg_terminate_backend), no mock."""

import time

import pytest
from django.db import connection, connections

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the persistent connections' check is PostgreSQL's"),
]


@pytest.fixture
def persistent():
    """A connection of its own, as a web worker keeps one between requests (the test's own is in a transaction)."""
    wrapper = connections.create_connection("default")
    assert wrapper.settings_dict["CONN_HEALTH_CHECKS"]  # the portal's setting (portal/settings.py)
    yield wrapper
    wrapper.close()


def new_request(wrapper):
    """What Django does for a persistent connection when a request starts (close_old_connections)."""
    wrapper.health_check_done = False


def backend_pid(wrapper):
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def checks_run(wrapper, monkeypatch):
    calls = []
    real = type(wrapper).is_usable

    def counted(self):
        calls.append(self)
        return real(self)

    monkeypatch.setattr(type(wrapper), "is_usable", counted)
    return calls


def test_a_sound_connection_is_used_without_a_round_trip(persistent, monkeypatch):
    assert type(persistent).__module__ == "portal.postgresql.base"
    pid = backend_pid(persistent)
    calls = checks_run(persistent, monkeypatch)
    new_request(persistent)
    assert backend_pid(persistent) == pid  # the same connection, kept
    assert calls == []  # and no SELECT 1 was sent to check it


def test_a_connection_the_server_ended_is_replaced_before_the_first_query(persistent, monkeypatch):
    pid = backend_pid(persistent)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        assert cursor.fetchone()[0] is True
    deadline = time.monotonic() + 5  # the backend ends a moment after the signal
    while persistent.socket_is_quiet() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not persistent.socket_is_quiet()
    calls = checks_run(persistent, monkeypatch)
    new_request(persistent)
    replaced = backend_pid(persistent)  # answers: no error reaches the request
    assert replaced != pid
    assert len(calls) == 1  # the SELECT 1 decided, and found the connection gone
