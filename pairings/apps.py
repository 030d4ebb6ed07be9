from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PairingsConfig(AppConfig):
    name = "pairings"
    verbose_name = _("Programs and pairings")

    def ready(self):
        from pairings.models import Metric, Pairing, PairingBranch, Program
        from portal import versioned

        versioned.connect(Program, Pairing, PairingBranch, Metric)  # values built from the set-up (portal/versioned.py)
