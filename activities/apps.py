from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActivitiesConfig(AppConfig):
    name = "activities"
    verbose_name = _("Activities and needs")

    def ready(self):
        from activities import ledger, panels, receivers  # noqa: F401  (its panels, ledger kinds, receivers)
        from activities.models import ActivityType
        from portal import versioned

        versioned.connect(ActivityType)  # the lists' type choices are built from the set-up (portal/versioned.py)
        from portal.offline import offline_page

        # a secretary on a village road opens the form without a signal, and it is sent once one returns
        offline_page(
            "activities:create",
            static_files=(
                "css/activities.css", "js/formset-rows.js", "js/activity-draft.js", "js/photo-upload.js",
                "js/form-sections.js",
            ),
        )
