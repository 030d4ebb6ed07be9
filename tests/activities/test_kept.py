"""The export columns kept on the activity row (activities.kept) equal what its records say, after every write
that changes them: the form's create and update, the verification of hours, a record or value deleted (the
admin's inlines), co-hosts added and removed, photos, the ledger import, and a rebuild."""

import datetime
from decimal import Decimal

import pytest
from django.db.models import Max, Sum

from activities import services
from activities.kept import kept_rebuild, plain_number
from activities.models import Activity, ActivityMetricValue, ActivityPhoto, ServiceRecord
from tests import factories as f
from tests.activities.test_corrections import chinese, confirmed, update  # noqa: F401 (fixtures)
from tests.activities.test_ledger import confirm, csv_bytes, last_batch, ledger_world, row, upload  # noqa: F401

pytestmark = pytest.mark.django_db


def from_records(activity):
    """The kept columns as computed from the activity's records, in Python."""
    alive = ServiceRecord.objects.filter(activity=activity)
    verified = alive.filter(status=ServiceRecord.Status.VERIFIED)
    values = ActivityMetricValue.objects.filter(activity=activity).order_by("metric_id")
    return {
        "kept_verified_hours": verified.aggregate(t=Sum("hours"))["t"] or Decimal(0),
        "kept_pending_hours": alive.filter(status=ServiceRecord.Status.RECORDED).aggregate(t=Sum("hours"))["t"] or Decimal(0),
        "kept_verified_until": verified.aggregate(t=Max("verified_at"))["t"],
        "kept_co_host_ids": ",".join(str(pk) for pk in sorted(activity.co_branches.values_list("pk", flat=True))),
        "kept_figures": ";".join(f"{v.metric_id}:{plain_number(v.value)}" for v in values),
        "kept_photos": ActivityPhoto.objects.filter(activity=activity).count(),
    }


def kept(activity):
    return Activity.all_objects.filter(pk=activity.pk).values(*from_records(activity)).get()


def test_create_keeps_hours_figures_and_photos(kit, confirmed):
    assert kept(confirmed) == from_records(confirmed)
    assert kept(confirmed)["kept_pending_hours"] == Decimal("2.0")
    assert kept(confirmed)["kept_figures"] == f"{kit['repairs'].pk}:12"
    assert kept(confirmed)["kept_photos"] == 1


def test_verifying_hours_moves_them_to_verified(kit, confirmed):
    records = ServiceRecord.objects.filter(activity=confirmed)
    services.service_records_verify(records=records, actor=kit["users"]["admin"])
    assert kept(confirmed) == from_records(confirmed)
    assert (kept(confirmed)["kept_verified_hours"], kept(confirmed)["kept_pending_hours"]) == (Decimal("2.0"), 0)
    assert kept(confirmed)["kept_verified_until"] is not None


def test_update_changes_figures_and_hours(kit, confirmed):
    update(kit, confirmed, repairs="7.00", hours="3.5", reason="数错了")
    assert kept(confirmed) == from_records(confirmed)
    assert kept(confirmed)["kept_figures"] == f"{kit['repairs'].pk}:7"
    assert kept(confirmed)["kept_pending_hours"] == Decimal("3.5")


def test_update_removing_hours_and_figures_clears_them(kit, confirmed):
    update(kit, confirmed, repairs="", hours="", reason="没有")
    assert kept(confirmed) == from_records(confirmed)
    assert (kept(confirmed)["kept_figures"], kept(confirmed)["kept_pending_hours"]) == ("", 0)


def test_parts_deleted_one_by_one_as_the_admin_does(kit, confirmed):
    ActivityMetricValue.objects.filter(activity=confirmed).get().delete()
    ServiceRecord.objects.filter(activity=confirmed).get().delete()
    ActivityPhoto.objects.filter(activity=confirmed).get().delete()
    assert kept(confirmed) == from_records(confirmed) == {
        "kept_verified_hours": 0, "kept_pending_hours": 0, "kept_verified_until": None, "kept_co_host_ids": "",
        "kept_figures": "", "kept_photos": 0,
    }


def test_co_hosts_added_and_removed(kit, confirmed):
    first, second = f.OrganizationFactory(name="乙支部"), f.OrganizationFactory(name="甲支部")
    confirmed.co_branches.add(second, first)
    assert kept(confirmed)["kept_co_host_ids"] == ",".join(str(pk) for pk in sorted([first.pk, second.pk]))
    first.cohosted_activities.remove(confirmed)  # from the organisation's side
    assert kept(confirmed) == from_records(confirmed)
    assert kept(confirmed)["kept_co_host_ids"] == str(second.pk)
    second.cohosted_activities.clear()
    assert kept(confirmed)["kept_co_host_ids"] == ""


def test_a_full_save_of_a_stale_instance_does_not_undo_them(kit, confirmed):
    stale = Activity.objects.get(pk=confirmed.pk)
    services.service_records_verify(records=ServiceRecord.objects.filter(activity=confirmed), actor=kit["users"]["admin"])
    stale.title = "改个标题"
    stale.save()
    assert kept(confirmed) == from_records(confirmed)
    assert kept(confirmed)["kept_verified_hours"] == Decimal("2.0")


def test_the_ledger_import_keeps_its_figures(client, ledger_world, django_capture_on_commit_callbacks):
    upload(client, ledger_world["users"]["admin"], csv_bytes([row(title="导入一", repairs="4"), row(title="导入二", repairs="6")]),
           world=ledger_world)
    with django_capture_on_commit_callbacks(execute=True):
        confirm(client, last_batch())
    imported = Activity.objects.filter(title__in=["导入一", "导入二"]).order_by("title")
    assert len(imported) == 2
    for activity in imported:
        assert kept(activity) == from_records(activity)
    assert sorted(kept(a)["kept_figures"].split(":")[1] for a in imported) == ["4", "6"]


def test_a_rebuild_repairs_what_was_written_behind_their_back(kit, confirmed):
    Activity.all_objects.filter(pk=confirmed.pk).update(kept_figures="", kept_pending_hours=9, kept_photos=5)
    kept_rebuild()
    assert kept(confirmed) == from_records(confirmed)
    assert kept(confirmed)["kept_figures"] == f"{kit['repairs'].pk}:12"
