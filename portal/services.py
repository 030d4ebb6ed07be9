"""Writes of the base app: accounts and memberships."""

from allauth.account.forms import default_token_generator
from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _


def user_invitation_link(*, user):
    """A one-time link where the user sets their own password (allauth's reset-from-key page)."""
    path = reverse(
        "account_reset_password_from_key",
        kwargs={"uidb36": user_pk_to_url_str(user), "key": default_token_generator.make_token(user)},
    )
    return f"{settings.PORTAL_BASE_URL}{path}"


@transaction.atomic
def user_invite(*, user, inviter):
    """Send a new account its invitation: an e-mail with a link to set a password, once the transaction
    commits. No public sign-up exists, so this is how people get in. A user who never set a password keeps
    an unusable one."""
    if not user.is_active:
        raise ValidationError(_("%(user)s is deactivated and cannot be invited.") % {"user": user})
    if not user.email:
        raise ValidationError(_("%(user)s has no e-mail address to send the invitation to.") % {"user": user})
    link = user_invitation_link(user=user)
    subject = _("Your account on the pairing portal")
    body = _(
        "Hello %(name)s,\n\n%(inviter)s has created an account for you on the pairing portal "
        "(结对共建). Your user name is %(username)s.\n\nSet your password here (the link works once):\n"
        "%(link)s\n"
    ) % {"name": user, "inviter": inviter, "username": user.username, "link": link}
    recipients = [user.email]
    # after the commit: a transaction around this call that rolls back sends nothing
    transaction.on_commit(lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients))
    return link
