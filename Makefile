# The portal's commands. `make run` and `make test` are the README's quick start.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test test-all test-postgres messages hant check clean bench bench-import smoke backup restore backup-check faults

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed ($(PYTHON) not found)."; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Serve the portal with the demo data (dated from today: this year and the two before) and the reports of last
## year and of this year so far on http://127.0.0.1:8000 (SQLite unless DATABASE_URL is set).
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo
	$(PY) manage.py generate_reports last-year this-year
	$(PY) manage.py runserver 127.0.0.1:8000

## The test suite (SQLite unless DATABASE_URL is set). A developer's run leaves out the tests marked slow (real
## workers, browsers, migrations from an old schema); with CI=true (as .ci/run sets it) or `make test-all`, all run.
## The tests run on one xdist worker per core (JOBS=0: in this process, for a debugger); tests/conftest.py says
## what the workers keep apart.
SLOW := $(if $(filter true 1,$(CI)),,-m "not slow")
JOBS ?= auto
XDIST := -n $(JOBS)
test: install
	$(PY) -m pytest $(XDIST) $(SLOW) $(PYTEST_ARGS)

## Every test, the slow ones too (what CI runs).
test-all: install
	$(PY) -m pytest $(XDIST) $(PYTEST_ARGS)

## The whole test suite on PostgreSQL (127.0.0.1:5432, as in CI). Django creates and drops the test
## database itself; the database named in the URL is only where it connects first.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres
test-postgres: install
	DATABASE_URL=$(TEST_DATABASE_URL) DATABASE_TEST_NAME=test_pairing_dev $(PY) -m pytest $(XDIST) $(PYTEST_ARGS)

## Prod-like smoke run (CI runs it after the PostgreSQL tests): a fresh database pairing_smoke, the demo data,
## then gunicorn with production settings, a Celery worker and beat on 127.0.0.1's PostgreSQL and Redis, and a
## user's day over HTTPS through nginx with deploy/nginx.conf (record with a photo sent by X-Accel-Redirect,
## confirm, monthly report, .docx, /readyz). Needs nginx and openssl. Logs in artifacts/smoke/.
smoke: install
	$(PY) scripts/smoke.py

## Back up the PostgreSQL database of DATABASE_URL (pg_dump -Fc) and then MEDIA_ROOT (a .tar.gz) into BACKUP_DIR;
## prints the backup's stamp. `make restore BACKUP=<stamp>` puts both back (stop web, worker and beat first).
## Docker compose: README, "Backup". scripts/backup_check.py (CI) proves the round trip.
BACKUP_DIR ?= backup
backup:
	$(PY) scripts/backup.py backup --dir $(BACKUP_DIR)

restore:
	@test -n "$(BACKUP)" || { echo "make restore BACKUP=<stamp> (the stamp make backup printed; ls $(BACKUP_DIR))"; exit 2; }
	$(PY) scripts/backup.py restore --dir $(BACKUP_DIR) --stamp $(BACKUP)

## The backup round trip on the demo (CI, after the PostgreSQL tests) and the fault test (Redis and PostgreSQL
## stopped and hung under gunicorn and a worker; its own redis-server and PostgreSQL cluster on free ports).
backup-check: install
	$(PY) scripts/backup_check.py

faults: install
	$(PY) scripts/faults.py

## Rebuild the translation catalogues after changing strings (needs GNU gettext).
messages: install
	$(PY) manage.py makemessages -l zh_Hans -l en --no-obsolete --ignore '.venv/*' --ignore 'tests/*'
	$(PY) manage.py hant --no-compile
	$(PY) manage.py compilemessages --ignore '.venv/*'

## Remake the Traditional Chinese catalogue (locale/zh_Hant) from the Simplified one: OpenCC s2hk, then the
## corrections in locale/zh_Hant/overrides.tsv; compiled. Run it after adding strings to zh_Hans. Idempotent.
hant: install
	$(PY) manage.py hant

## The province-scale benchmark (not part of the tests; PostgreSQL on 127.0.0.1:5432, Redis for the worker):
## loads the data set into the database pairing_bench once (bench.generate), measures, prints a table and
## writes bench/results/latest.json. BENCH_ARGS=--quick checks the harness on a 1 % data set in about 2 minutes.
bench-import:
	$(PY) -m bench.ledger_probe $(BENCH_IMPORT_ARGS)

bench: install
	$(PY) -m bench.run $(BENCH_ARGS)

check: install
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache
