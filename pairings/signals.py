"""Signals of the pairings app, sent inside the service's transaction (a listener's writes commit with it).

`plan_needs_agreement` (``plan``, ``actor``, ``since``): the plan waits for the village's agreement, because
its first item was added or because a change withdrew the agreement given on ``since`` (a date; None for a plan
never agreed to). The reports app listens and tells the village; this app does not know who listens.
"""

from django.dispatch import Signal

plan_needs_agreement = Signal()
