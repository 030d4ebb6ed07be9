"""activities.services: the writes, their permission checks and their validation."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation

from activities import services
from activities.images import clean_photo
from activities.models import Activity, ActivityPhoto, ServiceRecord
from portal.errors import AlreadyDone
from tests import factories as f
from tests.activities.images import jpeg_bytes
from volunteers.models import Volunteer

pytestmark = pytest.mark.django_db
S = Activity.Status


def fields(kit, **overrides):
    values = {
        "pairing": kit["pairing"],
        "activity_type": kit["type"],
        "title": "小电匠家电维修进村",
        "date": timezone.localdate() - datetime.timedelta(days=1),
        "start_time": datetime.time(9, 0),
        "end_time": datetime.time(11, 30),
        "place": "龙石村党群服务中心",
        "party_members": 5,
        "students": 12,
        "residents_served": 40,
    }
    values.update(overrides)
    return services.ActivityFields(**values)


def create(kit, actor=None, **kwargs):
    actor = actor or kit["users"]["secretary"]
    kwargs.setdefault("fields", fields(kit))
    return services.activity_create(actor=actor, **kwargs).activity


def errors_of(caught):
    return caught.value.message_dict


def test_create_records_a_draft_of_the_secretarys_branch(kit):
    activity = create(
        kit,
        metric_values=[services.MetricEntry(metric=kit["repairs"], value=Decimal("23"))],
        service_records=[
            services.HoursEntry(volunteer=kit["volunteer"], hours=Decimal("2.5"), content="维修"),
            services.HoursEntry(new_name="王同学", new_kind=Volunteer.Kind.STUDENT, hours=Decimal("2")),
        ],
    )
    assert activity.status == S.DRAFT
    assert activity.branch == kit["branch"]
    assert activity.created_by == kit["users"]["secretary"]
    assert [(v.metric, v.value) for v in activity.metric_values.all()] == [(kit["repairs"], Decimal("23"))]
    records = {r.volunteer.name: r for r in activity.service_records.all()}
    assert records["张老师"].hours == Decimal("2.5") and records["张老师"].recorded_by == kit["users"]["secretary"]
    new = records["王同学"].volunteer
    assert new.organization == kit["branch"] and new.kind == Volunteer.Kind.STUDENT
    assert activity.history.first().history_user == kit["users"]["secretary"]


def test_create_and_submit_at_once(kit):
    activity = create(kit, submit=True)
    assert activity.status == S.SUBMITTED and activity.submitted_at is not None


@pytest.mark.parametrize("role", ["village", "committee", "admin", "outsider", "superuser"])
def test_only_a_branch_secretary_records(kit, role):
    with pytest.raises(PermissionDenied):
        create(kit, actor=kit["users"][role])


def test_another_programs_pairing_is_refused(kit):
    with pytest.raises(PermissionDenied):
        create(kit, fields=fields(kit, pairing=kit["other_pairing"]))


@pytest.mark.parametrize(
    "overrides, field",
    [
        # a callable: "tomorrow" is read when the test runs, not when it is collected (a run may cross midnight)
        ({"date": lambda: timezone.localdate() + datetime.timedelta(days=1)}, "date"),
        ({"date": datetime.date(1999, 12, 31)}, "date"),
        ({"start_time": datetime.time(10), "end_time": datetime.time(9)}, "end_time"),
        ({"party_members": -1}, "party_members"),
        ({"students": services.MAX_PEOPLE + 1}, "students"),
        ({"residents_served": services.MAX_SERVED + 1}, "residents_served"),
        ({"title": "   "}, "title"),
    ],
    ids=["future", "ancient", "end-before-start", "negative", "absurd-students", "absurd-served", "blank-title"],
)
def test_field_validation(kit, overrides, field):
    overrides = {key: value() if callable(value) else value for key, value in overrides.items()}
    with pytest.raises(ValidationError) as caught:
        create(kit, fields=fields(kit, **overrides))
    assert field in errors_of(caught)
    assert not Activity.objects.exists()


def test_plan_item_and_need_of_another_pairing_are_refused(kit):
    foreign_item = f.PlanItemFactory(plan=f.JointPlanFactory(pairing=kit["other_pairing"]))
    foreign_need = f.NeedFactory(pairing=kit["other_pairing"])
    with pytest.raises(ValidationError) as caught:
        create(kit, fields=fields(kit, plan_item=foreign_item, need=foreign_need))
    assert {"plan_item", "need"} <= set(errors_of(caught))


def test_plan_item_and_need_of_the_pairing_are_kept(kit):
    on = datetime.date(kit["plan_item"].plan.year, 3, 15)  # a plan item serves the activities of its plan's year
    activity = create(kit, fields=fields(kit, date=on, plan_item=kit["plan_item"], need=kit["need"]))
    assert (activity.plan_item, activity.need) == (kit["plan_item"], kit["need"])


def test_plan_item_of_another_year_is_refused(kit):
    """A plan belongs to its year: an activity dated in 2025 cannot serve an item of the 2024 plan."""
    assert kit["plan_item"].plan.year == 2024
    with translation.override("zh-hans"), pytest.raises(ValidationError) as caught:
        create(kit, fields=fields(kit, date=datetime.date(2025, 1, 5), plan_item=kit["plan_item"]))
    assert errors_of(caught)["plan_item"] == ["该计划事项属于2024年度计划：2025年的活动只能服务于2025年度的计划事项。"]
    assert not Activity.objects.exists()


@pytest.mark.parametrize(
    "metric_key, value",
    [("foreign_metric", "1"), ("repairs", "-1"), ("repairs", "2.5"), ("income", "100000001")],
    ids=["other-program", "negative", "fraction-of-items", "absurd"],
)
def test_metric_validation(kit, metric_key, value):
    with pytest.raises(ValidationError) as caught:
        create(kit, metric_values=[services.MetricEntry(metric=kit[metric_key], value=Decimal(value))])
    assert "metric_values" in errors_of(caught)
    assert not Activity.objects.exists()


def test_yuan_may_have_cents(kit):
    activity = create(kit, metric_values=[services.MetricEntry(metric=kit["income"], value=Decimal("1234.50"))])
    assert activity.metric_values.get().value == Decimal("1234.50")


def test_same_metric_twice(kit):
    entry = services.MetricEntry(metric=kit["repairs"], value=Decimal("1"))
    with pytest.raises(ValidationError):
        create(kit, metric_values=[entry, entry])


@pytest.mark.parametrize(
    "entry",
    [
        lambda k: services.HoursEntry(volunteer=k["foreign_volunteer"], hours=Decimal("2")),
        lambda k: services.HoursEntry(volunteer=k["volunteer"], hours=Decimal("24.5")),
        lambda k: services.HoursEntry(volunteer=k["volunteer"], hours=Decimal("0")),
        lambda k: services.HoursEntry(hours=Decimal("2")),
        lambda k: services.HoursEntry(new_name="赵", new_kind="alien", hours=Decimal("2")),
    ],
    ids=["foreign-volunteer", "over-24", "zero", "nobody", "bad-kind"],
)
def test_hours_validation(kit, entry):
    with pytest.raises(ValidationError) as caught:
        create(kit, service_records=[entry(kit)])
    assert "service_records" in errors_of(caught)
    assert not ServiceRecord.objects.exists()


def test_hours_over_24_in_one_day_across_activities(kit):
    day = timezone.localdate() - datetime.timedelta(days=2)
    create(kit, fields=fields(kit, date=day), service_records=[services.HoursEntry(volunteer=kit["volunteer"], hours=Decimal("20"))])
    with pytest.raises(ValidationError) as caught:
        create(kit, fields=fields(kit, date=day, title="晚上"),
               service_records=[services.HoursEntry(volunteer=kit["volunteer"], hours=Decimal("5"))])
    assert "24" in " ".join(errors_of(caught)["service_records"])
    # another day is fine
    create(kit, fields=fields(kit, date=day - datetime.timedelta(days=1)),
           service_records=[services.HoursEntry(volunteer=kit["volunteer"], hours=Decimal("5"))])


def photo(data=None):
    return services.NewPhoto(photo=clean_photo(SimpleUploadedFile("p.jpg", data or jpeg_bytes())))


def test_photos_are_stored_and_duplicates_pointed_out(kit):
    data = jpeg_bytes(color=(1, 2, 3))
    first = services.activity_create(actor=kit["users"]["secretary"], fields=fields(kit), new_photos=[photo(data)])
    assert first.duplicate_photos == []
    stored = first.activity.photos.get()
    assert stored.image.name.startswith("photos/") and stored.thumbnail.name.startswith("photos/thumbs/")
    assert stored.image.storage.exists(stored.image.name)
    second = services.activity_create(
        actor=kit["users"]["secretary"], fields=fields(kit, title="另一次"), new_photos=[photo(data), photo()]
    )
    [(dup, others)] = second.duplicate_photos
    assert dup.sha256 == stored.sha256 and others == [first.activity]


def test_failed_save_leaves_no_files(kit, media):
    with pytest.raises(ValidationError):
        services.activity_create(
            actor=kit["users"]["secretary"],
            fields=fields(kit),
            new_photos=[photo()],
            service_records=[services.HoursEntry(volunteer=kit["volunteer"], hours=Decimal("2")),
                             services.HoursEntry(new_name="张老师", hours=Decimal("1"))],  # the same person twice
        )
    assert not Activity.objects.exists() and not ActivityPhoto.objects.exists()
    assert not [p for p in media.rglob("*") if p.is_file()]


def test_update_syncs_figures_hours_and_photos(kit, django_capture_on_commit_callbacks):
    secretary = kit["users"]["secretary"]
    result = services.activity_create(
        actor=secretary, fields=fields(kit),
        metric_values=[services.MetricEntry(metric=kit["repairs"], value=Decimal("3"))],
        service_records=[services.HoursEntry(volunteer=kit["volunteer"], hours=Decimal("2"))],
        new_photos=[photo(), photo(jpeg_bytes(color=(9, 9, 9)))],
    )
    activity = result.activity
    keep, drop = activity.photos.order_by("id")
    with django_capture_on_commit_callbacks(execute=True):  # files are removed once the rows are gone for good
        services.activity_update(
            activity=activity, actor=secretary, fields=fields(kit, title="改过的标题"),
            metric_values=[services.MetricEntry(metric=kit["income"], value=Decimal("800"))],
            service_records=[services.HoursEntry(volunteer=kit["volunteer"], hours=Decimal("3"), content="讲解")],
            photo_changes=[services.PhotoChange(photo_id=keep.id, caption="维修现场", shows_minors=True),
                           services.PhotoChange(photo_id=drop.id, delete=True)],
        )
    activity.refresh_from_db()
    assert activity.title == "改过的标题"
    assert [(v.metric, v.value) for v in activity.metric_values.all()] == [(kit["income"], Decimal("800"))]
    record = activity.service_records.get()
    assert (record.hours, record.content) == (Decimal("3.0"), "讲解")
    keep.refresh_from_db()
    assert (keep.caption, keep.shows_minors) == ("维修现场", True)
    assert list(activity.photos.all()) == [keep]
    assert not drop.image.storage.exists(drop.image.name)


def test_update_removes_hours_softly_but_not_verified_ones(kit):
    secretary = kit["users"]["secretary"]
    activity = create(kit, service_records=[services.HoursEntry(volunteer=kit["volunteer"], hours=Decimal("2"))])
    services.activity_update(activity=activity, actor=secretary, fields=fields(kit), service_records=[])
    assert not ServiceRecord.objects.filter(activity=activity).exists()
    assert ServiceRecord.all_objects.filter(activity=activity, deleted_at__isnull=False).count() == 1

    verified = f.ServiceRecordFactory(activity=activity, volunteer=f.VolunteerFactory(organization=kit["branch"]),
                                      status="verified", verified_at=timezone.now())
    with pytest.raises(ValidationError):
        services.activity_update(activity=activity, actor=secretary, fields=fields(kit), service_records=[])
    assert ServiceRecord.objects.filter(pk=verified.pk).exists()


def test_photo_of_another_activity_cannot_be_changed(kit):
    secretary = kit["users"]["secretary"]
    mine = create(kit)
    other = services.activity_create(actor=secretary, fields=fields(kit, title="别的"), new_photos=[photo()]).activity
    foreign_photo = other.photos.get()
    with pytest.raises(ValidationError):
        services.activity_update(activity=mine, actor=secretary, fields=fields(kit),
                                 photo_changes=[services.PhotoChange(photo_id=foreign_photo.id, delete=True)])
    assert ActivityPhoto.objects.filter(pk=foreign_photo.pk).exists()


@pytest.mark.parametrize("role", ["other_secretary", "committee", "village"])
def test_update_needs_edit_permission(kit, role):
    activity = create(kit)
    activity.status, activity.submitted_at = S.SUBMITTED, timezone.now()
    activity.save()
    with pytest.raises((PermissionDenied, Activity.DoesNotExist)):
        services.activity_update(activity=activity, actor=kit["users"][role], fields=fields(kit, title="x"))


def test_submitted_activity_is_no_longer_the_secretarys_to_change(kit):
    activity = create(kit, submit=True)
    with pytest.raises(PermissionDenied):
        services.activity_update(activity=activity, actor=kit["users"]["secretary"], fields=fields(kit))


def test_the_confirmation_round_trip(kit):
    secretary, village = kit["users"]["secretary"], kit["users"]["village"]
    activity = create(kit)
    services.activity_submit(activity=activity, actor=secretary)
    services.activity_return(activity=activity, actor=village, comment="请补充照片")
    activity.refresh_from_db()
    assert (activity.status, activity.return_comment) == (S.RETURNED, "请补充照片")
    services.activity_update(activity=activity, actor=secretary, fields=fields(kit, title="补充后"))
    services.activity_submit(activity=activity, actor=secretary)
    services.activity_confirm(activity=activity, actor=village)
    activity.refresh_from_db()
    assert activity.status == S.CONFIRMED and activity.confirmed_by == village and activity.confirmed_at
    reasons = list(activity.history.order_by("history_id").values_list("status", "history_change_reason"))
    assert [status for status, _ in reasons] == ["draft", "submitted", "returned", "returned", "submitted", "confirmed"]
    assert activity.history.latest().history_user == village


@pytest.mark.parametrize("role", ["secretary", "committee", "admin", "other_secretary"])
def test_only_the_village_confirms(kit, role):
    activity = create(kit, submit=True)
    with pytest.raises(PermissionDenied):
        services.activity_confirm(activity=activity, actor=kit["users"][role])
    with pytest.raises(PermissionDenied):
        services.activity_return(activity=activity, actor=kit["users"][role], comment="不行")


def test_the_outsider_village_does_not_even_see_it(kit):
    activity = create(kit, submit=True)
    with pytest.raises(Activity.DoesNotExist):
        services.activity_confirm(activity=activity, actor=kit["users"]["outsider"])


def test_confirm_twice_or_a_draft_is_a_validation_error(kit):
    village = kit["users"]["village"]
    activity = create(kit, submit=True)
    services.activity_confirm(activity=activity, actor=village)
    with pytest.raises(ValidationError):
        services.activity_confirm(activity=activity, actor=village)
    with pytest.raises(ValidationError):
        services.activity_return(activity=activity, actor=village, comment="晚了")


def test_return_needs_a_comment(kit):
    activity = create(kit, submit=True)
    with pytest.raises(ValidationError) as caught:
        services.activity_return(activity=activity, actor=kit["users"]["village"], comment="   ")
    assert "comment" in errors_of(caught)
    activity.refresh_from_db()
    assert activity.status == S.SUBMITTED


def test_submit_only_from_draft_or_returned(kit):
    activity = create(kit, submit=True)
    with pytest.raises(AlreadyDone):  # its secretary's second click: "already submitted", nothing changes
        services.activity_submit(activity=activity, actor=kit["users"]["secretary"])
    with pytest.raises(ValidationError):  # the program admin may edit it, but it is submitted already
        services.activity_submit(activity=activity, actor=kit["users"]["admin"])
