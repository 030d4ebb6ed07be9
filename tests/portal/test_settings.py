"""portal/settings.py checks the environment at start-up: a bad value stops the process and names the variable.

Each case starts a fresh Python process (settings are read once per process), with the portal's own
variables cleared first so the developer's or CI's environment (e.g. DATABASE_URL) cannot leak in.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]

# Every variable portal/settings.py reads through portal.env (README and .env.example document them).
SETTINGS_SOURCE = (BASE_DIR / "portal" / "settings.py").read_text(encoding="utf-8")
PORTAL_VARIABLES = sorted(set(re.findall(r'\benv_\w+\(\s*"([A-Z][A-Z0-9_]*)"', SETTINGS_SOURCE)))
SECRET_60 = "k7#Qz-Lm2$Wp9^Rt4&Yv8*Bn3(Hx6)Jc1!Fd5~Gs0+Ua7=Ek2?Mo9%Ti4@Z"
PRODUCTION = {
    "PORTAL_MODE": "production", "SECRET_KEY": SECRET_60, "ALLOWED_HOSTS": "portal.example.org", "DEBUG": "0",
    "REDIS_URL": "redis://127.0.0.1:6379/1",
}


def run(args, **env):
    clean = {k: v for k, v in os.environ.items() if k not in PORTAL_VARIABLES}
    clean["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    clean.update(env)
    return subprocess.run(
        [sys.executable, *args], cwd=BASE_DIR, env=clean, capture_output=True, text=True, timeout=120
    )


def setup(**env):
    return run(["-c", "import django; django.setup()"], **env)


def test_defaults_start():
    result = setup()
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "env, name",
    [
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"PORTAL_MODE": "production", "ALLOWED_HOSTS": "portal.example.org"}, "SECRET_KEY"),
        ({"CELERY_BROKER_URL": "amqp://x"}, "CELERY_BROKER_URL"),
        ({"DATABASE_CONN_MAX_AGE": "abc"}, "DATABASE_CONN_MAX_AGE"),
        ({"DATABASE_CONN_MAX_AGE": "-1"}, "DATABASE_CONN_MAX_AGE"),
        ({"PORTAL_MODE": "staging"}, "PORTAL_MODE"),
        ({**PRODUCTION, "SECRET_KEY": "too-short"}, "SECRET_KEY"),
        ({**PRODUCTION, "DEBUG": "1"}, "DEBUG"),
        ({**PRODUCTION, "ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS"),
        ({"EMAIL_PORT": "0"}, "EMAIL_PORT"),
        ({"EMAIL_USE_TLS": "sometimes"}, "EMAIL_USE_TLS"),
        ({"TRUSTED_PROXY_COUNT": "many"}, "TRUSTED_PROXY_COUNT"),
        ({"REQUIRE_ADMIN_MFA": "later"}, "REQUIRE_ADMIN_MFA"),
        ({"SESSION_COOKIE_AGE": "60"}, "SESSION_COOKIE_AGE"),
        ({**PRODUCTION, "SECURE_HSTS_SECONDS": "1y"}, "SECURE_HSTS_SECONDS"),
        # without a shared cache each web process would keep its own sign-in counters
        ({**PRODUCTION, "REDIS_URL": ""}, "REDIS_URL"),
        ({"REDIS_URL": "memcached://x"}, "REDIS_URL"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_bad_value_stops_start_up_naming_the_variable(env, name):
    result = setup(**env)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured: "), result.stderr
    assert name in last_line, result.stderr


def test_production_passes_the_deploy_check():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_settings_variables_found():
    assert {"PORTAL_MODE", "SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL"} <= set(PORTAL_VARIABLES)
    # Nothing reads the environment behind portal.env's back (it would escape these tests and the docs).
    assert "os.environ" not in SETTINGS_SOURCE and "getenv" not in SETTINGS_SOURCE


@pytest.mark.parametrize("document", ["README.md", ".env.example"])
def test_every_variable_is_documented(document):
    text = (BASE_DIR / document).read_text(encoding="utf-8")
    missing = [name for name in PORTAL_VARIABLES if not re.search(rf"\b{name}\b", text)]
    assert not missing, f"{document} does not document {missing}"


def read_env_example():
    values = {}
    for line in (BASE_DIR / ".env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def test_env_example_with_its_blanks_filled_passes_the_deploy_check():
    values = read_env_example()
    assert values["PORTAL_MODE"] == "production"
    assert values["SECRET_KEY"] == "change-me"
    values["SECRET_KEY"] = SECRET_60
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **values)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
