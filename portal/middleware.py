from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from portal.permissions import is_program_admin

# Paths a user without TOTP may still reach: setting it up, signing out, and what pages load.
MFA_SETUP_EXEMPT = ("/accounts/", "/static/", "/healthz", "/readyz", "/i18n/", "/sw.js")

MFA_WITH_SESSION = "_portal_mfa_enabled"  # the user's attribute set by the session's read (portal/sessions.py)


def mfa_enabled_with_session():
    """allauth's `is_mfa_enabled(user)` (the user has an authenticator) as SQL over a session's row, for the session's
    read: every page of a program admin asked it in a query of its own. (SQL, parameters)"""
    from allauth.mfa.models import Authenticator
    from django.db import connections, router

    from portal.models import UserSession

    quote = connections[router.db_for_read(Authenticator)].ops.quote_name
    return (
        f"SELECT CASE WHEN EXISTS (SELECT 1 FROM {quote(Authenticator._meta.db_table)} a"
        f" WHERE a.{quote('user_id')} = {quote(UserSession._meta.db_table)}.{quote('user_id')}) THEN 1 ELSE 0 END",
        [],
    )


def _mfa_enabled(user):
    read = getattr(user, MFA_WITH_SESSION, None)
    return is_mfa_enabled(user) if read is None else bool(read)


class RequireAdminMFAMiddleware:
    """Program admins and staff are sent to set up TOTP before anything else (REQUIRE_ADMIN_MFA)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            settings.REQUIRE_ADMIN_MFA
            and user.is_authenticated
            and not request.path.startswith(MFA_SETUP_EXEMPT)
            and (user.is_staff or is_program_admin(user))
            and not _mfa_enabled(user)
        ):
            messages.warning(request, _("Program admins must turn on two-factor authentication before going on."))
            return redirect(reverse("mfa_activate_totp"))
        return self.get_response(request)


class ChineseFirstMiddleware:
    """The portal speaks Simplified Chinese unless the user picked another language with the switch:
    the browser's Accept-Language is not consulted (many users' browsers say English)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)
