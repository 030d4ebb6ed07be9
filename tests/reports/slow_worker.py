"""The portal's Celery app for tests/reports/test_worker.py, with report tasks that pause between building a
report's data and saving it (SLOW_REPORT_SECONDS), so that two workers overlap or one can be killed in the
middle of a task. A worker runs it as `celery -A tests.reports.slow_worker worker`: production code knows
nothing of the pause. Not collected by pytest (the file name does not match test_*.py)."""

import logging
import os
import time

import django

from portal.celery import app  # noqa: F401  (what `celery -A` looks for)

django.setup()

from reports import generation  # noqa: E402  (after the setup above)

log = logging.getLogger(__name__)
SECONDS = float(os.environ.get("SLOW_REPORT_SECONDS") or 0)


def _then_pause(build):
    def build_then_pause(*args, **kwargs):
        data = build(*args, **kwargs)
        log.warning("SLOW_REPORT_SECONDS=%s: sleeping before saving the report", SECONDS)
        time.sleep(SECONDS)
        return data

    return build_then_pause


if SECONDS:
    # the names report_generate, reports_generate and program_reports_generate call between building and storing
    generation.build_report_data = _then_pause(generation.build_report_data)
    generation.build_pairing_reports = _then_pause(generation.build_pairing_reports)
    generation.build_program_reports = _then_pause(generation.build_program_reports)
