"""Celery tasks of the base app: they take ids and call a service or send what a service prepared."""

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from portal.models import Invitation


def invitation_link(token):
    """The full address of an invitation's one-time link (settings.PORTAL_BASE_URL)."""
    return f"{settings.PORTAL_BASE_URL}{reverse('setup:invite_accept', args=[token])}"


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
            "link": invitation_link(token),
        }
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
    return True
