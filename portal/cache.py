"""The shared Redis cache, failing open: when Redis is down or hung a cache call answers as a miss (reads give the
default, writes are dropped, ``add`` says it stored) after at most CACHE_TIMEOUT seconds, and a logged warning.

What the portal keeps in the cache can all be lost: sign-in rate limits (allauth's, whose lock is an ``add``: a
failed ``add`` answering True lets the sign-in through instead of a 500), import progress, page fragments. After a
failure the cache is not asked again for ``CACHE_RETRY_SECONDS`` in this process (a circuit breaker), so a page that
makes ten cache calls while Redis hangs pays one timeout, not ten.
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger(__name__)

CACHE_TIMEOUT = 0.25  # seconds a connect or a reply may take (a local Redis answers in well under 1 ms)
CACHE_RETRY_SECONDS = 5  # after a failure, calls answer as misses for this long before Redis is tried again

# {location: monotonic time until which the cache is taken for down}, shared by the threads of a process
_down_until: dict[str, float] = {}
_lock = threading.Lock()

FAILURES = (redis.RedisError, OSError)


class KeptClients(RedisCacheClient):
    """Django's Redis cache client, except that it keeps one ``redis.Redis`` per connection pool instead of making a
    new one for every call: redis-py 8 builds some 170 reply callbacks for each new client, a tenth of a millisecond
    per cache call, and a page makes several. A client over a pool may be shared by threads (the pool hands each
    command its own connection), and the pool itself starts afresh in a forked process (redis-py checks the pid)."""

    def __init__(self, servers, **options):
        super().__init__(servers, **options)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class FailOpenRedisCache(RedisCache):
    """Django's Redis cache with short timeouts, no retries, and a miss instead of an exception when Redis fails."""

    def __init__(self, server, params):
        options = dict(params.get("OPTIONS") or {})
        options.setdefault("socket_connect_timeout", CACHE_TIMEOUT)
        options.setdefault("socket_timeout", CACHE_TIMEOUT)
        options.setdefault("retry", Retry(NoBackoff(), 0))
        super().__init__(server, {**params, "OPTIONS": options})
        self._class = KeptClients
        self._location = server if isinstance(server, str) else ",".join(server)

    def _guarded(self, name, fallback, *args, **kwargs):
        if _down_until.get(self._location, 0) > time.monotonic():
            return fallback
        try:
            return getattr(super(), name)(*args, **kwargs)
        except FAILURES as exc:
            with _lock:
                was_up = _down_until.get(self._location, 0) <= time.monotonic()
                _down_until[self._location] = time.monotonic() + CACHE_RETRY_SECONDS
            if was_up:
                log.warning("cache unreachable (%s: %s); answering as a miss for %d s (sign-in limits are off)",
                            type(exc).__name__, exc, CACHE_RETRY_SECONDS)
            return fallback

    def add(self, key, value, *args, **kwargs):
        return self._guarded("add", True, key, value, *args, **kwargs)

    def get(self, key, default=None, version=None):
        return self._guarded("get", default, key, default, version=version)

    def set(self, key, value, *args, **kwargs):
        return self._guarded("set", None, key, value, *args, **kwargs)

    def touch(self, key, *args, **kwargs):
        return self._guarded("touch", False, key, *args, **kwargs)

    def delete(self, key, version=None):
        return self._guarded("delete", False, key, version=version)

    def get_many(self, keys, version=None):
        return self._guarded("get_many", {}, keys, version=version)

    def has_key(self, key, version=None):
        return self._guarded("has_key", False, key, version=version)

    def incr(self, key, delta=1, version=None):
        return self._guarded("incr", delta, key, delta, version=version)

    def set_many(self, data, *args, **kwargs):
        return self._guarded("set_many", list(data), data, *args, **kwargs)

    def delete_many(self, keys, version=None):
        return self._guarded("delete_many", None, keys, version=version)

    def clear(self):
        return self._guarded("clear", False)


def reset_breaker():
    """Forget past failures (tests, and a process that knows Redis is back)."""
    with _lock:
        _down_until.clear()
