"""Prod-like smoke run (`make smoke`, called by .ci/run): the deployment's processes, natively, then a user's day.

No Docker engine runs on the build machines, so this starts what docker-compose.yml starts, from this checkout:
a fresh PostgreSQL database (pairing_smoke), migrations, the demo data (loaded with development settings:
load_demo refuses production), collectstatic, then gunicorn with PORTAL_MODE=production (DEBUG off, a fresh
SECRET_KEY, ALLOWED_HOSTS=127.0.0.1, TRUSTED_PROXY_COUNT=1 so this client can say X-Forwarded-Proto: https, as
the TLS proxy would), a Celery worker and Celery beat, against the machine's PostgreSQL and Redis (databases 6
and 7 of Redis, flushed), and nginx in front with deploy/nginx.conf itself (its ports, certificate and media
folder replaced by this run's: a self-signed certificate, MEDIA_ACCEL_REDIRECT=/protected-media/). Then, over
HTTPS through nginx only, with its own cookie jar:

  secretary3 records an activity with a JPEG photo and submits it; longshi (the village) confirms it; admin
  signs in with a real TOTP code (an authenticator set up before the start) and asks for that month's monthly
  reports; the worker builds them; admin downloads the pairing's .docx, a Word file naming the activity;
  /readyz says ok with the worker live; a static file comes from whitenoise with far-future caching. The photo
  comes from nginx (gunicorn's own answer is empty, with X-Accel-Redirect), and the internal URL it names is 404
  to a client.

Every process it started is stopped by its pid (TERM, then KILL), also on failure or Ctrl-C, and the database is
dropped. A failing step stops the run with a non-zero exit, the step's name, and the last lines of each process's
log (all logs stay in artifacts/smoke/). Options: --keep (leave the database for a look afterwards).
"""

import argparse
import base64
import hashlib
import hmac
import html.parser
import http.client
import http.cookies
import io
import json
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import time
import urllib.parse
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))  # the portal's own constants (portal.celery), never its settings
ARTIFACTS = BASE_DIR / "artifacts" / "smoke"
PG = os.environ.get("SMOKE_POSTGRES", "postgres://postgres@127.0.0.1:5432")
DB_NAME = "pairing_smoke"
REDIS = "redis://127.0.0.1:6379"
BROKER_DB, CACHE_DB = 6, 7
PASSWORD = "pairing-demo-2024"  # the demo users' password (README)
DEADLINE_SECONDS = 170  # the whole run must stay well under 3 minutes
SHANGHAI = timezone(timedelta(hours=8))


class SmokeFailure(Exception):
    pass


# --------------------------------------------------------------------------------------------------------
# Steps, timings, processes
# --------------------------------------------------------------------------------------------------------


class Run:
    def __init__(self):
        self.started = time.monotonic()
        self.processes = {}  # name -> (Popen, log path)
        self.step_name = None
        self.timings = []

    def step(self, name):
        return Step(self, name)

    def left(self):
        return DEADLINE_SECONDS - (time.monotonic() - self.started)

    def start(self, name, args, env):
        log = ARTIFACTS / f"{name}.log"
        handle = open(log, "w")
        process = subprocess.Popen(
            args, cwd=BASE_DIR, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
        handle.close()
        self.processes[name] = (process, log)
        print(f"      started {name} (pid {process.pid})", flush=True)
        return process

    def check_alive(self):
        for name, (process, log) in self.processes.items():
            if process.poll() is not None:
                raise SmokeFailure(f"{name} (pid {process.pid}) exited with status {process.returncode}")

    def stop_all(self):
        """TERM each process group we started (the pid is its leader), wait, then KILL what is left."""
        for name, (process, _) in reversed(list(self.processes.items())):
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for name, (process, _) in reversed(list(self.processes.items())):
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                print(f"      {name} (pid {process.pid}) ignored TERM: KILL", flush=True)
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                process.wait(10)
            print(f"      stopped {name} (pid {process.pid}, status {process.returncode})", flush=True)

    def tails(self, lines=25):
        for name, (_, log) in self.processes.items():
            text = log.read_text(errors="replace").splitlines() if log.exists() else []
            print(f"----- last {min(lines, len(text))} lines of {log.relative_to(BASE_DIR)}", file=sys.stderr)
            for line in text[-lines:]:
                print(f"  {line}", file=sys.stderr)


class Step:
    def __init__(self, run, name):
        self.run, self.name = run, name

    def __enter__(self):
        self.run.step_name = self.name
        self.started = time.monotonic()
        print(f"[{time.monotonic() - self.run.started:6.1f}s] {self.name} …", flush=True)
        if self.run.left() <= 0:
            raise SmokeFailure(f"out of time ({DEADLINE_SECONDS} s) before this step")
        return self

    def __exit__(self, kind, value, traceback):
        elapsed = time.monotonic() - self.started
        if kind is None:
            self.run.timings.append((self.name, elapsed))
            print(f"         ok in {elapsed:.2f}s", flush=True)
            self.run.check_alive()


def wait_until(what, condition, seconds, run):
    deadline = time.monotonic() + min(seconds, max(run.left(), 1))
    last = None
    while time.monotonic() < deadline:
        run.check_alive()
        try:
            result = condition()
        except (OSError, http.client.HTTPException) as error:
            result, last = None, error
        if result:
            return result
        time.sleep(0.25)
    raise SmokeFailure(f"timed out after {seconds} s waiting for {what}" + (f" (last error: {last})" if last else ""))


def manage(run, env, *args, stdin=None):
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, input=stdin, capture_output=True, text=True,
        timeout=max(run.left(), 5),
    )
    (ARTIFACTS / f"manage-{args[0]}.log").write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        raise SmokeFailure(f"manage.py {' '.join(args)} failed:\n{(result.stdout + result.stderr)[-3000:]}")
    return result.stdout


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------------------------------------
# Services: the PostgreSQL database and the Redis databases
# --------------------------------------------------------------------------------------------------------


def postgres(sql):
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True, connect_timeout=5) as connection:
        connection.execute(sql)


def redis_flush():
    import redis

    for db in (BROKER_DB, CACHE_DB):
        client = redis.Redis.from_url(f"{REDIS}/{db}", socket_connect_timeout=3, socket_timeout=3)
        client.flushdb()
        client.close()


def beat_ticked():
    import redis

    from portal.celery import BEAT_KEY

    client = redis.Redis.from_url(f"{REDIS}/{BROKER_DB}", socket_connect_timeout=3, socket_timeout=3)
    try:
        return bool(client.exists(BEAT_KEY))
    finally:
        client.close()


def environment(**values):
    """This process's environment without any of the portal's own variables, plus `values`."""
    settings_source = (BASE_DIR / "portal" / "settings.py").read_text(encoding="utf-8")
    portal_variables = set(re.findall(r'\benv_\w+\(\s*"([A-Z][A-Z0-9_]*)"', settings_source))
    env = {k: v for k, v in os.environ.items() if k not in portal_variables and k != "DJANGO_SETTINGS_MODULE"}
    env.update(DJANGO_SETTINGS_MODULE="portal.settings", PYTHONUNBUFFERED="1", **values)
    return env


# --------------------------------------------------------------------------------------------------------
# nginx: deploy/nginx.conf itself, with this machine's ports and folders put in
# --------------------------------------------------------------------------------------------------------


def nginx_version():
    result = subprocess.run(["nginx", "-v"], capture_output=True, text=True)
    match = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", result.stderr + result.stdout)
    if not match:
        raise SmokeFailure(f"cannot read nginx's version: {result.stderr!r}")
    return tuple(map(int, match.groups()))


def nginx_config(folder, *, web_port, http_port, https_port, media):
    """deploy/nginx.conf with the upstream, the listening ports, the certificates and the media folder of this
    run: each replaced text must occur exactly once, so a change to the deployed file that this run no longer
    matches fails here instead of testing something else. Returns the main configuration file that includes it."""
    site = (BASE_DIR / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    replacements = [
        ("server web:8000;", f"server 127.0.0.1:{web_port};"),
        ("listen 80 default_server;", f"listen 127.0.0.1:{http_port} default_server;"),
        ("listen 443 ssl default_server;", f"listen 127.0.0.1:{https_port} ssl default_server;"),
        ("/etc/nginx/certs/", f"{folder}/certs/"),
        ("alias /srv/media/;", f"alias {media}/;"),
    ]
    if nginx_version() < (1, 25, 1):  # before 1.25.1 HTTP/2 is a flag of `listen`, not a directive
        replacements += [
            ("    http2 on;\n", ""),
            (f"listen 127.0.0.1:{https_port} ssl default_server;", f"listen 127.0.0.1:{https_port} ssl http2 default_server;"),
        ]
    for old, new in replacements:
        count = site.count(old)
        if count != (2 if old == "/etc/nginx/certs/" else 1):
            raise SmokeFailure(f"deploy/nginx.conf: expected {old!r} there ({count} found); update scripts/smoke.py")
        site = site.replace(old, new)
    (folder / "certs").mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-keyout", str(folder / "certs" / "privkey.pem"), "-out", str(folder / "certs" / "fullchain.pem")],
        check=True, capture_output=True,
    )
    (folder / "portal.conf").write_text(site, encoding="utf-8")
    temp = folder / "temp"
    temp.mkdir(exist_ok=True)
    main = folder / "nginx-main.conf"
    main.write_text(
        ("user root;\n" if os.geteuid() == 0 else "")  # the workers read the run's media folder
        + f"""daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/nginx-error.log warn;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {folder}/nginx-access.log;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {folder}/portal.conf;
}}
""",
        encoding="utf-8",
    )
    return main


# --------------------------------------------------------------------------------------------------------
# HTTP: a small browser (cookies, CSRF, forms) speaking to gunicorn as the TLS proxy would
# --------------------------------------------------------------------------------------------------------


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def header(self, name):
        return self.headers.get(name.lower())

    @property
    def text(self):
        return self.body.decode("utf-8", errors="replace")


class Browser:
    def __init__(self, port, user="", tls=False):
        """`tls`: `port` is nginx's HTTPS port (deploy/nginx.conf in front, as deployed); otherwise gunicorn's own,
        with the X-Forwarded-* headers nginx would add."""
        self.port, self.user, self.tls = port, user, tls
        self.origin = f"https://127.0.0.1:{port}"
        self.cookies = {}

    def connect(self):
        if not self.tls:
            return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # the run's own self-signed certificate
        return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=30, context=context)

    def request(self, method, path, body=None, content_type=None, follow=True, headers=None):
        for _ in range(10):
            connection = self.connect()
            proxied = {} if self.tls else {
                "X-Forwarded-Proto": "https",  # what the TLS proxy says (TRUSTED_PROXY_COUNT=1)
                "X-Forwarded-For": "127.0.0.1",
            }
            sent = {"Host": f"127.0.0.1:{self.port}", **proxied, "User-Agent": "portal-smoke", **(headers or {})}
            if self.cookies:
                sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            if method == "POST":
                sent["Origin"] = self.origin
                sent["Referer"] = self.origin + path
                sent["Content-Type"] = content_type
            connection.request(method, path, body=body, headers=sent)
            raw = connection.getresponse()
            response = Response(raw.status, {k.lower(): v for k, v in raw.getheaders()}, raw.read())
            for line in raw.headers.get_all("Set-Cookie") or []:
                jar = http.cookies.SimpleCookie()
                jar.load(line)
                for key, morsel in jar.items():
                    if morsel["max-age"] == "0" or morsel.value == "":
                        self.cookies.pop(key, None)
                    else:
                        self.cookies[key] = morsel.value
            connection.close()
            if not (follow and response.status in (301, 302, 303)):
                return response
            location = urllib.parse.urlsplit(response.header("Location"))
            if location.scheme == "https" and location.netloc != f"127.0.0.1:{self.port}":
                raise SmokeFailure(f"redirected off the portal: {response.header('Location')}")
            method, body, path = "GET", None, location.path + (f"?{location.query}" if location.query else "")
            self.last_path = path
        raise SmokeFailure(f"too many redirects from {path}")

    def get(self, path, expect=200, **kwargs):
        self.last_path = path
        response = self.request("GET", path, **kwargs)
        if expect is not None and response.status != expect:
            raise SmokeFailure(f"{self.user}: GET {path} answered {response.status}, expected {expect}:\n{response.text[:800]}")
        return response

    def post(self, path, fields, files=(), expect=None):
        self.last_path = path
        if files:
            body, content_type = multipart(fields, files)
        else:
            body, content_type = urllib.parse.urlencode(fields, doseq=True).encode(), "application/x-www-form-urlencoded"
        response = self.request("POST", path, body=body, content_type=content_type)
        if expect is not None and response.status != expect:
            raise SmokeFailure(f"{self.user}: POST {path} answered {response.status}, expected {expect}:\n{response.text[:1500]}")
        return response

    def submit(self, page, action, overrides=None, files=(), expect=200):
        """Posts the form of `page` whose action ends with `action`, as a browser would, with `overrides`."""
        form = find_form(page.text, action, self.last_path)
        fields = dict(form["fields"])
        fields.update(overrides or {})
        return self.post(form["action"], fields, files=files, expect=expect)


def multipart(fields, files):
    boundary = "smoke" + secrets.token_hex(12)
    out = io.BytesIO()
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
            out.write(str(item).encode() + b"\r\n")
    for name, filename, content_type, content in files:
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n".encode()
        )
        out.write(content + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


class FormParser(html.parser.HTMLParser):
    """The forms of a page with the values a browser would send (skipping <template> rows and buttons)."""

    def __init__(self):
        super().__init__()
        self.forms, self.form, self.select, self.textarea, self.in_template = [], None, None, None, 0
        self.options = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "template":
            self.in_template += 1
        if self.in_template:
            return
        if tag == "form":
            self.form = {"action": a.get("action") or "", "fields": {}, "selects": {}}
            self.forms.append(self.form)
        elif self.form is None:
            return
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image", "file", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.form["fields"][a["name"]] = a.get("value", "on" if kind in ("checkbox", "radio") else "")
        elif tag == "select" and a.get("name"):
            self.select = a["name"]
            self.form["fields"][self.select] = None
            self.form["selects"][self.select] = []
        elif tag == "option" and self.select:
            self.options.append([a.get("value", ""), "selected" in a, ""])
            self.form["selects"][self.select].append(self.options[-1])
        elif tag == "textarea" and a.get("name"):
            self.textarea = a["name"]
            self.form["fields"][self.textarea] = ""

    def handle_data(self, data):
        if self.in_template:
            return
        if self.options and self.select:
            self.options[-1][2] += data.strip()
        if self.textarea and self.form:
            self.form["fields"][self.textarea] += data

    def handle_endtag(self, tag):
        if tag == "template":
            self.in_template -= 1
        if self.in_template:
            return
        if tag == "select" and self.select:
            options = self.form["selects"][self.select]
            chosen = [value for value, selected, _ in options if selected] or [options[0][0] if options else ""]
            self.form["fields"][self.select] = chosen[0]
            self.select, self.options = None, []
        elif tag == "textarea":
            self.textarea = None
        elif tag == "form":
            self.form = None


def parse_forms(page):
    parser = FormParser()
    parser.feed(page)
    return parser.forms


def find_form(page, action, current_path):
    for form in parse_forms(page):
        target = urllib.parse.urljoin(current_path, html.unescape(form["action"])) if form["action"] else current_path
        if urllib.parse.urlsplit(target).path.endswith(action):
            return {**form, "action": target}
    raise SmokeFailure(f"no form posting to …{action} on {current_path}")


def option_value(form_page, action, field, label=None, current_path="/"):
    """The value of the option of `field` whose text is `label` (or the first non-empty one)."""
    form = find_form(form_page, action, current_path)
    for value, _, text in form["selects"].get(field, []):
        if value and (label is None or text == label):
            return value
    raise SmokeFailure(f"no option {label!r} in {field}; have {[t for _, _, t in form['selects'].get(field, [])]}")


# --------------------------------------------------------------------------------------------------------
# TOTP (RFC 6238), computed here independently of the portal, as an authenticator app would
# --------------------------------------------------------------------------------------------------------


def totp(secret, at=None):
    counter = int((at or time.time()) // 30)
    digest = hmac.new(base64.b32decode(secret), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 10**6:06d}"


def jpeg(title):
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (800, 600), (200, 30, 30))
    draw = ImageDraw.Draw(image)
    for i in range(0, 800, 40):
        draw.rectangle([i, 300, i + 20, 600], fill=(255, 215, 0))
    draw.text((20, 20), title.encode("ascii", "replace").decode(), fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def log_in(browser, username, totp_secret=None):
    page = browser.get("/accounts/login/")
    page = browser.submit(page, "/accounts/login/", {"login": username, "password": PASSWORD})
    if "/accounts/2fa/authenticate/" in browser.last_path:
        if not totp_secret:
            raise SmokeFailure(f"{username} was asked for a TOTP code")
        page = browser.submit(page, "/accounts/2fa/authenticate/", {"code": totp(totp_secret)})
    if "sessionid" not in browser.cookies or browser.last_path.startswith("/accounts/"):
        raise SmokeFailure(f"{username} could not sign in (ended on {browser.last_path}):\n{page.text[:1500]}")
    return page


# --------------------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the pairing_smoke database afterwards")
    options = parser.parse_args()

    def stop(signum, frame):
        raise SmokeFailure(f"interrupted by signal {signum}")

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, stop)

    missing = [tool for tool in ("nginx", "openssl") if not shutil.which(tool)]
    if missing:
        sys.exit(f"smoke run: {' and '.join(missing)} not found (apt-get install nginx openssl; .ci/run does)")
    run = Run()
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    media, static = ARTIFACTS / "media", ARTIFACTS / "static"
    database_url = f"{PG}/{DB_NAME}"
    common = dict(
        DATABASE_URL=database_url, MEDIA_ROOT=str(media), STATIC_ROOT=str(static),
        CELERY_BROKER_URL=f"{REDIS}/{BROKER_DB}", REDIS_URL=f"{REDIS}/{CACHE_DB}", LOG_LEVEL="INFO",
    )
    development = environment(**common)
    port, http_port, https_port = free_port(), free_port(), free_port()
    production = environment(
        **common,
        PORTAL_MODE="production", DEBUG="0", SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="127.0.0.1",
        TRUSTED_PROXY_COUNT="1", PORTAL_BASE_URL=f"https://127.0.0.1:{https_port}",
        MEDIA_ACCEL_REDIRECT="/protected-media/",
    )
    totp_secret = base64.b32encode(secrets.token_bytes(20)).decode()
    failed = None
    database_made = False
    try:
        with run.step("services: PostgreSQL and Redis answer; fresh database pairing_smoke, Redis dbs flushed"):
            postgres(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
            postgres(f"CREATE DATABASE {DB_NAME}")
            database_made = True
            redis_flush()
        with run.step("migrate"):
            manage(run, development, "migrate", "--noinput")
        with run.step("load the demo (development settings: load_demo refuses production)"):
            manage(run, development, "load_demo")
        with run.step("TOTP authenticator for admin (production requires MFA for program admins)"):
            manage_with_secret(run, development, totp_secret)
        with run.step("collectstatic (production: fingerprinted, compressed)"):
            manage(run, production, "collectstatic", "--noinput")
            manage(run, production, "check", "--deploy", "--fail-level", "WARNING")
        with run.step(f"start gunicorn (production, 127.0.0.1:{port}), a Celery worker and Celery beat"):
            run.start("gunicorn", [sys.executable, "-m", "gunicorn", "portal.wsgi", "--bind", f"127.0.0.1:{port}",
                                   "--workers", "2", "--access-logfile", "-", "--graceful-timeout", "10"], production)
            run.start("worker", [sys.executable, "-m", "celery", "-A", "portal", "worker", "--loglevel", "INFO",
                                 "--concurrency", "1", "-n", "smoke@%h"], production)
            run.start("beat", [sys.executable, "-m", "celery", "-A", "portal", "beat", "--loglevel", "INFO",
                               "--schedule", str(ARTIFACTS / "celerybeat-schedule")], production)
            probe = Browser(port, "probe")
            wait_until("gunicorn to answer /healthz", lambda: probe.request("GET", "/healthz").status == 200, 60, run)
            ready = wait_until("/readyz to say ok (the worker's heartbeat)", lambda: ready_body(probe), 60, run)
            print(f"         /readyz: {json.dumps(ready)}")
            wait_until("beat to start", lambda: "beat: Starting" in (ARTIFACTS / "beat.log").read_text(), 30, run)
            wait_until("beat's first tick noted in Redis (its health check reads it)", beat_ticked, 30, run)
        with run.step(f"start nginx with deploy/nginx.conf (TLS on 127.0.0.1:{https_port}, X-Accel-Redirect for media)"):
            main_conf = nginx_config(ARTIFACTS / "nginx", web_port=port, http_port=http_port, https_port=https_port, media=media)
            test = subprocess.run(["nginx", "-t", "-c", str(main_conf), "-p", str(ARTIFACTS / "nginx")], capture_output=True, text=True)
            if test.returncode != 0:
                raise SmokeFailure(f"nginx -t refuses the configuration:\n{test.stderr}")
            run.start("nginx", ["nginx", "-c", str(main_conf), "-p", str(ARTIFACTS / "nginx")], production)
            plain = Browser(http_port, "nginx-probe")
            wait_until("nginx to answer /nginx-healthz", lambda: plain.request("GET", "/nginx-healthz", follow=False).status == 200, 30, run)
            to_https = plain.request("GET", "/activities/", follow=False)
            if to_https.status != 301 or not (to_https.header("Location") or "").startswith("https://"):
                raise SmokeFailure(f"plain HTTP should move to HTTPS: {to_https.status} {to_https.header('Location')}")

        day = datetime.now(SHANGHAI).date() - timedelta(days=1)  # yesterday in Asia/Shanghai: never "in the future"
        period = f"{day:%Y-%m}"
        title = f"冒烟测试活动 {secrets.token_hex(3)}"

        secretary = Browser(https_port, "secretary3", tls=True)
        with run.step("secretary3 signs in"):
            log_in(secretary, "secretary3")
        with run.step(f"secretary3 records '{title}' on {day} with a JPEG photo and submits it"):
            form = secretary.get("/activities/new/")
            photo = jpeg(title)
            page = secretary.submit(
                form, "/activities/new/",
                {
                    "pairing": option_value(form.text, "/activities/new/", "pairing", current_path="/activities/new/"),
                    "activity_type": option_value(form.text, "/activities/new/", "activity_type", current_path="/activities/new/"),
                    "title": title, "date": day.isoformat(), "start_time": "09:00", "end_time": "11:00",
                    "place": "龙石村党群服务中心", "description": "冒烟测试：生产模式下的一次完整流程。",
                    "party_members": "3", "teachers": "1", "students": "6", "residents_served": "20",
                    "action": "submit",
                },
                files=[("new_photos", "smoke.jpg", "image/jpeg", photo)],
            )
            match = re.fullmatch(r"/activities/(\d+)/", secretary.last_path)
            if not match:
                raise SmokeFailure(f"the form did not lead to the new activity (ended on {secretary.last_path}):\n{page.text[:2000]}")
            activity_id = int(match.group(1))
            detail = page.text
            if title not in detail or status_of(detail) != "submitted":
                raise SmokeFailure(f"the activity page does not show it submitted (status {status_of(detail)})")
            pairing_line = re.search(r"<dd>([^<]+?) <span class=\"muted\">· ([^<]+)</span></dd>", detail)
            if not pairing_line:
                raise SmokeFailure("the activity page does not name its pairing and program")
            pairing_name, program_name = html.unescape(pairing_line.group(1)).strip(), html.unescape(pairing_line.group(2)).strip()
            photo_ids = sorted(set(map(int, re.findall(r"/activities/photos/(\d+)/", detail))))
            if len(photo_ids) != 1:
                raise SmokeFailure(f"expected one photo on the activity page, found {photo_ids}")
            print(f"         activity {activity_id} in {pairing_name} ({program_name}), photo {photo_ids[0]}")

        village = Browser(https_port, "longshi", tls=True)
        with run.step("longshi (the village) signs in, sees the photo, confirms the activity"):
            log_in(village, "longshi")
            image = village.get(f"/activities/photos/{photo_ids[0]}/")
            if image.header("Content-Type") != "image/jpeg" or not image.body.startswith(b"\xff\xd8"):
                raise SmokeFailure(f"the photo came back as {image.header('Content-Type')}, {len(image.body)} bytes")
            # gunicorn itself only says yes and where: the bytes above came from nginx
            behind = Browser(port, "longshi")
            behind.cookies = dict(village.cookies)
            said = behind.get(f"/activities/photos/{photo_ids[0]}/")
            internal = said.header("X-Accel-Redirect") or ""
            if not internal.startswith("/protected-media/") or said.body:
                raise SmokeFailure(f"the portal should hand the photo to nginx: X-Accel-Redirect {internal!r}, {len(said.body)} bytes")
            if village.get(internal, expect=None).status != 404:
                raise SmokeFailure(f"nginx serves {internal} to a client that asks for it by URL")
            if Browser(https_port, "anonymous", tls=True).request("GET", f"/activities/photos/{photo_ids[0]}/", follow=False).status not in (302, 403, 404):
                raise SmokeFailure("an anonymous client got the photo")
            print(f"         {len(image.body)} bytes sent by nginx for {internal}; that URL itself: 404")
            detail = village.get(f"/activities/{activity_id}/")
            village.submit(detail, f"/activities/{activity_id}/confirm/")
            after = village.get(f"/activities/{activity_id}/")
            if status_of(after.text) != "confirmed":
                raise SmokeFailure(f"the activity page shows status {status_of(after.text)}, not confirmed")

        admin = Browser(https_port, "admin", tls=True)
        with run.step("admin signs in with password and a TOTP code"):
            log_in(admin, "admin", totp_secret)
        with run.step(f"admin asks for the monthly reports of {period} ({program_name})"):
            form = admin.get("/reports/generate/")
            program = option_value(form.text, "/reports/generate/", "program", program_name, "/reports/generate/")
            admin.submit(form, "/reports/generate/", {"kind": "monthly", "period": period, "program": program})
            if not admin.last_path.startswith("/reports/"):
                raise SmokeFailure(f"generating did not lead to the report list ({admin.last_path})")

        with run.step("the worker builds them; admin downloads the program's report as .docx"):
            # The program-wide report: made for every period (a pairing gets its own only within its term); it
            # lists the month's activities of all the program's pairings.
            listing = f"/reports/?program={program}&period={period}"

            def program_report():
                page = admin.get(listing).text
                for row in re.findall(r"<tr>(.*?)</tr>", page, re.S):
                    link = re.search(r'href="/reports/(\d+)/"', row)
                    cells = [html.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
                    # Read the period and scope cells by their place after the period, not by column number:
                    # an admin's list has a leading checkbox column (bulk publishing).
                    if link and period in cells:
                        at = cells.index(period)
                        if at + 1 < len(cells) and cells[at + 1].startswith(f"{program_name} · "):
                            return int(link.group(1))
                return None

            report_id = wait_until(f"the program report of {program_name} for {period}", program_report, 60, run)
            docx = admin.get(f"/reports/{report_id}/download/docx/")
            if "wordprocessingml" not in (docx.header("Content-Type") or ""):
                raise SmokeFailure(f"the .docx came as {docx.header('Content-Type')}")
            (ARTIFACTS / f"report-{report_id}.docx").write_bytes(docx.body)
            with zipfile.ZipFile(io.BytesIO(docx.body)) as word:
                document = word.read("word/document.xml").decode("utf-8")
            text = re.sub(r"<[^>]+>", "", document)
            if title not in text:
                raise SmokeFailure(f"report {report_id}'s .docx ({len(docx.body)} bytes) does not name '{title}'")
            print(f"         report {report_id}: {len(docx.body)} bytes, a Word document listing the activity")

        with run.step("/readyz says ok with the worker live; a static file from whitenoise through nginx"):
            body = ready_body(probe)
            if not body or body["checks"] != {"database": "ok", "redis": "ok", "worker": "ok"}:
                raise SmokeFailure(f"/readyz: {body}")
            probe = Browser(https_port, "probe", tls=True)
            login_page = probe.get("/accounts/login/").text
            css = re.search(r'href="(/static/[^"]+\.css)"', login_page)
            if not css or not re.search(r"\.[0-9a-f]{12}\.css$", css.group(1)):
                raise SmokeFailure(f"the login page links no fingerprinted stylesheet ({css and css.group(1)})")
            sheet = probe.get(css.group(1))
            if "text/css" not in (sheet.header("Content-Type") or "") or "max-age=315360000" not in (sheet.header("Cache-Control") or ""):
                raise SmokeFailure(f"{css.group(1)}: {sheet.header('Content-Type')}, {sheet.header('Cache-Control')}")
            print(f"         {css.group(1)}: {len(sheet.body)} bytes, {sheet.header('Cache-Control')}")
            run.check_alive()
    except SmokeFailure as error:
        failed = f"{run.step_name}: {error}"
    except Exception as error:  # an unexpected error is a failure of the step too, with its traceback
        import traceback

        failed = f"{run.step_name}: {type(error).__name__}: {error}\n{traceback.format_exc()}"
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        print(f"[{time.monotonic() - run.started:6.1f}s] stopping the processes it started …", flush=True)
        run.stop_all()
        if failed:
            print(f"\nSMOKE FAILED at step «{failed}»", file=sys.stderr)
            run.tails()
            print(f"(logs in {ARTIFACTS.relative_to(BASE_DIR)}/)", file=sys.stderr)
        cleanup_errors = []
        if database_made and not options.keep:
            try:
                postgres(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
            except Exception as error:
                cleanup_errors.append(f"could not drop {DB_NAME}: {error}")
        try:
            redis_flush()
        except Exception as error:
            cleanup_errors.append(f"could not flush Redis: {error}")
        for line in cleanup_errors:
            print(line, file=sys.stderr)
    total = time.monotonic() - run.started
    if failed or cleanup_errors:
        sys.exit(1)
    print("\nsmoke run passed; step timings:")
    for name, seconds in run.timings:
        print(f"  {seconds:6.2f}s  {name}")
    print(f"  {total:6.2f}s  in all")


def status_of(page):
    """The activity's status as its page shows it ({% status_badge %}, activities/templatetags/activity_tags.py)."""
    match = re.search(r'<span class="status status-(\w+)">', page)
    return match and match.group(1)


def ready_body(browser):
    response = browser.request("GET", "/readyz", headers={"X-Forwarded-Proto": "http"})
    body = json.loads(response.body)
    return body if response.status == 200 and body.get("status") == "ok" else None


def manage_with_secret(run, env, secret):
    return manage(
        run, {**env, "SMOKE_TOTP_SECRET": secret}, "shell", "-c",
        "import os; from allauth.mfa.totp.internal.auth import TOTP; from portal.models import User; "
        "TOTP.activate(User.objects.get(username='admin'), os.environ['SMOKE_TOTP_SECRET'])",
    )


if __name__ == "__main__":
    main()
