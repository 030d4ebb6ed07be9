"""Plausibility warnings (activities.plausibility): each shown, and not shown, at its boundary, to the secretary
before submitting (the activity page and the edit page), again as messages on submitting, and to the village at
验单 (the activity page and the return page); warnings never block. The impossible is refused, in Chinese, with
nothing changed. Photos: a resized, re-saved copy of a photo on another activity is caught by its picture hash, a
different photo is not, and the village is never told which activity holds the other copy."""

import datetime
import random
import re
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from activities import plausibility, services
from activities.images import clean_photo, distance
from activities.models import Activity, ActivityPhoto, ServiceRecord
from tests import factories as f
from tests.activities.images import jpeg_bytes, photo_hash, resaved, scene_bytes, upload

pytestmark = pytest.mark.django_db
S = Activity.Status
DAY = datetime.date(2024, 3, 15)
CODE = re.compile(r'data-code="([a-z_]+)"')


def people(**counts):
    """Someone took part, unless a test says otherwise."""
    return {"party_members": 0, "teachers": 0, "students": 0, "residents_served": 10, **counts}


def draft(kit, title="入户维修", **fields):
    fields = {**people(), **fields}
    return f.ActivityFactory(pairing=kit["pairing"], branch=kit["branch"], activity_type=kit["type"], title=title,
                             date=fields.pop("date", DAY), **fields)


def page_codes(client, user, url):
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return CODE.findall(response.content.decode()), response.content.decode()


def journey(client, kit, activity):
    """What each side is shown of the activity's warnings: the secretary on its page and its edit page before
    submitting, as messages on submitting it, then the village on its page and its return page (验单)."""
    secretary, village = kit["users"]["secretary"], kit["users"]["village"]
    shown = {}
    shown["detail"], shown["detail_html"] = page_codes(client, secretary, reverse("activities:detail", args=[activity.pk]))
    shown["edit"], _html = page_codes(client, secretary, reverse("activities:update", args=[activity.pk]))
    response = client.post(reverse("activities:submit", args=[activity.pk]), follow=True)
    shown["submitted"] = [str(m) for m in response.context["messages"] if m.level_tag == "warning"]
    assert not CODE.findall(response.content.decode())  # submitted: no longer the secretary's to change
    assert Activity.objects.get(pk=activity.pk).status == S.SUBMITTED  # a warning never blocks
    shown["village"], shown["village_html"] = page_codes(client, village, reverse("activities:detail", args=[activity.pk]))
    shown["return"], _html = page_codes(client, village, reverse("activities:return", args=[activity.pk]))
    assert reverse("activities:confirm", args=[activity.pk]) in shown["village_html"]  # the village may confirm it
    return shown


def assert_shown(shown, code, text):
    for place in ("detail", "edit", "village", "return"):
        assert shown[place].count(code) == 1, (place, shown[place])
    assert text in shown["detail_html"] and text in shown["village_html"]
    assert "提交前请核实" in shown["detail_html"] and "确认前请核实" in shown["village_html"]
    assert any(text in message for message in shown["submitted"]), shown["submitted"]


def assert_not_shown(shown, code):
    for place in ("detail", "edit", "village", "return"):
        assert code not in shown[place], (place, shown[place])


def hours(activity, volunteer, value):
    return f.ServiceRecordFactory(activity=activity, volunteer=volunteer, hours=Decimal(value))


# --- a. hours longer than the activity ------------------------------------------------------------------------


@pytest.mark.parametrize("served, warned", [("2.0", False), ("2.1", True)])
def test_hours_longer_than_the_activity(client, kit, served, warned):
    activity = draft(kit, start_time=datetime.time(9, 0), end_time=datetime.time(11, 0))
    hours(activity, kit["volunteer"], served)
    shown = journey(client, kit, activity)
    if warned:
        assert_shown(shown, "hours_longer_than_activity",
                     "服务时长超过活动本身的时长（09:00–11:00，共2小时）：张老师 2.1小时。请核实。")
    else:
        assert_not_shown(shown, "hours_longer_than_activity")
    assert shown["detail"] == (["hours_longer_than_activity"] if warned else [])


@pytest.mark.parametrize("served, warned", [("12", False), ("12.5", True)])
def test_hours_of_an_activity_without_times(client, kit, served, warned):
    """Without both times the activity's length is unknown: over 12 hours is a warning (a long day happens)."""
    activity = draft(kit, start_time=datetime.time(9, 0))  # a start without an end: no length
    hours(activity, kit["volunteer"], served)
    shown = journey(client, kit, activity)
    if warned:
        assert_shown(shown, "hours_long_day",
                     "活动未填写起止时间，以下服务时长超过12小时：张老师 12.5小时。请核实时长，或补填活动的起止时间。")
    else:
        assert_not_shown(shown, "hours_long_day")
    assert "hours_longer_than_activity" not in shown["detail"]


def test_many_volunteers_over_the_activity_make_one_warning(kit):
    activity = draft(kit, start_time=datetime.time(9, 0), end_time=datetime.time(10, 30))
    for i in range(7):
        hours(activity, f.VolunteerFactory(organization=kit["branch"], name=f"志愿者{i}"), "3")
    hours(activity, kit["volunteer"], "1.5")  # just the activity's length
    (concern,) = plausibility.activity_warnings(activity)
    assert concern.code == "hours_longer_than_activity"
    assert "志愿者0 3小时、志愿者1 3小时、志愿者2 3小时、志愿者3 3小时、志愿者4 3小时等，另有2人" in concern.message
    assert "共1.5小时" in concern.message and "张老师" not in concern.message


# --- b. no one taking part ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "counts, with_hours, warned",
    [({}, False, True), ({"residents_served": 1}, False, False), ({"party_members": 1}, False, False),
     ({}, True, False)],
    ids=["nobody", "one-resident", "one-party-member", "one-volunteer"],
)
def test_an_activity_no_one_took_part_in(client, kit, counts, with_hours, warned):
    activity = draft(kit, **{**people(residents_served=0), **counts})
    if with_hours:
        hours(activity, kit["volunteer"], "1")
    shown = journey(client, kit, activity)
    if warned:
        assert_shown(shown, "nobody_took_part", "无人参与：党员、教师、学生和服务群众均为0，也没有志愿服务时长。请核实。")
    else:
        assert_not_shown(shown, "nobody_took_part")


def test_submitting_from_the_form_shows_the_warnings_again(client, kit):
    """Recorded and submitted at once from the form: saved and submitted, with the warnings as messages."""
    client.force_login(kit["users"]["secretary"])
    response = client.post(reverse("activities:create"), {
        "pairing": kit["pairing"].pk, "activity_type": kit["type"].pk, "title": "空白活动", "date": DAY.isoformat(),
        "party_members": "0", "teachers": "0", "students": "0", "residents_served": "0", "action": "submit",
        "metrics-TOTAL_FORMS": "0", "metrics-INITIAL_FORMS": "0", "hours-TOTAL_FORMS": "0", "hours-INITIAL_FORMS": "0",
    }, follow=True)
    assert Activity.objects.get(title="空白活动").status == S.SUBMITTED
    warnings = [str(m) for m in response.context["messages"] if m.level_tag == "warning"]
    assert warnings == ["无人参与：党员、教师、学生和服务群众均为0，也没有志愿服务时长。请核实。"]


def test_deleted_hours_do_not_count_as_someone_taking_part(kit):
    activity = draft(kit, **people(residents_served=0))
    record = hours(activity, kit["volunteer"], "1")
    assert plausibility.activity_warnings(activity) == []
    ServiceRecord.all_objects.filter(pk=record.pk).update(deleted_at=datetime.datetime(2024, 3, 16, tzinfo=datetime.UTC))
    assert [c.code for c in plausibility.activity_warnings(activity)] == ["nobody_took_part"]


# --- c. a figure far outside the pairing's history ------------------------------------------------------------


def past(kit, value, status=S.CONFIRMED, pairing=None, day=1, **extra):
    activity = f.ActivityFactory(
        pairing=pairing or kit["pairing"], branch=kit["branch"], activity_type=kit["type"], status=status,
        date=datetime.date(2024, 1, day), submitted_at="2024-01-20T10:00+08:00",
        confirmed_at="2024-01-21T10:00+08:00" if status == S.CONFIRMED else None, **extra,
    )
    f.ActivityMetricValueFactory(activity=activity, metric=kit["repairs"], value=Decimal(value))
    return activity


@pytest.fixture
def history(kit):
    """Three counted repairs figures (largest 30), and larger ones that do not count: a draft, a returned and a
    deleted activity of the pairing, and a zero."""
    past(kit, "10", day=1)
    past(kit, "20", status=S.SUBMITTED, day=2)
    past(kit, "30", day=3)
    past(kit, "0", day=4)
    past(kit, "500", status=S.DRAFT, day=5)
    past(kit, "500", status=S.RETURNED, day=6)
    past(kit, "500", day=7, deleted_at=datetime.datetime(2024, 2, 1, tzinfo=datetime.UTC))


@pytest.mark.parametrize("value, warned", [("90", False), ("91", True)])
def test_a_figure_far_outside_the_pairings_history(client, kit, history, value, warned):
    activity = draft(kit)
    f.ActivityMetricValueFactory(activity=activity, metric=kit["repairs"], value=Decimal(value))
    shown = journey(client, kit, activity)
    if warned:
        assert_shown(shown, "figure_outlier",
                     "“家电维修”为91件，超过本结对以往单次活动最高值（30件）的3倍。请核实。")
    else:
        assert_not_shown(shown, "figure_outlier")


def test_a_figure_needs_three_earlier_values_to_be_judged(kit):
    past(kit, "10", day=1)
    past(kit, "10", day=2)
    past(kit, "10", day=3, pairing=kit["other_pairing"])  # another pairing's history is not this one's
    activity = draft(kit)
    value = f.ActivityMetricValueFactory(activity=activity, metric=kit["repairs"], value=Decimal("1000"))
    assert plausibility.activity_warnings(activity) == []
    past(kit, "10", day=3)
    assert [c.code for c in plausibility.activity_warnings(activity)] == ["figure_outlier"]
    # only the metric's own history: the same value as another metric is not judged by repairs
    value.delete()
    f.ActivityMetricValueFactory(activity=activity, metric=kit["income"], value=Decimal("1000"))
    assert plausibility.activity_warnings(activity) == []


def test_the_figure_is_not_compared_with_itself(kit, history):
    """Once submitted, the activity is part of the pairing's counted history: it is still judged by the others."""
    activity = past(kit, "91", status=S.SUBMITTED, day=9, **people())
    assert [c.code for c in plausibility.activity_warnings(activity)] == ["figure_outlier"]


# --- d. a photo on another activity ---------------------------------------------------------------------------


def add_photo(activity, data, actor):
    services.activity_photos_add(activity=activity, actor=actor, new_photos=[services.NewPhoto(photo=clean_photo(upload(data)))])
    return activity.photos.order_by("-id").first()


@pytest.fixture
def original(kit):
    """A photo on a confirmed activity of the pairing (the village may read it) and on one of another program's
    pairing (outside everyone's scope here but the superuser's)."""
    seen = past(kit, "1", title="去年的义诊", **people())
    add_photo(seen, scene_bytes(1), kit["users"]["admin"])
    return seen


def test_a_resized_resaved_copy_is_caught_and_the_village_is_not_told_where_from(client, kit, original):
    activity = draft(kit)
    copy = add_photo(activity, resaved(scene_bytes(1), scale=0.5, quality=70), kit["users"]["secretary"])
    assert copy.sha256 != original.photos.get().sha256  # not the same file: only the picture is the same
    assert distance(copy.dhash, original.photos.get().dhash) <= plausibility.PHOTO_DISTANCE

    shown = journey(client, kit, activity)
    assert_shown(shown, "photo_reused", "此照片与另一活动的照片相同或近似。")
    # the secretary may read the other activity, and may edit this one: told which
    assert "去年的义诊" in shown["detail_html"]
    assert any("去年的义诊" in message for message in shown["submitted"])
    # the village reads that activity too, but is told only that the photo is reused
    assert "去年的义诊" not in shown["village_html"]
    client.force_login(kit["users"]["village"])
    assert "去年的义诊" not in client.get(reverse("activities:return", args=[activity.pk])).content.decode()
    # the program admin may see which one, and follow it
    client.force_login(kit["users"]["admin"])
    page = client.get(reverse("activities:detail", args=[activity.pk])).content.decode()
    assert "去年的义诊" in page and reverse("activities:detail", args=[original.pk]) in page


def test_a_different_photo_is_not_flagged(client, kit, original):
    activity = draft(kit)
    add_photo(activity, scene_bytes(2), kit["users"]["secretary"])
    add_photo(activity, jpeg_bytes(width=640, height=480), kit["users"]["secretary"])
    shown = journey(client, kit, activity)
    assert_not_shown(shown, "photo_reused")


def test_the_same_file_and_a_copy_on_a_deleted_activity(kit, original):
    """The very same file is caught too; a deleted activity's photos are no one's to reuse from."""
    activity = draft(kit)
    add_photo(activity, scene_bytes(1), kit["users"]["secretary"])
    assert [c.code for c in plausibility.activity_warnings(activity)] == ["photo_reused"]
    Activity.all_objects.filter(pk=original.pk).update(deleted_at=datetime.datetime(2024, 2, 1, tzinfo=datetime.UTC))
    assert plausibility.activity_warnings(activity) == []


def test_an_activity_outside_the_viewers_scope_is_never_named(kit):
    """A copy on another program's pairing: the warning is there for the secretary and the admin, the title is not."""
    elsewhere = f.ActivityFactory(pairing=kit["other_pairing"], title="别处的活动", status=S.CONFIRMED,
                                  submitted_at="2024-01-20T10:00+08:00", confirmed_at="2024-01-21T10:00+08:00")
    add_photo(elsewhere, scene_bytes(3), kit["users"]["superuser"])
    activity = draft(kit)
    add_photo(activity, resaved(scene_bytes(3)), kit["users"]["secretary"])
    for role in ("secretary", "admin"):
        (concern,) = plausibility.activity_warnings(activity, viewer=kit["users"][role], name_others=True)
        assert concern.code == "photo_reused" and concern.others == ()
    (concern,) = plausibility.activity_warnings(activity, viewer=kit["users"]["superuser"], name_others=True)
    assert [other.title for other in concern.others] == ["别处的活动"]


def test_near_photos_share_a_band_and_are_within_seven_bits():
    """Within 3 bits a band is unchanged (pigeonhole): always found. From 4 to 7 bits: found when a band is
    unchanged. Sharing a band but 8 bits away: too far."""
    base = 0x3A5C_96E1_5B2D_C487
    cases = {
        "three": base ^ 1 ^ (1 << 16) ^ (1 << 32),  # one bit in each of three bands
        "seven": base ^ 0b111 ^ (0b11 << 16) ^ (0b11 << 32),  # 3 + 2 + 2 bits, the highest band untouched
        "seven-spread": base ^ 0b11 ^ (0b11 << 16) ^ (0b11 << 32) ^ (1 << 48),  # every band touched: missed
        "eight": base ^ 0b1111 ^ (0b11 << 16) ^ (0b11 << 32),  # a band untouched, but too far
    }
    holders = {}
    for name, value in cases.items():
        holders[name] = f.ActivityFactory(title=name)
        ActivityPhoto.objects.create(activity=holders[name], image="photos/x.jpg", dhash=value)
    found = plausibility.near_photos(f.ActivityFactory(), [base])
    assert sorted(activity_id for activity_id, _title, _seen in found[base]) == [holders["three"].pk, holders["seven"].pk]


# --- what is impossible is refused -----------------------------------------------------------------------------


def edit_data(kit, activity, hours_rows):
    data = {
        "pairing": kit["pairing"].pk, "activity_type": kit["type"].pk, "title": activity.title,
        "date": activity.date.isoformat(), "party_members": "0", "teachers": "0", "students": "0",
        "residents_served": "10", "action": "submit",
        "metrics-TOTAL_FORMS": "0", "metrics-INITIAL_FORMS": "0",
        "hours-TOTAL_FORMS": str(len(hours_rows)), "hours-INITIAL_FORMS": "0",
        "photos-TOTAL_FORMS": "0", "photos-INITIAL_FORMS": "0",
    }
    for i, row in enumerate(hours_rows):
        data.update({f"hours-{i}-{key}": value for key, value in row.items()})
    return data


@pytest.mark.parametrize(
    "elsewhere, entered, message",
    [(None, "25", "每人每天服务时长不能超过 24 小时。"),
     ("20", "5", "“张老师”在 2024-03-15 的服务时长合计将达 25 小时，超过一天的 24 小时。")],
    ids=["one-activity", "the-day"],
)
def test_impossible_hours_are_refused_in_chinese_and_nothing_changes(client, kit, elsewhere, entered, message):
    activity = draft(kit)
    hours(activity, kit["volunteer"], "2")
    if elsewhere:
        hours(draft(kit, title="同日另一活动"), kit["volunteer"], elsewhere)
    client.force_login(kit["users"]["secretary"])
    response = client.post(reverse("activities:update", args=[activity.pk]),
                           edit_data(kit, activity, [{"volunteer": kit["volunteer"].pk, "hours": entered}]))
    assert response.status_code == 200
    assert message in response.content.decode()
    activity.refresh_from_db()
    assert activity.status == S.DRAFT
    assert list(ServiceRecord.objects.filter(activity=activity).values_list("hours", flat=True)) == [Decimal("2.0")]


# --- photos stored before hashes were kept ----------------------------------------------------------------------


def test_fill_photo_hashes_hashes_stored_photos_and_skips_missing_files(client, kit, original, capsys):
    """Photos uploaded before the hash existed: the command reads their files; one whose file is gone is skipped."""
    old = original.photos.get()
    ActivityPhoto.objects.filter(pk=old.pk).update(dhash_0=None, dhash_1=None, dhash_2=None, dhash_3=None)
    lost = f.ActivityPhotoFactory(activity=original)
    lost.image.storage.delete(lost.image.name)
    activity = draft(kit)
    add_photo(activity, resaved(scene_bytes(1)), kit["users"]["secretary"])
    assert plausibility.activity_warnings(activity) == []  # the old photo has no hash yet

    call_command("fill_photo_hashes")
    assert "Photos hashed: 1; skipped" in capsys.readouterr().out
    old.refresh_from_db()
    lost.refresh_from_db()
    assert old.dhash is not None and lost.dhash is None
    assert [c.code for c in plausibility.activity_warnings(activity)] == ["photo_reused"]
    call_command("fill_photo_hashes")  # again: nothing left to hash, the lost file still skipped
    assert "Photos hashed: 0; skipped (file missing or unreadable, or a flat picture): 1." in capsys.readouterr().out


# --- cost -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rows", [1, 30])
def test_the_village_return_page_costs_the_same_whatever_the_activity_holds(client, kit, rows, django_assert_num_queries):
    """The session with its user and the header's unread count (one query), scope, the activity, what the warnings read, the
    photos near its photos."""
    activity = draft(kit, status=S.SUBMITTED, submitted_at="2024-03-16T10:00+08:00")
    for i in range(rows):
        f.ActivityPhotoFactory(activity=activity, dhash=photo_hash(i))
        f.ActivityMetricValueFactory(activity=activity, metric=f.MetricFactory(program=kit["program"]))
        hours(activity, f.VolunteerFactory(organization=kit["branch"]), "3")
    client.force_login(kit["users"]["village"])
    with django_assert_num_queries(5):
        response = client.get(reverse("activities:return", args=[activity.pk]))
    assert response.status_code == 200


def test_near_photos_are_read_by_band_not_by_reading_every_photo(postgres_only, kit):
    """Among 20,000 photos PostgreSQL reads the candidates through the band indexes (a bitmap of four index scans),
    not the whole photo table."""
    rng = random.Random(13)
    holders = [f.ActivityFactory(pairing=kit["pairing"], branch=kit["branch"], activity_type=kit["type"]) for _ in range(20)]
    ActivityPhoto.objects.bulk_create(
        [ActivityPhoto(activity=holders[i % 20], image=f"photos/{i}.jpg", dhash=rng.getrandbits(64)) for i in range(20_000)],
        batch_size=2_000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE activities_activityphoto")
        cursor.execute("ANALYZE activities_activity")
    activity = draft(kit)
    plan = plausibility.near_candidates(activity, [rng.getrandbits(64) for _ in range(30)]).explain()
    assert "Seq Scan on activities_activityphoto" not in plan, plan
    assert plan.count("Bitmap Index Scan on activities_activityphoto_dhash_") == 4, plan
