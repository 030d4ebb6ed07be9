"""The harness's Django-side measurements, each run in its own process against ``pairing_bench``:

    python -m bench.probe meta            users, scopes, deep-page cursors, detail ids, dashboard URL, export sizes
    python -m bench.probe pages           queries per page, their EXPLAIN ANALYZE time, template render time
    python -m bench.probe reports P       queries per monthly report (two pairings of different sizes, period P)
                                          and the ORM vs raw-SQL time of the program-wide report's queries
    python -m bench.probe export ...      one annual export in this process: seconds, rows, peak memory
    python -m bench.probe search          issue 18: the searched list, the pickers, the list page (p50, queries)
    python -m bench.probe publish N       bulk publish of N drafts in one pass (rolled back): seconds, queries,
                                          notifications against the distinct recipients

Each prints one JSON document on its last line of stdout. Nothing here edits the portal's code: it measures
whatever the tree holds, and says so when a piece (cursor, dashboard, rollups) is not there.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import statistics
import sys
import time

from bench.common import USERS, setup_django

DEEP_ROW = 499_950  # "page 10,000" of 50-row pages: the rows after the 499,950th
ACTIVITY_LINK = re.compile(r'href="/activities/(\d+)/"')


def emit(data):
    sys.stdout.flush()
    print(json.dumps(data, default=str))


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_user(role):
    from portal.models import User

    return User.objects.get(username=USERS[role])


def scope_rows(user):
    from activities.models import Activity

    return Activity.objects.visible_to(user).order_by("-date", "-id")


def deep_cursor(user, total):
    """The (date, id) of the row after which the deep page starts: the 499,950th row of the user's list
    (newest first), or, when the scope is smaller, the row that leaves one full last page after it."""
    position = min(DEEP_ROW, total - 50)
    if position < 1:
        return None
    rows = scope_rows(user).values_list("date", "id")
    cursor_date, cursor_id = rows[position - 1]
    following = list(rows[position: position + 1].values_list("id", flat=True))
    return {
        "position": position,
        "date": cursor_date.isoformat(),
        "id": cursor_id,
        "cursor": f"{cursor_date.isoformat()}_{cursor_id}",
        "next_id": following[0] if following else None,
    }


def client_for(user):
    from django.test import Client

    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def listed_ids(html):
    seen = []
    for match in ACTIVITY_LINK.finditer(html):
        value = int(match.group(1))
        if value not in seen:
            seen.append(value)
    return seen


def find_dashboard():
    """The program dashboard's URL (a reports URL whose name contains "dashboard"), if the tree has one."""
    from django.urls import NoReverseMatch, get_resolver, reverse

    from pairings.models import Program

    names = []

    def walk(patterns, namespace):
        for entry in patterns:
            if hasattr(entry, "url_patterns"):
                walk(entry.url_patterns, f"{namespace}{entry.namespace}:" if entry.namespace else namespace)
            elif entry.name and "dashboard" in entry.name:
                names.append(f"{namespace}{entry.name}")

    walk(get_resolver().url_patterns, "")
    if not names:
        return None
    program = Program.objects.order_by("id").first()
    for name in sorted(names, key=lambda n: (not n.startswith("reports:"), n)):
        for args in ((), (program.pk,)):
            try:
                return {"name": name, "url": reverse(name, args=args)}
            except NoReverseMatch:
                continue
    return {"name": names[0], "url": None}


def cmd_meta(args):
    from django.db import connection

    from activities.models import Activity
    from pairings.models import Pairing, Program
    from figures import selectors
    from reports import generation

    out = {"users": {}, "deep": {}, "rows": {}, "detail_ids": {}}
    for role in USERS:
        out["users"][role] = bench_user(role).pk
    for role in ("secretary", "admin"):
        user = bench_user(role)
        total = scope_rows(user).count()
        out["rows"][role] = total
        out["deep"][role] = deep_cursor(user, total)
        # detail pages to cycle through: recent activities of the user's scope
        out["detail_ids"][role] = list(scope_rows(user).values_list("id", flat=True)[:400:2])

    # does the list take ?cursor=DATE_ID (keyset pagination)?
    secretary = bench_user("secretary")
    client = client_for(secretary)
    first = client.get("/activities/")
    out["page_size"] = len(listed_ids(first.content.decode()))
    deep = out["deep"]["secretary"]
    cursor_ok = False
    if deep:
        page = client.get("/activities/", {"cursor": deep["cursor"]})
        ids = listed_ids(page.content.decode()) if page.status_code == 200 else []
        cursor_ok = bool(ids) and ids[0] == deep["next_id"] and deep["id"] not in ids
    out["cursor_supported"] = cursor_ok

    out["pairing_id"] = Pairing.objects.order_by("id").values_list("id", flat=True).first()
    out["dashboard"] = find_dashboard()
    program = Program.objects.order_by("id").first()
    out["completeness_url"] = f"/dashboards/completeness/?program={program.pk}&year={args.year}"

    # the monthly report period and its scopes
    period = args.period
    out["report_period"] = period
    out["report_scopes"] = len(generation.scopes_to_generate("monthly", period))

    # annual export candidates: counted activities per program and year
    year = args.year
    sizes = []
    for program in Program.objects.order_by("id"):
        n = selectors.counted_activities().filter(pairing__program=program, date__year=year).count()
        sizes.append({"program_id": program.pk, "code": program.code, "year": year, "rows": n})
    out["exports"] = sizes
    out["activities"] = Activity.all_objects.count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pairings_pairing")
        out["pairings"] = cursor.fetchone()[0]
    emit(out)


# ---------------------------------------------------------------------------------------------------------
# Pages: queries, SQL time (EXPLAIN ANALYZE), template render time
# ---------------------------------------------------------------------------------------------------------


class RenderTimer:
    """Time spent in the top-level template render, less the queries run while rendering."""

    def __init__(self):
        self.seconds = 0.0
        self.depth = 0

    def install(self):
        from django.template.backends.django import Template

        original = Template.render
        timer = self

        def render(self_, context=None, request=None):
            from django.db import connection

            timer.depth += 1
            before = len(connection.queries)
            started = time.perf_counter()
            try:
                return original(self_, context, request)
            finally:
                elapsed = time.perf_counter() - started
                timer.depth -= 1
                if timer.depth == 0:
                    db = sum(float(q["time"]) for q in connection.queries[before:])
                    timer.seconds += max(0.0, elapsed - db)

        Template.render = render


def explain_json(sql):
    """EXPLAIN ANALYZE one captured query: (planning + execution ms, execution ms)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    top = plan[0]
    return top.get("Planning Time", 0.0) + top["Execution Time"], top["Execution Time"]


def explain_text(sql):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def measure_page(client, url, params=None, repeats=3, explain_queries=True):
    """Queries of one page (median of ``repeats`` renders after one warm-up), their EXPLAIN ANALYZE times and
    the template time."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    timer = RenderTimer.instance
    client.get(url, params or {})  # warm-up (caches, first-query planning)
    runs = []
    for _ in range(repeats):
        timer.seconds = 0.0
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url, params or {})
            if hasattr(response, "streaming_content"):
                body = b"".join(response.streaming_content)
            else:
                body = response.content
        runs.append({
            "wall_ms": (time.perf_counter() - started) * 1000,
            "render_ms": timer.seconds * 1000,
            "queries": [q["sql"] for q in captured.captured_queries],
            "django_sql_ms": sum(float(q["time"]) for q in captured.captured_queries) * 1000,
            "status": response.status_code,
            "bytes": len(body),
        })
    runs.sort(key=lambda r: r["wall_ms"])
    mid = runs[len(runs) // 2]
    out = {
        "url": url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else ""),
        "status": mid["status"],
        "bytes": mid["bytes"],
        "queries": len(mid["queries"]),
        "query_counts": sorted({len(r["queries"]) for r in runs}),
        "wall_ms": round(mid["wall_ms"], 2),
        "render_ms": round(sorted(r["render_ms"] for r in runs)[len(runs) // 2], 2),
        "django_sql_ms": round(sorted(r["django_sql_ms"] for r in runs)[len(runs) // 2], 2),
        "counts": [q for q in mid["queries"] if re.search(r"\bCOUNT\(", q, re.I)],
        "uncapped_counts": [q for q in mid["queries"] if re.search(r"\bCOUNT\(", q, re.I) and not re.search(r"\bLIMIT\b", q, re.I)],
    }
    if explain_queries:
        timings = []
        for sql in mid["queries"]:
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            best = explain_json(sql)
            if best[0] < 100:  # cheap: take the best of three, as a warm cache would serve it
                best = min([best, explain_json(sql), explain_json(sql)], key=lambda b: b[0])
            timings.append({"sql": sql, "ms": round(best[0], 3), "exec_ms": round(best[1], 3)})
        out["explain_ms"] = round(sum(t["ms"] for t in timings), 2)
        ranked = sorted(timings, key=lambda t: -t["ms"])
        out["slowest_query_ms"] = ranked[0]["ms"] if ranked else 0.0
        # the text plans (ANALYZE, BUFFERS) of the slowest query and of any other over 5 ms (three at most)
        out["slow_queries"] = []
        for t in ranked[:3]:
            if t is ranked[0] or t["ms"] > 5.0:
                out["slow_queries"].append({**t, "plan": explain_text(t["sql"])})
    return out


RenderTimer.instance = RenderTimer()


def profile_page(client, url, params=None, top=25):
    """cProfile of one render of the page: the functions with the most own time (where a slow page spends it)."""
    import cProfile
    import io
    import pstats

    client.get(url, params or {})
    profiler = cProfile.Profile()
    profiler.enable()
    client.get(url, params or {})
    profiler.disable()
    buffer = io.StringIO()
    stats = pstats.Stats(profiler, stream=buffer)
    stats.sort_stats("tottime").print_stats(top)
    buffer.write("\n--- by cumulative time ---\n")
    stats.sort_stats("cumulative").print_stats(top * 3)
    return buffer.getvalue()


def page_targets(meta):
    """The pages the web run measures beside their floors: name -> (role, url, params)."""
    targets = {}
    for role in ("secretary", "admin"):
        targets[f"list_{role}_first"] = (role, "/activities/", None)
        deep = meta["deep"].get(role)
        if deep:
            params = {"cursor": deep["cursor"]} if meta["cursor_supported"] else {"page": 10_000}
            targets[f"list_{role}_deep"] = (role, "/activities/", params)
    targets["detail"] = ("secretary", f"/activities/{meta['detail_ids']['secretary'][0]}/", None)
    targets["pairing"] = ("secretary", f"/pairings/{meta['pairing_id']}/", None)
    if meta.get("dashboard") and meta["dashboard"].get("url"):
        targets["dashboard"] = ("admin", meta["dashboard"]["url"], None)
    targets["completeness"] = ("admin", meta["completeness_url"], None)
    return targets


def role_clients():
    return {role: client_for(bench_user(role)) for role in ("secretary", "admin")}


def cmd_pages(args):
    meta = json.loads(args.meta)
    RenderTimer.instance.install()
    clients = role_clients()
    out = {name: measure_page(clients[role], url, params) for name, (role, url, params) in page_targets(meta).items()}
    out["list_admin_first"]["profile"] = profile_page(clients["admin"], "/activities/")
    out["list_secretary_first"]["profile"] = profile_page(clients["secretary"], "/activities/")
    out["list_csv_secretary"] = measure_page(clients["secretary"], "/activities/export.csv", repeats=1, explain_queries=False)
    emit(out)


def cmd_floors(args):
    """Floors on demand, for the web run to measure each page's floor right after each of its HTTP repetitions
    (a floor taken once, in its own moment, flatters or wrongs every ratio of a machine whose speed moves): reads a
    page's name per line on stdin, answers its SQL (EXPLAIN ANALYZE) and template time as one JSON line."""
    meta = json.loads(args.meta)
    RenderTimer.instance.install()
    clients, targets = role_clients(), page_targets(meta)
    emit({"ready": sorted(targets)})
    for line in sys.stdin:
        name = line.strip()
        if not name:
            continue
        role, url, params = targets[name]
        page = measure_page(clients[role], url, params)
        emit({"name": name, **{k: page[k] for k in ("explain_ms", "render_ms", "queries", "wall_ms")}})


SEARCH_QUERIES = {"two characters (维修)": "维修", "two characters (宣讲)": "宣讲", "common character (人)": "人"}
# each picker's endpoint and what is typed into it
PICKER_URLS = {"pairings": ("/pairings/picker/", "村1"), "branches": ("/pairings/picker/branches/", "第3"),
               "volunteers": ("/volunteers/picker/", "张")}


def timed_gets(client, url, params, repeats):
    """p50 and p95 wall milliseconds of ``repeats`` in-process GETs after one warm-up, with the query count."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(url, params)
    walls, counts = [], set()
    for _ in range(repeats):
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url, params)
            body = response.content
        walls.append((time.perf_counter() - started) * 1000)
        counts.add(len(captured.captured_queries))
    walls.sort()
    return {
        "url": url, "params": params, "status": response.status_code, "bytes": len(body),
        "p50_ms": round(walls[len(walls) // 2], 2), "p95_ms": round(walls[min(len(walls) - 1, int(len(walls) * 0.95))], 2),
        "query_counts": sorted(counts), "rows": len(listed_ids(body.decode("utf-8", "replace"))),
    }


def cmd_search(args):
    """Issue 18: the activity list searched (two characters, a common one), the picker endpoints and the list
    page itself, as the province admin and as a secretary, in this process (Django test client): p50 of
    ``--repeats`` requests; with the search query's EXPLAIN ANALYZE plan."""
    out = {}
    for role in ("secretary", "admin"):
        client = client_for(bench_user(role))
        out[f"list_{role}"] = timed_gets(client, "/activities/", {}, args.repeats)
        for label, query in SEARCH_QUERIES.items():
            out[f"search_{role}_{query}"] = {"label": label, **timed_gets(client, "/activities/", {"q": query}, args.repeats)}
        for name, (url, typed) in PICKER_URLS.items():
            result = timed_gets(client, url, {"q": typed}, args.repeats)
            if result["status"] == 200:
                out[f"picker_{role}_{name}"] = result
    # the searched page's slowest query, planned and run, as the admin (the widest scope)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(bench_user("admin"))
    for query in SEARCH_QUERIES.values():
        with CaptureQueriesContext(connection) as captured:
            client.get("/activities/", {"q": query})
        selects = [q["sql"] for q in captured.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")]
        timings = sorted(((explain_json(sql)[0], sql) for sql in selects), reverse=True)
        if timings:
            out[f"explain_admin_{query}"] = {"ms": round(timings[0][0], 2), "plan": explain_text(timings[0][1])}
    emit(out)


# ---------------------------------------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------------------------------------


def cmd_reports(args):
    import psycopg
    from django.db import connection
    from django.db.models import Count
    from django.test.utils import CaptureQueriesContext

    from bench.common import conninfo
    from pairings.models import Pairing, Program
    from figures import selectors
    from reports import generation
    from reports.builders import build_report_data, period_for
    from reports.models import Report

    period = args.period
    p = period_for("monthly", period)
    counts = (
        selectors.counted_activities().filter(date__range=(p.start, p.end))
        .values("pairing_id").annotate(n=Count("id")).order_by("n")
    )
    counts = list(counts)
    out = {"period": period, "per_report": []}
    if counts:
        picks = [counts[0], counts[-1]]
        for pick in picks:
            pairing = Pairing.objects.select_related("program").get(pk=pick["pairing_id"])
            Report.objects.filter(kind="monthly", period=period, scope_key=f"pairing:{pairing.pk}").delete()
            started = time.perf_counter()
            with CaptureQueriesContext(connection) as captured:
                generation.report_generate(kind="monthly", period=period, program=pairing.program, pairing=pairing)
            elapsed = time.perf_counter() - started
            Report.objects.filter(kind="monthly", period=period, scope_key=f"pairing:{pairing.pk}").delete()
            Report.history.filter(kind="monthly", period=period, scope_key=f"pairing:{pairing.pk}").delete()
            slowest = sorted(captured.captured_queries, key=lambda q: -float(q["time"]))[:5]
            out["per_report"].append({
                "pairing_id": pairing.pk, "activities": pick["n"], "queries": len(captured.captured_queries),
                "ms": round(elapsed * 1000, 1),
                "sql_ms": round(sum(float(q["time"]) for q in captured.captured_queries) * 1000, 1),
                "slowest_queries": [{"ms": round(float(q["time"]) * 1000, 1), "sql": q["sql"][:600]} for q in slowest],
            })

    # the program-wide report's queries: through Django, and the same SQL replayed raw with psycopg, the two
    # alternated (a busy moment then weighs on both alike), medians of five each
    program = Program.objects.order_by("id").first()
    with CaptureQueriesContext(connection) as captured:
        build_report_data("monthly", period, program, None)  # warm-up, and the statements to replay
    sqls = [q["sql"] for q in captured.captured_queries]
    django_ms, raw_ms = [], []
    with psycopg.connect(conninfo()) as raw:
        for sql in sqls:  # warm-up: the raw connection's first statements
            raw.execute(sql).fetchall()
        for _ in range(5):
            with CaptureQueriesContext(connection) as captured:
                build_report_data("monthly", period, program, None)
            django_ms.append(sum(float(q["time"]) for q in captured.captured_queries) * 1000)
            started = time.perf_counter()
            for sql in sqls:
                raw.execute(sql).fetchall()
            raw_ms.append((time.perf_counter() - started) * 1000)
    out["program_report"] = {
        "program_id": program.pk,
        "queries": len(sqls),
        "django_sql_ms": round(statistics.median(django_ms), 2),
        "raw_sql_ms": round(statistics.median(raw_ms), 2),
    }
    emit(out)


def cmd_rollup(args):
    """A month's refresh of the per-pairing, per-month rollup (when the tree has one): one pairing-month (what
    saving an activity costs) and one month of every pairing."""
    import datetime

    try:
        from figures import rollups
    except ImportError:
        emit({"available": False})
        return
    refresh_one = getattr(rollups, "rollup_refresh", None)
    refresh_many = getattr(rollups, "rollups_refresh", None)
    if refresh_one is None and refresh_many is None:
        emit({"available": False})
        return
    from django.db.models import Count

    from figures import selectors

    year, month = map(int, args.period.split("-"))
    first = datetime.date(year, month, 1)
    busiest = (
        selectors.counted_activities().filter(date__year=year, date__month=month)
        .values("pairing_id").annotate(n=Count("id")).order_by("-n").first()
    )
    out = {"available": True, "period": args.period}
    if busiest and refresh_one:
        times = []
        for _ in range(5):
            started = time.perf_counter()
            refresh_one(pairing_id=busiest["pairing_id"], month=first)
            times.append((time.perf_counter() - started) * 1000)
        out["one_pairing_month_ms"] = round(sorted(times)[2], 1)
        out["one_pairing_activities"] = busiest["n"]
    if refresh_many:
        from pairings.models import Pairing

        keys = [(pk, first) for pk in Pairing.objects.values_list("pk", flat=True)]
        started = time.perf_counter()
        refresh_many(keys=keys)
        out["all_pairings_month_ms"] = round((time.perf_counter() - started) * 1000, 1)
        out["all_pairings"] = len(keys)
    emit(out)


# ---------------------------------------------------------------------------------------------------------
# Annual export (one per process, so ru_maxrss is this export's peak)
# ---------------------------------------------------------------------------------------------------------


class QueryCounter:
    """Counts every statement this process sends through psycopg (Django's cursors and raw ones alike, so a
    streamed query counts too), and which of them run inside the export's ledger."""

    def __init__(self):
        self.statements = []
        self.in_ledger = False

    def install(self):
        import psycopg

        counter = self
        for cls, name in [(psycopg.Cursor, n) for n in ("execute", "executemany", "stream", "copy")] + [(psycopg.ServerCursor, "execute")]:
            original = getattr(cls, name)

            def wrapped(cursor, query, *a, __original=original, **kw):
                text = query if isinstance(query, str) else getattr(query, "as_string", lambda c: str(query))(cursor)
                counter.statements.append((text, counter.in_ledger))
                return __original(cursor, query, *a, **kw)

            setattr(cls, name, wrapped)

    @staticmethod
    def reads_activities(text):
        return "activities_activity" in text and text.lstrip().upper().startswith(("SELECT", "WITH", "DECLARE", "COPY"))


def cmd_export(args):
    """One annual export (one format when the tree's write_export takes ``formats``), in this process."""
    import inspect
    import tempfile
    from pathlib import Path

    from pairings.models import Program
    from reports import exports

    counter = QueryCounter()
    counter.install()
    per_format = "formats" in inspect.signature(exports.write_export).parameters
    ledger = {"seconds": 0.0, "rows": 0}
    def timed(original):
        def ledger_written(*a, **kw):
            counter.in_ledger = True
            started = time.perf_counter()
            try:
                n = original(*a, **kw)
            finally:
                counter.in_ledger = False
                ledger["seconds"] += time.perf_counter() - started
            ledger["rows"] += n
            return n

        return ledger_written

    # the ledger as Python writes it, and (a CSV alone on PostgreSQL) as COPY writes it
    for name in ("write_ledgers", "copy_ledger"):
        if hasattr(exports, name):
            setattr(exports, name, timed(getattr(exports, name)))

    marks = {}
    if hasattr(exports, "build_report_data"):
        original_build = exports.build_report_data

        def build(*a, **kw):
            started = time.perf_counter()
            try:
                return original_build(*a, **kw)
            finally:
                marks["summary_seconds"] = round(time.perf_counter() - started, 2)
                marks["peak_rss_after_summary_mb"] = round(rss_mb(), 1)

        exports.build_report_data = build

    program = Program.objects.get(pk=args.program)
    baseline = rss_mb()
    kwargs = {"formats": (args.format,)} if per_format and args.format != "all" else {}
    with tempfile.TemporaryDirectory(prefix="bench-export-") as folder:
        started = time.perf_counter()
        paths, rows = exports.write_export(program, args.year, folder, **kwargs)
        elapsed = time.perf_counter() - started
        sizes = {fmt: Path(path).stat().st_size for fmt, path in paths.items()}
    statements = counter.statements
    out = {
        "mode": f"write_export(formats=({args.format!r},))" if kwargs else "write_export (every format in one pass)",
        "format": args.format if kwargs else "all",
        "per_format": bool(kwargs),
        "program_id": program.pk,
        "year": args.year,
        "rows": rows,
        "seconds": round(elapsed, 2),
        "rows_per_s": round(rows / elapsed) if elapsed else None,
        "baseline_rss_mb": round(baseline, 1),
        "peak_rss_mb": round(rss_mb(), 1),
        "file_bytes": sizes,
        **marks,
        "queries": len(statements),
        "queries_reading_activities": sum(1 for text, _ in statements if QueryCounter.reads_activities(text)),
    }
    from django.db import connection

    if getattr(exports, "ledger_parts", None) and kwargs and args.format == "csv" and connection.vendor == "postgresql":
        # the runs of pairings copied side by side (copy_ledger): one ledger query each
        from django.conf import settings

        out["ledger_parts"] = len(exports.ledger_parts(exports.pairing_order(program), settings.LEDGER_COPY_PARTS))
    if ledger["seconds"]:
        out["ledger_seconds"] = round(ledger["seconds"], 2)
        out["ledger_rows_per_s"] = round(ledger["rows"] / ledger["seconds"]) if ledger["seconds"] else None
        out["ledger_queries"] = sum(1 for text, inside in statements if inside and QueryCounter.reads_activities(text))
    emit(out)


def cmd_publish(args):
    """The bulk publish of ``args.count`` monthly drafts, as reports.tasks.publish_reports runs it, inside a
    transaction rolled back at the end (the data set is left as it was).

    The data set's liaisons have no address and no account, so for the measurement each gets an address, and
    the village side of every tenth pairing becomes the benchmark village user: someone told of many reports,
    who must get one notification. Drafts: one per pairing and month, in months before the data set (2022 and
    back), as many months as it takes to reach the count (one at full size; a hundred on --quick's 10 pairings).
    """
    from django.db import connection, transaction
    from django.db.models import CharField, Value
    from django.db.models.functions import Cast, Concat

    from pairings.models import Liaison, Pairing
    from reports import publishing
    from reports.models import Notification, Report

    class Done(Exception):
        pass

    admin, village = bench_user("admin"), bench_user("village")
    out = {}
    try:
        with transaction.atomic():
            Liaison.objects.filter(email="").update(
                email=Concat(Value("liaison"), Cast("id", CharField()), Value("@bench.example"))
            )
            pairings = list(Pairing.objects.order_by("id").values_list("id", "program_id"))
            Liaison.objects.filter(side="supported", pairing_id__in=[pid for pid, _ in pairings[::10]]).update(
                user=village, email=""
            )
            drafts, month = [], 0
            while len(drafts) < args.count:
                year, m = 2022 - month // 12, 12 - month % 12
                for pairing_id, program_id in pairings[: args.count - len(drafts)]:
                    drafts.append(Report(kind="monthly", period=f"{year}-{m:02d}", program_id=program_id,
                                         pairing_id=pairing_id, scope_key=f"pairing:{pairing_id}", data={}))
                month += 1
            Report.objects.bulk_create(drafts, batch_size=1000)
            ids = [r.pk for r in drafts]
            # who must be told, counted here without the portal's code: a liaison's active account, else address
            people = set()
            liaisons = Liaison.objects.filter(pairing_id__in={r.pairing_id for r in drafts}).select_related("user")
            for liaison in liaisons:
                if liaison.user_id and liaison.user.is_active:
                    people.add(("user", liaison.user_id))
                elif liaison.email or (liaison.user and liaison.user.email):
                    people.add(("email", (liaison.email or liaison.user.email).lower()))
            statements = []
            with connection.execute_wrapper(lambda execute, sql, *a: statements.append(sql) or execute(sql, *a)):
                started = time.perf_counter()
                published = publishing.publish_drafts(reports=ids, actor=admin)
                seconds = time.perf_counter() - started
            out = {
                "drafts": len(ids),
                "months": month,
                "published": len(published.reports),
                "seconds": round(seconds, 2),
                "queries": len(statements),
                "notifications": Notification.objects.filter(key=published.key).count(),
                "recipients": len(people),
                "village_user_notifications": Notification.objects.filter(key=published.key, user=village).count(),
            }
            raise Done
    except Done:
        pass
    emit(out)


def cmd_list_export(args):
    """The activity list's export as the admin downloads it with no filter (every year: the whole data set),
    CSV or XLSX, in this process: the view's own calls (FilterSet, export_metrics, export_rows, then the writer)."""
    import tempfile

    from django.test import RequestFactory

    from activities import exports, selectors
    from activities.filters import ActivityFilter

    user = bench_user(args.role)
    request = RequestFactory().get("/activities/export/")
    request.user = user
    baseline = rss_mb()
    started = time.perf_counter()
    filterset = ActivityFilter(None, queryset=selectors.activity_export(user), request=request)
    metrics = selectors.export_metrics(filterset.qs)
    rows = selectors.export_rows(filterset.qs, metrics)
    if args.limit:
        rows = rows[: args.limit]  # the same export, its first rows only: the memory of a small one
    n, size = 0, 0
    if args.format == "csv":
        for block in exports.csv_blocks(rows, metrics):
            n += block.count("\n")
            size += len(block)
        n -= 1  # the header
    else:
        with tempfile.TemporaryFile() as handle:
            n = exports.write_xlsx(rows, metrics, handle)
            size = handle.tell()
    elapsed = time.perf_counter() - started
    emit({"format": args.format, "role": args.role, "rows": n, "metrics": len(metrics), "seconds": round(elapsed, 2),
          "rows_per_s": round(n / elapsed) if elapsed else None, "baseline_rss_mb": round(baseline, 1),
          "peak_rss_mb": round(rss_mb(), 1), "bytes": size})


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.probe")
    sub = parser.add_subparsers(dest="command", required=True)
    meta = sub.add_parser("meta")
    meta.add_argument("--period", default="2025-06")
    meta.add_argument("--year", type=int, default=2025)
    pages = sub.add_parser("pages")
    pages.add_argument("--meta", required=True, help="the meta command's JSON")
    floors = sub.add_parser("floors")
    floors.add_argument("--meta", required=True, help="the meta command's JSON")
    reports = sub.add_parser("reports")
    reports.add_argument("period")
    rollup = sub.add_parser("rollup")
    rollup.add_argument("period")
    export = sub.add_parser("export")
    export.add_argument("--program", type=int, required=True)
    export.add_argument("--year", type=int, required=True)
    export.add_argument("--format", default="all", help="csv, xlsx or all (when write_export takes formats)")
    list_export = sub.add_parser("list_export")
    list_export.add_argument("--role", default="admin")
    list_export.add_argument("--format", default="csv", help="csv or xlsx")
    list_export.add_argument("--limit", type=int, default=0, help="only the first N rows (0: all)")
    publish = sub.add_parser("publish")
    publish.add_argument("count", type=int)
    search_parser = sub.add_parser("search")
    search_parser.add_argument("--repeats", type=int, default=21)
    args = parser.parse_args(argv)
    setup_django()
    {"meta": cmd_meta, "pages": cmd_pages, "floors": cmd_floors, "reports": cmd_reports, "rollup": cmd_rollup, "export": cmd_export,
     "list_export": cmd_list_export, "publish": cmd_publish, "search": cmd_search}[args.command](args)


if __name__ == "__main__":
    main()
