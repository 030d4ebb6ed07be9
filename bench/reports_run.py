"""Every monthly report of one period built in this process, as the Celery worker runs them, with its costs.

    BENCH_DB=pairing_bench_x .venv/bin/python -m bench.reports_run 2025-06 [--profile FILE] [--checksum]

Deletes the period's monthly reports (their notifications and history rows too, as bench/run.py does), then
runs what ``reports.tasks.generate_reports`` fans out (one ``generate_program_reports`` per program), each task
called in this process. Prints CPU time (this process's, and its PostgreSQL backend's read from /proc when
the server is local), wall time, the number of
queries and their SQL time (per task kind), and with ``--checksum`` a SHA-256 of every stored report's data
without its ``built_at`` stamp (the same before and after a change means its outputs did not change).
"""

import argparse
import cProfile
import hashlib
import json
import os
import resource
import time

from bench.common import setup_django


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def backend_cpu(pid):
    """The PostgreSQL backend's CPU seconds (user + system), when it runs on this machine; else None."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("period")
    parser.add_argument("--profile")
    parser.add_argument("--checksum", action="store_true")
    parser.add_argument("--no-jit", action="store_true", help="SET jit = off for the whole run (an experiment)")
    parser.add_argument("--batch", type=int, help="pairings per task instead of reports.tasks.REPORT_BATCH")
    parser.add_argument("--queries", type=int, default=0, help="print the N queries of most SQL time in all")
    args = parser.parse_args(argv)
    setup_django()

    from django.db import connection

    from reports import generation, tasks
    from reports.models import Report

    period = args.period
    with connection.cursor() as cur:
        cur.execute("DELETE FROM reports_notification WHERE report_id IN "
                    "(SELECT id FROM reports_report WHERE kind = 'monthly' AND period = %s)", [period])
        cur.execute("DELETE FROM reports_report WHERE kind = 'monthly' AND period = %s", [period])
        cur.execute("DELETE FROM reports_historicalreport WHERE kind = 'monthly' AND period = %s", [period])

    # the task messages fan_out would enqueue, in its order
    sent = []
    original = tasks.enqueue
    tasks.enqueue = lambda task, *a: sent.append((task, a))
    if args.batch:
        tasks.REPORT_BATCH = args.batch
    try:
        tasks.fan_out("monthly", period)
    finally:
        tasks.enqueue = original

    stats, per_sql = {}, {}

    def timing(execute, sql, params, many, context):
        t = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            s = stats.setdefault(current[0], [0, 0.0])
            s[0] += 1
            s[1] += time.perf_counter() - t
            if args.queries:
                q = per_sql.setdefault(sql[:160], [0, 0.0])
                q[0] += 1
                q[1] += time.perf_counter() - t

    with connection.cursor() as cur:
        if args.no_jit:
            cur.execute("SET jit = off")
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    server_started = backend_cpu(pid)
    current = ["setup"]
    profile = cProfile.Profile() if args.profile else None
    wall, started = time.perf_counter(), cpu()
    with connection.execute_wrapper(timing):
        if profile:
            profile.enable()
        for task, a in sent:
            current[0] = task.name.rsplit(".", 1)[-1]
            task.run(*a)
        if profile:
            profile.disable()
    cpu_s, wall_s = cpu() - started, time.perf_counter() - wall
    server_s = backend_cpu(pid)
    if profile:
        profile.dump_stats(args.profile)
    stored = Report.objects.filter(kind="monthly", period=period).count()
    out = {
        "tasks": len(sent), "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1), "reports": stored, "cpu_s": round(cpu_s, 3),
        "server_cpu_s": round(server_s - server_started, 3) if server_started is not None else None, "wall_s": round(wall_s, 3),
        "queries": {k: {"n": n, "sql_s": round(s, 3)} for k, (n, s) in stats.items()},
    }
    if args.checksum:
        digest = hashlib.sha256()
        for scope_key, data in (Report.objects.filter(kind="monthly", period=period)
                                .order_by("program_id", "scope_key").values_list("scope_key", "data")):
            data = dict(data)
            data.pop("built_at", None)
            digest.update(scope_key.encode())
            digest.update(json.dumps(data, sort_keys=True, ensure_ascii=False).encode())
        out["checksum"] = digest.hexdigest()
    if args.queries:
        out["slowest"] = [{"n": n, "sql_s": round(t, 3), "sql": sql}
                          for sql, (n, t) in sorted(per_sql.items(), key=lambda kv: -kv[1][1])[:args.queries]]
    print(json.dumps(out, indent=1 if args.queries else None, ensure_ascii=False))


if __name__ == "__main__":
    main()
