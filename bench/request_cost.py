"""The per-request cost of pages, in this process, through Django's WSGI handler as gunicorn calls it.

    BENCH_DB=pairing_bench_x python -m bench.request_cost [--n 200] [--profile PAGE] [--top 40]

Production settings (PORTAL_MODE=production, Redis cache, persistent connection), a real session cookie from a
sign-in through the session store, HTTPS as the proxy says it. For each page: the median and p90 wall time of
``n`` requests after a warm-up, its queries and their time as Django timed them, and what is left (Python). With
``--profile PAGE`` a cProfile of ``n`` requests of that page (by own time and by cumulative time).
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time

from bench.common import BENCH_PASSWORD, USERS, setup_django

SECRET = "bench-secret-key-" + "x" * 60
STATIC_ROOT = "/tmp/bench-request-cost-static"  # production serves hashed names from the manifest


def setup():
    setup_django(
        PORTAL_MODE="production", SECRET_KEY=SECRET, ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        TRUSTED_PROXY_COUNT="1", REQUIRE_ADMIN_MFA="0", DATABASE_CONN_MAX_AGE="600", LOG_LEVEL="WARNING",
        STATIC_ROOT=STATIC_ROOT,
    )
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)


def signed_in_cookie(role):
    """A session cookie from signing in through allauth's form, as the bench's HTTP client does."""
    import re

    from django.test import Client

    client = Client(HTTP_X_FORWARDED_PROTO="https", HTTP_X_FORWARDED_FOR="10.20.30.40")
    page = client.get("/accounts/login/", secure=True)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content).group(1).decode()
    response = client.post("/accounts/login/", {"login": USERS[role], "password": BENCH_PASSWORD,
                                                "csrfmiddlewaretoken": token}, secure=True,
                           HTTP_REFERER="https://testserver/accounts/login/", HTTP_ORIGIN="https://testserver")
    assert response.status_code == 302, response.status_code
    return "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items())


class Driver:
    def __init__(self):
        from django.core.handlers.wsgi import WSGIHandler

        self.handler = WSGIHandler()

    def environ(self, path, cookie):
        from urllib.parse import urlsplit

        parts = urlsplit(path)
        return {
            "REQUEST_METHOD": "GET", "PATH_INFO": parts.path, "QUERY_STRING": parts.query, "SCRIPT_NAME": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1:8000", "HTTP_X_FORWARDED_PROTO": "https",
            "HTTP_X_FORWARDED_FOR": "10.20.30.40", "HTTP_ACCEPT_ENCODING": "identity", "HTTP_COOKIE": cookie,
            "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr, "wsgi.url_scheme": "http",
            "wsgi.version": (1, 0), "wsgi.multithread": False, "wsgi.multiprocess": True, "wsgi.run_once": False,
        }

    def get(self, path, cookie):
        status = []
        body = self.handler(self.environ(path, cookie), lambda s, h, exc=None: status.append(s))
        data = b"".join(body)
        if hasattr(body, "close"):
            body.close()
        return status[0], data


def pages(meta):
    out = {
        "healthz": (None, "/healthz"),
        "list_secretary": ("secretary", "/activities/"),
        "list_admin": ("admin", "/activities/"),
        "pairing": ("secretary", f"/pairings/{meta['pairing_id']}/"),
        "dashboard": ("admin", meta["dashboard_url"]),
        "board": ("admin", meta["completeness_url"]),
        "detail": ("secretary", f"/activities/{meta['detail_id']}/"),  # the secretary's newest activity
        # what each role lands on, and the admin's lists of the whole province
        "home_secretary": ("secretary", "/"),
        "home_admin": ("admin", "/"),
        "volunteers_admin": ("admin", "/volunteers/"),
        "deleted_admin": ("admin", "/activities/deleted/"),
        # the pickers' endpoints as the province admin (every pairing in scope), with what probe.py types
        "picker_pairings": ("admin", "/pairings/picker/?q=%E6%9D%911"),  # 村1
        "picker_branches": ("admin", "/pairings/picker/branches/?q=%E7%AC%AC3"),  # 第3
    }
    return out


def page_meta():
    from bench.probe import bench_user, find_dashboard, scope_rows
    from pairings.models import Pairing, Program

    program = Program.objects.order_by("id").first()
    return {"pairing_id": Pairing.objects.order_by("id").values_list("id", flat=True).first(),
            "dashboard_url": find_dashboard()["url"],
            # the completeness board, as bench/probe.py asks for it (its default year)
            "completeness_url": f"/dashboards/completeness/?program={program.pk}&year=2025",
            "detail_id": scope_rows(bench_user("secretary")).values_list("id", flat=True).first()}


def measure(driver, path, cookie, n):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(5):
        status, _ = driver.get(path, cookie)
    walls, cpus = [], []
    for _ in range(n):  # timed without capturing queries (the debug cursor costs time of its own)
        started, cpu = time.perf_counter(), time.process_time()
        status, body = driver.get(path, cookie)
        walls.append((time.perf_counter() - started) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    sqls, counts = [], []
    for _ in range(max(5, n // 10)):
        with CaptureQueriesContext(connection) as captured:
            driver.get(path, cookie)
        sqls.append(sum(float(q["time"]) for q in captured.captured_queries) * 1000)
        counts.append(len(captured.captured_queries))
        # read now: captured_queries is a slice of connection.queries, which the next request empties
        last = [q["sql"][:160] for q in captured.captured_queries]
    walls.sort()
    # Python function calls per request (cProfile's count): the same on a busy machine as on a quiet one
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(10):
        driver.get(path, cookie)
    profiler.disable()
    calls = pstats.Stats(profiler).total_calls // 10
    return {"status": status, "p50_ms": round(statistics.median(walls), 2), "cpu_p50_ms": round(statistics.median(cpus), 3),
            "min_ms": round(walls[0], 2), "calls": calls,
            "p90_ms": round(walls[int(len(walls) * 0.9)], 2), "queries": sorted(set(counts)),
            "sql_ms": round(statistics.median(sqls), 2), "bytes": len(body),
            "last_queries": last}


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--profile")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--queries", action="store_true")
    args = parser.parse_args(argv)
    setup()
    driver = Driver()
    cookies = {role: signed_in_cookie(role) for role in ("secretary", "admin")}
    cookies[None] = ""
    targets = pages(page_meta())
    if args.profile:
        import cProfile
        import pstats

        role, path = targets[args.profile]
        for _ in range(10):
            driver.get(path, cookies[role])
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.n):
            driver.get(path, cookies[role])
        profiler.disable()
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(args.top)
        stats.sort_stats("cumulative").print_stats(args.top * 3)
        return
    results = {}
    for name, (role, path) in targets.items():
        if args.only and name not in args.only:
            continue
        result = measure(driver, path, cookies[role], args.n)
        if not args.queries:
            result.pop("last_queries")
        results[name] = result
        print(f"{name:<16} {result['status']} p50 {result['p50_ms']:7.2f} ms  p90 {result['p90_ms']:7.2f} ms  "
              f"cpu p50 {result['cpu_p50_ms']:6.2f} ms  min {result['min_ms']:6.2f} ms  calls {result['calls']:6d}  "
              f"queries {result['queries']}  sql {result['sql_ms']:.2f} ms  python {result['p50_ms'] - result['sql_ms']:.2f} ms",
              flush=True)
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
