"""Who is told of what: the one place that turns an event into notifications and group-robot messages.

``notify`` records an event for its people (a row each in their notification list, mailed in the next daily
digest when they chose e-mail) and queues a post for each group robot (企业微信, 钉钉) of the pairing and of its
program. An event has a key: announcing it twice (a retried task, a double click) adds nothing. Sending happens
in Celery from the outbox (``Delivery``, reports/channels.py), so a channel that is down never slows a page;
e-mail goes out once a day in the digest (reports/digest.py).
"""

from __future__ import annotations

from collections import defaultdict

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from pairings.models import Liaison
from portal.models import Membership
from portal.queue import Ticket, enqueue
from reports.models import Delivery, Notification, Webhook


SEND_DELIVERIES = "reports.tasks.send_deliveries"


def report_recipients(report):
    """(user or None, e-mail) of the people a published report is announced to: the pairing's liaisons
    for a pairing report; the program's admins for a program-wide report (only they may read it)."""
    return reports_recipients([report])[report.pk]


def reports_recipients(reports):
    """``report_recipients`` of many reports in two queries: {report pk: [(user or None, e-mail)]}, each
    report's people once, in a fixed order (liaisons by id; admins by membership id)."""
    out = {report.pk: [] for report in reports}
    seen = defaultdict(set)

    def add(report_pk, user, email):
        email = (email or "").strip()
        ident = (user.pk if user else None, email.lower())
        if (user is None and not email) or ident in seen[report_pk]:
            return
        seen[report_pk].add(ident)
        out[report_pk].append((user, email))

    by_pairing, by_office = defaultdict(list), defaultdict(list)
    for report in reports:
        if report.pairing_id:
            by_pairing[report.pairing_id].append(report.pk)
        else:
            by_office[report.program.office_id].append(report.pk)
    if by_pairing:
        liaisons = Liaison.objects.filter(pairing_id__in=by_pairing).select_related("user").order_by("id")
        for liaison in liaisons:
            user = liaison.user if liaison.user and liaison.user.is_active else None
            for report_pk in by_pairing[liaison.pairing_id]:
                add(report_pk, user, liaison.email or (user.email if user else ""))
    if by_office:
        memberships = Membership.objects.filter(
            organization_id__in=by_office, role=Membership.Role.ADMIN, user__is_active=True
        ).select_related("user")
        for membership in memberships.order_by("id"):
            for report_pk in by_office[membership.organization_id]:
                add(report_pk, membership.user, membership.user.email)
    return out


def _recipients(users, emails):
    """(user or None, e-mail) once each: active users (by id), then addresses that belong to no one listed."""
    seen_users, seen_emails, out = set(), set(), []
    for user in users:
        if user is None or not user.is_active or user.pk in seen_users:
            continue
        seen_users.add(user.pk)
        if user.email:
            seen_emails.add(user.email.lower())
        out.append((user, ""))
    for email in emails:
        email = (email or "").strip()
        if email and email.lower() not in seen_emails:
            seen_emails.add(email.lower())
            out.append((None, email))
    return out


def webhooks_for(*, pairing=None, program=None):
    """The active group robots that hear of an event of this pairing (its own and its program's)."""
    if pairing is not None:
        program = program or pairing.program
        where = Q(pairing=pairing) | Q(program_id=program.pk if program else None)
    elif program is not None:
        where = Q(program=program)
    else:
        return []
    return list(Webhook.objects.filter(where, is_active=True).order_by("id"))


def outbox_flush():
    """Send the outbox once the current transaction commits (a task), when settings.DELIVERY_SEND_ON_COMMIT;
    never raises. Whatever is not sent now, the minute's sweep (beat) sends. Returns the enqueue's Ticket
    (``sent`` None when nothing was queued)."""
    # Named, not imported: the tasks module imports the modules that call notify().
    task = current_app.tasks[SEND_DELIVERIES]
    if not settings.DELIVERY_SEND_ON_COMMIT:
        return Ticket(task=task.name)
    return enqueue(task)


@transaction.atomic
def notify(*, kind, message, url="", key="", users=(), emails=(), pairing=None, program=None, report=None):
    """Record one event: a notification for each person (``users`` with an account, ``emails`` without) and a
    message for each group robot of the pairing and its program. ``url`` is the path where it is done; ``key``
    names the event so that announcing it again adds nothing (empty: every call is a new event).
    Returns the number of notifications created."""
    message, key = message[:300], key[:120]
    recipients = _recipients(users, emails)
    if key and recipients:
        # those told of this event already (the unique constraints still guard against a concurrent announcer)
        told = set(Notification.objects.filter(key=key).values_list("user_id", "email"))
        recipients = [(user, email) for user, email in recipients if ((user.pk if user else None), email) not in told]
    rows = [
        Notification(kind=kind, user=user, email=email, message=message, url=url[:300], key=key, report=report)
        for user, email in recipients
    ]
    created = Notification.objects.bulk_create(rows, ignore_conflicts=bool(key))
    hooks = webhooks_for(pairing=pairing, program=program)
    if hooks:
        outbox_flush()
        event = key or f"{kind}:{timezone.now().timestamp()}:{id(rows)}"
        link = f"{settings.PORTAL_BASE_URL}{url}" if url else settings.PORTAL_BASE_URL
        Delivery.objects.bulk_create(
            [
                Delivery(channel=hook.kind, webhook=hook, key=f"hook:{hook.pk}:{event}"[:160], subject=message[:200],
                         body=link)
                for hook in hooks
            ],
            ignore_conflicts=True,
        )
    return len(created)
