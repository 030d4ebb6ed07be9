"""Every page each benchmark role reaches by following links, timed: where a province's data makes a page slow.

    BENCH_DB=pairing_bench .venv/bin/python -m bench.walk [--depth 3] [--pages 160] [--top 30] [--over 100]

`make bench` measures the pages it names; this finds the ones nobody named. For each role (secretary, committee,
admin, village) it starts at the home page and follows the links of every HTML page (breadth first, ``--depth``
links deep, at most ``--pages`` pages a role, one page per URL shape: /activities/12/ and /activities/40/ are one),
leaving out downloads and signing out. Each page is asked twice in the Django test client and the second answer is
timed, with its queries and their time as Django times them. It prints the slowest pages, and for those over
``--over`` ms their slowest query, then the same as JSON.

A GET that changes data would be a bug on its own; the walk makes only GETs.
"""

import argparse
import json
import re
import time
from collections import deque

from bench.common import USERS, setup_django

SKIPPED = ("/static", "/media", "/accounts/logout")
DOWNLOADS = re.compile(r"export|download|\.(csv|xlsx|docx|pdf)\b")


def shape(url):
    return re.sub(r"\d+", "N", url.split("?")[0])


def walk(role, depth, pages):
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from portal.models import User

    client = Client()
    client.force_login(User.objects.get(username=USERS[role]))
    seen, queue, out = set(), deque([("/", 0)]), []
    while queue and len(out) < pages:
        url, level = queue.popleft()
        if shape(url) in seen:
            continue
        seen.add(shape(url))
        client.get(url)  # first: templates loaded, caches filled
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            wall = (time.perf_counter() - started) * 1000
        queries = captured.captured_queries
        slowest = max(queries, key=lambda q: float(q["time"]), default=None)
        out.append({
            "role": role, "url": url, "status": response.status_code, "ms": round(wall, 1), "queries": len(queries),
            "sql_ms": round(sum(float(q["time"]) for q in queries) * 1000, 1),
            "slowest_ms": round(float(slowest["time"]) * 1000, 1) if slowest else 0.0,
            "slowest": slowest["sql"][:300] if slowest else "",
        })
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", "") or level >= depth:
            continue
        for link in re.findall(r'href="(/[^"#]*)"', response.content.decode()):
            link = link.replace("&amp;", "&")
            if not link.startswith(SKIPPED) and not DOWNLOADS.search(link):
                queue.append((link, level + 1))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.walk")
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--pages", type=int, default=160, help="at most this many pages a role")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--over", type=float, default=100.0, help="show the slowest query of pages over this (ms)")
    args = parser.parse_args(argv)
    setup_django()
    rows = [row for role in USERS for row in walk(role, args.depth, args.pages)]
    rows.sort(key=lambda r: -r["ms"])
    for row in rows[: args.top]:
        print(f"{row['ms']:8.1f} ms  {row['role']:<10} {row['status']} {row['url']:<40} {row['queries']:3} queries, "
              f"SQL {row['sql_ms']:.1f} ms")
        if row["ms"] > args.over and row["slowest"]:
            print(f"{'':14}slowest query {row['slowest_ms']:.1f} ms: {row['slowest'][:150]}")
    print(f"{len(rows)} pages, {sum(r['status'] >= 500 for r in rows)} answered 5xx")
    print(json.dumps(rows, ensure_ascii=False))


if __name__ == "__main__":
    main()
