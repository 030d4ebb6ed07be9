import hashlib
import json
import logging
import sys

import redis
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import defaults
from django.views.decorators.cache import never_cache

from portal import metrics as portal_metrics
from portal.celery import redis_client, workers_alive
from portal.offline import offline_pages

logger = logging.getLogger(__name__)

# Seconds each Redis call of /readyz may take: a Redis that never answers must not hold the probe.
READYZ_REDIS_TIMEOUT = 0.5
_redis_clients = {}


def admin_login(request, extra_context=None):
    """Stands in for the admin's own login form, so every sign-in passes allauth's rate limits."""
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = ""
    next_url = next_url or reverse("admin:index")
    if not request.user.is_authenticated:
        return redirect_to_login(next_url)
    if request.user.is_active and request.user.is_staff:
        return redirect(next_url)
    raise PermissionDenied


# How long a client should wait before trying again when the database is away (the 503 page says half a minute).
RETRY_AFTER_SECONDS = 30


def database_unavailable(exc):
    """The database cannot be reached (or the connection broke): psycopg's OperationalError and InterfaceError,
    as Django wraps them."""
    return isinstance(exc, (OperationalError, InterfaceError))


def server_error(request):
    """handler500: a 503 page with Retry-After when the database is away (the page is static: rendering it needs no
    database), Django's own 500 page for everything else. The next request connects afresh (CONN_HEALTH_CHECKS), so
    the portal recovers without a restart."""
    exc = sys.exc_info()[1]
    if database_unavailable(exc):
        response = HttpResponse(loader.render_to_string("503.html"), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        response["Cache-Control"] = "no-store"
        return response
    return defaults.server_error(request)


def healthz(request):
    """The process answers; touches nothing else."""
    return HttpResponse("ok", content_type="text/plain")


def _redis(url):
    """One client (and connection pool) per URL and process, so a probe does not open a connection each time."""
    if url not in _redis_clients:
        _redis_clients[url] = redis_client(url, timeout=READYZ_REDIS_TIMEOUT)
    return _redis_clients[url]


def _check_database():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        logger.warning("readyz: database check failed: %s", exc)
        return "failed"
    return "ok"


def _check_redis_and_worker():
    """The broker's Redis answers, and a worker's heartbeat in it is fresh (one call); the cache's Redis answers."""
    broker, cache = settings.CELERY_BROKER_URL, settings.REDIS_URL
    redis_state, worker_state = "not configured", "eager"
    if broker:
        try:
            alive = workers_alive(_redis(broker))
        except redis.RedisError as exc:
            logger.warning("readyz: broker Redis check failed: %s", exc)
            redis_state, worker_state = "failed", "failed"
        else:
            redis_state, worker_state = "ok", "ok" if alive else "failed"
    if cache and cache != broker and redis_state != "failed":
        try:
            _redis(cache).ping()
        except redis.RedisError as exc:
            logger.warning("readyz: cache Redis check failed: %s", exc)
            redis_state = "failed"
        else:
            redis_state = "ok"
    return redis_state, worker_state


@never_cache
def readyz(request):
    """Ready to serve: the database, Redis and a live Celery worker. Says only ok/failed per check (no error
    text, hosts or versions; the reasons go to the log). Eager Celery (no broker, the quick start) needs
    neither Redis nor a worker."""
    redis_state, worker_state = _check_redis_and_worker()
    checks = {"database": _check_database(), "redis": redis_state, "worker": worker_state}
    failed = [name for name, state in checks.items() if state == "failed"]
    return JsonResponse(
        {"status": "failed" if failed else "ok", "checks": checks, **({"failed": failed} if failed else {})},
        status=503 if failed else 200,
    )


@never_cache
def metrics(request):
    """Prometheus's scrape (portal/metrics.py): 404 for anyone not allowed, as if there were no such page."""
    if not portal_metrics.scrape_allowed(request):
        raise Http404
    return HttpResponse(portal_metrics.exposition(), content_type="text/plain; version=0.0.4; charset=utf-8")


def service_worker(request):
    """/sw.js, the service worker (templates/portal/sw.js) with the offline pages and their static files
    (portal.offline). Its cache is named after them, so a deployment that changes a file's fingerprint starts a
    fresh one (and the browser installs the worker anew whenever its bytes differ). The same for everyone:
    it holds nothing of the user's."""
    pages, assets = offline_pages()
    listed = json.dumps({"pages": pages, "assets": assets}, sort_keys=True)
    context = {
        "version": hashlib.sha256(listed.encode()).hexdigest()[:12],
        "pages": json.dumps(pages),
        "assets": json.dumps(assets),
        "logout": json.dumps(reverse("account_logout")),
    }
    response = render(request, "portal/sw.js", context, content_type="application/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/"
    response["Cache-Control"] = "no-cache"  # always asked again: a new deployment reaches phones at once
    return response


# What the browser installs the portal as (a phone's home screen): its name, where it opens, its icons. Served by
# a view so the icons' URLs are the static files' hashed names. Anyone may read it: browsers fetch it without
# the session cookie.
APP_NAME = "结对共建"
APP_COLOURS = {"theme_color": "#b71c1c", "background_color": "#f6f7f9"}  # --red and --bg in static/css/portal.css


def manifest(request):
    from django.templatetags.static import static

    icons = [
        {"src": static("icons/icon-192.png"), "sizes": "192x192", "type": "image/png", "purpose": "any"},
        {"src": static("icons/icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "any"},
        {"src": static("icons/icon-maskable-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
        {"src": static("icons/icon.svg"), "sizes": "any", "type": "image/svg+xml"},
    ]
    data = {
        "id": "/",
        "name": APP_NAME,
        "short_name": APP_NAME,
        "lang": "zh-Hans",
        "dir": "ltr",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "orientation": "any",
        **APP_COLOURS,
        "icons": icons,
    }
    response = JsonResponse(data, content_type="application/manifest+json", json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "public, max-age=86400"
    return response
