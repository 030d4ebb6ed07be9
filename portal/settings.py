"""Settings, driven by environment variables (README lists them). Bad values stop start-up with a message."""

import ipaddress
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from portal.env import env_bool, env_choice, env_int, env_list, env_str, env_url_prefix

BASE_DIR = Path(__file__).resolve().parent.parent

# "development" (the quick start) or "production" (secure cookies, HSTS, no DEBUG, a real secret).
PORTAL_MODE = env_choice("PORTAL_MODE", "development", ("development", "production"))
PRODUCTION = PORTAL_MODE == "production"

DEBUG = env_bool("DEBUG", default=not PRODUCTION)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off when PORTAL_MODE=production.")

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set when PORTAL_MODE=production.")
    SECRET_KEY = "development-only-secret-key-not-for-production-use-0123456789abcdef"
elif PRODUCTION and len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters long in production.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if not PRODUCTION else [])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must list the portal's host names in production.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# The pages of some models are served by an app to the right of the model's own (the volunteer and team pages
# compose volunteers, activities, figures and reports: dashboards/volunteers.py). The wiring names them here, so
# any app links to them through Model.get_absolute_url() without naming an app to its right.
ABSOLUTE_URL_OVERRIDES = {
    "volunteers.volunteer": lambda volunteer: _reverse("dashboards:volunteer_detail", args=[volunteer.pk]),
    "volunteers.team": lambda team: _reverse("dashboards:team_detail", args=[team.pk]),
}


def _reverse(*args, **kwargs):
    from django.urls import reverse  # at call time: the URLconf is not loaded when settings are

    return reverse(*args, **kwargs)


INSTALLED_APPS = [
    "portal",
    "pairings",
    "volunteers",
    "activities",
    "figures",
    "reports",
    "dashboards",
    "demo",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_filters",
    "simple_history",
    "csp",
    "django_prometheus",
]

MIDDLEWARE = [
    # first: every later line of the request carries its id (portal/logs.py)
    "portal.logs.RequestIdMiddleware",
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "portal.middleware.ChineseFirstMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "portal.sessions.AuthenticationMiddleware",  # the user read with the session (portal/sessions.py)
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "portal.middleware.RequireAdminMFAMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "reports.context_processors.notices",
            ],
        },
    },
]

# --- Database: SQLite by default; DATABASE_URL=postgres://... selects PostgreSQL through psycopg 3.
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
if not DATABASE_URL.split(":", 1)[0] in {"sqlite", "postgres", "postgresql"}:
    raise ImproperlyConfigured(
        "DATABASE_URL must start with sqlite:// or postgres:// (got "
        f"{DATABASE_URL.split(':', 1)[0]!r})."
    )
try:
    _database = dj_database_url.parse(
        DATABASE_URL,
        # Persistent connections: a new PostgreSQL connection per request costs tens of milliseconds.
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=True,
    )
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL cannot be read: {exc}") from None
if _database["ENGINE"] == "django.db.backends.sqlite3":
    _database["CONN_MAX_AGE"] = 0
    _database.setdefault("OPTIONS", {})["timeout"] = 20
else:
    # A database host that does not answer fails a connection (and /readyz) in seconds, not minutes
    # (?connect_timeout=… in DATABASE_URL overrides it).
    _database.setdefault("OPTIONS", {}).setdefault("connect_timeout", 3)
    # Django's backend, with a health check that asks the server only when the socket says something happened
    # (portal/postgresql/base.py): a page saves a round trip.
    _database["ENGINE"] = "portal.postgresql"
_database["TEST"] = {"NAME": env_str("DATABASE_TEST_NAME") or None}
# The session's read, run by every signed-in request with the same text, is a prepared statement on PostgreSQL
# (portal.db.values_bound): 0 behind a pooler in transaction mode, where a prepared statement cannot be kept.
DATABASE_PREPARED = env_bool("DATABASE_PREPARED", True)
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# A covering index's INCLUDE columns (activity_alive_stamps_idx) serve PostgreSQL's index-only scans; SQLite builds
# the index on its key columns alone, which is all it needs, so its warning says nothing to act on.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

AUTH_USER_MODEL = "portal.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"

# --- Accounts (django-allauth): no public sign-up; users are created or invited by an admin.
ACCOUNT_ADAPTER = "portal.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = False
# Failed sign-ins: 5 in 5 minutes per (account, client address) (portal.adapters keys "login_failed" so), and 20 in
# 15 minutes per account from anywhere ("login_failed_account"). One address can never reach the account's limit
# (5 per 5 minutes is at most 15 per 15), so a stranger who knows a village's user name cannot lock the village out;
# many addresses together still get at most 80 guesses an hour.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "login_failed_account": "20/15m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
}
# How many reverse proxies stand in front of the portal: allauth takes the client address from
# X-Forwarded-For accordingly (0: use REMOTE_ADDR, ignore the header).
ALLAUTH_TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0, maximum=5)
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
# Program admins and staff must set up TOTP before they can use the portal. On by default in production;
# the quick start leaves it off so the demo admin can look around at once.
REQUIRE_ADMIN_MFA = env_bool("REQUIRE_ADMIN_MFA", default=PRODUCTION)
MFA_TOTP_ISSUER = "结对共建"

# --- Language and time.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("zh-hant", "繁體中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static and media. Static files are served by the app (whitenoise); media only through views
# that check who may see them, never by URL.
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
# Behind nginx: the URL prefix of its `internal` location aliased to MEDIA_ROOT (deploy/nginx.conf). The views
# still check access, then answer with X-Accel-Redirect and nginx sends the file. Empty: Django sends it.
MEDIA_ACCEL_REDIRECT = env_url_prefix("MEDIA_ACCEL_REDIRECT")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "portal.storage.StaticStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000

# --- E-mail: console in development; SMTP settings from the environment in production.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "portal@localhost")
# Seconds an SMTP conversation may wait on the server: a mail server that hangs never holds a worker for long.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1, maximum=120)

# --- Notifications sent from the outbox (reports.channels): group robots (企业微信, 钉钉) and the daily digest.
# The hosts a group robot's address may name (https only); an entry with a scheme ("http://127.0.0.1:8025") allows
# exactly that origin (tests). Checked when a robot is saved and again before each post.
WEBHOOK_HOSTS = env_list("WEBHOOK_HOSTS", ["qyapi.weixin.qq.com", "oapi.dingtalk.com"])
WEBHOOK_TIMEOUT = env_int("WEBHOOK_TIMEOUT", 5, minimum=1, maximum=60)
# A message that fails is tried again after DELIVERY_RETRY_SECONDS, doubling each time (at most 6 hours), and
# given up after DELIVERY_MAX_ATTEMPTS attempts.
DELIVERY_MAX_ATTEMPTS = env_int("DELIVERY_MAX_ATTEMPTS", 8, minimum=1, maximum=50)
DELIVERY_RETRY_SECONDS = env_int("DELIVERY_RETRY_SECONDS", 60, minimum=1)

# The annual export's CSV ledger is written by this many COPYs at once, each a run of pairings on a connection of
# its own (one snapshot): the database's cores write the rows' cells side by side. 1: one COPY.
LEDGER_COPY_PARTS = env_int("LEDGER_COPY_PARTS", 2, minimum=1, maximum=8)

# --- Celery: Redis when CELERY_BROKER_URL is set; otherwise tasks run eagerly in the caller.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
if CELERY_BROKER_URL and not CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    raise ImproperlyConfigured("CELERY_BROKER_URL must be a redis:// or rediss:// URL.")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
# Post a group robot's message as soon as its event is committed (a task) rather than at the next minute's sweep.
# Off when tasks run eagerly (no broker): the page itself would then wait on the robot's server.
DELIVERY_SEND_ON_COMMIT = env_bool("DELIVERY_SEND_ON_COMMIT", not CELERY_TASK_ALWAYS_EAGER)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
# Beat records each tick in Redis (portal.celery.TickingScheduler) and wakes at least once a minute, so its
# health check (deploy/healthcheck.py beat) sees a loop that stopped.
CELERY_BEAT_SCHEDULER = "portal.celery:TickingScheduler"
CELERY_BEAT_MAX_LOOP_INTERVAL = 60
# Longer than the longest task, so a slow report is not redelivered while it is still running. A task whose
# worker died is delivered again once this many seconds have passed since it was taken.
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 3 * 3600, minimum=1)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    "socket_connect_timeout": 2,
    "socket_timeout": 2,  # BRPOP waits 1 s at most (kombu), so 2 s is safe for the worker too
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# Kombu's Redis transport, except that an ack Redis did not take (it hung just then) still frees the worker's prefetch
# slot and is sent again later: otherwise the worker takes no task ever again (portal/broker.py). Not for rediss://,
# whose TLS defaults kombu derives from the URL's scheme only when it picks the transport itself. (Celery's
# broker_heartbeat is for AMQP only, and the socket timeouts above already bound every call: the stuck worker was the
# slot, not the connection.)
if CELERY_BROKER_URL.startswith("redis://"):
    CELERY_BROKER_TRANSPORT = "portal.broker:Transport"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Pages enqueue through portal.queue.enqueue (its own connection: 0.3 s timeouts, no retry, then the outbox table).
# This policy is for the worker's and beat's own sends.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}
# Beat, in Asia/Shanghai (CELERY_TIMEZONE): the monthly reminder (一月一提示) at 06:00 on the 1st for the
# previous month; the quarterly coordination report (一季一调度) at 06:00 on the 1st of Jan/Apr/Jul/Oct for
# the previous quarter; every minute, the outbox of notifications (a digest e-mail, a group robot's post) that is
# due, so a message that could not be queued when it was made, or failed and waits for its retry, goes out;
# at 07:30 every day the scan for what comes due (reports.tasks.scan_due); and at 08:00 the daily digest e-mails
# (one per person and day at most).
CELERY_BEAT_SCHEDULE = {
    "monthly-reports": {
        "task": "reports.tasks.generate_monthly_reports",
        "schedule": crontab(minute=0, hour=6, day_of_month=1),
    },
    "quarterly-reports": {
        "task": "reports.tasks.generate_quarterly_reports",
        "schedule": crontab(minute=0, hour=6, day_of_month=1, month_of_year="1,4,7,10"),
    },
    "send-deliveries": {
        "task": "reports.tasks.send_deliveries",
        "schedule": crontab(minute="*"),
        # a sweep that could not run within its minute is replaced by the next one, never piled up
        "options": {"expires": 50},
    },
    "daily-digests": {
        "task": "reports.tasks.send_digests",
        "schedule": crontab(minute=0, hour=8),
    },
    # tasks that pages could not hand to the broker (portal/queue.py keeps them in the outbox table)
    "task-outbox": {
        "task": "portal.outbox_flush",
        "schedule": crontab(minute="*"),
        "options": {"expires": 50},
    },
    # the day's time-based notices (items coming due, dormant pairings, expiring agreements, drafts waiting)
    "due-scan": {
        "task": "reports.tasks.scan_due",
        "schedule": crontab(minute=30, hour=7),
    },
    # photos uploaded for an activity form but never attached within a day: rows and files removed, every hour
    "photo-uploads-purge": {
        "task": "activities.tasks.purge_photo_uploads",
        "schedule": crontab(minute=40),
        "options": {"expires": 1800},
    },
    # the forms' submit keys (never twice) are remembered for 90 days, then forgotten: every night
    "submit-keys-purge": {
        "task": "activities.tasks.purge_submit_keys",
        "schedule": crontab(minute=50, hour=3),
        "options": {"expires": 3600},
    },
}

# --- Cache: Redis when REDIS_URL is set (shared by all web processes), local memory otherwise. The Redis cache
# has short timeouts and fails open (portal/cache.py): a Redis that is down or hung costs a page at most a quarter
# of a second, and sign-in goes on without its rate limits (a warning is logged).
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured("REDIS_URL must be a redis://, rediss:// or unix:// URL.")
if PRODUCTION and not REDIS_URL:
    # Each gunicorn worker would keep its own sign-in counters: N workers allow N times the tries.
    raise ImproperlyConfigured(
        "REDIS_URL must name the shared Redis cache when PORTAL_MODE=production (the sign-in rate limits must be "
        "shared by all web processes), e.g. REDIS_URL=redis://redis:6379/1."
    )
CACHES = {
    "default": (
        {"BACKEND": "portal.cache.FailOpenRedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# --- Sessions and security. Sessions are kept in the database only, each read with its user (portal/sessions.py).
SESSION_ENGINE = "portal.sessions"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600, minimum=300)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

# The portal's pages load everything from their own origin and run no inline script.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

# --- Logs (portal/logs.py): one JSON object per line in production, plain text in development (LOG_FORMAT decides),
# each with the request id, the user's id and the Celery task's id. The worker and beat use this too (portal/celery.py).
LOG_FORMAT = env_choice("LOG_FORMAT", "json" if PRODUCTION else "text", ("json", "text"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "portal.logs.ContextFilter"}},
    "formatters": {"json": {"()": "portal.logs.JsonFormatter"}, "text": {"()": "portal.logs.TextFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["context"], "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # Django's own console handler (DEBUG only) would print its lines a second time, without the ids
    "loggers": {"django": {"handlers": [], "level": "INFO"}},
}

# --- Metrics (portal/metrics.py): GET /metrics answers only these addresses (connecting directly, not through a
# proxy) or a client that sends "Authorization: Bearer <METRICS_TOKEN>"; everyone else gets 404. The Celery worker
# serves its own (task durations) on METRICS_WORKER_PORT (0: not at all) at METRICS_WORKER_ADDRESS.
try:
    METRICS_ALLOWED_NETWORKS = [
        ipaddress.ip_network(entry, strict=False) for entry in env_list("METRICS_ALLOWED_IPS", ["127.0.0.1", "::1"])
    ]
except ValueError as exc:
    raise ImproperlyConfigured(f"METRICS_ALLOWED_IPS must list addresses or networks (10.0.0.0/8): {exc}") from None
METRICS_TOKEN = env_str("METRICS_TOKEN")
if METRICS_TOKEN and len(METRICS_TOKEN) < 32:
    raise ImproperlyConfigured("METRICS_TOKEN must be at least 32 characters long (or empty: no token).")
METRICS_WORKER_PORT = env_int("METRICS_WORKER_PORT", 0, minimum=0, maximum=65535)
METRICS_WORKER_ADDRESS = env_str("METRICS_WORKER_ADDRESS", "127.0.0.1")

PORTAL_DEMO_PASSWORD = "pairing-demo-2024"
SITE_TITLE = _("Pairing portal")

# The address people reach the portal at, for links in e-mails sent outside a request (invitations, reports).
PORTAL_BASE_URL = env_str("PORTAL_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
