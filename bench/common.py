"""What the generator and the harness share: the database, the benchmark users and how to reach Django."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable

PG_HOST = os.environ.get("BENCH_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("BENCH_PG_PORT", "5432"))
PG_USER = os.environ.get("BENCH_PG_USER", "postgres")
BENCH_DB = os.environ.get("BENCH_DB", "pairing_bench")


def conninfo(dbname=BENCH_DB):
    return f"host={PG_HOST} port={PG_PORT} user={PG_USER} dbname={dbname}"


def database_url(dbname=BENCH_DB):
    return f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{dbname}"


# The benchmark's people (password below): who they are is fixed by the generator.
BENCH_PASSWORD = "bench-pass-2025-province"
USERS = {
    "secretary": "bench_secretary",  # secretary of one branch taking part in pairing 1
    "committee": "bench_committee",  # party committee of pairing 1's school (its whole subtree)
    "admin": "bench_admin",  # program admin on the province office: every program, every pairing
    "village": "bench_village",  # village committee of pairing 1's village
}

DEFAULT_SIZES = {
    "pairings": 1_000,
    "branches": 5_000,
    "activities": 1_000_000,
    "volunteers": 100_000,
    "service_records": 2_000_000,
}
DEFAULT_SEED = 20250101
FIRST_DAY = (2023, 1, 1)
LAST_DAY = (2025, 12, 31)
YEARS = (2023, 2024, 2025)


def django_env(**extra):
    """The environment of a Django process pointed at the benchmark database."""
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    env["DATABASE_URL"] = database_url()
    env.pop("CELERY_BROKER_URL", None)
    # the cache as in production (portal/versioned.py keeps the set-up's values there): Redis, its own db
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/8")
    # the probes' Django test client asks for "testserver"; without it every page answers 400
    env.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def setup_django(**extra):
    """Point this process at the benchmark database and set Django up."""
    os.environ.update(django_env(**extra))
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()
