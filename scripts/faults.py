"""The fault test (`make faults`, called by .ci/run): the deployment's processes on a Redis and a PostgreSQL of its
own, and what users see while each of them stumbles.

It starts its own redis-server on a free port and its own PostgreSQL cluster (initdb under a temporary folder, run
as the user postgres, on a free port), never the machine's shared ones; migrates, loads the demo and the last
quarter's reports; then gunicorn (PORTAL_MODE=production, 2 workers), a Celery worker and Celery beat, as
scripts/smoke.py does (its machinery is reused: processes, steps, the small browser). Then:

  Redis stopped, then Redis hung (SIGSTOP): a user signs in, loads pages, records and submits an activity; the admin
  publishes a draft report and asks for reports and an export (tasks, which go to the outbox). Every answer must
  come within MAX_SECONDS. Redis comes back (a new redis-server, or SIGCONT): beat's outbox flush hands the kept
  tasks to the worker, the outbox empties and the reports asked for are built: nothing is lost. Redis is hung while
  the worker runs a task, so that the task's ack (acks_late) meets the hung Redis; after SIGCONT a task asked for
  then must be done within RECOVERY_SECONDS by the same worker process, never restarted (portal/broker.py).
  PostgreSQL stopped: pages answer 503 with Retry-After within MAX_SECONDS, /healthz still 200, /readyz 503;
  PostgreSQL started again: the same pages answer 200 without restarting anything.

At the end, what operations see (README, "Operations"): /metrics from 127.0.0.1 (both gunicorn workers added up through
PROMETHEUS_MULTIPROC_DIR) names the request latency by view, the queue length and the outbox backlog, and is 404 when
asked through a proxy; the worker's own exporter names the task durations; and the worker's JSON log lines of an
export carry the request id of the page that asked for it, sent through the broker or kept in the outbox meanwhile.

Prints every request's time under each fault and a summary; logs in artifacts/faults/. Stops everything it started
by its pid. Options: --keep (leave the temporary cluster's folder).
"""

import argparse
import glob
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from datetime import datetime, timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR / "scripts"))

import smoke  # noqa: E402  (the smoke run's machinery: processes, steps, the browser)
from smoke import SHANGHAI, Browser, SmokeFailure, environment, free_port, log_in, option_value, wait_until  # noqa: E402

ARTIFACTS = BASE_DIR / "artifacts" / "faults"
MAX_SECONDS = 1.0  # or 1.5 × the same request's time with every service up, when that is longer (a sign-in)
DB_NAME = "pairing_faults"
ACK_SECONDS = 5  # longer than the broker's socket timeout (settings.CELERY_BROKER_TRANSPORT_OPTIONS)
RECOVERY_SECONDS = 30  # a task asked for once Redis is back is done within this, by the worker that saw the fault
smoke.ARTIFACTS = ARTIFACTS  # Run.start writes the processes' logs there
smoke.DEADLINE_SECONDS = 600


class FaultFailure(SmokeFailure):
    pass


# --------------------------------------------------------------------------------------------------------
# Its own Redis and PostgreSQL
# --------------------------------------------------------------------------------------------------------


def start_redis(run, port, name):
    process = run.start(name, ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                               "--appendonly", "no", "--dir", str(ARTIFACTS)], os.environ.copy())
    wait_until(f"redis-server on {port}", lambda: redis_ping(port), 20, run)
    return process


def redis_ping(port):
    import redis

    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        return client.ping()
    except redis.RedisError:
        return False
    finally:
        client.close()


def postgres_bin():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise FaultFailure("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
    return Path(found[-1]).parent


def as_postgres(args):
    """Run as the user postgres (the server refuses root)."""
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


class Cluster:
    """A throwaway PostgreSQL cluster: initdb, pg_ctl start/stop, on a port of its own, trust authentication."""

    def __init__(self, folder, port):
        self.folder, self.port, self.bin = folder, port, postgres_bin()
        self.data = folder / "data"

    def init(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        result = as_postgres([str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                              "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"])
        if result.returncode != 0:
            raise FaultFailure(f"initdb failed:\n{result.stdout}{result.stderr}")

    def start(self):
        result = as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "server.log"),
                              "-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off",
                              "-w", "-t", "30", "start"])
        if result.returncode != 0:
            raise FaultFailure(f"pg_ctl start failed:\n{result.stdout}{result.stderr}")

    def stop(self, mode="fast"):
        return as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop"])

    def running(self):
        return (self.data / "postmaster.pid").exists()

    def url(self, name="postgres"):
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def sql(self, query, name=DB_NAME):
        import psycopg

        with psycopg.connect(self.url(name), autocommit=True, connect_timeout=5) as connection:
            cursor = connection.execute(query)
            return cursor.fetchall() if cursor.description else None


# --------------------------------------------------------------------------------------------------------
# Timed requests
# --------------------------------------------------------------------------------------------------------


class Clock:
    """Every request of a phase with its time; a request slower than MAX_SECONDS fails the phase at its end."""

    def __init__(self):
        self.phases = {}
        self.phase = None

    def start(self, phase):
        self.phase = phase
        self.phases[phase] = []

    def timed(self, what, call):
        """Runs ``call`` (its requests are timed one by one by TimedBrowser) under a heading."""
        print(f"         {what}", flush=True)
        return call()

    def note(self, what, seconds):
        if self.phase is not None:
            self.phases[self.phase].append((what, seconds))
            print(f"         {seconds * 1000:7.0f} ms  {what}", flush=True)

    def baseline(self, what):
        """The slowest time of the same request (ids aside) with every service up: signing in hashes a password
        (PBKDF2), which on a loaded 2-core CI machine alone may take near a second."""
        key = re.sub(r"\d+", "#", what)
        return max([s for w, s in self.phases.get("all services up", []) if re.sub(r"\d+", "#", w) == key], default=0)

    def check(self):
        phase, self.phase = self.phase, None  # what follows (waiting for recovery) is not timed
        slow = [(what, seconds) for what, seconds in self.phases[phase]
                if seconds > max(MAX_SECONDS, 1.5 * self.baseline(what))]
        if slow:
            raise FaultFailure(f"{phase}: slower than {MAX_SECONDS} s: " + ", ".join(f"{w} {s:.2f} s" for w, s in slow))


class TimedBrowser(Browser):
    """The smoke run's browser, timing each HTTP request on its own (a redirect followed is a request of its own)."""

    clock = None

    def request(self, method, path, body=None, content_type=None, follow=True, headers=None):
        for _ in range(10):
            started = time.monotonic()
            response = super().request(method, path, body=body, content_type=content_type, follow=False, headers=headers)
            if self.clock is not None:
                self.clock.note(f"{self.user}: {method} {path} → {response.status}", time.monotonic() - started)
            if not (follow and response.status in (301, 302, 303)):
                return response
            method, body, content_type = "GET", None, None
            location = urllib.parse.urlsplit(response.header("Location"))
            path = location.path + (f"?{location.query}" if location.query else "")
            self.last_path = path
        raise FaultFailure(f"too many redirects from {path}")


def user_day(clock, port, day, title, draft_id, program_value, period):
    """What users do during a fault: each request timed. Returns the activity's id."""
    secretary = TimedBrowser(port, "secretary3")
    clock.timed("secretary3 signs in (rate limits in the cache)", lambda: log_in(secretary, "secretary3"))
    for path in ("/", "/activities/", "/activities/needs/"):
        clock.timed(f"secretary3 GET {path}", lambda path=path: secretary.get(path))
    form = clock.timed("secretary3 GET /activities/new/", lambda: secretary.get("/activities/new/"))
    fields = {
        "pairing": option_value(form.text, "/activities/new/", "pairing", current_path="/activities/new/"),
        "activity_type": option_value(form.text, "/activities/new/", "activity_type", current_path="/activities/new/"),
        "title": title, "date": day.isoformat(), "start_time": "09:00", "end_time": "11:00",
        "place": "龙石村党群服务中心", "description": "故障测试：缓存或队列不可用时记录活动。",
        "party_members": "3", "teachers": "1", "students": "6", "residents_served": "20", "action": "submit",
    }
    page = clock.timed("secretary3 records and submits an activity",
                       lambda: secretary.submit(form, "/activities/new/", fields, files=[("new_photos", "f.jpg", "image/jpeg", smoke.jpeg(title))]))
    match = re.fullmatch(r"/activities/(\d+)/", secretary.last_path)
    if not match:
        raise FaultFailure(f"recording the activity ended on {secretary.last_path}:\n{page.text[:1500]}")

    admin = TimedBrowser(port, "admin")
    clock.timed("admin signs in", lambda: log_in(admin, "admin"))
    for path in ("/", "/reports/", f"/reports/{draft_id}/"):
        clock.timed(f"admin GET {path}", lambda path=path: admin.get(path))
    detail = admin.get(f"/reports/{draft_id}/")
    clock.timed(f"admin publishes report {draft_id}",
                lambda: admin.submit(detail, f"/reports/{draft_id}/publish/"))
    clock.timed(f"admin publishes report {draft_id} again (a second click)",
                lambda: admin.submit(detail, f"/reports/{draft_id}/publish/"))
    generate = admin.get("/reports/generate/")
    clock.timed(f"admin asks for the monthly reports of {period} (a task)",
                lambda: admin.submit(generate, "/reports/generate/", {"kind": "monthly", "period": period, "program": program_value}))
    exports = admin.get("/reports/exports/")
    clock.timed("admin asks for an annual export (a task)",
                lambda: admin.submit(exports, "/reports/exports/", {"program": program_value, "year": str(day.year - 1)}))
    return int(match.group(1))


def check_metrics_and_logs(run, web_port, worker_metrics_port):
    import urllib.request

    def scrape(url, headers=None):
        request = urllib.request.Request(url, headers={"Host": "127.0.0.1", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, ""

    status, text = scrape(f"http://127.0.0.1:{web_port}/metrics")
    wanted = ('django_http_requests_latency_seconds_by_view_method_count{method="GET",view="home"}',
              'portal_celery_queue_length{queue="celery"}', "portal_outbox_backlog 0.0", "portal_broker_up 1.0")
    missing = [name for name in wanted if name not in text]
    if status != 200 or missing:
        raise FaultFailure(f"/metrics {status}, missing {missing}:\n{text[:1500]}")
    proxied, _ = scrape(f"http://127.0.0.1:{web_port}/metrics", {"X-Forwarded-For": "203.0.113.9"})
    if proxied != 404:
        raise FaultFailure(f"/metrics through a proxy answered {proxied}")
    status, text = scrape(f"http://127.0.0.1:{worker_metrics_port}/metrics")
    if status != 200 or 'portal_celery_task_duration_seconds_count{state="SUCCESS",task="reports.tasks.build_annual_export"}' not in text:
        raise FaultFailure(f"the worker's exporter answered {status}:\n{text[:1500]}")
    print("         /metrics: request latency by view, queue length, outbox backlog; the worker's: task durations")

    def json_lines(name):
        lines = []
        for line in run.processes[name][1].read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    lines.append(json.loads(line))
                except ValueError:
                    pass
        return lines

    asked = {line["request_id"] for line in json_lines("gunicorn")
             if line.get("logger") == "portal.request" and line.get("method") == "POST" and line.get("path") == "/reports/exports/"}
    exports = [line for line in json_lines("worker") if "build_annual_export[" in line.get("message", "") and " succeeded " in line["message"]]
    carried = [line for line in exports if line.get("request_id") in asked and line.get("task_id")]
    # every export was asked for by a page: those sent at once and those kept in the outbox during the outages
    if not asked or len(carried) != len(exports) or len(exports) < 4:
        raise FaultFailure(f"request ids of the export pages {sorted(asked)}; the worker's export lines: {exports}")
    print(f"         the worker's lines of all {len(exports)} exports carry the request id of the page that asked")


# --------------------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary PostgreSQL folder afterwards")
    options = parser.parse_args()

    def stop(signum, frame):
        raise FaultFailure(f"interrupted by signal {signum}")

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    run, clock = smoke.Run(), Clock()
    TimedBrowser.clock = clock
    redis_port, pg_port, web_port, worker_metrics_port = free_port(), free_port(), free_port(), free_port()
    cluster = Cluster(Path(tempfile.mkdtemp(prefix="portal-faults-")), pg_port)
    common = dict(
        DATABASE_URL=cluster.url(DB_NAME), MEDIA_ROOT=str(ARTIFACTS / "media"), STATIC_ROOT=str(ARTIFACTS / "static"),
        CELERY_BROKER_URL=f"redis://127.0.0.1:{redis_port}/0", REDIS_URL=f"redis://127.0.0.1:{redis_port}/1",
        LOG_LEVEL="INFO",
    )
    development = environment(**common)
    production = environment(
        **common, PORTAL_MODE="production", DEBUG="0", SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="127.0.0.1",
        TRUSTED_PROXY_COUNT="1", REQUIRE_ADMIN_MFA="0", PORTAL_BASE_URL=f"http://127.0.0.1:{web_port}",
        DATABASE_CONN_MAX_AGE="60",
    )
    web_env = {**production, "PROMETHEUS_MULTIPROC_DIR": str(ARTIFACTS / "prometheus-web")}
    worker_env = {**production, "PROMETHEUS_MULTIPROC_DIR": str(ARTIFACTS / "prometheus-worker"),
                  "METRICS_WORKER_PORT": str(worker_metrics_port)}
    redis_process = None
    failed = None
    try:
        with run.step(f"own PostgreSQL cluster on {pg_port} ({cluster.folder}) and redis-server on {redis_port}"):
            cluster.init()
            cluster.start()
            cluster.sql(f"CREATE DATABASE {DB_NAME}", "postgres")
            redis_process = start_redis(run, redis_port, "redis")
        with run.step("migrate, the demo, last quarter's reports (drafts), collectstatic"):
            smoke.manage(run, development, "migrate", "--noinput")
            smoke.manage(run, development, "load_demo")
            today = datetime.now(SHANGHAI).date()
            quarter = (today.month - 1) // 3
            last_quarter = f"{today.year}Q{quarter}" if quarter else f"{today.year - 1}Q4"
            smoke.manage(run, {**development, "CELERY_BROKER_URL": ""}, "generate_reports", last_quarter)
            smoke.manage(run, production, "collectstatic", "--noinput", "-v0")
            drafts = [pk for (pk,) in cluster.sql(
                "SELECT id FROM reports_report WHERE status = 'draft' AND kind = 'quarterly' AND pairing_id IS NOT NULL ORDER BY id")]
            if len(drafts) < 3:
                raise FaultFailure(f"expected quarterly drafts for {last_quarter}, found {drafts}")
        with run.step(f"start gunicorn (production, 127.0.0.1:{web_port}), a Celery worker and Celery beat"):
            run.start("gunicorn", [sys.executable, "-m", "gunicorn", "portal.wsgi", "--config", "python:portal.gunicorn",
                                   "--bind", f"127.0.0.1:{web_port}", "--workers", "2", "--graceful-timeout", "5"], web_env)
            run.start("worker", [sys.executable, "-m", "celery", "-A", "portal", "worker", "--loglevel", "INFO",
                                 "--concurrency", "1", "-n", "faults@%h"], worker_env)
            run.start("beat", [sys.executable, "-m", "celery", "-A", "portal", "beat", "--loglevel", "INFO",
                               "--schedule", str(ARTIFACTS / "celerybeat-schedule")], production)
            worker = run.processes["worker"][0]  # the one worker process, from start to end: never restarted
            probe = TimedBrowser(web_port, "probe")
            wait_until("/readyz to say ok", lambda: smoke.ready_body(probe), 90, run)
            admin = Browser(web_port, "admin")
            log_in(admin, "admin")
            form = admin.get("/reports/generate/")
            program_name = cluster.sql(
                f"SELECT p.name FROM reports_report r JOIN pairings_program p ON p.id = r.program_id WHERE r.id = {drafts[0]}")[0][0]
            program_value = option_value(form.text, "/reports/generate/", "program", program_name, "/reports/generate/")

        day = today - timedelta(days=1)
        months = [f"{today.year - 1}-{m:02d}" for m in (1, 2, 3)]
        redis_pid = {"process": redis_process}

        def outage(name, begin, end, draft_id, period):
            nonlocal redis_process
            with run.step(f"Redis {name}: every answer within {MAX_SECONDS} s"):
                begin()
                clock.start(f"Redis {name}")
                title = f"故障测试 {name} {secrets.token_hex(3)}"
                activity_id = user_day(clock, web_port, day, title, draft_id, program_value, period)
                clock.check()
                kept = cluster.sql("SELECT task FROM portal_outboxmessage ORDER BY id")
                print(f"         outbox while Redis is {name}: {[task for (task,) in kept]}")
                if not kept:
                    raise FaultFailure("the tasks asked for during the outage are not in the outbox")
            with run.step(f"Redis back after being {name}: the outbox flushes (beat, each minute), nothing is lost"):
                end()
                wait_until("the outbox to empty", lambda: cluster.sql("SELECT count(*) FROM portal_outboxmessage")[0][0] == 0, 75, run)
                wait_until(f"the monthly reports of {period}", lambda: cluster.sql(
                    f"SELECT count(*) FROM reports_report WHERE kind = 'monthly' AND period = '{period}'")[0][0] > 0, 60, run)
                status = cluster.sql(f"SELECT status, title FROM activities_activity WHERE id = {activity_id}")
                published = cluster.sql(f"SELECT status FROM reports_report WHERE id = {draft_id}")[0][0]
                if not status or status[0] != ("submitted", title) or published != "published":
                    raise FaultFailure(f"after the outage: activity {status}, report {draft_id} {published}")
                wait_until("/readyz ok again", lambda: smoke.ready_body(probe), 60, run)
            with run.step(f"Redis back after being {name}: a task asked for now is done within {RECOVERY_SECONDS} s "
                          "by the same worker process"):
                export_id = ask_for_export()
                started = time.monotonic()
                wait_until(f"annual export {export_id} to be built", lambda: cluster.sql(
                    f"SELECT status FROM reports_annualexport WHERE id = {export_id}")[0][0] in ("done", "failed"),
                    RECOVERY_SECONDS, run)
                status = cluster.sql(f"SELECT status FROM reports_annualexport WHERE id = {export_id}")[0][0]
                process = run.processes["worker"][0]
                if status != "done" or process is not worker or worker.poll() is not None:
                    raise FaultFailure(f"export {export_id} {status}; worker pid {process.pid}, first {worker.pid}, "
                                       f"exit status {worker.poll()}")
                print(f"         export {export_id} built {time.monotonic() - started:.1f} s after it was asked for, "
                      f"by worker pid {worker.pid} (the one started first)")
                # Whether the ack of the export that ended during the hang timed out depends on what the worker's main
                # loop was doing then (a call of its own to the hung Redis delays the ack until Redis is back):
                # tests/portal/test_broker.py covers that path on its own; here it is only reported.
                failed_acks = worker_log_count("not taken by Redis")
                print(f"         acks that timed out while Redis hung and were sent again later: {failed_acks}")

        def ask_for_export():
            page = admin.get("/reports/exports/")
            admin.submit(page, "/reports/exports/", {"program": program_value, "year": str(today.year - 1)})
            match = re.fullmatch(r"/reports/exports/(\d+)/", admin.last_path)
            if not match:
                raise FaultFailure(f"asking for an export ended on {admin.last_path}")
            return int(match.group(1))

        exports_done, ended = 0, {"at": 0.0}

        def worker_log_count(*words):
            text = run.processes["worker"][1].read_text(errors="replace")
            return sum(all(word in line for word in words) for line in text.splitlines())

        def hang_while_a_task_runs():
            """SIGSTOP as soon as the worker has taken an annual export (it runs for a good fraction of a second), so
            that the task's ack, sent when it ends, meets the hung Redis."""
            nonlocal exports_done
            seen = worker_log_count("build_annual_export[", "received")
            exports_done = worker_log_count("build_annual_export[", " succeeded ")
            ask_for_export()
            deadline = time.monotonic() + 30
            while worker_log_count("build_annual_export[", "received") == seen:
                if time.monotonic() > deadline:
                    raise FaultFailure("the worker did not take the annual export within 30 s")
                time.sleep(0.01)
            os.killpg(redis_pid["process"].pid, signal.SIGSTOP)
            # the users' requests start once the export has ended (they are not timed against its CPU), its ack on
            # its way to the hung Redis
            wait_until("the export to end", lambda: worker_log_count("build_annual_export[", " succeeded ") > exports_done, 30, run)
            ended["at"] = time.monotonic()

        def resume_after_the_ack_failed():
            time.sleep(max(0.0, ended["at"] + ACK_SECONDS - time.monotonic()))  # the ack has met the hung Redis
            os.killpg(redis_pid["process"].pid, signal.SIGCONT)

        def redis_stop():
            process = redis_pid["process"]
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
            for name, (started, _log) in list(run.processes.items()):
                if started is process:
                    del run.processes[name]  # stopped on purpose: not a process that died

        def redis_restart():
            redis_pid["process"] = start_redis(run, redis_port, f"redis-{secrets.token_hex(2)}")

        with run.step("all services up: the same requests, for their baseline times"):
            clock.start("all services up")
            user_day(clock, web_port, day, f"故障测试 基线 {secrets.token_hex(3)}", drafts[2], program_value, months[2])
            clock.phase = None
            wait_until("the outbox to stay empty and the reports to be built", lambda: cluster.sql(
                f"SELECT count(*) FROM reports_report WHERE kind = 'monthly' AND period = '{months[2]}'")[0][0] > 0, 60, run)

        outage("stopped", redis_stop, redis_restart, drafts[0], months[0])
        outage("hung (SIGSTOP)", hang_while_a_task_runs, resume_after_the_ack_failed, drafts[1], months[1])

        with run.step("metrics and logs: /metrics from 127.0.0.1, the worker's exporter, request ids in the worker's log"):
            check_metrics_and_logs(run, web_port, worker_metrics_port)

        with run.step(f"PostgreSQL stopped: 503 with Retry-After within {MAX_SECONDS} s"):
            secretary = TimedBrowser(web_port, "secretary3")
            log_in(secretary, "secretary3")
            result = cluster.stop("immediate")
            if result.returncode != 0:
                raise FaultFailure(f"pg_ctl stop: {result.stderr}")
            clock.start("PostgreSQL stopped")
            for path in ("/", "/activities/", "/reports/", "/accounts/login/"):
                for attempt in (1, 2):  # the first request of a worker finds its connection broken, the next none
                    response = clock.timed(f"GET {path} ({attempt})", lambda path=path: secretary.request("GET", path, follow=False))
                    if path == "/accounts/login/" and response.status == 200:
                        continue  # the sign-in form itself needs no database
                    if response.status != 503 or response.header("Retry-After") != "30" or "数据库暂时无法连接" not in response.text:
                        raise FaultFailure(f"GET {path}: {response.status} Retry-After={response.header('Retry-After')}\n{response.text[:600]}")
            healthz = clock.timed("GET /healthz", lambda: probe.request("GET", "/healthz"))
            readyz = clock.timed("GET /readyz", lambda: probe.request("GET", "/readyz", headers={"X-Forwarded-Proto": "http"}))
            if healthz.status != 200 or readyz.status != 503 or json.loads(readyz.body)["checks"]["database"] != "failed":
                raise FaultFailure(f"/healthz {healthz.status}, /readyz {readyz.status} {readyz.text}")
            run.check_alive()
            clock.check()
        with run.step("PostgreSQL started again: the same pages answer 200, nothing restarted"):
            cluster.start()
            wait_until("the home page to answer 200 again", lambda: secretary.request("GET", "/", follow=False).status == 200, 30, run)
            clock.start("PostgreSQL back")
            for path in ("/", "/activities/", "/reports/"):
                clock.timed(f"GET {path}", lambda path=path: secretary.get(path))
            wait_until("/readyz ok again", lambda: smoke.ready_body(probe), 60, run)
            clock.check()
    except SmokeFailure as error:
        failed = f"{run.step_name}: {error}"
    except Exception as error:
        import traceback

        failed = f"{run.step_name}: {type(error).__name__}: {error}\n{traceback.format_exc()}"
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for process, _log in run.processes.values():  # a stopped Redis would ignore TERM
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
        run.stop_all()
        if cluster.running():
            cluster.stop("immediate")
        if failed:
            print(f"\nFAULT TEST FAILED at step «{failed}»", file=sys.stderr)
            run.tails()
            if (cluster.folder / "server.log").exists():
                print((cluster.folder / "server.log").read_text()[-2000:], file=sys.stderr)
        if not options.keep:
            shutil.rmtree(cluster.folder, ignore_errors=True)
    if failed:
        sys.exit(1)
    print("\nfault test passed; slowest answer under each fault:")
    for phase, timings in clock.phases.items():
        what, seconds = max(timings, key=lambda item: item[1])
        median = sorted(s for _, s in timings)[len(timings) // 2]
        print(f"  {phase:20s} {len(timings):3d} requests, median {median * 1000:5.0f} ms, slowest {seconds * 1000:5.0f} ms ({what})")
    print(f"  in all {time.monotonic() - run.started:.1f} s")
    print("  the Celery worker took every task after Redis came back, without a restart")


if __name__ == "__main__":
    main()
