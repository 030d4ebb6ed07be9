"""Health checks of the compose services (docker-compose.yml): `python deploy/healthcheck.py web|worker|beat`
(web takes another /readyz URL as an optional second argument; the default is the container's own).

Exit status 0 when healthy, 1 (with one line on stderr) when not. Light on purpose: they run every few seconds in
each container, so none of them starts Django or a Celery app.

- web: GET /readyz on this container, healthy when the database check is "ok". Not the whole /readyz: a worker
  that is down (or Redis) makes /readyz answer 503, and web must not be marked unhealthy for that — it still
  serves every page, Docker would restart it for nothing, and the nginx service (which waits for a healthy web)
  would not start. /readyz as a whole is for monitoring and the load balancer's view of the whole deployment.
- worker: this container's worker has a fresh heartbeat in Redis (portal/celery.py writes it every 10 s).
- beat: the container runs beat and it has ticked within the last 3 minutes (portal.celery.TickingScheduler
  notes each tick in Redis; beat wakes at least once a minute).
"""

import json
import os
import socket
import sys
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def fail(message):
    print(f"unhealthy: {message}", file=sys.stderr)
    sys.exit(1)


def web(url="http://127.0.0.1:8000/readyz"):
    host = os.environ.get("ALLOWED_HOSTS", "localhost").split(",")[0].strip().lstrip(".") or "localhost"
    request = urllib.request.Request(url, headers={"Host": host})
    try:
        body = urllib.request.urlopen(request, timeout=4).read()
    except urllib.error.HTTPError as error:  # 503: still says which check failed
        body = error.read()
    except OSError as error:
        fail(f"web does not answer ({error})")
    checks = json.loads(body)["checks"]
    if checks.get("database") != "ok":
        fail(f"database check: {checks.get('database')}")


def broker():
    from portal.celery import redis_client

    return redis_client(os.environ["CELERY_BROKER_URL"], timeout=3)


def worker():
    from portal.celery import HEARTBEAT_KEY, HEARTBEAT_TTL

    client = broker()
    now = int(client.time()[0])
    prefix = f"@{socket.gethostname()}:"
    names = [name.decode() for name in client.zrangebyscore(HEARTBEAT_KEY, now - HEARTBEAT_TTL, "+inf")]
    if not any(prefix in name for name in names):
        fail(f"no heartbeat of a worker on {socket.gethostname()} in the last {HEARTBEAT_TTL} s")


def beat(cmdline="/proc/1/cmdline"):
    from portal.celery import BEAT_TTL, beat_tick_age

    if b"beat" not in Path(cmdline).read_bytes():
        fail("the container's main process is not celery beat")
    age = beat_tick_age(broker())
    if age is None or age > BEAT_TTL:
        fail(f"beat has not ticked in the last {BEAT_TTL} s" + ("" if age is None else f" (last tick {age} s ago)"))


if __name__ == "__main__":
    checks = {"web": web, "worker": worker, "beat": beat}
    if not 2 <= len(sys.argv) <= 3 or sys.argv[1] not in checks:
        fail(f"usage: healthcheck.py {'|'.join(checks)} [readyz URL, web only]")
    try:
        checks[sys.argv[1]](*sys.argv[2:])
    except Exception as error:  # a health check says no; it does not print a traceback
        fail(f"{type(error).__name__}: {error}")
