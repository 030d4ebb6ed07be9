"""Building and storing reports: the work the scheduled job and "generate" run, in a Celery task or a command.

Idempotence (DESIGN.md, Reports): one report per (kind, period, program, scope, version). The scheduled job
may run twice, two workers may build the same scope at once, and a worker may die mid-task and have its
message redelivered: each time the data are built first (outside any transaction, reading only), then a
short transaction inserts version 1 or, if a draft is already there, rebuilds that draft; an
IntegrityError from a concurrent insert is caught and the winner's draft is updated instead. A published
report is frozen: the job leaves it alone and "regenerate" makes a new version.

Tasks (reports/tasks.py) call this module; the services that users' actions call (reports/services.py)
enqueue tasks: so nothing imports in a circle.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from pairings.models import Program
from reports import selectors
from reports.builders import as_at_day, build_pairing_reports, build_report_data, period_for, reads_history
from reports.models import Report

log = logging.getLogger(__name__)

KIND_FLAG = {Report.Kind.MONTHLY: "monthly_reports", Report.Kind.QUARTERLY: "quarterly_reports"}


def scope_key_for(pairing):
    return f"pairing:{pairing.pk}" if pairing is not None else "program"


def _key(kind, period, program, pairing):
    return {"kind": kind, "period": period.key, "program": program, "scope_key": scope_key_for(pairing)}


def report_generate(*, kind, period, program, pairing=None):
    """Make sure the report of this scope and period exists and is complete. Returns (report, created).

    No report yet → version 1 is created as a draft. The latest version is a draft → its data are rebuilt.
    The latest version is published → nothing changes (published reports are frozen)."""
    period = period_for(kind, period)
    program = Program.objects.select_related("office").get(pk=program.pk)
    latest = Report.objects.filter(**_key(kind, period, program, pairing)).order_by("-version").first()
    if latest is not None and latest.status == Report.Status.PUBLISHED:
        return latest, False
    data = build_report_data(kind, period, program, pairing)  # build first (reads only), then insert
    return _store(kind, period, program, pairing, latest, data)


def reports_generate(*, kind, period, program, pairings):
    """report_generate for several pairings of one program at once (the scheduled job's batches): their data
    are built from one set of queries (builders.build_pairing_reports), then each is stored as report_generate
    stores one. Returns [(report, created)] in the order of ``pairings``."""
    period = period_for(kind, period)
    program = Program.objects.select_related("office").get(pk=program.pk)
    latest = {}
    reports = Report.objects.filter(
        kind=kind, period=period.key, program=program, scope_key__in=[scope_key_for(p) for p in pairings]
    )
    for report in reports.order_by("-version"):
        latest.setdefault(report.pairing_id, report)
    frozen = {pid for pid, report in latest.items() if report.status == Report.Status.PUBLISHED}
    data = build_pairing_reports(kind, period, program, [p for p in pairings if p.pk not in frozen])
    return [
        (latest[p.pk], False) if p.pk in frozen else _store(kind, period, program, p, latest.get(p.pk), data[p.pk])
        for p in pairings
    ]


def _store(kind, period, program, pairing, latest, data):
    """Insert version 1 of a scope's report (``latest`` None) or rebuild its latest draft with ``data``."""
    key = _key(kind, period, program, pairing)
    if latest is None:
        try:
            with transaction.atomic():
                report = Report.objects.create(
                    kind=kind, period=period.key, program=program, pairing=pairing, data=data
                )
            return report, True
        except IntegrityError:
            # another worker (or a redelivered copy of this message) inserted version 1 meanwhile
            log.info("%s report %s of %s: inserted concurrently elsewhere; rebuilding that draft", kind, period.key, key["scope_key"])
    with transaction.atomic():
        report = Report.objects.select_for_update().filter(**key).order_by("-version").first()
        if report.status == Report.Status.DRAFT:
            report.data = data
            report.generated_at = timezone.now()
            report.save(update_fields=["data", "generated_at"])
    return report, False


def scopes_to_generate(kind, period, program_ids=None):
    """(program id, pairing id or None) for every scope the scheduled job reports on."""
    period = period_for(kind, period)
    programs = Program.objects.filter(is_active=True)
    if kind in KIND_FLAG:
        programs = programs.filter(**{KIND_FLAG[kind]: True})
    if program_ids is not None:
        programs = programs.filter(pk__in=program_ids)
    # a period that has ended is reported as it stood at its end: its pairings too (those its program report covers)
    now = timezone.now()
    then = as_at_day(period, now) if reads_history(period, now) else None
    scopes = []
    for program in programs.order_by("id"):
        scopes.append((program.id, None))
        scopes.extend((program.id, pairing_id) for pairing_id in selectors.pairings_to_generate(program, period, then))
    return scopes
