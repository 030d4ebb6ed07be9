"""Receivers that keep the rollup (figures/rollups.py) current: whatever saves or deletes an activity, a
metric value or a service record — the services, the admin and its inlines, soft delete and restore —
marks the (pairing, month) keys it touched (and so do new co-hosts), refreshed once when the transaction commits. The one bulk
writes that bypass save(), the verification of hours and the ledger import, send `service_records_changed`
and `activities_saved_in_bulk`. A pairing
moved to another program marks both programs' months.

Writers that bypass save() and send nothing (COPY, bulk_create, QuerySet.update in a script) must run
``manage.py rebuild_rollups`` afterwards.
"""

from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import receiver

from activities.models import Activity, ActivityMetricValue, ServiceRecord
from pairings.models import Pairing
from figures.models import PairingMonth
from figures.rollups import key_of, mark_changed, month_of
from activities.signals import activities_saved_in_bulk, service_records_changed

# Saves that touch only other fields change no figure (e.g. linking a need, photos' captions). The branch is one:
# the figures cached under the rollup's version (figures/cache.py) include each branch's months (who hosted, who
# co-hosted), so a new host branch, like new co-hosts (_co_hosts_changed), refreshes the activity's month.
FIGURE_FIELDS = {
    "pairing", "pairing_id", "program", "program_id", "branch", "branch_id", "date", "status", "deleted_at",
    "residents_served", "party_members", "teachers", "students",
}


def _touches_figures(update_fields):
    return update_fields is None or bool(FIGURE_FIELDS & set(update_fields))


@receiver(pre_save, sender=Activity, dispatch_uid="rollups_activity_old_month")
def _activity_old_month(sender, instance, raw=False, using=None, update_fields=None, **kwargs):
    """An activity that moves (another date or pairing) leaves its old month: read where it was."""
    instance._rollup_old_key = None
    if raw or instance._state.adding or instance.pk is None:
        return
    if update_fields is not None and not {"date", "pairing", "pairing_id", "program", "program_id"} & set(update_fields):
        return
    old = Activity.all_objects.using(using).filter(pk=instance.pk).values_list("pairing_id", "program_id", "date").first()
    if old is not None:
        instance._rollup_old_key = old


def _marks(pairing_id, program_id, day):
    """The rollup keys of an activity: its pairing's month, or for a program-wide one its program's month."""
    if pairing_id is None:
        return {"program_keys": {(program_id, month_of(day))}}
    return {"keys": [key_of(pairing_id, day)]}


@receiver(post_save, sender=Activity, dispatch_uid="rollups_activity_saved")
def _activity_saved(sender, instance, raw=False, using=None, update_fields=None, **kwargs):
    if raw or not _touches_figures(update_fields):
        return
    old = getattr(instance, "_rollup_old_key", None)
    mark_changed(using=using, **(_marks(*old) if old else {}), activity_ids=[instance.pk])


@receiver(post_delete, sender=Activity, dispatch_uid="rollups_activity_deleted")
def _activity_deleted(sender, instance, using=None, **kwargs):
    day = Activity._meta.get_field("date").to_python(instance.date)
    mark_changed(using=using, **_marks(instance.pairing_id, instance.program_id, day))


@receiver(post_save, sender=ActivityMetricValue, dispatch_uid="rollups_value_saved")
@receiver(post_delete, sender=ActivityMetricValue, dispatch_uid="rollups_value_deleted")
@receiver(post_save, sender=ServiceRecord, dispatch_uid="rollups_record_saved")
@receiver(post_delete, sender=ServiceRecord, dispatch_uid="rollups_record_deleted")
def _part_changed(sender, instance, raw=False, using=None, **kwargs):
    """A metric value or service record: its activity's month (read when the transaction commits)."""
    if raw:
        return
    mark_changed(using=using, activity_ids=[instance.activity_id])


@receiver(m2m_changed, sender=Activity.co_branches.through, dispatch_uid="rollups_co_hosts_changed")
def _co_hosts_changed(sender, instance, action, reverse, pk_set, using=None, **kwargs):
    """New co-hosts credit other branches with the activity's month: its month is refreshed (and so the rollup's
    version replaced) like for any change of its figures."""
    if reverse and action == "pre_clear":  # an organisation's co-hostings, all removed: note which before
        instance._rollup_cohosted = list(
            sender.objects.using(using).filter(organization_id=instance.pk).values_list("activity_id", flat=True)
        )
    if not action.startswith("post_"):
        return
    if not reverse:
        ids = [instance.pk]
    elif action == "post_clear":
        ids = getattr(instance, "_rollup_cohosted", [])
    else:
        ids = list(pk_set or ())
    if ids:
        mark_changed(using=using, activity_ids=ids)


@receiver(service_records_changed, dispatch_uid="rollups_records_changed")
def _records_changed(sender, activity_ids, using=None, **kwargs):
    mark_changed(using=using or "default", activity_ids=activity_ids)


@receiver(activities_saved_in_bulk, dispatch_uid="rollups_activities_bulk")
def _activities_bulk(sender, activity_ids, using=None, **kwargs):
    """Activities inserted in bulk (a ledger import): their months, refreshed once when the transaction commits."""
    mark_changed(using=using or "default", activity_ids=activity_ids)


@receiver(pre_save, sender=Pairing, dispatch_uid="rollups_pairing_old_program")
def _pairing_old_program(sender, instance, raw=False, using=None, update_fields=None, **kwargs):
    instance._rollup_old_program = None
    if raw or instance._state.adding or instance.pk is None:
        return
    if update_fields is not None and not {"program", "program_id"} & set(update_fields):
        return
    instance._rollup_old_program = (
        Pairing.objects.using(using).filter(pk=instance.pk).values_list("program_id", flat=True).first()
    )


@receiver(post_save, sender=Pairing, dispatch_uid="rollups_pairing_saved")
def _pairing_saved(sender, instance, raw=False, using=None, **kwargs):
    """A pairing moved to another program: both programs' months it had activities in are added up again."""
    old = getattr(instance, "_rollup_old_program", None)
    if raw or old is None or old == instance.program_id:
        return
    months = PairingMonth.objects.using(using).filter(pairing_id=instance.pk).values_list("month", flat=True)
    mark_changed(using=using, program_keys={(program, month) for month in months for program in (old, instance.program_id)})
