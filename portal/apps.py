from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("People and organisations")

    def ready(self):
        # The tasks are registered before any service enqueues one by name (Celery's autodiscovery is lazy).
        from portal import ledger_organisations, tasks, versioned  # noqa: F401  (and the organisations ledger kind)
        from portal.models import Membership, Organization

        versioned.connect(Organization, Membership)

        from portal import middleware, sessions

        sessions.read_with_session[versioned.SETUP_TOKEN_WITH_SESSION] = versioned.setup_token_with_session()
        sessions.read_with_session[middleware.MFA_WITH_SESSION] = middleware.mfa_enabled_with_session()
