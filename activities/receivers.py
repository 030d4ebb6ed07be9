"""Keeps an activity's program with its pairing's: a pairing moved to another program takes its activities along
(Activity.program is the pairing's program whenever the pairing is set; program-wide activities have none)."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from activities.models import Activity
from pairings.models import Pairing


@receiver(post_save, sender=Pairing, dispatch_uid="activities_follow_pairing_program")
def _pairing_saved(sender, instance, raw=False, using=None, **kwargs):
    if raw:
        return
    # a QuerySet update: the program is derived, so no history row; the rollup marks both programs' months itself
    Activity.all_objects.using(using).filter(pairing_id=instance.pk).exclude(program_id=instance.program_id).update(
        program_id=instance.program_id
    )
