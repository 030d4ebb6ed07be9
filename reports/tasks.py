"""Celery tasks of the reports: they take ids and period strings and call services.

Beat (settings.CELERY_BEAT_SCHEDULE) runs ``generate_monthly_reports`` at 06:00 on the 1st for the previous
month and ``generate_quarterly_reports`` at 06:00 on the 1st of January, April, July and October for the
previous quarter. Each fans out one ``generate_program_reports`` per program: the program's report and its
pairings' from one read (their reports are slices of the program's rows), the pairings' stored ``REPORT_BATCH``
at a time. ``generation.report_generate``, ``generation.reports_generate`` (the single-scope and batch tasks,
kept for messages already queued and for rebuilding a few scopes) and ``generation.program_reports_generate``
make any number of runs, concurrent or redelivered, leave one report per scope.

Notifications (reports/channels.py, reports/digest.py): ``send_deliveries`` sends the outbox's due messages
(beat, every minute, and after an event that made group robot messages); ``send_digests`` builds the daily
digest e-mails at 08:00.

Retries: database and broker hiccups (OperationalError, InterfaceError) are retried with exponential
backoff. Messages are acknowledged late and rejected when the worker dies (settings), so a task killed
mid-run is delivered again.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from portal.queue import enqueue
from reports import channels, digest, events, exports, generation, publishing
from reports.periods import local_today, previous_month, previous_quarter

log = logging.getLogger(__name__)

# Pairing reports stored together (one transaction, their history rows in one INSERT, published together by the
# policy), by a program's task and by generate_pairing_reports; also the pairings a batch task reads together.
# 300 cost little more than 100 did. A program's task reads its pairings' rows with the program's (a redelivered
# one repeats that read, about a second for the bench's 551 pairings), and stores them in these groups.
REPORT_BATCH = 300
# Messages one send_deliveries run sends at most (each waits at most the channel's timeout).
DELIVERY_BATCH = 100

RETRY_ON = (OperationalError, InterfaceError, BrokerError, ConnectionError, TimeoutError)
RETRY = {
    "autoretry_for": RETRY_ON,
    "retry_backoff": 5,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 8,
}


@shared_task(bind=True, acks_late=True, **RETRY)
def generate_report(self, kind, period, program_id, pairing_id=None):
    """Build (or rebuild, while a draft) the report of one scope."""
    from pairings.models import Pairing, Program

    program = Program.objects.get(pk=program_id)
    pairing = Pairing.objects.get(pk=pairing_id) if pairing_id else None
    report, created = generation.report_generate(kind=kind, period=period, program=program, pairing=pairing)
    log.info("report %s %s: %s", report.pk, "created" if created else "kept", report)
    return report.pk


@shared_task(bind=True, acks_late=True, **RETRY)
def generate_program_reports(self, kind, period, program_id):
    """Build (or rebuild, while drafts) the report of a program and those of every pairing it covers, read
    together; the pairings' stored REPORT_BATCH at a time."""
    from pairings.models import Program

    program = Program.objects.get(pk=program_id)
    results = generation.program_reports_generate(kind=kind, period=period, program=program, batch=REPORT_BATCH)
    log.info("%s reports %s of program %s and its %d pairings: %d created", kind, period, program_id,
             len(results) - 1, sum(created for _report, created in results))
    return [report.pk for report, _created in results]


@shared_task(bind=True, acks_late=True, **RETRY)
def generate_pairing_reports(self, kind, period, program_id, pairing_ids):
    """Build (or rebuild, while drafts) the reports of several pairings of one program, read together."""
    from pairings.models import Pairing, Program

    program = Program.objects.get(pk=program_id)
    pairings = list(Pairing.objects.filter(pk__in=pairing_ids, program=program).order_by("id"))
    results = generation.reports_generate(kind=kind, period=period, program=program, pairings=pairings)
    log.info("%s reports %s of %d pairings of program %s: %d created", kind, period, len(results), program_id,
             sum(created for _report, created in results))
    return [report.pk for report, _created in results]


def fan_out(kind, period, program_ids=None):
    """One task per program: its own report and those of its pairings, built from one set of queries (the
    pairings' reports are slices of the program's rows)."""
    scopes = generation.scopes_to_generate(kind, period, program_ids)
    programs = list(dict.fromkeys(program_id for program_id, _pairing_id in scopes))
    for program_id in programs:
        enqueue(generate_program_reports, kind, period, program_id)
    log.info("%s reports for %s: %d scopes queued in %d tasks", kind, period, len(scopes), len(programs))
    return len(scopes)


@shared_task(bind=True, acks_late=True, **RETRY)
def generate_reports(self, kind, period, program_ids=None):
    """Fan out one generate_report per scope of the period (programs with this kind of report switched on)."""
    return fan_out(kind, period, program_ids)


@shared_task(bind=True, acks_late=True, **RETRY)
def generate_monthly_reports(self, period=None):
    """Beat, 06:00 on the 1st: the monthly reminders (一月一提示) of the previous month."""
    period = period or previous_month(local_today(timezone.now())).key
    return fan_out("monthly", period)


@shared_task(bind=True, acks_late=True, **RETRY)
def generate_quarterly_reports(self, period=None):
    """Beat, 06:00 on the 1st of Jan/Apr/Jul/Oct: the quarterly coordination reports (一季一调度)."""
    period = period or previous_quarter(local_today(timezone.now())).key
    return fan_out("quarterly", period)


@shared_task(bind=True, acks_late=True, **RETRY)
def send_deliveries(self, delivery_id=None):
    """Send the outbox's due messages (beat, every minute; and after an event made group robot messages). A run
    that found a full batch queues the next one, so a large outbox (the digests at 08:00) drains in batches."""
    result = channels.deliveries_send(limit=DELIVERY_BATCH, delivery_id=delivery_id)
    log.info("outbox: %d due, %s", result.claimed, dict(result.outcomes))
    if delivery_id is None and result.claimed >= DELIVERY_BATCH and sum(result.outcomes.values()):
        enqueue(send_deliveries)
    return result.sent


@shared_task(bind=True, acks_late=True, **RETRY)
def send_digests(self):
    """Beat, 08:00: put each person's daily digest in the outbox, then send it."""
    made = digest.digests_build()
    log.info("daily digests: %d made", made)
    if made:
        enqueue(send_deliveries)
    return made


@shared_task(bind=True, acks_late=True, **RETRY)
def send_report_notifications(self, report_id=None):
    """Kept for messages queued before the daily digest replaced the per-report e-mail: flushes the outbox."""
    return channels.deliveries_send(limit=DELIVERY_BATCH).sent


@shared_task(bind=True, acks_late=True, **RETRY)
def scan_due(self, day=None):
    """Beat, 07:30 every day: the time-based notices of the day (a plan item coming due or overdue, a dormant
    pairing, an agreement about to expire, drafts waiting). ``day``: an ISO date, for a rerun; idempotent."""
    import datetime

    today = datetime.date.fromisoformat(day) if day else local_today(timezone.now())
    return events.due_scan(today=today)


@shared_task(bind=True, acks_late=True, **RETRY)
def build_annual_export(self, export_id):
    """Write the files of one annual export, recording progress as it goes."""
    return exports.export_run(export_id=export_id)


@shared_task(bind=True, acks_late=True, **RETRY)
def publish_reports(self, report_ids, actor_id):
    """A bulk publish too big to wait for in a page (report_views.PUBLISH_INLINE): the same service. Redelivered
    or retried, it publishes nothing twice (published drafts are skipped, the event key is the batch's)."""
    from django.contrib.auth import get_user_model

    actor = get_user_model().objects.filter(pk=actor_id, is_active=True).first()
    if actor is None:
        return 0
    published = publishing.publish_drafts(reports=report_ids, actor=actor)
    log.info("bulk publish by user %s: %d of %d reports, %d notifications", actor_id, len(published.reports),
             len(report_ids), published.notifications)
    return len(published.reports)
