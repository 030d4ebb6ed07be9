"""Writes of the reports app: generate (idempotent), regenerate, notes, publish, notify, export.

Idempotence (DESIGN.md, Reports): one report per (kind, period, program, scope, version). The scheduled job
may run twice, two workers may build the same scope at once, and a worker may die mid-task and have its
message redelivered: each time the data are built first (outside any transaction, reading only), then a
short transaction inserts version 1 or, if a draft is already there, rebuilds that draft; an
IntegrityError from a concurrent insert is caught and the winner's draft is updated instead. A published
report is frozen: the job leaves it alone and "regenerate" makes a new version.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from pairings.models import Liaison, Program
from portal.models import Membership
from reports import selectors
from reports.builders import build_pairing_reports, build_report_data, period_for
from reports.models import AnnualExport, Notification, Report

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
    scopes = []
    for program in programs.order_by("id"):
        scopes.append((program.id, None))
        scopes.extend((program.id, pairing_id) for pairing_id in selectors.pairings_to_generate(program, period))
    return scopes


def report_regenerate(*, report, actor):
    """A draft is rebuilt in place; a published report gets a new draft version beside it."""
    if not Report.objects.editable_by(actor).filter(pk=report.pk).exists():
        raise PermissionDenied
    if report.status == Report.Status.DRAFT:
        fresh, _created = report_generate(
            kind=report.kind, period=report.period, program=report.program, pairing=report.pairing
        )
        return fresh
    program = Program.objects.select_related("office").get(pk=report.program_id)
    data = build_report_data(report.kind, report.period, program, report.pairing)
    key = {"kind": report.kind, "period": report.period, "program": program, "scope_key": report.scope_key}
    for _attempt in range(3):
        with transaction.atomic():
            latest = Report.objects.select_for_update().filter(**key).order_by("-version").first()
            if latest.status == Report.Status.DRAFT:
                latest.data, latest.generated_at = data, timezone.now()
                latest.save(update_fields=["data", "generated_at"])
                return latest
            try:
                with transaction.atomic():
                    return Report.objects.create(
                        kind=report.kind,
                        period=report.period,
                        program=program,
                        pairing=report.pairing,
                        version=latest.version + 1,
                        data=data,
                    )
            except IntegrityError:
                continue
    raise ValidationError(_("The report is being regenerated by someone else; try again in a moment."))


@transaction.atomic
def report_set_notes(*, report, notes, actor):
    report = Report.objects.select_for_update().get(pk=report.pk)
    if not Report.objects.editable_by(actor).filter(pk=report.pk).exists():
        raise PermissionDenied
    if report.status != Report.Status.DRAFT:
        raise ValidationError(_("A published report is frozen: regenerate it to make a new version."))
    report.notes = notes.strip()
    report.save(update_fields=["notes"])
    return report


def report_link(report):
    return f"{settings.PORTAL_BASE_URL}{reverse('reports:report_detail', args=[report.pk])}"


def report_recipients(report):
    """(user or None, e-mail) of the people a published report is announced to: the pairing's liaisons
    for a pairing report; the program's admins for a program-wide report (only they may read it)."""
    recipients, seen = [], set()

    def add(user, email):
        email = (email or "").strip()
        ident = (user.pk if user else None, email.lower())
        if (user is None and not email) or ident in seen:
            return
        seen.add(ident)
        recipients.append((user, email))

    if report.pairing_id:
        for liaison in Liaison.objects.filter(pairing_id=report.pairing_id).select_related("user").order_by("id"):
            user = liaison.user if liaison.user and liaison.user.is_active else None
            add(user, liaison.email or (user.email if user else ""))
    else:
        memberships = Membership.objects.filter(
            organization_id=report.program.office_id, role=Membership.Role.ADMIN, user__is_active=True
        ).select_related("user")
        for membership in memberships.order_by("id"):
            add(membership.user, membership.user.email)
    return recipients


def report_publish(*, report, actor):
    """Freeze a draft, announce it in the portal and by e-mail (sent by a task after the commit)."""
    with transaction.atomic():
        report = Report.objects.select_for_update(of=("self",)).select_related("program", "pairing").get(pk=report.pk)
        if not Report.objects.editable_by(actor).filter(pk=report.pk).exists():
            raise PermissionDenied
        if report.status != Report.Status.DRAFT:
            raise ValidationError(_("This report is already published."))
        report.status = Report.Status.PUBLISHED
        report.published_at = timezone.now()
        report.published_by = actor
        report.save(update_fields=["status", "published_at", "published_by"])
        message = _("%(report)s has been published.") % {"report": report}
        Notification.objects.bulk_create(
            Notification(report=report, user=user, email=email, message=message[:300])
            for user, email in report_recipients(report)
        )
    from reports import tasks  # tasks import services

    ticket = tasks.enqueue(tasks.send_report_notifications, report.pk)
    return report, ticket


def notifications_send(*, report_id=None, limit=200):
    """Send the e-mails of notifications not yet e-mailed (each row once, even with two senders)."""
    sent = 0
    pending = Notification.objects.filter(emailed_at__isnull=True).exclude(email="").order_by("id")
    if report_id is not None:
        pending = pending.filter(report_id=report_id)
    for notification_id in list(pending.values_list("id", flat=True)[:limit]):
        with transaction.atomic():
            notification = (
                Notification.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("report__program", "report__pairing__supporter", "report__pairing__supported")
                .filter(pk=notification_id, emailed_at__isnull=True)
                .first()
            )
            if notification is None:
                continue
            report = notification.report
            body = _(
                "%(message)s\n\nRead it on the pairing portal (结对共建):\n%(link)s\n"
            ) % {"message": notification.message, "link": report_link(report)}
            send_mail(notification.message, body, settings.DEFAULT_FROM_EMAIL, [notification.email])
            notification.emailed_at = timezone.now()
            notification.save(update_fields=["emailed_at"])
            sent += 1
    return sent


def notification_open(*, notification, user):
    if notification.user_id != user.pk:
        raise PermissionDenied
    if notification.read_at is None:
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=timezone.now())
    return notification.report


def export_request(*, program, year, actor):
    """Create an annual export row (queued); the task writes the files."""
    if not Program.objects.editable_by(actor).filter(pk=program.pk).exists():
        raise PermissionDenied
    export = AnnualExport.objects.create(program=program, year=year, requested_by=actor)
    from reports import tasks

    ticket = tasks.enqueue(tasks.build_annual_export, export.pk)
    return export, ticket
