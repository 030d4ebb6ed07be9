"""The daily digest: at most one e-mail per person per day with everything new for them.

``digests_build`` (beat, 08:00 Asia/Shanghai; ``manage.py send_digests``) gathers each person's notifications not
yet carried by a digest, and puts one ``Delivery`` in the outbox per person, keyed ``digest:<user id or
address>:<local date>``: building again the same day finds the key taken and adds nothing, so what arrives later
waits for the next day's mail. The notifications point to their digest (``delivery``) from the same transaction,
and get ``emailed_at`` when it is sent (reports.channels). People who switched the digest off
(``Preference.email_digest``), inactive accounts and people without an address are left out; their notifications
stay in the portal's list.
"""

from __future__ import annotations

import datetime
import hashlib
from collections import OrderedDict

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from reports.models import Delivery, Notification

# Notifications older than this when a digest is built are not mailed any more (someone who switches the
# digest on again does not receive months of old news); they stay in the portal's list.
LOOKBACK_DAYS = 7


def _wants_digest(user):
    try:
        return user.notice_preference.email_digest
    except ObjectDoesNotExist:
        return True  # the default: on


def recipient_of(notification):
    """(identity for the key, address) of a notification's reader, or None when no digest goes to them."""
    user = notification.user
    if user is not None:
        if not user.is_active or not _wants_digest(user):
            return None
        address = (user.email or notification.email).strip()
        return (str(user.pk), address) if address else None
    address = notification.email.strip()
    return (address.lower(), address) if address else None


def digest_key(identity, day):
    if len(identity) > 100:  # an address that long: its hash keeps the key within the column
        identity = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:40]
    return f"digest:{identity}:{day.isoformat()}"


def absolute(path):
    return f"{settings.PORTAL_BASE_URL}{path}"


def link_of(notification):
    if notification.url:
        return absolute(notification.url)
    if notification.report_id:
        return absolute(reverse("reports:report_detail", args=[notification.report_id]))
    return absolute(reverse("reports:notification_list"))


# News, not something to do: after the to-dos in a digest, so that a day with a batch of reports published does
# not push the activity waiting for 验单 below two dozen lines.
NEWS_LAST = (Notification.Kind.REPORT_PUBLISHED, Notification.Kind.REPORTS_PUBLISHED)


def grouped(notifications):
    """[(kind label, [(message, link), …]), …]: the to-dos in the order of Notification.Kind, then the news."""
    kinds = [k for k in Notification.Kind.values if k not in NEWS_LAST] + list(NEWS_LAST)
    order = {value: i for i, value in enumerate(kinds)}
    groups = OrderedDict()
    for notification in sorted(notifications, key=lambda n: (order.get(n.kind, len(order)), n.created_at, n.pk)):
        label = Notification.Kind(notification.kind).label if notification.kind in order else notification.kind
        groups.setdefault(str(label), []).append((notification.message, link_of(notification)))
    return list(groups.items())


def render_digest(notifications, *, has_account):
    """(subject, text, html) of one person's digest, in the portal's language."""
    with translation.override(settings.LANGUAGE_CODE):
        context = {
            "groups": grouped(notifications),
            "count": len(notifications),
            "preferences_url": absolute(reverse("reports:preferences")) if has_account else "",
            "list_url": absolute(reverse("reports:notification_list")) if has_account else "",
            "portal_url": absolute("/"),
        }
        subject = _("Pairing portal · today's to-dos and messages (%(count)s)") % {"count": len(notifications)}
        text = render_to_string("reports/email/digest.txt", context)
        html = render_to_string("reports/email/digest.html", context)
    return subject, text, html


def digests_build(*, now=None):
    """Put today's digest of each person in the outbox (none for someone who already has today's). Returns the
    number of digests made."""
    now = now or timezone.now()
    day = timezone.localdate(now)
    pending = (
        Notification.objects.filter(
            delivery__isnull=True, emailed_at__isnull=True, created_at__gte=now - datetime.timedelta(days=LOOKBACK_DAYS)
        )
        .select_related("user__notice_preference")
        .order_by("created_at", "id")
    )
    people = OrderedDict()
    for notification in pending:
        recipient = recipient_of(notification)
        if recipient is not None:
            people.setdefault(recipient, []).append(notification)
    existing = set(
        Delivery.objects.filter(key__in=[digest_key(identity, day) for identity, _address in people]).values_list(
            "key", flat=True
        )
    )
    made = 0
    for (identity, address), notifications in people.items():
        key = digest_key(identity, day)
        if key in existing:
            continue
        subject, text, html = render_digest(notifications, has_account=notifications[0].user_id is not None)
        try:
            with transaction.atomic():
                delivery = Delivery.objects.create(
                    channel=Delivery.Channel.EMAIL, key=key, email=address, user=notifications[0].user,
                    subject=subject[:200], body=text, html=html,
                )
                Notification.objects.filter(pk__in=[n.pk for n in notifications], delivery__isnull=True).update(
                    delivery=delivery
                )
        except IntegrityError:
            continue  # another run made today's digest of this person at the same moment
        made += 1
    return made
