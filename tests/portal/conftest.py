"""Fixtures shared by the portal's tests."""

import pytest
import redis


@pytest.fixture
def real_redis(request):
    """The real Redis on 127.0.0.1:6379, in the test module's own database (its SCRATCH_DB), flushed before and
    after; the test is skipped where no Redis answers (CI has one, and fails on that skip)."""
    client = redis.Redis(host="127.0.0.1", port=6379, db=request.module.SCRATCH_DB, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("needs Redis on 127.0.0.1:6379 (CI has it)")
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture
def redis_cache(request, settings, real_redis):
    """The portal's Redis cache on the test module's scratch database (flushed), or wherever ``point(url)`` says
    (a hung or closed port: the cache failing)."""
    from portal import cache as portal_cache

    def point(url=f"redis://127.0.0.1:6379/{request.module.SCRATCH_DB}"):
        portal_cache.reset_breaker()
        settings.CACHES = {"default": {"BACKEND": "portal.cache.FailOpenRedisCache", "LOCATION": url}}

    point()
    yield point
    portal_cache.reset_breaker()
