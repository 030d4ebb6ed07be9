from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActivitiesConfig(AppConfig):
    name = "activities"
    verbose_name = _("Activities and needs")

    def ready(self):
        from activities import ledger, panels  # noqa: F401  (registers its panels and its ledger kinds)
        from activities.models import ActivityType
        from portal import versioned

        versioned.connect(ActivityType)  # the lists' type choices are built from the set-up (portal/versioned.py)
