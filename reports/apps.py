from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Reports")

    def ready(self):
        from reports import events  # noqa: F401  (connects the receivers that turn events into notifications)
        from portal import sessions
        from reports.context_processors import BADGE_CAP, UNREAD_WITH_SESSION
        from reports.selectors import unread_count_with_session

        # the header's unread count, read with the session (reports/context_processors.py)
        sessions.read_with_session[UNREAD_WITH_SESSION] = unread_count_with_session(BADGE_CAP)
