"""Prometheus metrics: GET /metrics on web (not public), and an exporter of the Celery worker's own.

- Request latency by view and status: django-prometheus's middleware (django_http_requests_latency_seconds_by_view_method
  and its siblings).
- Task durations: TASK_DURATION, timed by the worker from task_prerun to task_postrun.
- Queue length and outbox backlog: gauges read when scraped (BacklogCollector): LLEN of the Celery queues in the
  broker's Redis, and the outbox's pending rows (portal.queue), with short timeouts, so a hung Redis costs a scrape
  at most REDIS_TIMEOUT and is reported as portal_broker_up 0 rather than hanging the scrape.

gunicorn runs several processes and a Celery prefork worker runs its tasks in child processes: with
PROMETHEUS_MULTIPROC_DIR set (docker-compose.yml), each process writes its metrics into that folder and a scrape adds
them up (prometheus_client's multiprocess mode). The folder is emptied when gunicorn's master starts
(portal/gunicorn.py) and when the worker starts (below), before any child writes to it. The worker's metrics are
served by the worker itself (METRICS_WORKER_PORT, on the compose network only), since web and worker are different
containers.

Who may scrape /metrics: a client whose address is in METRICS_ALLOWED_IPS (not through a proxy: a request that
carries X-Forwarded-For came through nginx, which does not pass /metrics anyway) or that sends
"Authorization: Bearer <METRICS_TOKEN>". Everyone else gets 404, as for a page that does not exist.
"""

import hmac
import ipaddress
import logging
import os
import time
from pathlib import Path

from celery.signals import task_postrun, task_prerun, worker_init
from prometheus_client import CollectorRegistry, Histogram, generate_latest, multiprocess, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY

log = logging.getLogger(__name__)

REDIS_TIMEOUT = 0.25  # seconds for the broker's Redis to answer a scrape
# kombu's Redis transport keeps a queue's messages of priority p > 0 in a list of its own, "<queue>\x06\x16<p>"
PRIORITY_SEPARATOR, PRIORITY_STEPS = "\x06\x16", (3, 6, 9)

TASK_DURATION = Histogram(
    "portal_celery_task_duration_seconds",
    "Seconds a Celery task ran, by task and outcome.",
    ["task", "state"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 180, 600, 1800),
)

_started = {}


@task_prerun.connect
def _task_started(task_id=None, **kwargs):
    _started[task_id] = time.monotonic()


@task_postrun.connect
def _task_finished(task_id=None, task=None, state=None, **kwargs):
    started = _started.pop(task_id, None)
    if started is not None:
        TASK_DURATION.labels(task=task.name, state=state or "UNKNOWN").observe(time.monotonic() - started)


def multiprocess_dir():
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or ""


def clear_multiprocess_dir():
    """Empties PROMETHEUS_MULTIPROC_DIR (the files of an earlier run would be added up with this one's)."""
    folder = multiprocess_dir()
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for stale in Path(folder).glob("*.db"):
            stale.unlink(missing_ok=True)


@worker_init.connect
def _worker_exporter(sender=None, **kwargs):
    """The worker's main process, before its pool starts: serve the worker's metrics on METRICS_WORKER_PORT."""
    from django.conf import settings

    port = settings.METRICS_WORKER_PORT
    if not port:
        return
    clear_multiprocess_dir()
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY  # the solo pool: tasks run in this process
        log.warning("PROMETHEUS_MULTIPROC_DIR is not set: the exporter sees only tasks run in the main process")
    start_http_server(port, addr=settings.METRICS_WORKER_ADDRESS, registry=registry)
    log.info("worker metrics on %s:%s", settings.METRICS_WORKER_ADDRESS, port)


class BacklogCollector:
    """Read at each scrape: how many messages wait in the broker's queues, and how many tasks in the outbox."""

    def collect(self):
        yield from self._queues()
        yield from self._outbox()

    def _queues(self):
        from django.conf import settings

        from portal.celery import app, redis_client

        url = settings.CELERY_BROKER_URL
        if not url:
            return  # eager tasks: no queue
        up = GaugeMetricFamily("portal_broker_up", "1 when the broker's Redis answered this scrape.")
        length = GaugeMetricFamily("portal_celery_queue_length", "Messages waiting in a Celery queue.", labels=["queue"])
        names = sorted({app.conf.task_default_queue, *(queue.name for queue in app.conf.task_queues or ())})
        try:
            client = redis_client(url, timeout=REDIS_TIMEOUT)
            with client.pipeline(transaction=False) as pipe:
                for name in names:
                    for key in (name, *(f"{name}{PRIORITY_SEPARATOR}{step}" for step in PRIORITY_STEPS)):
                        pipe.llen(key)
                counts = pipe.execute()
            client.close()
        except Exception as exc:  # redis' errors and socket errors alike: the scrape goes on without these
            log.warning("metrics: broker Redis did not answer (%s: %s)", type(exc).__name__, exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        per_queue = len(PRIORITY_STEPS) + 1
        for index, name in enumerate(names):
            length.add_metric([name], sum(counts[index * per_queue:(index + 1) * per_queue]))
        yield length

    def _outbox(self):
        from django.db import DatabaseError
        from django.db.models import Count, Min

        from portal.models import OutboxMessage

        try:
            pending = OutboxMessage.objects.aggregate(count=Count("id"), oldest=Min("created"))
        except DatabaseError as exc:
            log.warning("metrics: outbox not read (%s)", exc)
            return
        yield GaugeMetricFamily("portal_outbox_backlog", "Tasks kept in the outbox, waiting for the broker.",
                                value=pending["count"])
        age = time.time() - pending["oldest"].timestamp() if pending["oldest"] else 0
        yield GaugeMetricFamily("portal_outbox_oldest_seconds", "Age of the oldest task in the outbox (0: empty).",
                                value=age)


def scrape_allowed(request):
    """The bearer token, or a direct connection from an allowed address (settings.METRICS_ALLOWED_NETWORKS)."""
    from django.conf import settings

    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    if token and given.startswith("Bearer ") and hmac.compare_digest(given[7:].encode(), token.encode()):
        return True
    if "HTTP_X_FORWARDED_FOR" in request.META:
        return False  # through a proxy: REMOTE_ADDR is the proxy's, not the client's
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in settings.METRICS_ALLOWED_NETWORKS)


def exposition():
    """This process's metrics, or all gunicorn processes' in multiprocess mode, then the backlog gauges."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    backlog = CollectorRegistry()
    backlog.register(BacklogCollector())
    return generate_latest(registry) + generate_latest(backlog)
