"""Logs and metrics: the request id (kept when sane, made otherwise, echoed, carried into tasks), one JSON object per
log line with the ids, and /metrics: 404 for everyone but an allowed address or the token; after a request and a
task, the scrape names the request latency by view, the task's duration, the queue length and the outbox backlog.
Real Redis (a database of these tests' own) and a port that never answers (a hung Redis)."""

import io
import json
import logging
import re
import socket
import time

import pytest
from celery import current_app
from django.urls import reverse

from portal import logs, queue
from portal.models import OutboxMessage

SCRATCH_DB = 14  # a Redis database of these tests' own (flushed)
TOKEN = "t" * 40


@pytest.fixture
def log_lines():
    """What the console handler of production writes (the context filter and the JSON formatter), as dicts."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.ContextFilter())
    handler.setFormatter(logs.JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)


@pytest.fixture
def broker_at(monkeypatch, settings):
    """Celery with a broker (the tests' default is eager), and the same URL for the metrics' queue gauges."""

    def point(url):
        settings.CELERY_BROKER_URL = url
        monkeypatch.setitem(current_app.conf, "broker_url", url)
        monkeypatch.setitem(current_app.conf, "broker_write_url", url)
        monkeypatch.setitem(current_app.conf, "task_always_eager", False)
        queue.mark_up()

    yield point
    queue.mark_up()


# --- The request id and the log lines


def test_a_sane_incoming_request_id_is_kept_and_echoed(client, db):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="0123456789abcdef0123456789abcdef")
    assert response["X-Request-ID"] == "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize("incoming", ["", "short", "has space in it", 'quote"and\\slash', "x" * 65, "中文请求编号12345"])
def test_any_other_request_id_is_replaced_by_a_new_one(client, db, incoming):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=incoming)
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])
    assert response["X-Request-ID"] != client.get("/healthz", HTTP_X_REQUEST_ID=incoming)["X-Request-ID"]


def test_the_request_line_is_one_json_object_with_the_ids(client, world, log_lines):
    user = world["users"]["secretary"]
    client.force_login(user)
    response = client.get(reverse("home"), HTTP_X_REQUEST_ID="req-from-nginx-0001")
    assert response.status_code == 200
    [line] = [line for line in log_lines() if line["logger"] == "portal.request"]
    assert line["request_id"] == "req-from-nginx-0001" and line["user_id"] == user.pk
    assert (line["level"], line["method"], line["path"], line["view"], line["status"]) == ("INFO", "GET", "/", "home", 200)
    assert line["duration_ms"] > 0 and line["time"].endswith("+00:00") and line["task_id"] is None


def test_a_page_that_never_looks_at_the_user_costs_no_query_for_the_log(client, world, log_lines, django_assert_num_queries):
    client.force_login(world["users"]["secretary"])
    with django_assert_num_queries(0):
        client.get("/healthz")
    assert [line["user_id"] for line in log_lines() if line["logger"] == "portal.request"] == [None]


def test_a_not_found_line_of_django_carries_the_request_id(client, db, log_lines):
    response = client.get("/no-such-page/", HTTP_X_REQUEST_ID="req-not-found-0001")
    assert response.status_code == 404
    lines = {line["logger"]: line for line in log_lines()}
    assert lines["django.request"]["request_id"] == "req-not-found-0001" and "request" not in lines["django.request"]


def test_a_task_run_by_a_page_logs_with_the_page_request_id_and_its_own_task_id(client, db, log_lines):
    """Eager tasks (no broker) run inside the page: their lines keep the page's id and add the task's."""
    from portal import tasks

    with logs.current_request_id_as("req-eager-task-0001"):
        OutboxMessage.objects.create(task="portal.ledger_check", args=[0])
        result = tasks.outbox_flush.apply_async()
    flush_lines = [line for line in log_lines() if line["logger"] == "portal.queue"]
    assert flush_lines and {line["request_id"] for line in flush_lines} == {"req-eager-task-0001"}
    assert {line["task_id"] for line in flush_lines} == {result.id}


def test_a_task_enqueued_during_a_request_carries_its_id_to_the_broker(db, real_redis, broker_at, django_capture_on_commit_callbacks):
    broker_at(f"redis://127.0.0.1:6379/{SCRATCH_DB}")
    with logs.current_request_id_as("req-enqueue-0001"), django_capture_on_commit_callbacks(execute=True):
        ticket = queue.enqueue("portal.outbox_flush")
    assert ticket.sent is True
    message = json.loads(real_redis.lpop("celery"))
    assert message["headers"]["task"] == "portal.outbox_flush"
    assert message["headers"][logs.REQUEST_ID_HEADER] == "req-enqueue-0001"


def test_a_worker_task_takes_the_carried_id(log_lines):
    """What the worker does with the header: task_prerun puts it in the context of the task's lines."""
    from celery.signals import task_postrun, task_prerun

    from portal import tasks

    task = tasks.outbox_flush
    task.push_request(id="task-0001", headers=None, **{logs.REQUEST_ID_HEADER: "req-carried-0001"})
    try:
        task_prerun.send(sender=task, task_id="task-0001", task=task, args=(), kwargs={})
        logging.getLogger("portal.queue").info("inside the task")
        task_postrun.send(sender=task, task_id="task-0001", task=task, args=(), kwargs={}, retval=None, state="SUCCESS")
        logging.getLogger("portal.queue").info("after the task")
    finally:
        task.pop_request()
    inside, after = [line for line in log_lines() if line["logger"] == "portal.queue"]
    assert (inside["request_id"], inside["task_id"]) == ("req-carried-0001", "task-0001")
    assert (after["request_id"], after["task_id"]) == (None, None)


def test_text_format_in_development_shows_the_ids_after_the_logger():
    record = logging.LogRecord("portal.queue", logging.WARNING, __file__, 1, "outbox: %d left", (3,), None)
    record.request_id, record.user_id, record.task_id = "req-1", 7, None
    text = logs.TextFormatter().format(record)
    assert text.endswith(" WARNING portal.queue [req=req-1 user=7]: outbox: 3 left")


# --- /metrics


@pytest.mark.parametrize("role", [None, "admin", "committee", "secretary", "village", "outsider", "superuser"])
def test_metrics_is_404_from_an_address_not_allowed_whoever_asks(client, world, role):
    if role:
        client.force_login(world["users"][role])
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 404


def test_metrics_is_404_through_a_proxy_even_from_an_allowed_address(client, db):
    """nginx (deploy/nginx.conf) does not pass /metrics; were it to, the address would be the proxy's, not the client's."""
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 404


def test_metrics_with_the_token_from_anywhere_and_never_with_a_wrong_one(client, db, settings):
    settings.METRICS_TOKEN = TOKEN
    anywhere = {"REMOTE_ADDR": "203.0.113.9", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **anywhere).status_code == 200
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN[:-1]}x", **anywhere).status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION=TOKEN, **anywhere).status_code == 404
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ", **anywhere).status_code == 404


def test_metrics_allows_a_configured_network(client, db, settings):
    import ipaddress

    settings.METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network("10.5.0.0/16")]
    assert client.get("/metrics", REMOTE_ADDR="10.5.3.4").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 404


def sample(text, name, **labels):
    """The value of one sample in the exposition text, or None."""
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{{wanted}}} " if labels else f"{name} "):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_an_allowed_scrape_after_a_request_and_a_task(client, world, real_redis, broker_at, settings):
    from portal import tasks

    client.force_login(world["users"]["secretary"])
    assert client.get(reverse("home")).status_code == 200
    tasks.outbox_flush.apply()  # a task, timed as the worker times it (task_prerun … task_postrun)
    broker_at(f"redis://127.0.0.1:6379/{SCRATCH_DB}")
    real_redis.rpush("celery", "m1", "m2", "m3")
    real_redis.rpush("celery\x06\x163", "m4")
    OutboxMessage.objects.create(task="portal.ledger_check", args=[1])
    OutboxMessage.objects.create(task="portal.ledger_check", args=[2])

    response = client.get("/metrics")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert sample(text, "django_http_requests_latency_seconds_by_view_method_count", method="GET", view="home") >= 1
    assert sample(text, "portal_celery_task_duration_seconds_count", state="SUCCESS", task="portal.outbox_flush") >= 1
    assert sample(text, "portal_broker_up") == 1
    assert sample(text, "portal_celery_queue_length", queue="celery") == 4
    assert sample(text, "portal_outbox_backlog") == 2
    assert sample(text, "portal_outbox_oldest_seconds") >= 0


def test_a_hung_broker_does_not_hold_the_scrape(client, db, broker_at):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # the kernel accepts the connection; nobody ever reads or answers
    try:
        broker_at(f"redis://127.0.0.1:{silent.getsockname()[1]}/0")
        started = time.monotonic()
        response = client.get("/metrics")
        elapsed = time.monotonic() - started
    finally:
        silent.close()
    text = response.content.decode()
    assert response.status_code == 200 and elapsed < 1
    assert sample(text, "portal_broker_up") == 0 and "portal_celery_queue_length" not in text
    assert sample(text, "portal_outbox_backlog") == 0


def test_a_task_kept_in_the_outbox_keeps_the_request_id_until_it_is_sent(db, real_redis, broker_at, django_capture_on_commit_callbacks):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    broker_at(f"redis://127.0.0.1:{port}/0")  # nobody listens: the task goes to the outbox
    with logs.current_request_id_as("req-outbox-0001"), django_capture_on_commit_callbacks(execute=True):
        ticket = queue.enqueue("portal.outbox_flush")
    assert ticket.kept and OutboxMessage.objects.get().request_id == "req-outbox-0001"

    broker_at(f"redis://127.0.0.1:6379/{SCRATCH_DB}")
    with logs.current_request_id_as("flush-task-0001"):  # beat's flush runs under its own id
        assert queue.outbox_flush() == (1, 0)
    message = json.loads(real_redis.lpop("celery"))
    assert message["headers"][logs.REQUEST_ID_HEADER] == "req-outbox-0001"


def test_a_task_beat_sends_is_logged_with_its_task_id(db, real_redis, broker_at, log_lines):
    """Beat sends with no request around it: its line names the task's id, which the worker's lines of it carry."""
    broker_at(f"redis://127.0.0.1:6379/{SCRATCH_DB}")
    queue.publish("portal.outbox_flush")
    message = json.loads(real_redis.lpop("celery"))
    assert logs.REQUEST_ID_HEADER not in message["headers"]
    [line] = [line for line in log_lines() if line["logger"] == "portal.celery"]
    assert (line["message"], line["task_id"], line["request_id"]) == ("sent portal.outbox_flush", message["headers"]["id"], None)
