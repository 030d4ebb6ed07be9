"""Redis and PostgreSQL stumbling: the cache fails open (sign-in works, a warning is logged), sign-in limits are per
(account, address) plus per account, enqueueing is bounded and falls back to the outbox that beat flushes, and a
database that cannot be reached answers 503 with Retry-After. Real Redis (a scratch database), a closed port and a
port that accepts connections but never answers (a hung Redis)."""

import logging
import socket
import time

import pytest
from celery import current_app
from django.db import InterfaceError, OperationalError
from django.test import RequestFactory
from django.urls import reverse

from portal import cache as portal_cache
from portal import queue
from portal.models import OutboxMessage
from portal.views import server_error
from tests import factories as f

SCRATCH_DB = 12  # a Redis database of these tests' own (flushed)
PASSWORD = "a-long-pass-phrase-1"


@pytest.fixture
def hung_port():
    """A port that accepts connections and never answers: what a SIGSTOPped Redis looks like."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(50)
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture
def closed_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


@pytest.fixture
def cache_at(settings):
    def point(url):
        portal_cache.reset_breaker()
        settings.CACHES = {"default": {"BACKEND": "portal.cache.FailOpenRedisCache", "LOCATION": url}}

    yield point
    portal_cache.reset_breaker()


def sign_in(client, username, password=PASSWORD, address="10.0.0.1"):
    return client.post(reverse("account_login"), {"login": username, "password": password}, REMOTE_ADDR=address)


def signed_in(response):
    return response.status_code == 302 and "/accounts/login/" not in response["Location"]


# --- the cache -------------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("where", ["closed", "hung"])
def test_sign_in_works_when_the_cache_is_down_or_hung(client, cache_at, closed_port, hung_port, where, caplog):
    f.UserFactory(username="longshi", password=PASSWORD)
    cache_at(f"redis://127.0.0.1:{closed_port if where == 'closed' else hung_port}/0")
    client.get(reverse("account_login"))  # templates compiled before the clock starts
    with caplog.at_level(logging.WARNING, logger="portal.cache"):
        started = time.monotonic()
        response = sign_in(client, "longshi")
        seconds = time.monotonic() - started
    assert signed_in(response), response.content[:500]
    assert seconds < 1.0, seconds
    assert any("cache unreachable" in record.getMessage() for record in caplog.records)
    # the breaker is open: the next calls answer at once
    started = time.monotonic()
    from django.core.cache import cache

    assert cache.get("anything", "default") == "default" and cache.add("lock", 1) is True
    assert time.monotonic() - started < 0.05


def test_the_cache_works_when_redis_answers(cache_at, real_redis):
    cache_at(f"redis://127.0.0.1:6379/{SCRATCH_DB}")
    from django.core.cache import cache

    cache.set("key", {"a": 1}, 30)
    assert cache.get("key") == {"a": 1}
    assert cache.add("key", 2) is False
    assert cache.get_many(["key", "none"]) == {"key": {"a": 1}}
    # one redis.Redis kept per pool, not one made per call (portal.cache.KeptClients): one server, one client
    assert cache._cache.get_client() is cache._cache.get_client(write=True) is cache._cache.get_client()


# --- sign-in limits --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_failed_sign_ins_lock_one_address_out_not_the_account(client, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "limits"}}
    f.UserFactory(username="longshi", password=PASSWORD)
    stranger = "203.0.113.9"
    for _ in range(5):
        assert not signed_in(sign_in(client, "longshi", "wrong-password", stranger))
    refused = sign_in(client, "longshi", PASSWORD, stranger)  # even the right password: this address is locked out
    assert not signed_in(refused)
    assert "too many" in refused.content.decode().lower() or "过多" in refused.content.decode()
    # the village, from its own address, still signs in
    assert signed_in(sign_in(client, "longshi", PASSWORD, "10.0.0.1"))


@pytest.mark.django_db
def test_many_addresses_together_hit_the_account_limit(client, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "limits-2"}}
    f.UserFactory(username="gangkou", password=PASSWORD)
    for i in range(20):  # 4 tries each from 5 addresses: under each address's limit, at the account's
        assert not signed_in(sign_in(client, "gangkou", "wrong-password", f"198.51.100.{i // 4 + 1}"))
    assert not signed_in(sign_in(client, "gangkou", PASSWORD, "10.0.0.2"))


# --- enqueueing ------------------------------------------------------------------------------------------------


@pytest.fixture
def broker(monkeypatch):
    """Celery with a broker (the tests' default is eager): point it somewhere."""

    def point(url):
        monkeypatch.setitem(current_app.conf, "broker_url", url)
        monkeypatch.setitem(current_app.conf, "broker_write_url", url)
        monkeypatch.setitem(current_app.conf, "task_always_eager", False)
        queue.mark_up()

    yield point
    queue.mark_up()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("where", ["closed", "hung"])
def test_enqueue_is_bounded_and_keeps_the_task(broker, closed_port, hung_port, where):
    broker(f"redis://127.0.0.1:{closed_port if where == 'closed' else hung_port}/0")
    started = time.monotonic()
    ticket = queue.enqueue("reports.tasks.send_deliveries")
    seconds = time.monotonic() - started
    assert seconds < 0.8, seconds
    assert ticket.sent is False and ticket.kept
    kept = OutboxMessage.objects.get()
    assert (kept.task, kept.args, kept.kwargs) == ("reports.tasks.send_deliveries", [], {})
    assert kept.last_error
    # the next enqueue does not even try: straight to the outbox
    started = time.monotonic()
    queue.enqueue("reports.tasks.send_deliveries")
    assert time.monotonic() - started < 0.1
    assert OutboxMessage.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_outbox_flushes_once_the_broker_is_back(broker, closed_port, real_redis):
    broker(f"redis://127.0.0.1:{closed_port}/0")
    queue.enqueue("portal.ledger_check", 41)
    queue.enqueue("reports.tasks.generate_reports", "monthly", "2024-03", [7])
    assert OutboxMessage.objects.count() == 2
    assert queue.outbox_flush() == (0, 2)  # still away: nothing sent, the attempt noted
    assert OutboxMessage.objects.order_by("id").first().attempts == 1

    broker(f"redis://127.0.0.1:6379/{SCRATCH_DB}")
    assert queue.outbox_flush() == (2, 0)
    assert not OutboxMessage.objects.exists()
    assert real_redis.llen("celery") == 2  # both are in the worker's queue now
    # and the enqueue path works directly once the broker answers
    assert queue.enqueue("portal.ledger_check", 42).sent is True
    assert real_redis.llen("celery") == 3


def test_the_beat_schedule_flushes_the_outbox(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["task-outbox"]
    assert entry["task"] == "portal.outbox_flush" and entry["task"] in current_app.tasks


# --- the database ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("error", [OperationalError("connection refused"), InterfaceError("connection already closed")])
def test_the_database_away_is_a_503_with_retry_after(error):
    request = RequestFactory().get("/")
    try:
        raise error
    except Exception:
        response = server_error(request)
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "数据库暂时无法连接" in response.content.decode()


def test_any_other_error_is_still_a_500():
    request = RequestFactory().get("/")
    try:
        raise ValueError("a bug")
    except Exception:
        response = server_error(request)
    assert response.status_code == 500


PAGE_PROBE = """
import json, time, django
django.setup()
from django.test import Client
client = Client(raise_request_exception=False)
client.cookies["sessionid"] = "a-session-that-must-be-read-from-the-database"
started = time.monotonic()
response = client.get("/")
print(json.dumps([response.status_code, response.get("Retry-After"), round(time.monotonic() - started, 2),
                  response.content.decode()]))
"""


def test_a_page_with_postgresql_unreachable_answers_503_at_once(tmp_path, closed_port):
    import json

    from tests.portal.test_health import run_portal

    result = run_portal(
        PAGE_PROBE, tmp_path, ALLOWED_HOSTS="testserver", DEBUG="0",
        DATABASE_URL=f"postgres://portal:secret@127.0.0.1:{closed_port}/portal",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    status, retry_after, seconds, body = json.loads(result.stdout.strip().splitlines()[-1])
    assert (status, retry_after) == (503, "30")
    assert "数据库暂时无法连接" in body and "secret" not in body
    assert seconds < 1.0, seconds
