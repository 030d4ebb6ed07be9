"""Deleting activities, needs and service records hides them; an admin restores them; history keeps both."""

import pytest
from django.urls import reverse

from activities.models import Activity, Need, ServiceRecord
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model, make", [
    (Activity, lambda w: f.ActivityFactory(pairing=w["pairing"], branch=w["branch"])),
    (Need, lambda w: f.NeedFactory(pairing=w["pairing"])),
    (ServiceRecord, lambda w: f.ServiceRecordFactory(activity=f.ActivityFactory(pairing=w["pairing"], branch=w["branch"]))),
])
def test_admin_delete_is_soft_and_restorable(client, world, model, make):
    obj = make(world)
    client.force_login(world["users"]["superuser"])
    meta = model._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_delete", args=[obj.pk])
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not model.objects.filter(pk=obj.pk).exists()
    assert model.all_objects.filter(pk=obj.pk, deleted_at__isnull=False).exists()

    changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
    client.post(changelist, {"action": "restore", "_selected_action": [obj.pk]})
    assert model.objects.filter(pk=obj.pk).exists()
    history = model.history.filter(id=obj.pk).order_by("history_id")
    assert [h.deleted_at is None for h in history][-3:] == [True, False, True]
    assert history.last().history_user == world["users"]["superuser"]


def test_a_volunteer_may_be_recorded_again_after_a_soft_delete(world):
    record = f.ServiceRecordFactory(activity=f.ActivityFactory(pairing=world["pairing"], branch=world["branch"]))
    ServiceRecord.objects.filter(pk=record.pk).update(deleted_at="2024-04-01T00:00+08:00")
    again = ServiceRecord.objects.create(activity=record.activity, volunteer=record.volunteer, hours=1)
    assert again.pk != record.pk
