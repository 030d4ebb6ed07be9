"""Confirmed means confirmed (issue 13): a change to a counted field of a confirmed activity, by anyone, sends it
back to the village with what changed and why; other changes keep it confirmed."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from activities import services
from activities.models import Activity, ActivityMetricValue, ServiceRecord
from tests import factories as f
from tests.activities.images import jpeg_bytes
from tests.activities.test_views import form_data, services_clean

pytestmark = pytest.mark.django_db
S = Activity.Status
DAY = datetime.date(2024, 3, 15)
NOTICE = "此活动已被修改，需重新确认"


@pytest.fixture(autouse=True)
def chinese():
    with translation.override("zh-hans"):
        yield


@pytest.fixture
def confirmed(kit):
    """A confirmed activity with 40 residents served, 12 repairs, 张老师's 2 hours and one photo."""
    secretary = kit["users"]["secretary"]
    activity = services.activity_create(
        actor=secretary,
        fields=fields(kit),
        metric_values=[services.MetricEntry(metric=kit["repairs"], value=Decimal("12"))],
        service_records=[services.HoursEntry(volunteer=kit["volunteer"], hours=Decimal("2"))],
        new_photos=[services.NewPhoto(photo=services_clean(jpeg_bytes()))],
        submit=True,
    ).activity
    return services.activity_confirm(activity=activity, actor=kit["users"]["village"])


def fields(kit, **overrides):
    values = {
        "pairing": kit["pairing"], "activity_type": kit["type"], "title": "小电匠家电维修进村", "date": DAY,
        "place": "龙石村", "description": "维修家电", "party_members": 5, "students": 12, "residents_served": 40,
    }
    values.update(overrides)
    return services.ActivityFields(**values)


def update(kit, activity, actor="admin", *, repairs="12", hours="2", reason="", **changes):
    """activity_update as the form sends it: everything as it is, but `changes`."""
    return services.activity_update(
        activity=activity,
        actor=kit["users"][actor],
        fields=fields(kit, **changes),
        metric_values=[services.MetricEntry(metric=kit["repairs"], value=Decimal(repairs))] if repairs else [],
        service_records=[services.HoursEntry(volunteer=kit["volunteer"], hours=Decimal(hours))] if hours else [],
        correction_reason=reason,
    ).activity


@pytest.mark.parametrize("role", ["admin", "superuser"])
def test_correcting_a_counted_field_sends_it_back_to_the_village(kit, confirmed, role):
    actor = kit["users"][role]
    activity = update(kit, confirmed, role, date=DAY + datetime.timedelta(days=1), residents_served=45, repairs="15",
                      reason="村里核对签到表后更正")
    activity.refresh_from_db()
    assert activity.status == S.SUBMITTED
    assert activity.confirmed_at is None and activity.confirmed_by is None
    assert activity.correction_reason == "村里核对签到表后更正"
    assert activity.correction_summary == "日期 2024-03-15 → 2024-03-16；服务群众（人次） 40 → 45；家电维修 12 → 15"
    assert activity.corrected_by == actor and activity.corrected_at == activity.submitted_at
    assert activity.correction_pending
    # in the village's queue, for it to confirm again
    assert Activity.objects.confirmable_by(kit["users"]["village"]).filter(pk=activity.pk).exists()
    assert activity.history.first().history_change_reason == "corrected"


def test_the_branch_secretary_cannot_change_a_confirmed_activity_at_all(kit, confirmed):
    with pytest.raises(PermissionDenied):
        update(kit, confirmed, "secretary", residents_served=45, reason="更正")
    confirmed.refresh_from_db()
    assert (confirmed.status, confirmed.residents_served) == (S.CONFIRMED, 40)


def test_a_correction_without_a_reason_changes_nothing(kit, confirmed):
    with pytest.raises(ValidationError) as caught:
        update(kit, confirmed, residents_served=45, repairs="15", hours="3", reason="  ")
    assert "correction_reason" in caught.value.message_dict
    assert "修改原因" in caught.value.message_dict["correction_reason"][0]
    confirmed.refresh_from_db()
    assert (confirmed.status, confirmed.residents_served, confirmed.confirmed_by) == (
        S.CONFIRMED, 40, kit["users"]["village"]
    )
    assert ActivityMetricValue.objects.get(activity=confirmed).value == Decimal("12")
    assert ServiceRecord.objects.get(activity=confirmed).hours == Decimal("2")


def test_changing_only_uncounted_fields_keeps_it_confirmed(kit, confirmed):
    photo = confirmed.photos.get()
    services.activity_update(
        activity=confirmed, actor=kit["users"]["admin"],
        fields=fields(kit, title="新标题", place="村委会", description="更详细的说明", start_time=datetime.time(9)),
        metric_values=[services.MetricEntry(metric=kit["repairs"], value=Decimal("12.00"))],
        service_records=[services.HoursEntry(volunteer=kit["volunteer"], hours=Decimal("2.0"), content="修电视")],
        photo_changes=[services.PhotoChange(photo_id=photo.pk, caption="合影", shows_minors=True)],
    )
    confirmed.refresh_from_db()
    assert confirmed.title == "新标题"
    assert (confirmed.status, confirmed.confirmed_by) == (S.CONFIRMED, kit["users"]["village"])
    assert confirmed.correction_summary == "" and confirmed.corrected_at is None


@pytest.mark.parametrize("change, summary", [
    ({"hours": "3"}, "张老师服务时长 2 → 3"),
    ({"hours": ""}, "张老师服务时长 2 → —"),
    ({"repairs": ""}, "家电维修 12 → —"),
    ({"party_members": 6, "teachers": 1}, "参与党员 5 → 6；参与教师 0 → 1"),
    ({"photos": "remove"}, "删除照片 1 张"),
    ({"photos": "add"}, "新增照片 1 张"),
])
def test_every_counted_part_is_a_correction(kit, confirmed, change, summary):
    photos = change.pop("photos", None)
    extra = {}
    if photos == "remove":
        extra["photo_changes"] = [services.PhotoChange(photo_id=confirmed.photos.get().pk, delete=True)]
    elif photos == "add":
        extra["new_photos"] = [services.NewPhoto(photo=services_clean(jpeg_bytes(color=(0, 90, 0))))]
    repairs, hours = change.pop("repairs", "12"), change.pop("hours", "2")
    services.activity_update(
        activity=confirmed, actor=kit["users"]["admin"], fields=fields(kit, **change),
        metric_values=[services.MetricEntry(metric=kit["repairs"], value=Decimal(repairs))] if repairs else [],
        service_records=[services.HoursEntry(volunteer=kit["volunteer"], hours=Decimal(hours))] if hours else [],
        correction_reason="核对后更正", **extra,
    )
    confirmed.refresh_from_db()
    assert confirmed.status == S.SUBMITTED and confirmed.correction_summary == summary


def test_a_second_correction_before_the_village_answers_adds_to_the_first(kit, confirmed):
    update(kit, confirmed, residents_served=45, reason="签到表")
    update(kit, confirmed, residents_served=50, reason="补录")
    confirmed.refresh_from_db()
    assert confirmed.correction_summary == "服务群众（人次） 40 → 45；服务群众（人次） 45 → 50"
    assert confirmed.correction_reason == "签到表；补录"
    # a change of title alone while it waits needs no reason and keeps the correction
    update(kit, confirmed, residents_served=50, title="改标题")
    confirmed.refresh_from_db()
    assert confirmed.correction_pending and confirmed.correction_reason == "签到表；补录"


def test_confirming_again_ends_the_notice_and_keeps_the_correction_as_history(client, kit, confirmed):
    update(kit, confirmed, residents_served=45, reason="签到表")
    again = services.activity_confirm(activity=confirmed, actor=kit["users"]["village"])
    again.refresh_from_db()
    assert again.status == S.CONFIRMED and again.confirmed_by == kit["users"]["village"]
    assert not again.correction_pending
    assert again.correction_summary == "服务群众（人次） 40 → 45" and again.correction_reason == "签到表"
    client.force_login(kit["users"]["village"])
    page = client.get(reverse("activities:detail", args=[again.pk]))
    assert NOTICE not in page.content.decode()
    history = page.context["history"]
    assert [c["to"] for c in history] == ["draft", "submitted", "confirmed", "submitted", "confirmed"]
    assert history[3]["comment"] == "已修改：服务群众（人次） 40 → 45。原因：签到表"
    assert history[3]["who"] == kit["users"]["admin"]


def test_returned_and_resubmitted_ends_the_notice(kit, confirmed):
    update(kit, confirmed, residents_served=45, reason="签到表")
    services.activity_return(activity=confirmed, actor=kit["users"]["village"], comment="人数仍不对")
    returned = Activity.objects.get(pk=confirmed.pk)
    assert not returned.correction_pending
    services.activity_submit(activity=returned, actor=kit["users"]["secretary"])
    assert not Activity.objects.get(pk=confirmed.pk).correction_pending


# --- the pages -------------------------------------------------------------------------------------------


def edit_data(kit, activity, **overrides):
    """The edit form as the page sends it back: its rows as the page gave them (INITIAL_FORMS as rendered)."""
    photo = activity.photos.get()
    data = form_data(
        kit, metrics=[(kit["repairs"].pk, "12"), (kit["income"].pk, "")],
        hours=[{"volunteer": kit["volunteer"].pk, "hours": "2"}],
        date=DAY.isoformat(), title="小电匠家电维修进村", place="龙石村", description="维修家电",
        party_members="5", teachers="0", students="12", residents_served="40", start_time="", end_time="",
    )
    data.update({"photos-TOTAL_FORMS": "1", "photos-INITIAL_FORMS": "1", "photos-0-photo_id": photo.pk,
                 "metrics-INITIAL_FORMS": "2", "hours-INITIAL_FORMS": "1"})
    data.update(overrides)
    return data


@pytest.mark.parametrize("role", ["admin", "superuser"])
def test_the_edit_form_asks_for_the_reason_and_the_village_sees_the_correction(client, kit, confirmed, role):
    client.force_login(kit["users"][role])
    url = reverse("activities:update", args=[confirmed.pk])
    page = client.get(url)
    assert "correction_reason" in page.context["form"].fields and page.context["asks_reason"]

    refused = client.post(url, edit_data(kit, confirmed, residents_served="45"))
    assert refused.status_code == 200
    assert "修改原因" in refused.context["form"].errors["correction_reason"][0]
    confirmed.refresh_from_db()
    assert (confirmed.status, confirmed.residents_served) == (S.CONFIRMED, 40)

    done = client.post(url, edit_data(kit, confirmed, residents_served="45", correction_reason="签到表核对后更正"))
    assert done.status_code == 302
    confirmed.refresh_from_db()
    assert confirmed.status == S.SUBMITTED and confirmed.residents_served == 45

    client.force_login(kit["users"]["village"])
    home = client.get(reverse("home"))
    assert confirmed.title in home.content.decode()
    detail = client.get(reverse("activities:detail", args=[confirmed.pk]))
    text = detail.content.decode()
    assert detail.context["can_confirm"]
    assert NOTICE in text and "服务群众（人次） 40 → 45" in text and "签到表核对后更正" in text
    returning = client.get(reverse("activities:return", args=[confirmed.pk]))
    assert NOTICE in returning.content.decode()


def test_the_edit_form_of_a_draft_asks_no_reason(client, kit):
    draft = f.ActivityFactory(pairing=kit["pairing"], branch=kit["branch"], activity_type=kit["type"])
    client.force_login(kit["users"]["secretary"])
    page = client.get(reverse("activities:update", args=[draft.pk]))
    assert "correction_reason" not in page.context["form"].fields and not page.context["asks_reason"]


def test_an_uncounted_change_on_the_form_keeps_it_confirmed(client, kit, confirmed):
    client.force_login(kit["users"]["admin"])
    page = client.get(reverse("activities:update", args=[confirmed.pk]))
    # edit_data sends the rows back as the page renders them
    assert (page.context["metrics"].initial_form_count(), page.context["hours"].initial_form_count()) == (2, 1)
    response = client.post(reverse("activities:update", args=[confirmed.pk]),
                           edit_data(kit, confirmed, title="改过的标题", place="村委会"))
    assert response.status_code == 302
    confirmed.refresh_from_db()
    assert (confirmed.title, confirmed.status) == ("改过的标题", S.CONFIRMED)


# --- the Django admin --------------------------------------------------------------------------------------


def test_the_admin_keeps_a_confirmed_activitys_counted_fields_read_only(client, kit, confirmed):
    client.force_login(kit["users"]["superuser"])
    url = reverse("admin:activities_activity_change", args=[confirmed.pk])
    page = client.get(url)
    assert page.status_code == 200
    readonly = page.context["adminform"].readonly_fields
    assert {"date", "pairing", "residents_served", "status", "confirmed_by"} <= set(readonly)
    inlines = {inline.opts.model._meta.model_name: inline for inline in page.context["inline_admin_formsets"]}
    for name in ("activitymetricvalue", "servicerecord", "activityphoto"):
        assert not inlines[name].has_add_permission and not inlines[name].has_delete_permission
    assert {"metric", "value"} <= set(inlines["activitymetricvalue"].readonly_fields)
    assert {"volunteer", "hours"} <= set(inlines["servicerecord"].readonly_fields)
    # the admin's form has no field for them: whatever is posted, they are not saved
    assert not {"date", "pairing", "residents_served", "status"} & set(page.context["adminform"].form.fields)
    assert "title" in page.context["adminform"].form.fields
    # nor do the metric values' own pages
    value = ActivityMetricValue.objects.get(activity=confirmed)
    change = client.get(reverse("admin:activities_activitymetricvalue_change", args=[value.pk]))
    assert change.context["has_change_permission"] is False
    added = client.post(reverse("admin:activities_activitymetricvalue_add"),
                        {"activity": confirmed.pk, "metric": kit["income"].pk, "value": "5"})
    assert added.status_code == 200 and not ActivityMetricValue.objects.filter(metric=kit["income"]).exists()
