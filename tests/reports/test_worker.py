"""The real thing: Celery workers in their own processes, Redis as the broker, the PostgreSQL test database.

Each test commits its data (transactional_db), starts `celery -A portal worker -P solo` subprocesses whose
DATABASE_URL names this run's test database, sends the monthly job through Redis, waits for the reports, and
checks their figures against raw SQL written independently of the builder. Idempotence: the job run twice,
two workers building the same scope at once, and a worker killed with SIGKILL in the middle of a report task
and then replaced: always exactly one report per scope, complete.

Skipped (with the reason) without PostgreSQL or Redis; CI's PostgreSQL run has both and allows no skips.
"""

import datetime
import os
import random
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from celery import Celery
from django.db import connection

from activities.models import Activity, ServiceRecord
from pairings.models import Metric
from portal.models import Organization
from reports.models import Report
from reports.generation import scopes_to_generate
from tests import factories as f
from tests.reports.conftest import activity, at

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
BASE_DIR = Path(__file__).resolve().parents[2]
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
PERIOD, START, END = "2024-03", datetime.date(2024, 3, 1), datetime.date(2024, 3, 31)
COUNTED = ("submitted", "confirmed")
SLOW_APP = "tests.reports.slow_worker"  # the portal's app, its report tasks pausing before they save


# --------------------------------------------------------------------------------------------------------
# Services: PostgreSQL (this run's test database) and Redis (a database of its own, flushed)
# --------------------------------------------------------------------------------------------------------


@pytest.fixture
def postgres(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL for a worker process to share the test database: set DATABASE_URL=postgres://… (CI runs this)")
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def broker():
    db = 10 + os.getpid() % 6  # a Redis database of this run's own (0 and 1 are the development ones)
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=db, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"needs Redis on {REDIS_HOST}:{REDIS_PORT} ({exc}) (CI runs this)")
    client.flushdb()
    yield f"redis://{REDIS_HOST}:{REDIS_PORT}/{db}", client
    client.flushdb()
    client.close()


class Workers:
    """Starts worker subprocesses and makes sure none outlives the test (they hold database connections)."""

    def __init__(self, database_url, broker_url, folder):
        self.database_url, self.broker_url, self.folder = database_url, broker_url, folder
        self.running = []

    def start(self, name, app="portal", **env):
        """A worker of the Celery `app` (SLOW_APP: report tasks pause SLOW_REPORT_SECONDS before saving)."""
        log = self.folder / f"{name}-{len(self.running)}.log"
        environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_TEST_NAME", "STRICT_SKIPS")}
        environment.update(
            DATABASE_URL=self.database_url,
            DATABASE_CONN_MAX_AGE="0",
            CELERY_BROKER_URL=self.broker_url,
            DJANGO_SETTINGS_MODULE="portal.settings",
            PYTHONPATH=str(BASE_DIR),
            EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
            **env,
        )
        handle = open(log, "w")
        process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", app, "worker", "-P", "solo", "-l", "info",
                "-n", f"{name}-{os.getpid()}@%h", "--without-heartbeat", "--without-gossip", "--without-mingle",
            ],
            cwd=BASE_DIR, env=environment, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
        )
        worker = {"process": process, "log": log, "handle": handle}
        self.running.append(worker)
        wait_for(lambda: "ready." in log.read_text() or process.poll() is not None, 90, f"worker {name} to start")
        assert process.poll() is None, log.read_text()
        return worker

    def kill(self, worker):
        os.killpg(worker["process"].pid, signal.SIGKILL)
        worker["process"].wait(10)

    def stop_all(self):
        for worker in self.running:
            process = worker["process"]
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(10)
            worker["handle"].close()

    def logs(self):
        return "\n".join(f"--- {w['log'].name}\n{w['log'].read_text()[-3000:]}" for w in self.running)


@pytest.fixture
def workers(postgres, broker, tmp_path):
    pool = Workers(postgres, broker[0], tmp_path)
    yield pool
    pool.stop_all()


def wait_for(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {seconds}s waiting for {what}")


def send(broker_url, name, *args):
    # not the process's current app: the portal's shared tasks would follow it (eager no more) in later tests
    sender = Celery("test-sender", broker=broker_url, set_as_current=False)
    try:
        sender.send_task(name, args=list(args))
    finally:
        sender.close()


def queue_empty(client):
    """Nothing waiting in the default queue and nothing taken but unacknowledged."""
    return client.llen("celery") == 0 and client.hlen("unacked") == 0


# --------------------------------------------------------------------------------------------------------
# Data: three pairings of 双联双助 with a month of everything that must and must not count
# --------------------------------------------------------------------------------------------------------


@pytest.fixture
def month(world):
    rng = random.Random(20240301)
    program, school = world["program"], world["school"]
    repairs = f.MetricFactory(program=program, code="repairs", name="维修家电", unit=Metric.Unit.ITEMS)
    visits = f.MetricFactory(program=program, code="visits", name="服务群众", unit=Metric.Unit.PERSON_TIMES)
    f.MetricFactory(program=program, code="income", name="人均纯收入", unit=Metric.Unit.YUAN, aggregation="snapshot")
    pairings = [world["pairing"]]
    branches = {world["pairing"].pk: [world["branch"], world["other_branch"]]}
    for n in range(2):
        pairing = f.PairingFactory(program=program, supporter=school, supported=f.OrganizationFactory(name=f"测试村{n}", kind="village"))
        own = [f.OrganizationFactory(name=f"测试支部{n}-{i}", kind=Organization.Kind.BRANCH, parent=school) for i in range(3)]
        for branch in own:
            f.PairingBranchFactory(pairing=pairing, branch=branch)
        pairings.append(pairing)
        branches[pairing.pk] = own
    volunteers = [f.VolunteerFactory(organization=school) for _ in range(6)]
    for pairing in pairings:
        for i in range(14):
            day = f"2024-{rng.choice(['02', '03', '03', '03', '04'])}-{rng.randint(1, 28):02d}"
            status = rng.choice(["draft", "submitted", "confirmed", "confirmed", "returned"])
            host = rng.choice(branches[pairing.pk])
            a = activity(pairing, host, day, status=status, residents_served=rng.randint(0, 50), party_members=rng.randint(0, 9))
            if rng.random() < 0.4:
                a.co_branches.add(*rng.sample(branches[pairing.pk], 2))  # sometimes includes the host itself
            f.ActivityMetricValueFactory(activity=a, metric=repairs, value=Decimal(rng.randint(1, 12)))
            if rng.random() < 0.5:
                f.ActivityMetricValueFactory(activity=a, metric=visits, value=Decimal(rng.randint(5, 60)))
            for volunteer in rng.sample(volunteers, 2):
                verified = rng.random() < 0.7
                f.ServiceRecordFactory(
                    activity=a, volunteer=volunteer, hours=Decimal(rng.choice(["1.5", "2.0", "3.5"])),
                    status="verified" if verified else "recorded",
                    # verified by the month's end, or after it (then still pending in March's report)
                    verified_at=at(rng.choice(["2024-03-31 18:00", "2024-04-01 10:00"])) if verified else None,
                )
            if rng.random() < 0.1:
                Activity.all_objects.filter(pk=a.pk).update(deleted_at=at("2024-04-02 10:00"))
    ServiceRecord.all_objects.filter(pk=ServiceRecord.objects.order_by("pk").first().pk).update(deleted_at=at("2024-04-02 10:00"))
    return {"program": program, "pairings": pairings, "metrics": {"repairs": repairs, "visits": visits}}


# --------------------------------------------------------------------------------------------------------
# Independent figures, in SQL
# --------------------------------------------------------------------------------------------------------

ALIVE = "a.deleted_at IS NULL AND a.status IN ('submitted', 'confirmed') AND a.date BETWEEN %s AND %s"
# The report of a past month stands at the month's end: hours verified after it were still pending then.
VERIFIED_THEN = "s.status = 'verified' AND s.verified_at < '2024-04-01 00:00+08:00'"


def sql(query, *params):
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def expected_figures(pairing_ids, metric_ids):
    ids = list(pairing_ids)
    total, confirmed = sql(
        f"SELECT count(*), count(*) FILTER (WHERE a.status = 'confirmed') FROM activities_activity a "
        f"WHERE a.pairing_id = ANY(%s) AND {ALIVE}", ids, START, END,
    )[0]
    hours = sql(
        f"SELECT coalesce(sum(s.hours), 0) FROM activities_servicerecord s JOIN activities_activity a ON a.id = s.activity_id "
        f"WHERE {VERIFIED_THEN} AND s.deleted_at IS NULL AND a.pairing_id = ANY(%s) AND {ALIVE}", ids, START, END,
    )[0][0]
    people = sql(
        f"SELECT count(DISTINCT s.volunteer_id) FROM activities_servicerecord s JOIN activities_activity a ON a.id = s.activity_id "
        f"WHERE {VERIFIED_THEN} AND s.deleted_at IS NULL AND a.pairing_id = ANY(%s) AND {ALIVE}", ids, START, END,
    )[0][0]
    credits = dict(
        sql(
            f"SELECT branch_id, count(*) FROM ("
            f" SELECT a.id, a.branch_id FROM activities_activity a WHERE a.pairing_id = ANY(%s) AND {ALIVE}"
            f" UNION SELECT a.id, c.organization_id FROM activities_activity_co_branches c"
            f" JOIN activities_activity a ON a.id = c.activity_id WHERE a.pairing_id = ANY(%s) AND {ALIVE}"
            f") credited GROUP BY branch_id",
            ids, START, END, ids, START, END,
        )
    )
    metrics = {
        code: sql(
            f"SELECT coalesce(sum(v.value), 0) FROM activities_activitymetricvalue v JOIN activities_activity a ON a.id = v.activity_id "
            f"WHERE v.metric_id = %s AND a.pairing_id = ANY(%s) AND {ALIVE}", metric_id, ids, START, END,
        )[0][0]
        for code, metric_id in metric_ids.items()
    }
    return {"total": total, "confirmed": confirmed, "hours": hours, "people": people, "credits": credits, "metrics": metrics}


def check_against_sql(report, month):
    data = report.data
    ids = [p["id"] for p in data["pairings"]]
    want = expected_figures(ids, {code: m.pk for code, m in month["metrics"].items()})
    a = data["activities"]
    assert (a["total"], a["confirmed"]) == (want["total"], want["confirmed"]), report
    assert Decimal(str(data["volunteers"]["verified_hours"])) == want["hours"], report
    assert data["volunteers"]["volunteers"] == want["people"], report
    credited = {row["key"]: row["total"] for row in a["by_branch"] if row["total"]}
    assert credited == want["credits"], report
    metrics = {m["code"]: m["period_value"] for m in data["metrics"]}
    for code, value in want["metrics"].items():
        assert Decimal(str(metrics[code])) == value, (report, code)


def reports_by_scope():
    counts = {}
    for report in Report.objects.filter(kind="monthly", period=PERIOD):
        counts[(report.program_id, report.pairing_id)] = counts.get((report.program_id, report.pairing_id), 0) + 1
    return counts


def all_there(scopes):
    return lambda: set(reports_by_scope()) >= set(scopes)


def assert_one_complete_report_per_scope(scopes, month):
    assert reports_by_scope() == {scope: 1 for scope in scopes}
    for report in Report.objects.filter(kind="monthly", period=PERIOD, program=month["program"]):
        # the program publishes its monthly reminders as they are built: once, as version 1
        assert report.status == "published" and report.version == 1
        check_against_sql(report, month)


# --------------------------------------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------------------------------------


def test_monthly_job_on_a_real_worker_matches_sql_and_runs_twice(month, workers, broker):
    broker_url, client = broker
    scopes = scopes_to_generate("monthly", PERIOD)
    assert len(scopes) == 6  # 双联双助 and its 3 pairings, 党员进社区 and its pairing
    workers.start("solo")
    send(broker_url, "reports.tasks.generate_monthly_reports", PERIOD)
    wait_for(all_there(scopes), 120, "the reports\n" + workers.logs())
    wait_for(lambda: queue_empty(client), 60, "the queue to drain")
    assert_one_complete_report_per_scope(scopes, month)
    first_ids = set(Report.objects.values_list("id", flat=True))
    # the job again, twice: the drafts are rebuilt in place, nothing is added
    send(broker_url, "reports.tasks.generate_monthly_reports", PERIOD)
    send(broker_url, "reports.tasks.generate_monthly_reports", PERIOD)
    time.sleep(1)
    wait_for(lambda: queue_empty(client), 120, "the queue to drain\n" + workers.logs())
    assert set(Report.objects.values_list("id", flat=True)) == first_ids
    assert_one_complete_report_per_scope(scopes, month)


def test_two_workers_at_once(month, workers, broker):
    """Both workers build the same scopes at the same moment (a pause between building and saving makes
    them overlap): the insert race ends in one report per scope."""
    broker_url, client = broker
    scopes = scopes_to_generate("monthly", PERIOD)
    workers.start("alpha", app=SLOW_APP, SLOW_REPORT_SECONDS="2")
    workers.start("beta", app=SLOW_APP, SLOW_REPORT_SECONDS="2")
    program, pairing = month["program"], month["pairings"][0]
    for _ in range(2):  # the same scope twice, side by side
        send(broker_url, "reports.tasks.generate_report", "monthly", PERIOD, program.pk, pairing.pk)
    send(broker_url, "reports.tasks.generate_monthly_reports", PERIOD)
    send(broker_url, "reports.tasks.generate_monthly_reports", PERIOD)
    wait_for(all_there(scopes), 180, "the reports\n" + workers.logs())
    time.sleep(1)
    wait_for(lambda: queue_empty(client), 180, "the queue to drain\n" + workers.logs())
    logs = "".join(w["log"].read_text() for w in workers.running)
    assert "inserted concurrently elsewhere" in logs  # the race really happened, and was absorbed
    assert_one_complete_report_per_scope(scopes, month)


def test_worker_killed_mid_task_then_replaced(month, workers, broker):
    broker_url, client = broker
    scopes = scopes_to_generate("monthly", PERIOD)
    slow = workers.start("doomed", app=SLOW_APP, SLOW_REPORT_SECONDS="60")
    send(broker_url, "reports.tasks.generate_monthly_reports", PERIOD)
    # the first report task has built its data and is pausing before it saves: kill the worker there
    wait_for(lambda: "sleeping before saving the report" in slow["log"].read_text(), 60, "a report task to start\n" + workers.logs())
    workers.kill(slow)
    assert slow["process"].returncode == -signal.SIGKILL
    assert Report.objects.count() == 0  # nothing half-saved
    assert client.hlen("unacked") == 1  # the killed task's message is held, not lost
    time.sleep(1.5)  # older than the replacement's visibility timeout
    workers.start("replacement", CELERY_VISIBILITY_TIMEOUT="1")
    wait_for(all_there(scopes), 120, "the reports after the restart\n" + workers.logs())
    time.sleep(1)
    wait_for(lambda: queue_empty(client), 120, "the queue to drain\n" + workers.logs())
    assert_one_complete_report_per_scope(scopes, month)
