"""Announcing published reports: who is told, and the e-mails of the notifications (sent by a task, each once)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from pairings.models import Liaison
from portal.models import Membership
from reports.models import Notification


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
