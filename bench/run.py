"""`make bench`: the province-scale benchmark. Not part of the tests.

    .venv/bin/python -m bench.run              # default sizes (1,000,000 activities); about 10-20 minutes
    .venv/bin/python -m bench.run --quick      # a 1 % data set in its own database, short windows (~2 min)
    .venv/bin/python -m bench.run --activities 300000 --service-records 600000

One run: make sure the data set is loaded (bench.generate, skipped when already there), then measure, each
figure beside its floor measured in the same run, medians of several repetitions:

 1. the activity list (first page and a deep page) for a branch secretary and for the program admin of every
    program: p50/p99 at 1 and 4 concurrent connections under gunicorn (2 sync workers, PORTAL_MODE=production,
    persistent database connections); floor: /healthz on the same server;
 2. the list's SQL alone (EXPLAIN ANALYZE of every query the page runs) and the template's render time, and each
    page's p50 over that floor: the floor is measured (bench.probe floors) right after each HTTP repetition of its
    page, and the ratio is the median of those pairs, so that a machine whose speed moves does not flatter or wrong it;
 3. the pairing page and the program dashboard (when the tree has one);
 4. the monthly reports of one period for every scope on one Celery worker (--concurrency 1, Redis db 9 or BENCH_BROKER_URL);
    floor: the period's GROUP BY pairing aggregate in raw SQL; queries per report;
 5. the annual export of one year at two sizes: rows per second and peak memory (each in its own process);
    floor: PostgreSQL COPY (SELECT …) TO STDOUT of the same rows;
 6. queries per page;
 7. 16 concurrent connections for 60 s on list and detail pages: errors, p50/p95;
 8. the bulk publish of 1,000 monthly drafts in one pass (what the publish task runs; rolled back): seconds,
    queries, and notifications against the distinct recipients (each must be told once);
 9. search: a two-character query, a common character, the pickers and the activity list page, as the province
    admin and as a secretary (in-process, p50; `--only search` runs it alone);
10. the ledger import of 10,000 activities from a GB18030 CSV in its own fresh database: preview and save rows per
    second, peak memory (`--only import` runs it alone, with no data set).

It prints one table (measurement, figure, floor, target, met?) and writes it as JSON to
bench/results/latest.json. The HTTP client is pure Python (threads, one TCP connection per request since
gunicorn's sync workers close them); it shares the machine's two cores with the server.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SECRET = "bench-only-secret-key-" + "x" * 48
GUNICORN_APP_NAME = "bench-gunicorn"
STARTED = time.monotonic()


LOADS = []

# issue 17's targets for the pages read from the rollups (p50 at one connection)
PAGE_TARGETS_MS = {"pairing": 10, "dashboard": 10, "completeness": 50}


def say(message):
    print(f"[{time.monotonic() - STARTED:6.0f} s] {message}", flush=True)


def note_load(stage):
    """The machine's 1-minute load average at a stage of the run (other work on the 2 cores skews figures)."""
    LOADS.append((stage, round(os.getloadavg()[0], 2)))


def pct(values, q):
    """The q-th percentile (nearest rank) of ``values``."""
    if not values:
        return None
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[index]


def ms(value):
    return "—" if value is None else f"{value:.1f}"


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


# ---------------------------------------------------------------------------------------------------------
# Subprocesses
# ---------------------------------------------------------------------------------------------------------


def django_env(**extra):
    from bench.common import django_env as base

    env = base(**extra)
    env.setdefault("DEBUG", "0")
    env.setdefault("LOG_LEVEL", "ERROR")
    env["PYTHONPATH"] = str(ROOT)
    env["PYTHONWARNINGS"] = "ignore"
    return env


def probe(*args, timeout=900):
    """Run ``python -m bench.probe ARGS`` and return its JSON (last line of stdout)."""
    from bench.common import PYTHON

    proc = subprocess.run(
        [PYTHON, "-m", "bench.probe", *args], cwd=ROOT, env=django_env(), capture_output=True, text=True, timeout=timeout
    )
    if proc.returncode != 0:
        raise RuntimeError(f"bench.probe {args[0]} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(proc, name, grace=15):
    """Stop a process this harness started, by its pid: TERM, then KILL after ``grace`` seconds."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        say(f"{name} (pid {proc.pid}) did not stop in {grace} s: killing it")
        proc.kill()
        proc.wait(timeout=10)


# ---------------------------------------------------------------------------------------------------------
# HTTP: a small client that keeps its own cookies (production cookies are Secure; we speak plain HTTP to
# gunicorn and say X-Forwarded-Proto: https, as the proxy in front of it would)
# ---------------------------------------------------------------------------------------------------------


class Session:
    def __init__(self, port):
        self.port = port
        self.host = f"127.0.0.1:{port}"
        self.cookies = {}

    def request(self, method, path, body=None, headers=None, timeout=300):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        hdrs = {
            "Host": self.host,
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": "10.20.30.40",
            "Accept-Encoding": "identity",
        }
        if self.cookies:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        hdrs.update(headers or {})
        started = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=hdrs)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        elapsed = time.perf_counter() - started
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, response.headers, data, elapsed

    def get(self, path):
        return self.request("GET", path)

    def login(self, username, password):
        status, _, body, _ = self.get("/accounts/login/")
        match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
        if status != 200 or not match:
            raise RuntimeError(f"login page: HTTP {status}")
        form = urllib.parse.urlencode(
            {"login": username, "password": password, "csrfmiddlewaretoken": match.group(1).decode()}
        )
        status, headers, body, _ = self.request(
            "POST",
            "/accounts/login/",
            body=form,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": f"https://{self.host}/accounts/login/",
                "Origin": f"https://{self.host}",
            },
        )
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"login as {username}: HTTP {status} {headers.get('Location')} {body[:300]!r}")
        status, _, _, _ = self.get("/")
        if status != 200:
            raise RuntimeError(f"home page after logging in as {username}: HTTP {status}")


def hammer(session, paths, concurrency, seconds, min_requests=3, max_requests=100_000):
    """``concurrency`` threads request ``paths`` (cycled) for ``seconds`` (at least ``min_requests`` in all):
    latencies in ms of the good answers, and the errors."""
    latencies, errors, lock = [], [], threading.Lock()
    counter = {"sent": 0}
    deadline = time.monotonic() + seconds
    barrier = threading.Barrier(concurrency)

    def worker(offset):
        barrier.wait()
        i = offset
        while True:
            with lock:
                if counter["sent"] >= max_requests or (
                    time.monotonic() >= deadline and counter["sent"] >= min_requests
                ):
                    return
                counter["sent"] += 1
            path = paths[i % len(paths)]
            i += concurrency
            try:
                status, _, _, elapsed = session.get(path)
            except Exception as exc:  # timeouts, resets: counted as errors
                with lock:
                    errors.append(f"{path}: {type(exc).__name__}: {exc}")
                continue
            with lock:
                if status == 200:
                    latencies.append(elapsed * 1000)
                else:
                    errors.append(f"{path}: HTTP {status}")

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors


def latency(session, paths, concurrency, reps, seconds, min_requests, floor=None):
    """Medians over ``reps`` repetitions of each repetition's p50 and p99. With ``floor`` (a function that measures
    the page's floor now, in ms), the floor is measured right after each repetition and that repetition's p50 is
    divided by it: ``ratio`` is the median of those quotients, each a page and its floor a moment apart."""
    p50s, p99s, n, errors, floors, ratios = [], [], 0, [], [], []
    for rep in range(reps):
        lat, errs = hammer(session, paths, concurrency, seconds, min_requests=min_requests)
        errors += errs
        n += len(lat)
        if lat:
            p50s.append(pct(lat, 50))
            p99s.append(pct(lat, 99))
            if floor is not None:
                floors.append(floor())
                ratios.append(p50s[-1] / floors[-1] if floors[-1] else None)
        if rep == 0 and lat and pct(lat, 50) > 1000:
            break  # a page this slow: one repetition says enough, and keeps the run within its budget
    return {"p50": median(p50s), "p99": median(p99s), "requests": n, "reps": len(p50s), "errors": errors[:5],
            "error_count": len(errors), "floors": floors,
            "ratio": median([r for r in ratios if r is not None]) if ratios else None}


class FloorProbe:
    """``bench.probe floors``, kept running beside gunicorn: a page's floor (its SQL by EXPLAIN ANALYZE plus its
    template, in the Django test client) measured on demand."""

    def __init__(self, meta):
        from bench.common import PYTHON

        self.proc = subprocess.Popen(
            [PYTHON, "-m", "bench.probe", "floors", "--meta", json.dumps(meta)], cwd=ROOT, env=django_env(),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=open(RESULTS / "floors.log", "w"), text=True,
            bufsize=1,
        )
        self.names = set(self.answer()["ready"])
        self.pages = {}  # name -> every floor measured, in order

    def answer(self):
        for line in self.proc.stdout:
            if line.startswith("{"):
                return json.loads(line)
        raise RuntimeError(f"bench.probe floors exited ({self.proc.wait()})")

    def measure(self, name):
        self.proc.stdin.write(name + "\n")
        page = self.answer()
        self.pages.setdefault(name, []).append(page)
        return page["explain_ms"] + page["render_ms"]

    def for_page(self, name):
        """A function measuring ``name``'s floor, or None for a page the probe does not know."""
        return (lambda: self.measure(name)) if name in self.names else None

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


# ---------------------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------------------


class Table:
    def __init__(self):
        self.rows = []

    def add(self, section, measurement, figure, unit="", floor=None, target=None, met=None, note="", floor_unit=None):
        self.rows.append({
            "section": section, "measurement": measurement, "figure": figure, "unit": unit, "floor": floor,
            "floor_unit": floor_unit if floor_unit is not None else unit, "target": target, "met": met, "note": note,
        })

    def print(self):
        def fmt(value):
            if value is None:
                return "—"
            if isinstance(value, float):
                return f"{value:,.1f}" if abs(value) >= 10 else f"{value:,.2f}"
            if isinstance(value, int):
                return f"{value:,}"
            return str(value)

        lines = [("measurement", "figure", "floor", "target", "met?")]
        for row in self.rows:
            figure = fmt(row["figure"]) + (f" {row['unit']}" if row["unit"] and row["figure"] is not None else "")
            met = {True: "yes", False: "NO", None: "—"}[row["met"]]
            floor = fmt(row["floor"]) + (f" {row['floor_unit']}" if row["floor_unit"] and row["floor"] is not None else "")
            lines.append((f"{row['section']}. {row['measurement']}", figure, floor, row["target"] or "—", met))
        widths = [max(len(str(line[i])) for line in lines) for i in range(5)]
        out = []
        for k, line in enumerate(lines):
            out.append("  ".join(str(cell).ljust(widths[i]) if i == 0 else str(cell).rjust(widths[i]) if i < 3
                                 else str(cell).ljust(widths[i]) for i, cell in enumerate(line)))
            if k == 0:
                out.append("  ".join("-" * w for w in widths))
        print("\n".join(out), flush=True)


def le(value, limit):
    return None if value is None or limit is None else value <= limit


def run_generator(args):
    from bench.common import PYTHON

    cmd = [PYTHON, "-m", "bench.generate", "--scale", str(args.scale), "--seed", str(args.seed)]
    for key in ("pairings", "branches", "activities", "volunteers", "service_records"):
        value = getattr(args, key)
        if value is not None:
            cmd += [f"--{key.replace('_', '-')}", str(value)]
    if args.fresh:
        cmd.append("--fresh")
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env=django_env(), text=True, capture_output=True)
    for line in proc.stdout.splitlines()[:-1]:
        print("    " + line, flush=True)
    if proc.returncode != 0:
        raise SystemExit(f"bench.generate failed:\n{proc.stderr[-3000:]}")
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    info["wall_seconds"] = round(time.monotonic() - started, 1)
    return info


def start_gunicorn(port, log_path):
    from bench.common import PYTHON

    env = django_env(
        PORTAL_MODE="production", SECRET_KEY=SECRET, ALLOWED_HOSTS="127.0.0.1,localhost", TRUSTED_PROXY_COUNT="1",
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10"), REQUIRE_ADMIN_MFA="0", DATABASE_CONN_MAX_AGE="600", STATIC_ROOT=str(RESULTS / "staticfiles"),
        LOG_LEVEL=os.environ.get("BENCH_GUNICORN_LOG_LEVEL", "WARNING"), PGAPPNAME=GUNICORN_APP_NAME,
    )
    env.pop("DEBUG", None)
    subprocess.run([PYTHON, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [str(Path(PYTHON).parent / "gunicorn"), "portal.wsgi:application", "--workers", "2", "--worker-class", "sync",
         "--bind", f"127.0.0.1:{port}", "--timeout", "300", "--graceful-timeout", "10", "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    session = Session(port)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited ({proc.returncode}); see {log_path}")
        try:
            if session.get("/healthz")[0] == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.3)
    stop(proc, "gunicorn")
    raise SystemExit(f"gunicorn did not answer /healthz within 60 s; see {log_path}")


class BackendSampler:
    """Samples, five times a second, the PostgreSQL backends of the gunicorn workers (application_name set
    through PGAPPNAME): with persistent connections the whole run sees one backend per worker."""

    def __init__(self, app_name):
        self.app_name = app_name
        self.pids = set()
        self.samples = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        import psycopg

        from bench.common import conninfo

        with psycopg.connect(conninfo("postgres"), autocommit=True) as conn:
            while not self.stopping.wait(0.2):
                rows = conn.execute(
                    "SELECT pid, backend_start FROM pg_stat_activity WHERE application_name = %s "
                    "AND backend_type = 'client backend'",  # parallel query workers carry the name too
                    (self.app_name,)
                ).fetchall()
                self.pids.update(rows)
                self.samples += 1

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join(timeout=5)


def db_sessions():
    """Sessions ever established to the benchmark database (PostgreSQL counts them at connection time)."""
    import psycopg

    from bench.common import BENCH_DB, conninfo

    with psycopg.connect(conninfo("postgres"), autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        return conn.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s", (BENCH_DB,)).fetchone()[0]


def web_measurements(args, meta, pages, table, budget):
    from bench.common import BENCH_PASSWORD, USERS

    port = free_port()
    log_path = RESULTS / "gunicorn.log"
    say(f"gunicorn: 2 sync workers, PORTAL_MODE=production, persistent connections, on 127.0.0.1:{port}")
    server = start_gunicorn(port, log_path)
    floors = None
    try:
        sessions = {}
        for role in ("secretary", "admin"):
            session = Session(port)
            session.login(USERS[role], BENCH_PASSWORD)
            sessions[role] = session
        floor_session = Session(port)

        deep_param = "cursor" if meta["cursor_supported"] else "page"
        urls = {
            "healthz": (floor_session, "/healthz"),
            "list_secretary_first": (sessions["secretary"], "/activities/"),
            "list_admin_first": (sessions["admin"], "/activities/"),
            "pairing": (sessions["secretary"], f"/pairings/{meta['pairing_id']}/"),
        }
        for role in ("secretary", "admin"):
            deep = meta["deep"].get(role)
            if deep:
                value = deep["cursor"] if meta["cursor_supported"] else "10000"
                urls[f"list_{role}_deep"] = (sessions[role], f"/activities/?{deep_param}={value}")
        if meta.get("dashboard") and meta["dashboard"].get("url"):
            urls["dashboard"] = (sessions["admin"], meta["dashboard"]["url"])
        urls["completeness"] = (sessions["admin"], meta["completeness_url"])
        detail_paths = [f"/activities/{i}/" for i in meta["detail_ids"]["secretary"][:50]]

        # warm every worker up on every page (first queries, template loading)
        for name, (session, path) in urls.items():
            hammer(session, [path], 2, 0, min_requests=4)
        hammer(sessions["secretary"], detail_paths[:4], 2, 0, min_requests=4)

        floors = FloorProbe(meta)
        sampler = BackendSampler(GUNICORN_APP_NAME).__enter__()
        sessions_before = db_sessions()
        measured, started = {}, time.monotonic()
        order = ["healthz", "list_secretary_first", "list_secretary_deep", "list_admin_first", "list_admin_deep",
                 "pairing", "dashboard", "completeness"]
        for name in order:
            if name not in urls:
                continue
            session, path = urls[name]
            for concurrency in (1, 4):
                result = latency(session, [path], concurrency, budget["reps"], budget["window"], budget["min_requests"],
                                 floor=floors.for_page(name) if concurrency == 1 else None)
                measured[(name, concurrency)] = result
                ratio = f"  page / floor {result['ratio']:.2f}×" if result.get("ratio") else ""
                say(f"  {name:<22} c={concurrency}: p50 {result['p50'] or 0:8.1f} ms  p99 {result['p99'] or 0:8.1f} ms"
                    f"  ({result['requests']} requests, {result['reps']} reps, {result['error_count']} errors){ratio}")
        result = latency(sessions["secretary"], detail_paths, 1, budget["reps"], budget["window"], budget["min_requests"])
        measured[("detail", 1)] = result
        say(f"  {'detail':<22} c=1: p50 {ms(result['p50']):>8} ms  p99 {ms(result['p99']):>8} ms"
            f"  ({result['requests']} requests, {result['error_count']} errors)")
        total_requests = sum(r["requests"] for r in measured.values())
        new_sessions = db_sessions() - sessions_before
        sampler.__exit__()
        backends = len(sampler.pids)
        say(f"  {total_requests} requests: the gunicorn workers used {backends} PostgreSQL backends "
            f"({sampler.samples} samples); {new_sessions} sessions opened on the database by anyone meanwhile")

        # 7. sixteen connections for a minute on list and detail pages
        say(f"16 concurrent connections for {budget['soak']} s on list and detail pages")
        soak_paths = {
            "list": [urls["list_secretary_first"], urls["list_admin_first"]],
            "detail": [(sessions["secretary"], p) for p in detail_paths[:25]]
            + [(sessions["admin"], f"/activities/{i}/") for i in meta["detail_ids"]["admin"][:25]],
        }
        soak = soak_run(soak_paths, 16, budget["soak"])
        say(f"  {soak['requests']} requests, {soak['errors']} errors, p50 {soak['p50'] or 0:.0f} ms, "
            f"p95 {soak['p95'] or 0:.0f} ms (list p95 {soak['list_p95'] or 0:.0f}, detail p95 {soak['detail_p95'] or 0:.0f})")
    finally:
        stop(server, "gunicorn")
        if floors is not None:
            floors.close()

    # ---- the table, sections 1-3 and 7
    failing = {name: r for (name, c), r in measured.items() if r["error_count"]}
    for name, r in failing.items():
        table.add(1 if name.startswith(("list", "healthz")) else 3, f"errors on {name}", r["error_count"],
                  target="0", met=False, note="; ".join(r["errors"][:2]))
    floor1, floor4 = measured[("healthz", 1)]["p50"], measured[("healthz", 4)]["p50"]
    table.add(1, "floor: /healthz p50, c=1 / c=4", floor1, "ms", note=f"c=4: {ms(floor4)} ms" if floor4 else "")
    for role, limit in (("secretary", 15), ("admin", 25)):
        first = measured.get((f"list_{role}_first", 1))
        first4 = measured.get((f"list_{role}_first", 4))
        deep = measured.get((f"list_{role}_deep", 1))
        deep4 = measured.get((f"list_{role}_deep", 4))
        rows = meta["rows"][role]
        label = f"list {role} ({rows:,} rows)"
        table.add(1, f"{label} page 1 p50, c=1", first["p50"], "ms", floor1, f"≤ {limit} ms", le(first["p50"], limit))
        table.add(1, f"{label} page 1 p99, c=1", first["p99"], "ms", floor1, "≤ 4× p50",
                  le(first["p99"], 4 * first["p50"]) if first["p50"] else None)
        table.add(1, f"{label} page 1 p50 / p99, c=4", first4["p50"], "ms", floor4, "p99 ≤ 4× p50",
                  le(first4["p99"], 4 * first4["p50"]) if first4["p50"] else None, note=f"p99 {ms(first4['p99'])} ms")
        if deep:
            d = meta["deep"][role]
            how = f"cursor after row {d['position']:,}" if meta["cursor_supported"] else "?page=10000 (no cursor support)"
            table.add(1, f"{label} deep page p50, c=1", deep["p50"], "ms", floor1, "≤ 1.5× page 1",
                      le(deep["p50"], 1.5 * first["p50"]) if first["p50"] else None, note=how)
            table.add(1, f"{label} deep page p99, c=1", deep["p99"], "ms", floor1, "≤ 4× p50",
                      le(deep["p99"], 4 * deep["p50"]) if deep["p50"] else None)
            table.add(1, f"{label} deep page p50 / p99, c=4", deep4["p50"], "ms", floor4, "p99 ≤ 4× p50",
                      le(deep4["p99"], 4 * deep4["p50"]) if deep4["p50"] else None, note=f"p99 {ms(deep4['p99'])} ms")
        for which in ("first", "deep"):
            page = pages.get(f"list_{role}_{which}")
            http = measured.get((f"list_{role}_{which}", 1))
            if not page or not http or http["p50"] is None or page.get("explain_ms") is None:
                continue
            sql, render = page["explain_ms"], page["render_ms"]
            table.add(2, f"{label} {which} page: SQL (EXPLAIN ANALYZE, {page['queries']} queries)", sql, "ms",
                      note=f"slowest query {ms(page['slowest_query_ms'])} ms; template {render:.1f} ms")
            ratio = http.get("ratio")
            table.add(2, f"{label} {which} page: page / (SQL + template)", round(ratio, 2) if ratio else None, "×",
                      target="≤ 2×", met=le(ratio, 2),
                      note=f"gunicorn p50 {ms(http['p50'])} ms; {floor_note(http)}; the same page in the Django test "
                      f"client {ms(page['wall_ms'])} ms (its SQL timed by Django {ms(page['django_sql_ms'])} ms)")
            table.add(2, f"{label} {which} page: slowest query", page["slowest_query_ms"], "ms", target="≤ 5 ms",
                      met=le(page["slowest_query_ms"], 5))
            if which == "first":
                uncapped = page.get("uncapped_counts", [])
                table.add(2, f"{label} page 1: exact (uncapped) COUNT queries", len(uncapped), target="0 (capped)",
                          met=not uncapped, note=f"{len(page['counts'])} COUNT queries in all; "
                          + "; ".join(c[:200] for c in uncapped))
    for name, label in (("pairing", f"pairing page /pairings/{meta['pairing_id']}/"), ("dashboard", "program dashboard"),
                        ("completeness", "completeness board (program 1, a year)")):
        limit = PAGE_TARGETS_MS[name]
        if (name, 1) not in measured:
            table.add(3, f"{label} p50, c=1", None, target=f"≤ {limit} ms", met=False, note="not built in this tree")
            continue
        r, r4 = measured[(name, 1)], measured[(name, 4)]
        table.add(3, f"{label} p50, c=1", r["p50"], "ms", floor1, f"≤ {limit} ms", le(r["p50"], limit),
                  note=f"p99 {ms(r['p99'])} ms; c=4 p50 {ms(r4['p50'])} / p99 {ms(r4['p99'])} ms")
        page = pages.get(name)
        if page:
            table.add(3, f"{label}: SQL (EXPLAIN ANALYZE, {page['queries']} queries)", page["explain_ms"], "ms",
                      note=f"slowest query {ms(page['slowest_query_ms'])} ms; template {ms(page['render_ms'])} ms")
            ratio = r.get("ratio")
            table.add(3, f"{label}: page / (SQL + template)", round(ratio, 2) if ratio else None, "×",
                      target="≤ 2×", met=le(ratio, 2),
                      note=f"gunicorn p50 {ms(r['p50'])} ms; {floor_note(r)}; the same page in the Django test client "
                      f"{ms(page['wall_ms'])} ms")
    r = measured[("detail", 1)]
    table.add(3, "activity detail p50, c=1 (50 recent activities)", r["p50"], "ms", floor1,
              note=f"p99 {ms(r['p99'])} ms")
    table.add(1, f"PostgreSQL backends used by the 2 workers over {total_requests:,} requests", backends,
              target="2 (persistent)", met=backends <= 2,
              note=f"pg_stat_activity sampled 5×/s (PGAPPNAME={GUNICORN_APP_NAME}); sessions opened on the "
              f"database by anyone meanwhile (pg_stat_database): {new_sessions}")
    soak_label = f"16 connections × {budget['soak']} s"
    table.add(7, f"{soak_label}: errors", soak["errors"], target="0", met=soak["errors"] == 0,
              note=f"{soak['requests']} requests; {'; '.join(soak['error_samples'][:2])}")
    table.add(7, f"{soak_label}: p50", soak["p50"], "ms", floor=None)
    table.add(7, f"{soak_label}: p95", soak["p95"], "ms", target="≤ 500 ms", met=le(soak["p95"], 500),
              note=f"list p95 {soak['list_p95'] or 0:.0f} ms, detail p95 {soak['detail_p95'] or 0:.0f} ms")
    return {"latency": {f"{k[0]}@c{k[1]}": v for k, v in measured.items()}, "soak": soak, "new_db_sessions": new_sessions,
            "worker_backends": backends}


def floor_note(result):
    """The floors measured after each repetition, as the ratio's note says them."""
    floors = " / ".join(ms(f) for f in result.get("floors", []))
    return f"the median of each repetition's p50 over the floor measured right after it ({floors} ms)"


def soak_run(kinds, concurrency, seconds):
    """``concurrency`` threads, half on list pages, half on detail pages, for ``seconds``."""
    results = {kind: [] for kind in kinds}
    errors, lock = [], threading.Lock()
    deadline = time.monotonic() + seconds
    names = list(kinds)

    def worker(k):
        kind = names[k % len(names)]
        targets = kinds[kind]
        i = k
        while time.monotonic() < deadline:
            session, path = targets[i % len(targets)]
            i += 1
            try:
                status, _, _, elapsed = session.get(path)
            except Exception as exc:
                with lock:
                    errors.append(f"{path}: {type(exc).__name__}")
                continue
            with lock:
                if status == 200:
                    results[kind].append(elapsed * 1000)
                else:
                    errors.append(f"{path}: HTTP {status}")

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [x for values in results.values() for x in values]
    return {
        "requests": len(everything) + len(errors),
        "errors": len(errors),
        "error_samples": errors[:5],
        "p50": pct(everything, 50),
        "p95": pct(everything, 95),
        "list_p95": pct(results.get("list", []), 95),
        "detail_p95": pct(results.get("detail", []), 95),
    }


def report_measurements(args, meta, table, budget):
    """4. every monthly report of one period on one Celery worker; floor: the period's aggregate in raw SQL."""
    import psycopg

    from bench.common import PYTHON, conninfo

    period = meta["report_period"]
    expected = meta["report_scopes"]
    year, month = map(int, period.split("-"))
    start = datetime.date(year, month, 1)
    end = (start + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)

    floor_sql = (
        "SELECT a.pairing_id, count(*), count(*) FILTER (WHERE a.status = 'confirmed'), sum(a.party_members), "
        "sum(a.teachers), sum(a.students), sum(a.residents_served) FROM activities_activity a "
        "WHERE a.deleted_at IS NULL AND a.status IN ('submitted', 'confirmed') AND a.date BETWEEN %s AND %s "
        "GROUP BY a.pairing_id"
    )
    times = []
    with psycopg.connect(conninfo()) as conn:
        for _ in range(5):
            t = time.perf_counter()
            conn.execute(floor_sql, (start, end)).fetchall()
            times.append((time.perf_counter() - t) * 1000)
    floor_ms = median(times)

    def clear():
        with psycopg.connect(conninfo(), autocommit=True) as conn:
            conn.execute(
                "DELETE FROM reports_notification WHERE report_id IN "
                "(SELECT id FROM reports_report WHERE kind = 'monthly' AND period = %s)", (period,)
            )
            conn.execute("DELETE FROM reports_report WHERE kind = 'monthly' AND period = %s", (period,))
            # the reports' history rows too, or every run leaves a thousand behind
            conn.execute("DELETE FROM reports_historicalreport WHERE kind = 'monthly' AND period = %s", (period,))

    def count():
        with psycopg.connect(conninfo(), autocommit=True) as conn:
            return conn.execute(
                "SELECT count(*) FROM reports_report WHERE kind = 'monthly' AND period = %s", (period,)
            ).fetchone()[0]

    mode, seconds, done, worker, note = "celery", None, 0, None, ""
    # BENCH_BROKER_URL: another Redis db when several copies of the bench share one Redis (flushed before and after)
    broker = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/9")
    celery = str(Path(PYTHON).parent / "celery")
    env = django_env(CELERY_BROKER_URL=broker, REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10"), PORTAL_MODE="production", SECRET_KEY=SECRET,
                     ALLOWED_HOSTS="127.0.0.1,localhost", LOG_LEVEL="INFO")
    env.pop("DEBUG", None)
    clear()
    try:
        import redis

        redis.Redis.from_url(broker, socket_connect_timeout=2).flushdb()
        log_path = RESULTS / "celery-worker.log"
        log = open(log_path, "w")
        worker = subprocess.Popen(
            [celery, "-A", "portal", "worker", "--concurrency", "1", "--pool", "prefork", "--loglevel", "INFO",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", "bench@%h"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while "ready." not in log_path.read_text(errors="replace"):
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Celery worker did not start; see {log_path}")
            time.sleep(0.3)
        say(f"Celery worker ready (pid {worker.pid}); enqueueing the monthly reports of {period} ({expected} scopes)")
        # The message is sent from this process, as beat sends it, and the clock starts with it: `celery call`
        # started a Python with Django and Celery first (0.4-0.5 s), which was counted before this round. The
        # stored reports are counted every 0.1 s on one connection (every 0.5 s on a new one before: up to 0.5 s
        # more).
        from celery import Celery

        sender = Celery("bench-sender", broker=broker, set_as_current=False)
        with psycopg.connect(conninfo(), autocommit=True) as watch:
            started = time.monotonic()
            sender.send_task("reports.tasks.generate_reports", args=["monthly", period])
            sender.close()
            limit = budget["reports_timeout"]
            while True:
                done = watch.execute("SELECT count(*) FROM reports_report WHERE kind = 'monthly' AND period = %s",
                                     (period,)).fetchone()[0]
                if done >= expected:
                    seconds = time.monotonic() - started
                    break
                if time.monotonic() - started > limit:
                    elapsed = time.monotonic() - started
                    seconds = elapsed * expected / done if done else None
                    note = f"stopped after {elapsed:.0f} s with {done} of {expected} done: figure extrapolated"
                    break
                if worker.poll() is not None:
                    raise RuntimeError(f"the Celery worker died; see {log_path}")
                time.sleep(0.1)
    except Exception as exc:  # no Redis, no worker: the same reports built in one process instead
        say(f"Celery path failed ({exc}); building the reports in one process instead")
        stop(worker, "celery worker")
        worker = None
        mode = "in-process (generate_reports command)"
        clear()
        started = time.monotonic()
        try:
            subprocess.run([PYTHON, "manage.py", "generate_reports", period], cwd=ROOT, env=django_env(),
                           check=True, capture_output=True, timeout=budget["reports_timeout"])
            seconds = time.monotonic() - started
        except subprocess.TimeoutExpired:
            done = count()
            elapsed = time.monotonic() - started
            seconds = elapsed * expected / done if done else None
            note = f"stopped after {elapsed:.0f} s with {done} of {expected} done: figure extrapolated"
        done = count()
    finally:
        stop(worker, "celery worker", grace=30)
        try:
            import redis

            redis.Redis.from_url(broker, socket_connect_timeout=2).flushdb()
        except Exception:
            pass
    say(f"  {done} reports in {seconds or 0:.1f} s ({mode}); raw aggregate {floor_ms:.1f} ms")

    per = probe("reports", budget["report_query_period"])
    counts = [r["queries"] for r in per["per_report"]]
    table.add(4, f"monthly reports {period}: all {expected} scopes, one worker", round(seconds, 1) if seconds else None,
              "s", round(floor_ms, 1), "≤ 5 s", le(seconds, 5), floor_unit="ms",
              note=f"{mode}; floor: one GROUP BY pairing over the month's counted activities, psycopg; the "
                   f"reminders are published as built (the programs' publishing policy), each batch in one pass. "
                   f"{note}".strip())
    if counts:
        detail = ", ".join(f"pairing {r['pairing_id']} ({r['activities']} activities): {r['queries']} queries, "
                           f"{r['ms']:.0f} ms of which SQL {r.get('sql_ms', 0):.0f} ms" for r in per["per_report"])
        table.add(4, "queries per monthly report (smallest vs biggest pairing)", counts[-1], target="fixed",
                  met=len(set(counts)) == 1, note=detail)
    pr = per["program_report"]
    table.add(4, f"program-wide monthly report: its {pr['queries']} queries through Django vs raw psycopg",
              round(pr["django_sql_ms"] / pr["raw_sql_ms"], 2) if pr["raw_sql_ms"] else None, "×",
              target="≤ 1.25×", met=le(pr["django_sql_ms"], 1.25 * pr["raw_sql_ms"]),
              note=f"Django {pr['django_sql_ms']:.0f} ms, raw {pr['raw_sql_ms']:.0f} ms")
    rollup = probe("rollup", period)
    if not rollup.get("available"):
        table.add(3, "rollup: a month's refresh", None, target="≤ 0.5 s", met=False, note="no rollup in this tree")
    else:
        if "one_pairing_month_ms" in rollup:
            table.add(3, f"rollup: refresh one pairing-month ({rollup['one_pairing_activities']} activities)",
                      rollup["one_pairing_month_ms"], "ms", target="≤ 500 ms", met=le(rollup["one_pairing_month_ms"], 500),
                      note="what saving an activity costs; median of 5")
        if "all_pairings_month_ms" in rollup:
            table.add(3, f"rollup: refresh {period} for all {rollup['all_pairings']} pairings",
                      rollup["all_pairings_month_ms"], "ms", target="≤ 500 ms",
                      met=le(rollup["all_pairings_month_ms"], 500))
    return {"mode": mode, "seconds": seconds, "done": done, "expected": expected, "floor_ms": floor_ms,
            "per_report": per, "rollup": rollup}


def publish_measurements(table, count=1000):
    """8. bulk publish of 1,000 drafts: seconds and queries of the one pass, notifications = distinct recipients."""
    say(f"bulk publish of {count} drafts (bench.probe publish, rolled back)")
    result = probe("publish", str(count))
    say(f"  {result['published']} drafts published in {result['seconds']} s, {result['queries']} queries; "
        f"{result['notifications']} notifications for {result['recipients']} distinct recipients")
    spread = f" over {result['months']} months of the data set's pairings" if result["months"] > 1 else ""
    table.add(8, f"bulk publish {result['drafts']:,} drafts{spread}, one pass", result["seconds"], "s",
              target="≤ 30 s", met=le(result["seconds"], 30),
              note=f"{result['queries']} statements (3 per distinct set of reports people are told of)")
    table.add(8, "bulk publish: notifications vs distinct recipients", result["notifications"],
              target=str(result["recipients"]), met=result["notifications"] == result["recipients"],
              note=f"the benchmark village user, liaison of every 10th pairing, got "
                   f"{result['village_user_notifications']} notification(s)")
    return result


def copy_floor(program_id, year):
    """PostgreSQL COPY (SELECT …) TO STDOUT of the export's rows: the activity, its names, verified hours and
    metric values, in the ledger's order. Rows per second."""
    import psycopg

    from bench.common import conninfo

    sql = f"""
        COPY (
            SELECT a.pairing_id, a.date, a.title, b.name, t.name, a.status, a.place, a.party_members, a.teachers,
                   a.students, a.residents_served,
                   (SELECT sum(s.hours) FROM activities_servicerecord s
                     WHERE s.activity_id = a.id AND s.status = 'verified' AND s.deleted_at IS NULL),
                   (SELECT string_agg(m.metric_id || '=' || m.value, ';') FROM activities_activitymetricvalue m
                     WHERE m.activity_id = a.id)
            FROM activities_activity a
            JOIN pairings_pairing p ON p.id = a.pairing_id
            JOIN portal_organization b ON b.id = a.branch_id
            JOIN activities_activitytype t ON t.id = a.activity_type_id
            WHERE p.program_id = {int(program_id)} AND a.date BETWEEN '{year}-01-01' AND '{year}-12-31'
              AND a.status IN ('submitted', 'confirmed') AND a.deleted_at IS NULL
            ORDER BY a.pairing_id, a.date, a.id
        ) TO STDOUT
    """
    plain = f"""
        COPY (
            SELECT a.pairing_id, a.date, a.title, a.branch_id, a.activity_type_id, a.status, a.place, a.party_members,
                   a.teachers, a.students, a.residents_served
            FROM activities_activity a JOIN pairings_pairing p ON p.id = a.pairing_id
            WHERE p.program_id = {int(program_id)} AND a.date BETWEEN '{year}-01-01' AND '{year}-12-31'
              AND a.status IN ('submitted', 'confirmed') AND a.deleted_at IS NULL
        ) TO STDOUT
    """
    best, plain_best = None, None
    with psycopg.connect(conninfo()) as conn:
        for _ in range(2):
            rows, started = 0, time.perf_counter()
            with conn.cursor() as cur:
                with cur.copy(plain) as copy:
                    for block in copy:
                        rows += bytes(block).count(b"\n")
            elapsed = time.perf_counter() - started
            if plain_best is None or elapsed < plain_best[1]:
                plain_best = (rows, elapsed)
        for _ in range(2):
            rows, started = 0, time.perf_counter()
            with conn.cursor() as cur:
                with cur.copy(sql) as copy:
                    for block in copy:
                        rows += bytes(block).count(b"\n")
            elapsed = time.perf_counter() - started
            if best is None or elapsed < best[1]:
                best = (rows, elapsed)
    return {"rows": best[0], "seconds": best[1], "rows_per_s": best[0] / best[1] if best[1] else None,
            "plain_rows_per_s": plain_best[0] / plain_best[1] if plain_best[1] else None}


def export_measurements(args, meta, table, budget):
    """5. the annual export at two sizes, CSV and XLSX each in its own process (peak memory is the process's
    ru_maxrss); floor: COPY TO of the same rows."""
    exports = sorted((e for e in meta["exports"] if e["rows"]), key=lambda e: e["rows"])
    if not exports:
        table.add(5, "annual export", None, note="no counted activities in the export year")
        return {}
    small = min(exports, key=lambda e: abs(e["rows"] - budget["export_small"]))
    big = exports[-1]
    picks = [small] if small is big else [small, big]
    targets = {"csv": 100_000, "xlsx": 20_000, "all": 20_000}
    out, peaks = {}, {}
    for pick in picks:
        say(f"annual export: program {pick['code']} {pick['year']} ({pick['rows']:,} counted activities)")
        floor = copy_floor(pick["program_id"], pick["year"])
        say(f"  COPY TO: {floor['rows_per_s']:,.0f} rows/s (activity columns alone: {floor['plain_rows_per_s']:,.0f} rows/s)")
        results = {}
        for fmt in ("csv", "xlsx"):
            try:
                result = probe("export", "--program", str(pick["program_id"]), "--year", str(pick["year"]),
                               "--format", fmt, timeout=budget["export_timeout"])
            except subprocess.TimeoutExpired:
                result = {"rows": pick["rows"], "seconds": None, "rows_per_s": None, "peak_rss_mb": None,
                          "format": fmt, "timed_out": budget["export_timeout"]}
            results[result.get("format", fmt)] = result
            say(f"  {result.get('mode', fmt)}: {result.get('seconds')} s, {result.get('rows_per_s')} rows/s, "
                f"peak RSS {result.get('peak_rss_mb')} MB, {result.get('queries')} queries")
            if result.get("format") == "all":
                break  # this tree writes every format in one pass: one run says it all
        out[pick["code"]] = {"export": results, "copy": floor}
        size = f"{pick['rows']:,} rows"
        for fmt, result in results.items():
            rps = result.get("rows_per_s")
            label = {"csv": "CSV", "xlsx": "XLSX", "all": "CSV+XLSX+DOCX in one pass"}[fmt]
            note = (result.get("mode", "") + f"; floor: COPY TO of the ledger's rows with its subqueries (hours, "
                    f"figures); the activity columns alone: {floor['plain_rows_per_s']:,.0f} rows/s")
            if result.get("timed_out"):
                note += f"; timed out after {result['timed_out']} s"
            if result.get("ledger_rows_per_s"):
                note += (f"; the ledger alone (write_ledgers): {result['ledger_rows_per_s']:,} rows/s in "
                         f"{result['ledger_seconds']} s, the rest is the summary")
            table.add(5, f"annual export {pick['code']} {pick['year']} ({size}) to {label}", rps, "rows/s",
                      round(floor["rows_per_s"]), f"≥ {targets[fmt]:,} rows/s",
                      None if rps is None else rps >= targets[fmt], note=note)
            after_summary = result.get("peak_rss_after_summary_mb")
            table.add(5, f"annual export {pick['code']} {pick['year']} ({size}) to {label}: peak memory",
                      result.get("peak_rss_mb"), "MB", target="≤ 100 MB", met=le(result.get("peak_rss_mb"), 100),
                      note=f"whole process (Django alone: {result.get('baseline_rss_mb')} MB"
                      + (f"; peak once the summary was built ({result.get('summary_seconds')} s): {after_summary} MB"
                         if after_summary else "") + ")")
            peaks.setdefault(fmt, []).append((pick["rows"], result.get("peak_rss_mb")))
            if "queries_reading_activities" in result:
                ledger = result.get("ledger_queries")
                figure = ledger if ledger is not None else result["queries_reading_activities"]
                # the CSV may be copied in runs of pairings side by side (LEDGER_COPY_PARTS): one query each
                parts = result.get("ledger_parts") or 1
                table.add(6, f"annual export {pick['code']} {pick['year']} to {label}: "
                          + ("ledger data queries" if ledger is not None else "queries reading activities"),
                          figure, target="exactly 1" if parts == 1 else f"exactly 1 per part ({parts} parts)",
                          met=figure == parts,
                          note=f"{result['queries']} statements in all, {result['queries_reading_activities']} "
                          "reading activities (the summary's included)")
    for fmt, points in peaks.items():
        if len(points) == 2 and None not in (points[0][1], points[1][1]):
            (n1, a), (n2, b) = points
            table.add(5, f"export memory flatness, {fmt.upper()} ({n1:,} vs {n2:,} rows)", round(b - a, 1), "MB",
                      target="≤ 5 MB", met=abs(b - a) <= 5)
    out["list"] = list_export_measurements(table, budget)
    return out


def list_copy_floor():
    """PostgreSQL COPY (SELECT …) TO STDOUT of every activity's own columns in the list's order (what the list
    export reads of each row, its kept hours and figures included): rows per second."""
    import psycopg

    from bench.common import conninfo

    sql = """
        COPY (
            SELECT a.date, a.start_time, a.end_time, a.program_id, a.pairing_id, a.branch_id, a.activity_type_id, a.title,
                   a.place, a.status, a.party_members, a.teachers, a.students, a.residents_served,
                   a.kept_verified_hours, a.kept_pending_hours, a.kept_photos, a.kept_figures, a.description
            FROM activities_activity a WHERE a.deleted_at IS NULL ORDER BY a.date DESC, a.id DESC
        ) TO STDOUT
    """
    best = None
    with psycopg.connect(conninfo()) as conn:
        for _ in range(2):
            rows, started = 0, time.perf_counter()
            try:
                with conn.cursor() as cur, cur.copy(sql) as copy:
                    for block in copy:
                        rows += bytes(block).count(b"\n")
            except psycopg.errors.UndefinedColumn:  # a tree without the kept columns
                return None
            elapsed = time.perf_counter() - started
            if best is None or elapsed < best[1]:
                best = (rows, elapsed)
    return best[0] / best[1] if best[1] else None


def list_export_measurements(table, budget):
    """5. the activity list's export of the whole data set (the admin, no filter: ~1,000,000 rows), CSV and XLSX,
    each in its own process, beside the COPY of the same columns."""
    floor = list_copy_floor()
    out = {"copy_rows_per_s": floor}
    for fmt, target in (("csv", 100_000), ("xlsx", 20_000)):
        try:
            result = probe("list_export", "--format", fmt, timeout=budget["export_timeout"] * 3)
        except (subprocess.TimeoutExpired, RuntimeError) as exc:
            table.add(5, f"activity list export, admin, every year, to {fmt.upper()}", None, "rows/s",
                      target=f"≥ {target:,} rows/s", met=False, note=str(exc)[:120])
            continue
        out[fmt] = result
        say(f"  list export {fmt}: {result['rows']:,} rows in {result['seconds']} s, {result['rows_per_s']:,} rows/s, "
            f"peak RSS {result['peak_rss_mb']} MB")
        rps = result["rows_per_s"]
        table.add(5, f"activity list export, admin, every year ({result['rows']:,} rows) to {fmt.upper()}", rps,
                  "rows/s", None if floor is None else round(floor), f"≥ {target:,} rows/s", rps >= target,
                  note=f"{result['metrics']} metric columns; floor: COPY TO of the same activity columns")
        table.add(5, f"activity list export ({result['rows']:,} rows) to {fmt.upper()}: peak memory",
                  result["peak_rss_mb"], "MB", target="≤ 100 MB", met=le(result["peak_rss_mb"], 100),
                  note=f"whole process (Django alone: {result['baseline_rss_mb']} MB)")
        try:
            small = probe("list_export", "--format", fmt, "--limit", "10000", timeout=budget["export_timeout"])
        except (subprocess.TimeoutExpired, RuntimeError):
            small = None
        if small:
            out[f"{fmt}_10k"] = small
            gap = round(result["peak_rss_mb"] - small["peak_rss_mb"], 1)
            table.add(5, f"export memory flatness, list export to {fmt.upper()} ({small['rows']:,} vs {result['rows']:,} rows)",
                      gap, "MB", target="≤ 5 MB", met=abs(gap) <= 5,
                      note=f"peak {small['peak_rss_mb']} MB vs {result['peak_rss_mb']} MB, each in its own process")
    return out


def query_rows(pages, table):
    """6. queries per page (Django test client, CaptureQueriesContext, against the benchmark database)."""
    targets = {"list_secretary_first": 6, "list_secretary_deep": 6, "list_admin_first": 6, "list_admin_deep": 6,
               "detail": 6, "dashboard": 5, "pairing": None, "completeness": None, "list_csv_secretary": None}
    for name, limit in targets.items():
        page = pages.get(name)
        if not page:
            if name == "dashboard":
                table.add(6, "queries: program dashboard", None, target="≤ 5", met=False, note="not built in this tree")
            continue
        fixed = len(page["query_counts"]) == 1
        ok = page["status"] == 200
        table.add(6, f"queries: {name} {page['url']}", page["queries"], target=f"≤ {limit}" if limit else "fixed",
                  met=(page["queries"] <= limit and fixed and ok) if limit else (None if ok else False),
                  note=f"HTTP {page['status']}, {page['bytes']:,} bytes; Django-timed SQL {page['django_sql_ms']:.0f} ms"
                  + ("" if fixed else f"; varies: {page['query_counts']}"))


def search_rows(found, table):
    """9. issue 18: search, pickers and the list page with the drop-downs, as the admin and as a secretary."""
    for role in ("admin", "secretary"):
        for key, row in found.items():
            if not key.startswith(f"search_{role}_"):
                continue
            limit = 100 if "人" in key else 50
            table.add(9, f"search p50 {role}: {row['label']}", row["p50_ms"], "ms", target=f"≤ {limit} ms",
                      met=row["p50_ms"] <= limit and row["status"] == 200,
                      note=f"p95 {row['p95_ms']} ms; queries {row['query_counts']}; rows {row['rows']}")
        for key, row in found.items():
            if key.startswith(f"picker_{role}_"):
                table.add(9, f"picker endpoint p50 {role}: {key.rsplit('_', 1)[1]}", row["p50_ms"], "ms",
                          target="≤ 10 ms", met=row["p50_ms"] <= 10, note=f"queries {row['query_counts']}")
        page = found[f"list_{role}"]
        table.add(9, f"list page p50 {role} (first page, its filter form)", page["p50_ms"], "ms",
                  target="≤ 15 ms" if role == "admin" else None, met=page["p50_ms"] <= 15 if role == "admin" else None,
                  note=f"{page['bytes']:,} bytes; queries {page['query_counts']}")


def import_measurements(table, rows=10_000):
    """10. The ledger import of 10,000 activities from a GB18030 CSV (bench/ledger_probe.py, in its own process
    and its own fresh database pairing_bench_import): preview and save, rows per second, peak memory."""
    import psycopg

    from bench.common import conninfo, database_url

    name = "pairing_bench_import"
    with psycopg.connect(conninfo("postgres"), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
    say(f"import: {rows:,} activities from a GB18030 CSV into {name} (bench.ledger_probe)")
    done = subprocess.run(
        [sys.executable, "-m", "bench.ledger_probe", "--rows", str(rows), "--database-url", database_url(name), "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=1800,
    )
    if done.returncode != 0:
        table.add(10, "ledger import", None, note=f"failed: {done.stderr.strip()[-300:]}")
        return {"error": done.stderr[-2000:]}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    table.add(10, f"ledger import preview ({rows:,} rows)", result["preview_rows_per_s"], "rows/s",
              target="≥ 1,000 rows/s", met=result["preview_rows_per_s"] >= 1000)
    table.add(10, f"ledger import save ({rows:,} rows, one transaction)", result["apply_rows_per_s"], "rows/s",
              target="≥ 300 rows/s", met=result["apply_rows_per_s"] >= 300)
    growth = result["apply_peak_mb"] - result["baseline_mb"]
    table.add(10, "ledger import peak memory growth", growth, "MB", target="≤ 100 MB", met=growth <= 100,
              note=f"peak RSS {result['apply_peak_mb']} MB over a {result['baseline_mb']} MB baseline; "
                   f"file {result['file_mb']} MB")
    return result


def search_only(table, generated):
    say("search: the searched list, the pickers, the list page (Django test client, in-process, p50)")
    found = probe("search")
    search_rows(found, table)
    print()
    table.print()
    document = {"generated_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                "data_set": generated, "table": table.rows, "search": found}
    (RESULTS / "latest-search.json").write_text(json.dumps(document, indent=1, ensure_ascii=False, default=str))
    print(f"\nwritten: {RESULTS / 'latest-search.json'}")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.run", description="The province-scale benchmark.")
    parser.add_argument("--quick", action="store_true", help="a 1 %% data set in its own database, short windows")
    parser.add_argument("--scale", type=float, default=None)
    parser.add_argument("--pairings", type=int)
    parser.add_argument("--branches", type=int)
    parser.add_argument("--activities", type=int)
    parser.add_argument("--volunteers", type=int)
    parser.add_argument("--service-records", dest="service_records", type=int)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--fresh", action="store_true", help="regenerate the data set even if it is there")
    parser.add_argument("--only", default="", help="run one section alone: search, import")
    parser.add_argument("--skip", default="",
                        help="comma-separated sections to skip: web,reports,exports,publish,search,import")
    args = parser.parse_args(argv)
    if args.quick:
        os.environ.setdefault("BENCH_DB", "pairing_bench_quick")
        args.scale = args.scale or 0.01
    args.scale = args.scale if args.scale is not None else 1.0
    sys.path.insert(0, str(ROOT))
    from bench.common import BENCH_DB, DEFAULT_SEED

    args.seed = args.seed if args.seed is not None else DEFAULT_SEED
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    budget = (
        {"reps": 2, "window": 1.0, "min_requests": 3, "soak": 10, "reports_timeout": 120, "export_timeout": 300,
         "export_small": 500, "report_query_period": "2025-05"}
        if args.quick
        else {"reps": 3, "window": 3.0, "min_requests": 3, "soak": 60, "reports_timeout": 300, "export_timeout": 420,
              "export_small": 50_000, "report_query_period": "2025-05"}
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    table = Table()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                                text=True).stdout.strip())
    say(f"benchmark on {BENCH_DB} (tree {commit}{' + uncommitted changes' if dirty else ''})")

    note_load("start")
    if args.only == "import":  # needs no data set: the probe makes its own small world
        import_measurements(table)
        print()
        table.print()
        return 0
    say("data set: bench.generate (skipped when already loaded)")
    generated = run_generator(args)
    if args.only == "search":
        return search_only(table, generated)

    say("meta: users, scopes, deep-page cursors, dashboard, export sizes")
    meta = probe("meta")
    notes = [
        "REQUIRE_ADMIN_MFA=0 in the benchmark (the benchmark users have no TOTP device); otherwise production settings.",
        "HTTP client: pure Python threads on the same 2-core machine as gunicorn and PostgreSQL.",
        "keyset cursor on the list: " + ("supported (?cursor=DATE_ID)" if meta["cursor_supported"]
                                          else "NOT supported in this tree; the deep page is ?page=10000"),
        f"list page size in this tree: {meta['page_size']} rows",
        "program dashboard: " + (meta["dashboard"]["url"] if meta.get("dashboard") else "not built in this tree"),
        f"rollups: {'rebuilt by rebuild_rollups' if generated.get('rollups') else 'no rebuild_rollups command in this tree (or not run)'}",
    ]
    say("pages: queries, EXPLAIN ANALYZE of each, template time (Django test client)")
    pages = probe("pages", "--meta", json.dumps(meta))
    query_rows(pages, table)
    extra = {}
    note_load("before web")
    if "web" not in skip:
        extra["web"] = web_measurements(args, meta, pages, table, budget)
    note_load("before reports")
    if "reports" not in skip:
        extra["reports"] = report_measurements(args, meta, table, budget)
    note_load("before exports")
    if "exports" not in skip:
        extra["exports"] = export_measurements(args, meta, table, budget)

    note_load("before publish")
    if "publish" not in skip:
        extra["publish"] = publish_measurements(table)

    note_load("before search")
    if "search" not in skip:
        say("search: the searched list, the pickers, the list page (Django test client, in-process, p50)")
        extra["search"] = probe("search")
        search_rows(extra["search"], table)

    note_load("before import")
    if "import" not in skip:
        extra["import"] = import_measurements(table)

    note_load("end")
    notes.append("machine load average (1 min): " + ", ".join(f"{stage} {load}" for stage, load in LOADS)
                 + " on 2 cores; anything above the benchmark's own processes skews the figures")
    table.rows.sort(key=lambda r: r["section"])
    wall = time.monotonic() - STARTED
    table.add(0, "whole benchmark run (wall time)", round(wall / 60, 1), "min", target="≤ 20 min", met=wall <= 1200,
              note=f"data set: {generated.get('wall_seconds')} s")
    print()
    table.print()
    print()
    for note in notes:
        print("note: " + note)
    slow = {name: page["slow_queries"] for name, page in pages.items() if page.get("slow_queries")}
    document = {
        "generated_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "tree": commit + (" + uncommitted changes" if dirty else ""),
        "database": BENCH_DB,
        "data_set": generated,
        "wall_seconds": round(wall, 1),
        "notes": notes,
        "table": table.rows,
        "pages": {name: {k: v for k, v in page.items() if k not in ("slow_queries",)} for name, page in pages.items()},
        "slow_queries": slow,
        "meta": {k: v for k, v in meta.items() if k != "detail_ids"},
        **extra,
    }
    name = "latest-quick.json" if args.quick else "latest.json"
    (RESULTS / name).write_text(json.dumps(document, indent=1, ensure_ascii=False, default=str))
    print(f"\nwritten: {RESULTS / name} ({wall / 60:.1f} min)")


if __name__ == "__main__":
    main()
