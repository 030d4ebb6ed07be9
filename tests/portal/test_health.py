"""/readyz (and /healthz, see test_smoke.py): unauthenticated, cheap, and saying nothing but ok/failed per check.

/readyz checks the database (SELECT 1), Redis (the broker's, one call that also reads the workers'
heartbeats, and the cache's) and a live Celery worker (a heartbeat younger than 30 s). The Redis tests use a
real Redis (skipped without one; CI has it): a database of this run's own, a closed port, and a port that
accepts connections but never answers. The worker test starts a real `celery worker` subprocess.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from portal.celery import HEARTBEAT_KEY, HEARTBEAT_TTL, Heartbeat, workers_alive

BASE_DIR = Path(__file__).resolve().parents[2]
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


@pytest.fixture
def no_services(settings):
    """The quick start: Celery eager, no cache Redis."""
    settings.CELERY_BROKER_URL = ""
    settings.REDIS_URL = ""


@pytest.fixture
def broker(settings):
    """A real Redis database of this run's own as the broker (skips without Redis)."""
    db = 10 + os.getpid() % 6
    url = f"redis://{REDIS_HOST}:{REDIS_PORT}/{db}"
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"needs Redis on {REDIS_HOST}:{REDIS_PORT} ({exc}) (CI runs this)")
    client.delete(HEARTBEAT_KEY)
    settings.CELERY_BROKER_URL = url
    settings.REDIS_URL = ""
    yield url, client
    client.delete(HEARTBEAT_KEY)
    client.close()


def readyz(client):
    started = time.monotonic()
    response = client.get("/readyz")
    elapsed = time.monotonic() - started
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    return response.status_code, json.loads(response.content), elapsed


def assert_reveals_nothing(body):
    """Only the fixed words: no error text, host, port or version."""
    assert set(body) <= {"status", "checks", "failed"}
    assert set(body["checks"]) == {"database", "redis", "worker"}
    assert set(body["checks"].values()) <= {"ok", "failed", "eager", "not configured"}


def test_readyz_quick_start_checks_the_database_only(client, db, no_services, django_assert_num_queries):
    with django_assert_num_queries(1):
        status, body, _ = readyz(client)
    assert status == 200
    assert body == {"status": "ok", "checks": {"database": "ok", "redis": "not configured", "worker": "eager"}}


def test_readyz_without_a_worker_is_503_naming_the_worker(client, db, broker):
    status, body, _ = readyz(client)
    assert status == 503
    assert body["checks"] == {"database": "ok", "redis": "ok", "worker": "failed"}
    assert body["failed"] == ["worker"]
    assert_reveals_nothing(body)


def test_readyz_follows_the_heartbeat_and_its_age(client, db, broker):
    url, raw = broker
    heartbeat = Heartbeat(url, "test-worker:1")
    heartbeat.start()  # beats at once, then every HEARTBEAT_INTERVAL seconds
    deadline = time.monotonic() + 5
    while not workers_alive(raw) and time.monotonic() < deadline:
        time.sleep(0.05)
    status, body, _ = readyz(client)
    assert (status, body) == (200, {"status": "ok", "checks": {"database": "ok", "redis": "ok", "worker": "ok"}})

    # A worker that stops cleanly takes itself off at once.
    heartbeat.stop()
    assert readyz(client)[0] == 503

    # A worker that died: its last heartbeat ages out after HEARTBEAT_TTL seconds (Redis's clock).
    now = int(raw.time()[0])
    raw.zadd(HEARTBEAT_KEY, {"dead-worker:2": now - HEARTBEAT_TTL - 1, "live-worker:3": now - HEARTBEAT_TTL + 5})
    assert workers_alive(raw) == 1
    assert readyz(client)[0] == 200
    raw.zrem(HEARTBEAT_KEY, "live-worker:3")
    status, body, _ = readyz(client)
    assert status == 503 and body["failed"] == ["worker"]


def test_readyz_with_redis_stopped_is_503_at_once(client, db, settings):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now: connection refused
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{port}/0"
    status, body, elapsed = readyz(client)
    assert status == 503
    assert body["checks"] == {"database": "ok", "redis": "failed", "worker": "failed"}
    assert_reveals_nothing(body)
    assert str(port) not in json.dumps(body)
    assert elapsed < 1.0, elapsed


def test_readyz_with_a_redis_that_never_answers_gives_up_within_a_second(client, db, settings):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # the kernel accepts the connection; nobody ever reads or answers
    try:
        settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        status, body, elapsed = readyz(client)
    finally:
        silent.close()
    assert status == 503
    assert body["checks"]["redis"] == "failed" and body["checks"]["worker"] == "failed"
    assert elapsed < 1.5, elapsed


def test_readyz_checks_the_cache_redis_too(client, db, broker, settings):
    url, _ = broker
    Heartbeat(url, "test-worker:1").beat()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/1"
    status, body, _ = readyz(client)
    assert status == 503
    assert body["checks"] == {"database": "ok", "redis": "failed", "worker": "ok"}


def run_portal(script, tmp_path, **env):
    """A fresh process with the given environment (settings are read once per process)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "CELERY_", "REDIS_", "PORTAL_"))}
    clean.update(DJANGO_SETTINGS_MODULE="portal.settings", PYTHONPATH=str(BASE_DIR), **env)
    return subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=clean, capture_output=True, text=True, timeout=120
    )


PROBE = """
import json, time, django
django.setup()
from django.test import Client
client = Client()
for path in ("/readyz", "/healthz", "/accounts/login/"):
    started = time.monotonic()
    response = client.get(path)
    print(json.dumps([path, response.status_code, response.get("Location"), round(time.monotonic() - started, 2),
                      response.content.decode() if path == "/readyz" else ""]))
"""


def test_production_serves_readyz_over_plain_http(tmp_path):
    """The compose health check and load balancers call it over HTTP: exempt from the HTTPS redirect."""
    result = run_portal(
        PROBE, tmp_path, PORTAL_MODE="production", DEBUG="0", ALLOWED_HOSTS="testserver", REDIS_URL="redis://127.0.0.1:6379/1",
        SECRET_KEY="k7#Qz-Lm2$Wp9^Rt4&Yv8*Bn3(Hx6)Jc1!Fd5~Gs0+Ua7=Ek2?Mo9%Ti4@Z",
        DATABASE_URL=f"sqlite:///{tmp_path / 'probe.sqlite3'}",
    )
    assert result.returncode == 0, result.stderr
    lines = {path: (status, location, body) for path, status, location, _, body in map(json.loads, result.stdout.splitlines())}
    assert lines["/readyz"][:2] == (200, None)
    assert json.loads(lines["/readyz"][2])["checks"]["worker"] == "eager"
    assert lines["/healthz"][:2] == (200, None)
    assert lines["/accounts/login/"][0] == 301 and lines["/accounts/login/"][1].startswith("https://")


def test_readyz_with_the_database_down_is_503_naming_it(tmp_path):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    result = run_portal(PROBE, tmp_path, ALLOWED_HOSTS="testserver", DATABASE_URL=f"postgres://portal:secret@127.0.0.1:{port}/portal")
    assert result.returncode == 0, result.stderr
    path, status, _, elapsed, body = json.loads(result.stdout.splitlines()[0])
    assert (path, status) == ("/readyz", 503)
    body = json.loads(body)
    assert body["checks"]["database"] == "failed" and body["failed"] == ["database"]
    assert_reveals_nothing(body)
    assert "secret" not in json.dumps(body) and str(port) not in json.dumps(body)
    assert elapsed < 1.0, elapsed


@pytest.mark.slow
def test_readyz_sees_a_real_worker_come_and_go(client, db, broker, tmp_path):
    url, _ = broker
    log = tmp_path / "worker.log"
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_TEST_NAME", "STRICT_SKIPS")}
    environment.update(CELERY_BROKER_URL=url, DJANGO_SETTINGS_MODULE="portal.settings", PYTHONPATH=str(BASE_DIR))
    with open(log, "w") as handle:
        worker = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "portal", "worker", "-P", "solo", "-l", "info",
                "-n", f"readyz-{os.getpid()}@%h", "--without-heartbeat", "--without-gossip", "--without-mingle",
            ],
            cwd=BASE_DIR, env=environment, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        assert readyz(client)[0] == 503  # not yet
        deadline = time.monotonic() + 90
        while readyz(client)[0] != 200:
            assert worker.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the worker's heartbeat never showed:\n" + log.read_text()
            time.sleep(0.2)
        assert readyz(client)[1]["checks"]["worker"] == "ok"

        os.killpg(worker.pid, signal.SIGTERM)  # a clean stop takes its heartbeat off at once
        worker.wait(30)
        status, body, _ = readyz(client)
        assert status == 503 and body["failed"] == ["worker"], log.read_text()
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
