from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PairingsConfig(AppConfig):
    name = "pairings"
    verbose_name = _("Programs and pairings")

    def ready(self):
        from pairings.models import (
            JointPlan, Liaison, Metric, Pairing, PairingBranch, PlanItem, PlanTarget, Program, VillageIndicator,
            VillageStatistic,
        )
        from portal import versioned

        versioned.connect(Program, Pairing, PairingBranch, Metric)  # values built from the set-up (portal/versioned.py)
        # the plans' targets are part of the figures cached with the set-up (figures/cache.py)
        versioned.connect(JointPlan, PlanItem, PlanTarget)
        # the pairing page's liaisons and village statistics are cached with the set-up (selectors.pairing_parts)
        versioned.connect(Liaison, VillageIndicator, VillageStatistic)
