"""Celery tasks of the base app: they take ids and call a service or send what a service prepared: invitations
by e-mail, and large ledger imports (portal.services.ASYNC_ROWS rows and more), checked and saved here while the
page polls their progress (portal.services.import_progress)."""

import logging

from celery import shared_task
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from portal import ledger, services  # services imports this module too: read its names at call time
from portal.models import ImportBatch, Invitation, User


@shared_task(autoretry_for=(ConnectionError, TimeoutError), retry_backoff=True, max_retries=5)
def send_invitation(invitation_id, token):
    """Mail an invitation's one-time link (in Chinese), unless it was used or revoked meanwhile."""
    invitation = Invitation.objects.select_related("user", "created_by").filter(pk=invitation_id).first()
    if invitation is None or invitation.used_at or invitation.revoked_at or not invitation.user.email:
        return False
    user = invitation.user
    membership = user.memberships.select_related("organization").order_by("pk").first()
    with override(settings.LANGUAGE_CODE):
        subject = _("Your invitation to the pairing portal")
        body = _(
            "Hello %(name)s,\n\n%(inviter)s invites you to the pairing portal (结对共建) as %(role)s of "
            "%(organization)s.\n\nOpen this link to choose your user name and password (it works once, until "
            "%(expires)s):\n%(link)s\n"
        ) % {
            "name": user,
            "inviter": invitation.created_by or _("The program office"),
            "role": membership.get_role_display() if membership else "",
            "organization": membership.organization if membership else "",
            "expires": timezone.localtime(invitation.expires_at).strftime("%Y-%m-%d %H:%M"),
            "link": services.invitation_link(token),
        }
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
    return True


log = logging.getLogger(__name__)


def _fail(batch_id, status, message):
    ImportBatch.objects.filter(pk=batch_id).update(status=status, message=message[:2000])


@shared_task(name="portal.ledger_check")
def ledger_check(batch_id):
    batch = ImportBatch.objects.select_related("created_by").get(pk=batch_id)
    try:
        services.import_batch_check(batch=batch)
    except ledger.LedgerFileError as exc:
        _fail(batch_id, ImportBatch.Status.FAILED, str(exc))


@shared_task(name="portal.ledger_apply")
def ledger_apply(batch_id, user_id):
    batch = ImportBatch.objects.get(pk=batch_id)
    user = User.objects.get(pk=user_id)
    try:
        services.import_batch_apply(batch=batch, user=user)
    except ValidationError as exc:
        _fail(batch_id, ImportBatch.Status.PREVIEW, "\n".join(exc.messages))
    except Exception:
        log.exception("ledger import %s failed", batch_id)
        _fail(batch_id, ImportBatch.Status.PREVIEW, _("The import failed; nothing was saved. Try again later."))
        raise


@shared_task(name="portal.outbox_flush")
def outbox_flush():
    """Beat, every minute: send the tasks that pages kept in the outbox while the broker was away."""
    from portal.queue import outbox_flush as flush

    sent, _left = flush()
    return sent
