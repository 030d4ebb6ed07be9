"""Sending the outbox (``Delivery``): the daily digest by e-mail, posts to 企业微信 and 钉钉 group robots.

``deliveries_send`` claims each due message with ``SELECT … FOR UPDATE SKIP LOCKED`` in its own transaction,
sends it, and marks it sent in that same transaction. Two workers never send the same row (the second skips the
locked row, then finds it sent); a worker killed while sending leaves its transaction rolled back, the row
pending, and the next sweep sends it again. The message is therefore sent at least once, and twice only in one
window: the server has accepted it but the worker dies before the commit (milliseconds after the answer, or while
the row's UPDATE is in flight). A digest e-mail keeps the same Message-ID when it is sent again, so mail
clients show it once.

A failure counts an attempt, keeps the error and waits (settings.DELIVERY_RETRY_SECONDS, doubling, at most six
hours); after settings.DELIVERY_MAX_ATTEMPTS, or at once for an error that retrying cannot fix (an address no
longer allowed, a robot's key that does not exist), the message is given up (status failed; the admin's "retry"
action puts it back). Every network call has a timeout (settings.EMAIL_TIMEOUT, settings.WEBHOOK_TIMEOUT).

Group robots: an address must be https on a host of settings.WEBHOOK_HOSTS, checked when a robot is saved and
again before each post (the setting may have changed), and redirects are never followed, so the portal cannot be
made to call an address inside its own network.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import logging
import smtplib
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from reports.models import Delivery, Notification, Webhook

log = logging.getLogger(__name__)

WECOM_MAX_BYTES = 4096  # 企业微信: markdown.content at most 4096 bytes (UTF-8)
DINGTALK_MAX_BYTES = 5000  # 钉钉 documents no firm limit for markdown; stay well below its 20,000-byte message cap
RETRY_CAP_SECONDS = 6 * 3600
# Answers that retrying cannot change: the robot's address or key is wrong, its signature or keyword check fails.
PERMANENT_ERRCODES = {
    Webhook.Kind.WECOM: {93000, 40058},  # invalid webhook url (key); invalid parameter
    Webhook.Kind.DINGTALK: {300001, 310000, 400102},  # token does not exist; sign/keyword/IP check; robot stopped
}


class SendError(Exception):
    """A message that could not be sent; ``permanent`` when trying again cannot help."""

    def __init__(self, message, *, permanent=False):
        super().__init__(message)
        self.permanent = permanent


# --------------------------------------------------------------------------------------------------------
# Group robot addresses (SSRF guard)
# --------------------------------------------------------------------------------------------------------


def _origin(parts):
    port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def webhook_url_problem(url):
    """Why a group robot may not post to ``url`` (a sentence for the form), or "" when it may."""
    try:
        parts = urllib.parse.urlsplit(url or "")
        origin = _origin(parts)
    except ValueError:
        return _("This is not a web address.")
    if parts.username or parts.password:
        return _("The address may not contain a user name or password.")
    for allowed in settings.WEBHOOK_HOSTS:
        if "://" in allowed:  # an exact origin (scheme, host and port), e.g. a test server
            if origin == _origin(urllib.parse.urlsplit(allowed)):
                return ""
        elif origin == ("https", allowed.lower(), 443):
            return ""
    if parts.scheme != "https":
        return _("A group robot's address must start with https://.")
    return _("Only the group robots of WeCom and DingTalk (%(hosts)s) can be used: the portal does not post to other hosts.") % {
        "hosts": ", ".join(h for h in settings.WEBHOOK_HOSTS if "://" not in h) or "-"
    }


# --------------------------------------------------------------------------------------------------------
# The messages
# --------------------------------------------------------------------------------------------------------


def _cut(text, max_bytes):
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text
    return data[: max_bytes - 3].decode("utf-8", errors="ignore") + "…"


def _markdown_line(text):
    """One line of plain text in a robot's markdown (no line breaks, no link syntax to break out of)."""
    return " ".join(str(text).split()).replace("[", "【").replace("]", "】")


def wecom_payload(subject, link):
    """企业微信 group robot, msgtype markdown: {"msgtype": "markdown", "markdown": {"content": …}} (≤ 4096 bytes)."""
    # msgids outside the f-strings: makemessages does not read calls inside them
    portal, open_it = _("Pairing portal"), _("Open in the portal")
    content = f"**{portal}**\n> {_markdown_line(subject)}\n"
    if link:
        content += f"\n[{open_it}]({link})"
    return {"msgtype": "markdown", "markdown": {"content": _cut(content, WECOM_MAX_BYTES)}}


def dingtalk_payload(subject, link):
    """钉钉 group robot, msgtype markdown: {"msgtype": "markdown", "markdown": {"title": …, "text": …}}."""
    portal, open_it = _("Pairing portal"), _("Open in the portal")
    title = _markdown_line(subject)[:60] or portal
    text = f"#### {portal}\n\n> {_markdown_line(subject)}\n"
    if link:
        text += f"\n[{open_it}]({link})"
    return {"msgtype": "markdown", "markdown": {"title": title, "text": _cut(text, DINGTALK_MAX_BYTES)}}


def dingtalk_signed_url(url, secret, timestamp_ms=None):
    """钉钉 加签: timestamp in ms, sign = urlencode(base64(HMAC-SHA256(key=secret, f"{timestamp}\\n{secret}")))."""
    timestamp = str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}\n{secret}".encode("utf-8"), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest))
    return f"{url}{'&' if '?' in url else '?'}timestamp={timestamp}&sign={sign}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an error: it could lead anywhere, inside the portal's own network included."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def post_json(url, payload):
    """POST ``payload`` as JSON; returns the JSON answer. Raises SendError (permanent for a 3xx or a 4xx)."""
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json; charset=utf-8"}
    )
    try:
        with _opener.open(request, timeout=settings.WEBHOOK_TIMEOUT) as response:
            body = response.read(65536)
    except urllib.error.HTTPError as exc:
        permanent = exc.code < 500 and exc.code not in (408, 429)
        raise SendError(f"HTTP {exc.code}", permanent=permanent) from None
    except (urllib.error.URLError, OSError) as exc:  # refused, DNS, TLS, timeouts
        raise SendError(f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}") from None
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise SendError(_("The robot's server did not answer in JSON.")) from None


def webhook_post(webhook, subject, link):
    """Post one message to a group robot; returns nothing, raises SendError."""
    problem = webhook_url_problem(webhook.url)
    if problem:
        raise SendError(problem, permanent=True)
    if webhook.kind == Webhook.Kind.DINGTALK:
        url = dingtalk_signed_url(webhook.url, webhook.secret) if webhook.secret else webhook.url
        payload = dingtalk_payload(subject, link)
    else:
        url, payload = webhook.url, wecom_payload(subject, link)
    answer = post_json(url, payload)
    errcode = answer.get("errcode") if isinstance(answer, dict) else None
    if errcode != 0:
        message = answer.get("errmsg", "") if isinstance(answer, dict) else ""
        raise SendError(f"errcode {errcode}: {message}"[:280], permanent=errcode in PERMANENT_ERRCODES[webhook.kind])


# --------------------------------------------------------------------------------------------------------
# E-mail
# --------------------------------------------------------------------------------------------------------


def message_id(key):
    """The same Message-ID each time a delivery is sent, so a mail sent twice (see above) shows once."""
    domain = urllib.parse.urlsplit(settings.PORTAL_BASE_URL).hostname or "localhost"
    return f"<{hashlib.sha256(key.encode('utf-8')).hexdigest()[:32]}@{domain}>"


def email_send(delivery):
    connection = get_connection(timeout=settings.EMAIL_TIMEOUT)
    mail = EmailMultiAlternatives(
        delivery.subject, delivery.body, settings.DEFAULT_FROM_EMAIL, [delivery.email], connection=connection,
        headers={"Message-ID": message_id(delivery.key)},
    )
    if delivery.html:
        mail.attach_alternative(delivery.html, "text/html")
    try:
        mail.send()
    except smtplib.SMTPRecipientsRefused as exc:
        raise SendError(f"SMTP refused {delivery.email}: {exc.recipients}"[:280], permanent=True) from None
    except smtplib.SMTPResponseException as exc:
        # 5xx: the server will not take it (bad address, message refused); 4xx: try later
        raise SendError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"[:280], permanent=500 <= exc.smtp_code < 600) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise SendError(f"{type(exc).__name__}: {exc}"[:280]) from None


# --------------------------------------------------------------------------------------------------------
# The outbox
# --------------------------------------------------------------------------------------------------------


def _due(now):
    return Q(status=Delivery.Status.PENDING) & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))


def retry_delay(attempts):
    """Seconds before the next try after ``attempts`` failed ones: 1, 2, 4 … times the base, at most six hours."""
    return min(settings.DELIVERY_RETRY_SECONDS * 2 ** max(attempts - 1, 0), RETRY_CAP_SECONDS)


def _send(delivery):
    if delivery.channel == Delivery.Channel.EMAIL:
        email_send(delivery)
        return
    webhook = delivery.webhook
    if webhook is None or not webhook.is_active:
        raise SendError(_("The group robot has been switched off."), permanent=True)
    webhook_post(webhook, delivery.subject, delivery.body)


def delivery_send(*, delivery_id, now=None):
    """Claim one due delivery, send it and record the outcome, all in one transaction. Returns "sent",
    "retry", "failed" or "" (not due, or taken by another worker)."""
    with transaction.atomic():
        now = now or timezone.now()
        delivery = (
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("webhook")
            .filter(_due(now), pk=delivery_id)
            .first()
        )
        if delivery is None:
            return ""
        delivery.attempts += 1
        try:
            _send(delivery)
        except DatabaseError:
            raise
        except Exception as exc:  # noqa: BLE001 — one bad message must not stop the others
            permanent = getattr(exc, "permanent", False)
            if not isinstance(exc, SendError):
                log.exception("delivery %s: unexpected error", delivery.pk)
            delivery.last_error = str(exc)[:300] or type(exc).__name__
            if permanent or delivery.attempts >= settings.DELIVERY_MAX_ATTEMPTS:
                delivery.status = Delivery.Status.FAILED
                delivery.next_attempt_at = None
                outcome = "failed"
            else:
                delivery.next_attempt_at = now + datetime.timedelta(seconds=retry_delay(delivery.attempts))
                outcome = "retry"
            log.warning("delivery %s (%s) attempt %s: %s", delivery.pk, delivery.key, delivery.attempts, delivery.last_error)
            delivery.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
            return outcome
        sent_at = timezone.now()
        delivery.status, delivery.sent_at, delivery.next_attempt_at, delivery.last_error = (
            Delivery.Status.SENT, sent_at, None, ""
        )
        delivery.save(update_fields=["attempts", "status", "sent_at", "next_attempt_at", "last_error"])
        if delivery.channel == Delivery.Channel.EMAIL:
            Notification.objects.filter(delivery=delivery, emailed_at__isnull=True).update(emailed_at=sent_at)
        return "sent"


@dataclass
class SendResult:
    claimed: int
    outcomes: Counter

    @property
    def sent(self):
        return self.outcomes["sent"]


def deliveries_send(*, limit=200, delivery_id=None, channels=None):
    """Send up to ``limit`` due deliveries (oldest first); returns what became of them."""
    due = Delivery.objects.filter(_due(timezone.now()))
    if delivery_id is not None:
        due = due.filter(pk=delivery_id)
    if channels:
        due = due.filter(channel__in=channels)
    ids = list(due.order_by("id").values_list("id", flat=True)[:limit])
    outcomes = Counter(delivery_send(delivery_id=pk) for pk in ids)
    outcomes.pop("", None)
    return SendResult(claimed=len(ids), outcomes=outcomes)


@transaction.atomic
def delivery_retry(*, delivery):
    """Put a message that was given up back in the outbox, with a fresh count of attempts."""
    updated = Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.FAILED).update(
        status=Delivery.Status.PENDING, attempts=0, next_attempt_at=None
    )
    return bool(updated)


def webhook_test(*, webhook, actor):
    """Post a test message to a group robot now (the admin waits for at most the timeout). Returns "" when the
    robot took it, or the reason it did not."""
    if not Webhook.objects.editable_by(actor).filter(pk=webhook.pk).exists():
        raise PermissionDenied
    subject = _("Test message from the pairing portal: this group will receive its notifications.")
    try:
        webhook_post(webhook, subject, settings.PORTAL_BASE_URL + "/")
    except SendError as exc:
        return str(exc)
    return ""
