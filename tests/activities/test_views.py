"""The activity pages: who gets what (anonymous, outsider, village, other secretary, secretary, committee,
program admin, superuser), the form end to end, bad input, tampered ids, the CSV export and the filters."""

import csv
import datetime
import io
import re

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image

from activities import services
from activities.images import MAX_PIXELS
from activities.models import Activity, ActivityPhoto, ServiceRecord
from tests import factories as f
from tests.activities.images import GPS_IFD, jpeg_bytes, jpeg_upload, pdf_bytes, png_bomb, webp_bytes
from django.core.files.uploadedfile import SimpleUploadedFile

pytestmark = pytest.mark.django_db
ROLES = ["anonymous", "outsider", "village", "other_secretary", "secretary", "committee", "admin", "superuser"]
LOGIN = "login"
S = Activity.Status


def status_of(client, url, method="get", data=None):
    response = getattr(client, method)(url, data or {})
    if response.status_code == 302 and response["Location"].startswith(reverse("account_login")):
        return LOGIN
    return response.status_code


def as_role(client, world, role):
    if role != "anonymous":
        client.force_login(world["users"][role])
    return client


@pytest.fixture
def draft(kit):
    activity = f.ActivityFactory(pairing=kit["pairing"], branch=kit["branch"], activity_type=kit["type"],
                                 date=datetime.date(2024, 3, 15))
    services.activity_update(
        activity=activity, actor=kit["users"]["secretary"],
        fields=services.ActivityFields(pairing=kit["pairing"], activity_type=kit["type"], title="草稿",
                                       date=datetime.date(2024, 3, 15)),
        new_photos=[services.NewPhoto(photo=services_clean(jpeg_bytes()))],
    )
    return Activity.objects.get(pk=activity.pk)


def services_clean(data):
    from activities.images import clean_photo

    return clean_photo(SimpleUploadedFile("x.jpg", data))


@pytest.fixture
def submitted(draft, kit):
    return services.activity_submit(activity=draft, actor=kit["users"]["secretary"])


def expect(**by_role):
    return [by_role[role] for role in ROLES]


DRAFT_PAGES = {
    "list": (lambda a: reverse("activities:list"), expect(anonymous=LOGIN, outsider=200, village=200, other_secretary=200, secretary=200, committee=200, admin=200, superuser=200)),
    "export": (lambda a: reverse("activities:export"), expect(anonymous=LOGIN, outsider=200, village=200, other_secretary=200, secretary=200, committee=200, admin=200, superuser=200)),
    "export_xlsx": (lambda a: reverse("activities:export_xlsx"), expect(anonymous=LOGIN, outsider=200, village=200, other_secretary=200, secretary=200, committee=200, admin=200, superuser=200)),
    "create": (lambda a: reverse("activities:create"), expect(anonymous=LOGIN, outsider=403, village=403, other_secretary=200, secretary=200, committee=403, admin=403, superuser=403)),
    "detail": (lambda a: reverse("activities:detail", args=[a.pk]), expect(anonymous=LOGIN, outsider=404, village=404, other_secretary=404, secretary=200, committee=200, admin=200, superuser=200)),
    "update": (lambda a: reverse("activities:update", args=[a.pk]), expect(anonymous=LOGIN, outsider=404, village=404, other_secretary=404, secretary=200, committee=403, admin=200, superuser=200)),
    "submit": (lambda a: reverse("activities:submit", args=[a.pk]), expect(anonymous=LOGIN, outsider=405, village=405, other_secretary=405, secretary=405, committee=405, admin=405, superuser=405)),
    "confirm": (lambda a: reverse("activities:confirm", args=[a.pk]), expect(anonymous=LOGIN, outsider=405, village=405, other_secretary=405, secretary=405, committee=405, admin=405, superuser=405)),
    "return": (lambda a: reverse("activities:return", args=[a.pk]), expect(anonymous=LOGIN, outsider=404, village=404, other_secretary=404, secretary=403, committee=403, admin=403, superuser=302)),
    "photo": (lambda a: reverse("activities:photo", args=[a.photos.get().pk]), expect(anonymous=LOGIN, outsider=404, village=404, other_secretary=404, secretary=200, committee=200, admin=200, superuser=200)),
    "photo_thumb": (lambda a: reverse("activities:photo_thumb", args=[a.photos.get().pk]), expect(anonymous=LOGIN, outsider=404, village=404, other_secretary=404, secretary=200, committee=200, admin=200, superuser=200)),
}

# Once submitted, the village and the other branches see it; the secretary may no longer change it.
SUBMITTED_CHANGES = {
    "detail": expect(anonymous=LOGIN, outsider=404, village=200, other_secretary=200, secretary=200, committee=200, admin=200, superuser=200),
    "update": expect(anonymous=LOGIN, outsider=404, village=403, other_secretary=403, secretary=403, committee=403, admin=200, superuser=200),
    "return": expect(anonymous=LOGIN, outsider=404, village=200, other_secretary=403, secretary=403, committee=403, admin=403, superuser=200),
    "photo": expect(anonymous=LOGIN, outsider=404, village=200, other_secretary=200, secretary=200, committee=200, admin=200, superuser=200),
    "photo_thumb": expect(anonymous=LOGIN, outsider=404, village=200, other_secretary=200, secretary=200, committee=200, admin=200, superuser=200),
}


@pytest.mark.parametrize("role", ROLES)
def test_pages_of_a_draft(client, kit, draft, role):
    as_role(client, kit, role)
    wrong = []
    for name, (url, expected) in DRAFT_PAGES.items():
        got = status_of(client, url(draft))
        if got != expected[ROLES.index(role)]:
            wrong.append(f"{name}: expected {expected[ROLES.index(role)]}, got {got}")
    assert not wrong, wrong


@pytest.mark.parametrize("role", ROLES)
def test_pages_of_a_submitted_activity(client, kit, submitted, role):
    as_role(client, kit, role)
    wrong = []
    for name, expected in SUBMITTED_CHANGES.items():
        got = status_of(client, DRAFT_PAGES[name][0](submitted))
        if got != expected[ROLES.index(role)]:
            wrong.append(f"{name}: expected {expected[ROLES.index(role)]}, got {got}")
    assert not wrong, wrong


@pytest.mark.parametrize(
    "role, expected",
    [("anonymous", LOGIN), ("outsider", 404), ("village", 404), ("other_secretary", 404), ("secretary", 302),
     ("committee", 403), ("admin", 302), ("superuser", 302)],
)
def test_submit_by_post(client, kit, draft, role, expected):
    as_role(client, kit, role)
    assert status_of(client, reverse("activities:submit", args=[draft.pk]), "post") == expected
    draft.refresh_from_db()
    assert (draft.status == S.SUBMITTED) == (expected == 302)


@pytest.mark.parametrize(
    "role, expected",
    [("anonymous", LOGIN), ("outsider", 404), ("village", 302), ("other_secretary", 403), ("secretary", 403),
     ("committee", 403), ("admin", 403), ("superuser", 302)],
)
def test_confirm_by_post(client, kit, submitted, role, expected):
    as_role(client, kit, role)
    assert status_of(client, reverse("activities:confirm", args=[submitted.pk]), "post") == expected
    submitted.refresh_from_db()
    assert (submitted.status == S.CONFIRMED) == (expected == 302)


@pytest.mark.parametrize(
    "role, expected",
    [("anonymous", LOGIN), ("outsider", 404), ("village", 302), ("other_secretary", 403), ("secretary", 403),
     ("committee", 403), ("admin", 403), ("superuser", 302)],
)
def test_return_by_post(client, kit, submitted, role, expected):
    as_role(client, kit, role)
    assert status_of(client, reverse("activities:return", args=[submitted.pk]), "post", {"comment": "缺签到表"}) == expected
    submitted.refresh_from_db()
    assert (submitted.status == S.RETURNED) == (expected == 302)


@pytest.mark.parametrize(
    "role, expected",
    [("anonymous", LOGIN), ("outsider", 404), ("village", 404), ("other_secretary", 404), ("secretary", 302),
     ("committee", 403), ("admin", 302), ("superuser", 302)],
)
def test_update_by_post(client, kit, draft, role, expected):
    as_role(client, kit, role)
    data = form_data(kit, title="改名")
    data.update({"photos-TOTAL_FORMS": "0", "photos-INITIAL_FORMS": "0"})
    assert status_of(client, reverse("activities:update", args=[draft.pk]), "post", data) == expected
    draft.refresh_from_db()
    assert (draft.title == "改名") == (expected == 302)


# ---------------------------------------------------------------------------------------------------------
# The form
# ---------------------------------------------------------------------------------------------------------


def form_data(kit, metrics=(), hours=(), **overrides):
    data = {
        "pairing": kit["pairing"].pk,
        "activity_type": kit["type"].pk,
        "title": "小电匠家电维修进村",
        "date": (timezone.localdate() - datetime.timedelta(days=1)).isoformat(),
        "start_time": "09:00",
        "end_time": "11:30",
        "place": "龙石村党群服务中心",
        "description": "为村民义务维修家电。",
        "party_members": "5",
        "teachers": "2",
        "students": "12",
        "residents_served": "40",
        "action": "draft",
        "metrics-TOTAL_FORMS": str(len(metrics)),
        "metrics-INITIAL_FORMS": "0",
        "hours-TOTAL_FORMS": str(len(hours)),
        "hours-INITIAL_FORMS": "0",
    }
    for i, (metric, value) in enumerate(metrics):
        data[f"metrics-{i}-metric"] = metric
        data[f"metrics-{i}-value"] = value
    for i, row in enumerate(hours):
        for key, value in row.items():
            data[f"hours-{i}-{key}"] = value
    data.update(overrides)
    return data


def post_new(client, kit, **kwargs):
    client.force_login(kit["users"]["secretary"])
    return client.post(reverse("activities:create"), form_data(kit, **kwargs))


def test_new_activity_end_to_end(client, kit):
    response = post_new(
        client, kit,
        metrics=[(kit["repairs"].pk, "23"), ("", "")],
        hours=[{"volunteer": kit["volunteer"].pk, "hours": "2.5", "content": "维修"},
               {"new_name": "王同学", "new_kind": "student", "hours": "2"},
               {}],
        new_photos=[jpeg_upload(name="a.jpg", gps=True), SimpleUploadedFile("b.webp", webp_bytes())],
        new_photos_show_minors="on",
        action="submit",
    )
    assert response.status_code == 302
    activity = Activity.objects.get()
    assert response["Location"] == reverse("activities:detail", args=[activity.pk])
    assert activity.status == S.SUBMITTED and activity.branch == kit["branch"]
    assert activity.metric_values.get().value == 23
    assert ServiceRecord.objects.filter(activity=activity).count() == 2
    photos = list(activity.photos.all())
    assert len(photos) == 2 and all(p.shows_minors for p in photos)
    for photo in photos:
        with photo.image.open("rb") as handle:
            stored = Image.open(handle)
            stored.load()
        assert stored.format == "JPEG"
        assert not stored.getexif().get_ifd(GPS_IFD) and len(stored.getexif()) == 0
        assert re.fullmatch(r"photos/\d{4}/\d{2}/[0-9a-f]{32}\.jpg", photo.image.name)  # not the upload's name


def test_the_form_offers_only_the_branchs_pairings_and_volunteers(client, kit):
    f.PairingBranchFactory(pairing=f.PairingFactory(program=kit["program"]))  # a pairing without our branch
    client.force_login(kit["users"]["secretary"])
    response = client.get(reverse("activities:create"))
    form, hours = response.context["form"], response.context["hours"]
    assert list(form.fields["pairing"].queryset) == [kit["pairing"]]
    assert list(hours.volunteers) == [kit["volunteer"]]
    # one row per metric of the program, with its unit on the page
    assert [row.initial["metric"] for row in response.context["metrics"]] == [kit["repairs"], kit["income"]]
    assert "家电维修" in response.content.decode() and "件" in response.content.decode()


def form_errors(response):
    context = response.context
    errors = dict(context["form"].errors)
    errors["metrics"] = [str(e) for e in context["metrics"].non_form_errors()] + [
        str(e) for row in context["metrics"].errors for e in row.values()
    ]
    errors["hours"] = [str(e) for e in context["hours"].non_form_errors()] + [
        str(e) for row in context["hours"].errors for e in row.values()
    ]
    errors["upload"] = dict(context["upload"].errors)
    return errors


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"date": (timezone.localdate() + datetime.timedelta(days=3)).isoformat()}, "date",
         "The date is in the future. Record an activity once it has taken place."),
        ({"start_time": "14:00", "end_time": "13:00"}, "end_time", "The end is before the start."),
        ({"students": "-3"}, "students", "Enter zero or more."),
        ({"residents_served": "9999999"}, "residents_served", None),
    ],
    ids=["future", "end-before-start", "negative", "absurd"],
)
def test_bad_fields_are_shown_on_the_form(client, kit, overrides, field, message):
    response = post_new(client, kit, **overrides)
    assert response.status_code == 200
    errors = form_errors(response)
    assert field in errors
    if message:
        assert _(message) in response.content.decode()
    assert not Activity.objects.exists()


def test_hours_over_24_are_shown_on_the_form(client, kit):
    response = post_new(client, kit, hours=[{"volunteer": kit["volunteer"].pk, "hours": "25"}])
    assert response.status_code == 200
    assert _("No one serves more than 24 hours a day.") in response.content.decode()
    assert not Activity.objects.exists()


def test_png_bomb_is_refused_with_a_message(client, kit):
    response = post_new(client, kit, new_photos=[SimpleUploadedFile("bomb.png", png_bomb(), content_type="image/png")])
    assert response.status_code == 200
    assert "new_photos" in form_errors(response)["upload"]
    message = _("“%(name)s” has too many pixels (at most %(limit)d megapixels).") % {
        "name": "bomb.png", "limit": MAX_PIXELS // 1_000_000}
    assert message in response.content.decode()
    assert _("Photos you chose were not saved: choose them again.") in response.content.decode()
    assert not Activity.objects.exists() and not ActivityPhoto.objects.exists()


def test_renamed_pdf_is_refused_with_a_message(client, kit):
    response = post_new(client, kit, new_photos=[SimpleUploadedFile("scan.jpg", pdf_bytes(), content_type="image/jpeg")])
    assert response.status_code == 200
    assert _("“%(name)s” is not a JPEG, PNG or WebP photo.") % {"name": "scan.jpg"} in response.content.decode()
    assert not Activity.objects.exists()


@pytest.mark.parametrize(
    "tamper",
    [
        lambda k: {"pairing": k["other_pairing"].pk},
        lambda k: {"metrics-TOTAL_FORMS": "1", "metrics-0-metric": k["foreign_metric"].pk, "metrics-0-value": "3"},
        lambda k: {"hours-TOTAL_FORMS": "1", "hours-0-volunteer": k["foreign_volunteer"].pk, "hours-0-hours": "2"},
        lambda k: {"plan_item": f.PlanItemFactory(plan=f.JointPlanFactory(pairing=k["other_pairing"])).pk},
        lambda k: {"need": f.NeedFactory(pairing=k["other_pairing"]).pk},
        lambda k: {"activity_type": 999999},
    ],
    ids=["foreign-pairing", "other-programs-metric", "foreign-volunteer", "foreign-plan-item", "foreign-need", "bad-type"],
)
def test_tampered_ids_are_refused(client, kit, tamper):
    response = post_new(client, kit, **tamper(kit))
    assert response.status_code == 200
    assert not Activity.objects.exists()


def test_extra_fields_change_nothing(client, kit):
    intruder = f.UserFactory(username="intruder")
    response = post_new(
        client, kit,
        branch=kit["other_branch"].pk, status="confirmed", created_by=intruder.pk, confirmed_by=intruder.pk,
        submitted_at="2020-01-01T00:00", deleted_at="2020-01-01T00:00", return_comment="x",
    )
    assert response.status_code == 302
    activity = Activity.objects.get()
    assert activity.branch == kit["branch"] and activity.status == S.DRAFT
    assert activity.created_by == kit["users"]["secretary"] and activity.confirmed_by is None
    assert activity.submitted_at is None and activity.deleted_at is None and activity.return_comment == ""


def test_edit_keeps_status_and_branch_whatever_is_posted(client, kit, draft):
    client.force_login(kit["users"]["secretary"])
    page = client.get(reverse("activities:update", args=[draft.pk]))
    assert page.status_code == 200
    photo = draft.photos.get()
    data = form_data(kit, title="新标题", status="confirmed", branch=kit["other_branch"].pk)
    data.update({"photos-TOTAL_FORMS": "1", "photos-INITIAL_FORMS": "1", "photos-0-photo_id": photo.pk,
                 "photos-0-caption": "合影", "photos-0-shows_minors": "on"})
    response = client.post(reverse("activities:update", args=[draft.pk]), data)
    assert response.status_code == 302
    draft.refresh_from_db()
    photo.refresh_from_db()
    assert (draft.title, draft.status, draft.branch) == ("新标题", S.DRAFT, kit["branch"])
    assert (photo.caption, photo.shows_minors) == ("合影", True)


def test_edit_with_a_foreign_photo_id_is_refused(client, kit, draft):
    other = f.ActivityPhotoFactory(activity=f.ActivityFactory(pairing=kit["pairing"], branch=kit["branch"]))
    client.force_login(kit["users"]["secretary"])
    data = form_data(kit)
    data.update({"photos-TOTAL_FORMS": "1", "photos-INITIAL_FORMS": "1", "photos-0-photo_id": other.pk,
                 "photos-0-delete": "on"})
    response = client.post(reverse("activities:update", args=[draft.pk]), data)
    assert response.status_code == 200
    assert ActivityPhoto.objects.filter(pk=other.pk).exists()


def test_duplicate_photo_is_pointed_out(client, kit, draft):
    data = jpeg_bytes()  # the same bytes as the draft's photo
    response = post_new(client, kit, new_photos=[SimpleUploadedFile("again.jpg", data)])
    assert response.status_code == 302
    new = Activity.objects.exclude(pk=draft.pk).get()
    page = client.get(response["Location"])
    text = page.content.decode()
    assert draft.title in text  # in the warning message and beside the photo
    assert page.context["photos"][0][1] == ([draft], 0)
    assert new.photos.get().sha256 == draft.photos.get().sha256


def test_the_return_comment_reaches_the_secretary(client, kit, submitted):
    client.force_login(kit["users"]["village"])
    assert client.get(reverse("activities:return", args=[submitted.pk])).status_code == 200
    empty = client.post(reverse("activities:return", args=[submitted.pk]), {"comment": " "})
    assert empty.status_code == 200 and "comment" in empty.context["form"].errors
    client.post(reverse("activities:return", args=[submitted.pk]), {"comment": "请补充签到表"})
    client.force_login(kit["users"]["secretary"])
    page = client.get(reverse("activities:detail", args=[submitted.pk]))
    assert "请补充签到表" in page.content.decode() and page.context["can_submit"]
    home = client.get(reverse("home"))
    assert "请补充签到表" in home.content.decode()


def test_detail_shows_history_and_figures(client, kit, submitted):
    services.activity_confirm(activity=submitted, actor=kit["users"]["village"])
    client.force_login(kit["users"]["committee"])
    page = client.get(reverse("activities:detail", args=[submitted.pk]))
    assert [c["to"] for c in page.context["history"]] == ["draft", "submitted", "confirmed"]
    assert page.context["history"][-1]["who"] == kit["users"]["village"]
    assert not page.context["can_edit"] and not page.context["can_confirm"]


# ---------------------------------------------------------------------------------------------------------
# Photos
# ---------------------------------------------------------------------------------------------------------


def test_photo_is_served_without_metadata(client, kit):
    post_new(client, kit, new_photos=[jpeg_upload(gps=True)])
    photo = ActivityPhoto.objects.get()
    for name in ("activities:photo", "activities:photo_thumb"):
        response = client.get(reverse(name, args=[photo.pk]))
        assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
        assert response["Cache-Control"].startswith("private")
        image = Image.open(io.BytesIO(b"".join(response.streaming_content)))
        assert not image.getexif().get_ifd(GPS_IFD)


def test_missing_photo_file_is_404_not_500(client, kit, draft):
    photo = draft.photos.get()
    photo.image.storage.delete(photo.image.name)
    client.force_login(kit["users"]["secretary"])
    assert client.get(reverse("activities:photo", args=[photo.pk])).status_code == 404


# ---------------------------------------------------------------------------------------------------------
# List, filters and CSV
# ---------------------------------------------------------------------------------------------------------


def options(form, name):
    """The (value, label) pairs a drop-down offers, without its empty choice."""
    return [(value, str(label)) for value, label in form.fields[name].widget.choices if value != ""]


def test_filter_dropdowns_list_only_the_viewers_scope(client, kit, submitted):
    client.force_login(kit["users"]["outsider"])
    form = client.get(reverse("activities:list")).context["filter"].form
    assert options(form, "pairing") == [(kit["other_pairing"].pk, str(kit["other_pairing"]))]
    assert options(form, "branch") == [(b.pk, b.name) for b in kit["other_pairing"].branches.order_by("name")]
    assert "draft" not in [value for value, _ in form.fields["status"].choices]

    client.force_login(kit["users"]["village"])
    form = client.get(reverse("activities:list")).context["filter"].form
    assert options(form, "pairing") == [(kit["pairing"].pk, str(kit["pairing"]))]
    assert set(options(form, "branch")) == {(kit["branch"].pk, kit["branch"].name), (kit["other_branch"].pk, kit["other_branch"].name)}
    assert options(form, "activity_type") == [(kit["type"].pk, kit["type"].name)]

    client.force_login(kit["users"]["secretary"])
    form = client.get(reverse("activities:list")).context["filter"].form
    assert "draft" in [value for value, _ in form.fields["status"].choices]


def test_filters_narrow_the_list(client, kit):
    secretary = kit["users"]["secretary"]
    client.force_login(secretary)
    a = f.ActivityFactory(pairing=kit["pairing"], branch=kit["branch"], title="植树活动", date=datetime.date(2024, 3, 1))
    b = f.ActivityFactory(pairing=kit["pairing"], branch=kit["branch"], title="家电维修", date=datetime.date(2024, 5, 1),
                          status="submitted", submitted_at=timezone.now())
    url = reverse("activities:list")

    def titles(**params):
        return [x.title for x in client.get(url, params).context["page"].object_list]

    assert titles() == ["家电维修", "植树活动"]
    assert titles(sort="oldest") == ["植树活动", "家电维修"]
    assert titles(q="植树") == ["植树活动"]
    assert titles(date_from="2024-04-01") == ["家电维修"]
    assert titles(date_to="2024-04-01") == ["植树活动"]
    assert titles(status="submitted") == ["家电维修"]
    assert titles(status=["submitted", "draft"]) == ["家电维修", "植树活动"]
    assert titles(branch=kit["other_branch"].pk) == []
    assert titles(pairing=kit["pairing"].pk) == ["家电维修", "植树活动"]
    bad = client.get(url, {"date_from": "2024-05-01", "date_to": "2024-01-01"})
    assert bad.context["filter"].errors and list(bad.context["page"].object_list) == []
    assert a and b


def read_csv(response):
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_csv_export_opens_in_excel_with_chinese_and_no_formulas(client, kit):
    activity = f.ActivityFactory(pairing=kit["pairing"], branch=kit["branch"], title="=HYPERLINK(\"http://x\")",
                                 place="+龙石村", description="@SUM(A1)", date=datetime.date(2024, 3, 1),
                                 status="submitted", submitted_at=timezone.now())
    f.ActivityMetricValueFactory(activity=activity, metric=kit["repairs"], value=12)
    f.ServiceRecordFactory(activity=activity, volunteer=kit["volunteer"], hours=2.5)
    f.ActivityFactory(pairing=kit["pairing"], branch=kit["branch"], title="-1", date=datetime.date(2024, 2, 1))
    client.force_login(kit["users"]["secretary"])
    response = client.get(reverse("activities:export"), {"status": "submitted"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    rows = read_csv(response)
    header, [row] = rows[0], rows[1:]
    assert len(rows) == 2  # the filter applies: the draft is not in it
    record = dict(zip(header, row))
    assert record[_("Title")] == "'=HYPERLINK(\"http://x\")"
    assert record[_("Place")] == "'+龙石村"
    assert record[_("Description")] == "'@SUM(A1)"
    assert record[_("Branch")] == "第三党支部"
    assert record[_("Pending volunteer hours (hours)")] == "2.5"  # recorded, not verified yet
    assert record[_("Verified volunteer hours (hours)")] == "0"
    assert record["家电维修(件)"] == "12"


def test_csv_export_is_scoped(client, kit, submitted):
    client.force_login(kit["users"]["outsider"])
    rows = read_csv(client.get(reverse("activities:export")))
    assert len(rows) == 1  # the header only
    client.force_login(kit["users"]["village"])
    assert len(read_csv(client.get(reverse("activities:export")))) == 2


def test_xlsx_export_is_scoped(client, kit, submitted):
    def rows(user):
        client.force_login(kit["users"][user])
        book = openpyxl.load_workbook(io.BytesIO(b"".join(client.get(reverse("activities:export_xlsx")).streaming_content)))
        return list(book.active.iter_rows(values_only=True))

    assert len(rows("outsider")) == 1  # the header only
    assert [row[8] for row in rows("village")[1:]] == [submitted.title]
