"""The request's kept version tokens (portal/versioned.py) end with it, and the quiet-socket health check
(portal/postgresql/base.py) falls back to SELECT 1, or to Django's own request start, where the socket says nothing
of the connection's state."""

import pytest
from django.db import connection, connections
from django.urls import reverse

from portal import versioned

pytestmark = pytest.mark.django_db


def test_no_token_is_kept_once_a_request_has_ended(client, world):
    client.force_login(world["users"]["admin"])
    assert client.get(reverse("activities:list")).status_code == 200
    assert getattr(versioned._request, "tokens", None) is None


@pytest.fixture
def persistent():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's health check")
    wrapper = connections.create_connection("default")
    yield wrapper
    wrapper.close()


def test_a_pending_notification_falls_back_to_select_1_and_keeps_the_connection(persistent, monkeypatch):
    import time

    with persistent.cursor() as cursor:
        cursor.execute("LISTEN review_probe")
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:  # autocommit: delivered at once
            cursor.execute("NOTIFY review_probe, 'hello'")
    finally:
        other.close()
    deadline = time.monotonic() + 5
    while persistent.socket_is_quiet() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not persistent.socket_is_quiet()
    calls = []
    real = type(persistent).is_usable
    monkeypatch.setattr(type(persistent), "is_usable", lambda self: calls.append(1) or real(self))
    persistent.health_check_done = False
    with persistent.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] == pid  # kept: the SELECT 1 found it sound
    assert calls == [1]


def test_a_connection_left_in_an_aborted_transaction_is_replaced_at_a_request_start(persistent):
    """Django's own request start (close_if_unusable_or_obsolete) closes a connection left in a transaction before
    the health check is asked."""
    with persistent.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    persistent.set_autocommit(False)  # a transaction left open (as an atomic block's)
    try:
        with persistent.cursor() as cursor:
            cursor.execute("SELECT 1/0")
    except Exception:
        pass
    persistent.close_if_unusable_or_obsolete()  # request_started
    with persistent.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid
