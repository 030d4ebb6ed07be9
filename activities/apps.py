from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActivitiesConfig(AppConfig):
    name = "activities"
    verbose_name = _("Activities and needs")

    def ready(self):
        from activities import ledger, panels, receivers  # noqa: F401  (registers its panels, ledger kinds, receivers)
