"""`make backup` and `make restore`, natively: the PostgreSQL database (pg_dump -Fc / pg_restore) and the media
folder (a .tar.gz), for the database and MEDIA_ROOT that the portal's settings name (DATABASE_URL, MEDIA_ROOT).

  backup [--dir backup]               writes <dir>/portal-<stamp>.dump, then <dir>/media-<stamp>.tar.gz (the database
                                      first: a file uploaded in between is only an unused file, never a row pointing
                                      at a missing one); prints the stamp
  restore --stamp <stamp> [--dir backup]
                                      creates the database if it is missing, restores the dump over it (pg_restore
                                      --clean --if-exists --no-owner, in one transaction), then unpacks the media
                                      folder over MEDIA_ROOT. Stop web, worker and beat first: nothing may write.

Docker compose runs the same tools inside its containers (README, "Backup").
"""

import argparse
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))


def portal_settings():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django
    from django.conf import settings

    django.setup()
    database = settings.DATABASES["default"]
    if database["ENGINE"] not in ("portal.postgresql", "django.db.backends.postgresql"):
        sys.exit("backup and restore need PostgreSQL: set DATABASE_URL=postgres://… (SQLite: copy db.sqlite3).")
    return database, Path(settings.MEDIA_ROOT)


def libpq_env(database):
    """The connection as libpq's variables, so no password appears on a command line."""
    env = dict(os.environ)
    for key, name in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"), ("PASSWORD", "PGPASSWORD")):
        if database.get(key):
            env[name] = str(database[key])
    env["PGDATABASE"] = database["NAME"]
    env.setdefault("PGCONNECT_TIMEOUT", "10")
    return env


def backup(folder, stamp=None):
    database, media = portal_settings()
    stamp = stamp or time.strftime("%Y%m%d-%H%M%S")
    folder.mkdir(parents=True, exist_ok=True)
    dump, archive = folder / f"portal-{stamp}.dump", folder / f"media-{stamp}.tar.gz"
    subprocess.run(["pg_dump", "-Fc", "--no-owner", "-f", str(dump)], env=libpq_env(database), check=True)
    with tarfile.open(archive, "w:gz", compresslevel=1) as tar:  # photos are JPEGs already: level 1 is enough
        if media.exists():
            tar.add(media, arcname="media")
    print(stamp)
    return stamp


def restore(folder, stamp):
    database, media = portal_settings()
    dump, archive = folder / f"portal-{stamp}.dump", folder / f"media-{stamp}.tar.gz"
    for path in (dump, archive):
        if not path.exists():
            sys.exit(f"{path} is missing")
    env = libpq_env(database)
    exists = subprocess.run(
        ["psql", "-d", "postgres", "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{database['NAME']}'"],
        env={**env, "PGDATABASE": "postgres"}, check=True, capture_output=True, text=True,
    ).stdout.strip()
    if not exists:
        subprocess.run(["createdb", database["NAME"]], env=env, check=True)
    subprocess.run(
        ["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error",
         "-d", database["NAME"], str(dump)],
        env=env, check=True,
    )
    media.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            if not (member.name == "media" or member.name.startswith("media/")):
                sys.exit(f"{archive}: unexpected entry {member.name!r}")
            member.name = member.name[len("media"):].lstrip("/") or "."
        tar.extractall(media, filter="data")
    print(f"restored {dump.name} and {archive.name}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["backup", "restore"])
    parser.add_argument("--dir", default="backup", type=Path, help="where the backups are (default: backup/)")
    parser.add_argument("--stamp", help="restore: which backup (the stamp `backup` printed)")
    options = parser.parse_args()
    if options.action == "backup":
        backup(options.dir, options.stamp)
    else:
        if not options.stamp:
            parser.error("restore needs --stamp (make restore STAMP=…)")
        restore(options.dir, options.stamp)


if __name__ == "__main__":
    main()
