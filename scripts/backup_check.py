"""The backup round trip, proven (CI runs it after the PostgreSQL tests): `make backup`, drop everything,
`make restore`, and nothing differs.

A fresh PostgreSQL database (pairing_backup_check on 127.0.0.1:5432, or SMOKE_POSTGRES's server) gets the
migrations and the demo, and its media folder (artifacts/backup_check/media) a few uploads of the portal's kinds
(photos, a signed agreement, an export, one with a Chinese name). Then `make backup` into artifacts/backup_check/,
the database is dropped and the media folder deleted, `make restore BACKUP=<stamp>` brings both back, and every
table's row count and every media file's SHA-256 must equal what they were. The database is dropped at the end.
Prints each step with its time (about 30 s in all).
"""

import hashlib
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
ARTIFACTS = BASE_DIR / "artifacts" / "backup_check"
PG = os.environ.get("SMOKE_POSTGRES", "postgres://postgres@127.0.0.1:5432")
DB_NAME = "pairing_backup_check"

MEDIA_FILES = {
    "activities/photos/2024/03/photo-1.jpg": 300_000,
    "activities/photos/2024/03/photo-2.jpg": 120_000,
    "pairings/agreements/结对共建协议书.pdf": 80_000,
    "exports/2024/annual-export.xlsx": 50_000,
    "meetings/2024/03/纪要 第一次.pdf": 10_000,
}


def environment():
    settings_source = (BASE_DIR / "portal" / "settings.py").read_text(encoding="utf-8")
    portal_variables = set(re.findall(r'\benv_\w+\(\s*"([A-Z][A-Z0-9_]*)"', settings_source))
    env = {k: v for k, v in os.environ.items() if k not in portal_variables and k != "DJANGO_SETTINGS_MODULE"}
    env.update(DJANGO_SETTINGS_MODULE="portal.settings", DATABASE_URL=f"{PG}/{DB_NAME}",
               MEDIA_ROOT=str(ARTIFACTS / "media"), PYTHONUNBUFFERED="1", LOG_LEVEL="WARNING")
    return env


def postgres(sql, database="postgres"):
    import psycopg

    with psycopg.connect(f"{PG}/{database}", autocommit=True, connect_timeout=5) as connection:
        cursor = connection.execute(sql)
        return cursor.fetchall() if cursor.description else None


def row_counts():
    """{table: rows} of every table of the database (the public schema: Django's and the portal's)."""
    tables = [name for (name,) in postgres(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename", DB_NAME)]
    query = " UNION ALL ".join(f"SELECT '{name}', count(*) FROM public.\"{name}\"" for name in tables)
    return dict(postgres(query, DB_NAME))


def media_sums(folder):
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*")) if path.is_file()
    }


def step(name, started=[time.monotonic()]):  # noqa: B006  (the run's start, kept between calls)
    print(f"[{time.monotonic() - started[0]:6.1f}s] {name}", flush=True)


def run(args, env):
    result = subprocess.run(args, cwd=BASE_DIR, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{(result.stdout + result.stderr)[-3000:]}")
    return result.stdout


def main():
    began = time.monotonic()
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    env = environment()
    python = sys.executable
    make = ["make", "-s", f"PY={python}", f"BACKUP_DIR={ARTIFACTS}"]
    try:
        step(f"fresh database {DB_NAME}, migrations, the demo")
        postgres(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        postgres(f"CREATE DATABASE {DB_NAME}")
        run([python, "manage.py", "migrate", "--noinput", "-v0"], env)
        run([python, "manage.py", "load_demo"], env)
        media = ARTIFACTS / "media"
        for name, size in MEDIA_FILES.items():
            path = media / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(secrets.token_bytes(size))
        before_rows, before_files = row_counts(), media_sums(media)
        if sum(before_rows.values()) == 0 or len(before_files) < len(MEDIA_FILES):
            sys.exit(f"nothing to back up: {sum(before_rows.values())} rows, {len(before_files)} files")
        step(f"{len(before_rows)} tables, {sum(before_rows.values())} rows, {len(before_files)} media files; make backup")
        stamp = run([*make, "backup"], env).strip().splitlines()[-1]
        sizes = {p.name: p.stat().st_size for p in ARTIFACTS.glob(f"*-{stamp}.*")}
        if len(sizes) != 2:
            sys.exit(f"make backup made {sorted(sizes)} in {ARTIFACTS}")
        step(f"backup {stamp}: {sizes}; drop the database and the media folder")
        postgres(f"DROP DATABASE {DB_NAME} WITH (FORCE)")
        shutil.rmtree(media)
        step(f"make restore BACKUP={stamp}")
        run([*make, "restore", f"BACKUP={stamp}"], env)
        after_rows, after_files = row_counts(), media_sums(media)
        step("compare every table's rows and every media file's SHA-256")
        problems = [
            f"table {name}: {before_rows.get(name)} rows before, {after_rows.get(name)} after"
            for name in sorted(set(before_rows) | set(after_rows)) if before_rows.get(name) != after_rows.get(name)
        ] + [
            f"media {name}: {before_files.get(name, 'missing')[:12]} before, {after_files.get(name, 'missing')[:12]} after"
            for name in sorted(set(before_files) | set(after_files)) if before_files.get(name) != after_files.get(name)
        ]
        if problems:
            sys.exit("the restore differs from the backup:\n  " + "\n  ".join(problems))
        # the restored portal works: its migrations are all there
        run([python, "manage.py", "migrate", "--check", "--noinput"], env)
    finally:
        postgres(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    print(f"backup check passed in {time.monotonic() - began:.1f} s: {len(before_rows)} tables "
          f"({sum(before_rows.values())} rows) and {len(before_files)} media files restored identically")


if __name__ == "__main__":
    main()
