from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FiguresConfig(AppConfig):
    name = "figures"
    verbose_name = _("Figures")

    def ready(self):
        from figures import signals  # noqa: F401  (connects the rollup's receivers)
        from figures.cache import ROLLUP_VERSION
        from pairings.selectors import PAIRING_ROW_VERSIONS

        # the rollup writes Pairing.last_activity_on (raw SQL, no signal): a kept pairing is read again with it
        if ROLLUP_VERSION not in PAIRING_ROW_VERSIONS:
            PAIRING_ROW_VERSIONS.append(ROLLUP_VERSION)
