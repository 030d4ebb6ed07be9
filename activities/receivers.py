"""Keeps an activity's program with its pairing's: a pairing moved to another program takes its activities along
(Activity.program is the pairing's program whenever the pairing is set; program-wide activities have none).
Keeps the activity's export columns (activities.kept) with its parts, in the writing transaction.
Replaces the pairing page panels' version (activities/panels.py) whenever what they list is written."""

from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from activities.kept import kept_refresh
from activities.models import ActionItem, Activity, ActivityMetricValue, ActivityPhoto, Meeting, Need, ServiceRecord
from activities.panels import panels_changed
from activities.signals import activities_saved_in_bulk, service_records_changed
from pairings.models import Pairing


@receiver(post_save, sender=Pairing, dispatch_uid="activities_follow_pairing_program")
def _pairing_saved(sender, instance, raw=False, using=None, **kwargs):
    if raw:
        return
    # a QuerySet update: the program is derived, so no history row; the rollup marks both programs' months itself
    Activity.all_objects.using(using).filter(pairing_id=instance.pk).exclude(program_id=instance.program_id).update(
        program_id=instance.program_id
    )


# A full save() writes the kept columns as the instance holds them, which may predate a part's change: every
# save of an activity refreshes them after.
@receiver(post_save, sender=Activity, dispatch_uid="activities_kept_activity")
def _activity_saved(sender, instance, raw=False, using=None, update_fields=None, **kwargs):
    if raw or (update_fields is not None and _only_own(update_fields)):
        return
    kept_refresh([instance.pk], using=using)


def _only_own(update_fields):
    """A save of some fields only (update_fields) writes no kept column: nothing to refresh."""
    return not any(name.startswith("kept_") for name in update_fields)


@receiver(post_save, sender=ServiceRecord, dispatch_uid="activities_kept_record_saved")
@receiver(post_delete, sender=ServiceRecord, dispatch_uid="activities_kept_record_deleted")
@receiver(post_save, sender=ActivityMetricValue, dispatch_uid="activities_kept_value_saved")
@receiver(post_delete, sender=ActivityMetricValue, dispatch_uid="activities_kept_value_deleted")
@receiver(post_save, sender=ActivityPhoto, dispatch_uid="activities_kept_photo_saved")
@receiver(post_delete, sender=ActivityPhoto, dispatch_uid="activities_kept_photo_deleted")
def _part_changed(sender, instance, raw=False, using=None, **kwargs):
    if raw:
        return
    kept_refresh([instance.activity_id], using=using)


@receiver(m2m_changed, sender=Activity.co_branches.through, dispatch_uid="activities_kept_co_hosts")
def _co_hosts_changed(sender, instance, action, reverse, pk_set, using=None, **kwargs):
    if reverse and action == "pre_clear":  # an organisation's co-hostings, all removed: note which before
        instance._kept_cohosted = list(
            sender.objects.using(using).filter(organization_id=instance.pk).values_list("activity_id", flat=True)
        )
    if not action.startswith("post_"):
        return
    if not reverse:
        kept_refresh([instance.pk], using=using)
    elif action == "post_clear":
        kept_refresh(getattr(instance, "_kept_cohosted", ()), using=using)
    else:
        kept_refresh(pk_set or (), using=using)


@receiver(service_records_changed, dispatch_uid="activities_kept_records_changed")
@receiver(activities_saved_in_bulk, dispatch_uid="activities_kept_bulk")
def _changed_in_bulk(sender, activity_ids, using=None, **kwargs):
    kept_refresh(activity_ids, using=using or "default")


# What the pairing page's panels list (activities, needs, meetings and their decisions' counts): any save or delete
# (soft deletes and restores are saves), and the ledger import's bulk inserts, which send no post_save.
for _model in (Activity, Need, Meeting, ActionItem):
    post_save.connect(panels_changed, sender=_model, dispatch_uid=f"activities_panels_saved_{_model._meta.label}")
    post_delete.connect(panels_changed, sender=_model, dispatch_uid=f"activities_panels_deleted_{_model._meta.label}")
activities_saved_in_bulk.connect(panels_changed, dispatch_uid="activities_panels_bulk")
