"""The Celery app: Redis as broker when CELERY_BROKER_URL is set, eager otherwise (see settings).

Workers also keep a heartbeat in the broker's Redis, so /readyz can tell whether one is alive with a single
Redis call instead of a broadcast ping: every HEARTBEAT_INTERVAL seconds each worker process writes its name
into a sorted set, scored with the Redis server's own clock (so web and worker hosts need not agree on the
time); a worker counts as alive while its score is younger than HEARTBEAT_TTL. A worker that stops cleanly
removes itself at once; one that dies drops out after HEARTBEAT_TTL seconds.
"""

import logging
import os
import socket
import threading

import redis
from celery import Celery
from celery.beat import PersistentScheduler
from celery.signals import setup_logging, worker_ready, worker_shutdown
from redis.backoff import NoBackoff
from redis.retry import Retry

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

from portal import logs, metrics  # noqa: E402, F401  (their signal receivers: request ids and task timings)


@setup_logging.connect
def _logging_from_settings(**kwargs):
    """The worker and beat log as web does (settings.LOGGING), not in Celery's own format: a receiver here tells
    Celery to leave logging alone."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "portal:celery:workers"
HEARTBEAT_INTERVAL = 10  # seconds between two heartbeats of a worker
HEARTBEAT_TTL = 30  # a worker whose last heartbeat is older than this is taken for dead

BEAT_KEY = "portal:celery:beat"
BEAT_TICK_MAX = 60  # beat wakes at least this often (CELERY_BEAT_MAX_LOOP_INTERVAL), even with nothing due
BEAT_TTL = 3 * BEAT_TICK_MAX  # a beat whose last tick is older than this has stopped ticking

# The scripts read the time from the Redis server, never from the caller's clock.
_BEAT_SCRIPT = """
local now = tonumber(redis.call('TIME')[1])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]) * 2)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return now
"""
_ALIVE_SCRIPT = """
local now = tonumber(redis.call('TIME')[1])
return redis.call('ZCOUNT', KEYS[1], now - tonumber(ARGV[1]), '+inf')
"""


_TICK_SCRIPT = """
local now = tonumber(redis.call('TIME')[1])
redis.call('SET', KEYS[1], now, 'EX', tonumber(ARGV[1]) * 2)
return now
"""
_TICK_AGE_SCRIPT = """
local last = redis.call('GET', KEYS[1])
if not last then return -1 end
return tonumber(redis.call('TIME')[1]) - tonumber(last)
"""


def redis_client(url, *, timeout):
    """A Redis client that gives up after `timeout` seconds and does not retry (redis-py retries 10 times by default)."""
    return redis.Redis.from_url(
        url, socket_connect_timeout=timeout, socket_timeout=timeout, retry=Retry(NoBackoff(), 0)
    )


def workers_alive(client):
    """How many workers sent a heartbeat within HEARTBEAT_TTL seconds (one Redis round trip)."""
    return int(client.eval(_ALIVE_SCRIPT, 1, HEARTBEAT_KEY, HEARTBEAT_TTL))


class Heartbeat:
    """A daemon thread of the worker's main process. A thread, not a timer of the worker's event loop: with
    the solo pool the loop stands still while a task runs, and a long report would make the worker look dead."""

    def __init__(self, url, name):
        self.client = redis_client(url, timeout=5)
        self.name = name
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, name="portal-heartbeat", daemon=True)

    def beat(self):
        try:
            self.client.eval(_BEAT_SCRIPT, 1, HEARTBEAT_KEY, self.name, HEARTBEAT_TTL)
        except redis.RedisError as exc:
            logger.warning("Worker heartbeat not written: %s", exc)

    def run(self):
        self.beat()
        while not self.stopping.wait(HEARTBEAT_INTERVAL):
            self.beat()

    def start(self):
        self.thread.start()

    def stop(self):
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join(timeout=5)
        try:
            self.client.zrem(HEARTBEAT_KEY, self.name)
        except redis.RedisError as exc:
            logger.warning("Worker heartbeat not removed: %s", exc)


_heartbeat = None


@worker_ready.connect
def start_heartbeat(sender=None, **kwargs):
    global _heartbeat
    url = app.conf.broker_url
    if not url or not url.startswith(("redis://", "rediss://")) or _heartbeat is not None:
        return
    name = f"{getattr(sender, 'hostname', None) or socket.gethostname()}:{os.getpid()}"
    _heartbeat = Heartbeat(url, name)
    _heartbeat.start()


@worker_shutdown.connect
def stop_heartbeat(**kwargs):
    global _heartbeat
    if _heartbeat is not None:
        _heartbeat.stop()
        _heartbeat = None


def beat_tick_age(client):
    """Seconds since Celery beat last ticked (Redis's clock), or None when no beat has ticked lately."""
    age = int(client.eval(_TICK_AGE_SCRIPT, 1, BEAT_KEY))
    return None if age < 0 else age


class TickingScheduler(PersistentScheduler):
    """Celery beat's own scheduler, noting each tick in Redis: a beat whose process lives but whose loop has
    stopped (a hung broker connection, a stuck tick) is seen by its health check, not only a dead one."""

    _tick_client = None

    def tick(self, *args, **kwargs):
        interval = super().tick(*args, **kwargs)
        url = self.app.conf.broker_url
        if url and url.startswith(("redis://", "rediss://")):
            try:
                if self._tick_client is None:
                    self._tick_client = redis_client(url, timeout=5)
                self._tick_client.eval(_TICK_SCRIPT, 1, BEAT_KEY, BEAT_TTL)
            except redis.RedisError as exc:
                logger.warning("Beat tick not recorded: %s", exc)
        return interval
