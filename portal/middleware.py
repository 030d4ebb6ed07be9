from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from portal.permissions import is_program_admin

# Paths a user without TOTP may still reach: setting it up, signing out, and what pages load.
MFA_SETUP_EXEMPT = ("/accounts/", "/static/", "/healthz", "/readyz", "/i18n/", "/sw.js")


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
            and not is_mfa_enabled(user)
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
