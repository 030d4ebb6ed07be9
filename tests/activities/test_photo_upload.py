"""Photos that survive (issue 16): uploaded on pick (activities:photo_upload), held for the form by a token,
attached when the activity is saved, shown again after a validation error, purged when never attached; decoded at
a reduced size within a pixel budget; served with Cache-Control: private, no-store."""

import datetime
import io
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from activities import images, services, tasks
from activities.models import Activity, PhotoUpload
from tests import factories as f
from tests.activities.images import jpeg_bytes, jpeg_upload, pdf_bytes, png_bytes
from tests.activities.test_views import form_data

UPLOAD = "/activities/photos/upload/"


def upload(client, user, data=None, name="IMG_0001.jpg"):
    client.force_login(user)
    file = SimpleUploadedFile(name, data if data is not None else jpeg_bytes(width=800, height=600, gps=True))
    return client.post(reverse("activities:photo_upload"), {"file": file})


def held(client, kit, user=None, **kwargs):
    response = upload(client, user or kit["users"]["secretary"], **kwargs)
    assert response.status_code == 201, response.content
    return response.json()


# --- the endpoint ---------------------------------------------------------------------------------------


def test_upload_holds_a_cleaned_photo_by_a_hashed_token(client, kit):
    assert reverse("activities:photo_upload") == UPLOAD
    body = held(client, kit)
    assert set(body) == {"token", "name", "bytes", "width", "height", "thumb"}
    assert len(body["token"]) >= 32 and (body["width"], body["height"]) == (800, 600) and body["name"] == "IMG_0001.jpg"
    upload_row = PhotoUpload.objects.get()
    assert upload_row.owner == kit["users"]["secretary"] and upload_row.attached_at is None
    assert upload_row.token_hash == PhotoUpload.hash_token(body["token"]) != body["token"]
    assert body["bytes"] == upload_row.size == upload_row.image.size
    assert re.fullmatch(r"photos/\d{4}/\d{2}/[0-9a-f]{32}\.jpg", upload_row.image.name)  # kept where photos are
    with upload_row.image.open("rb") as handle:
        stored = Image.open(io.BytesIO(handle.read()))
    assert stored.format == "JPEG" and len(stored.getexif()) == 0  # re-encoded, GPS gone
    assert body["thumb"] == reverse("activities:photo_upload_thumb", args=[upload_row.pk])


def test_only_the_uploader_reads_the_held_thumbnail(client, kit):
    body = held(client, kit)
    response = client.get(body["thumb"])
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "private, no-store"
    for name in ("other_secretary", "admin", "village", "outsider", "superuser"):
        client.force_login(kit["users"][name])
        assert client.get(body["thumb"]).status_code == 404, name
    client.logout()
    assert client.get(body["thumb"]).status_code == 302


@pytest.mark.parametrize(
    "role, status",
    [("secretary", 201), ("other_secretary", 201), ("admin", 201), ("village", 403), ("outsider", 403), ("committee", 403)],
)
def test_who_may_upload(client, kit, role, status):
    """Whoever records activities, or edits one (the program admin), holds photos; the others get 403 JSON."""
    f.ActivityFactory(pairing=kit["pairing"], branch=kit["branch"])  # a draft the program admin may edit
    response = upload(client, kit["users"][role])
    assert response.status_code == status
    if status == 403:
        assert response.json()["error"] == "您没有登记活动的权限。"
        assert not PhotoUpload.objects.exists()


def test_anonymous_and_get(client, kit):
    response = client.post(UPLOAD, {"file": SimpleUploadedFile("a.jpg", jpeg_bytes())})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(kit["users"]["secretary"])
    assert client.get(UPLOAD).status_code == 405


def test_csrf_is_checked(kit):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(kit["users"]["secretary"])
    file = SimpleUploadedFile("a.jpg", jpeg_bytes())
    assert strict.post(UPLOAD, {"file": file}).status_code == 403
    strict.get(reverse("activities:create"))
    token = strict.cookies[settings.CSRF_COOKIE_NAME].value
    file.seek(0)
    assert strict.post(UPLOAD, {"file": file}, headers={"X-CSRFToken": token}).status_code == 201


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("scan.jpg", pdf_bytes(), "“scan.jpg”不是 JPEG、PNG 或 WebP 格式的照片。"),
        ("empty.jpg", b"", None),
    ],
    ids=["pdf", "empty"],
)
def test_a_bad_file_gets_a_chinese_error(client, kit, name, data, message):
    response = upload(client, kit["users"]["secretary"], data=data, name=name)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error == message if message else re.search(r"[\u4e00-\u9fff]", error)
    assert not PhotoUpload.objects.exists()


def test_no_file(client, kit):
    client.force_login(kit["users"]["secretary"])
    response = client.post(UPLOAD, {})
    assert response.status_code == 400 and response.json() == {"error": "请选择一张照片。"}


def test_too_large_is_413(client, kit, monkeypatch):
    monkeypatch.setattr(images, "MAX_UPLOAD_BYTES", 2000)
    response = upload(client, kit["users"]["secretary"], data=jpeg_bytes(width=400, height=400, color=(1, 2, 3)) + b"\0" * 3000)
    assert response.status_code == 413 and "MB" in response.json()["error"]
    # a request far past the limit is refused before its body is read
    monkeypatch.setattr(images, "MAX_UPLOAD_BYTES", 10)
    response = upload(client, kit["users"]["secretary"], data=b"\xff" * 200_000)
    assert response.status_code == 413
    assert not PhotoUpload.objects.exists()


def test_a_person_holds_a_bounded_number(client, kit, monkeypatch):
    monkeypatch.setattr(services, "MAX_HELD_PHOTOS", 2)
    held(client, kit)
    held(client, kit)
    response = upload(client, kit["users"]["secretary"])
    assert response.status_code == 400 and "请先保存活动" in response.json()["error"]


def test_endpoint_queries(client, kit, django_assert_num_queries):
    client.force_login(kit["users"]["secretary"])
    file = SimpleUploadedFile("a.jpg", jpeg_bytes())
    # the session with its user, scope, may record, savepoint, how many held, insert, release
    with django_assert_num_queries(7):
        response = client.post(UPLOAD, {"file": file})
    assert response.status_code == 201
    with django_assert_num_queries(2):  # the session with its user, the held photo
        assert client.get(response.json()["thumb"]).status_code == 200


# --- decoding: reduced size, ceilings, the budget -------------------------------------------------------


def test_a_large_jpeg_is_decoded_at_a_reduced_size():
    budget = images.PixelBudget()
    clean = images.clean_photo(SimpleUploadedFile("big.jpg", jpeg_bytes(width=6000, height=4000)), budget=budget)
    assert (clean.width, clean.height) == (images.STORED_LONG_EDGE, 1707)
    assert budget.total - budget.left == 3000 * 2000  # decoded at 1/2: 6 megapixels, not 24


def test_a_large_jpeg_keeps_its_orientation():
    clean = images.clean_photo(SimpleUploadedFile("turned.jpg", jpeg_bytes(width=6000, height=4000, orientation=6)))
    assert (clean.width, clean.height) == (1707, images.STORED_LONG_EDGE)


def test_a_large_png_is_refused_before_decoding(monkeypatch):
    """PNG and WebP are decoded whole: past FULL_DECODE_MAX_PIXELS they are refused from the header."""
    data = png_bytes(width=1200, height=1000, mode="RGB")
    monkeypatch.setattr(images, "FULL_DECODE_MAX_PIXELS", 1_000_000)
    monkeypatch.setattr(Image.Image, "load", lambda self: pytest.fail("decoded a large PNG"))
    with pytest.raises(images.ValidationError) as caught:
        images.clean_photo(SimpleUploadedFile("big.png", data))
    assert caught.value.code == "too_many_pixels"


def test_the_pixel_budget_of_a_request(client, kit, monkeypatch):
    monkeypatch.setattr(images, "REQUEST_PIXEL_BUDGET", 500_000)
    # the endpoint: one photo over the budget
    response = upload(client, kit["users"]["secretary"], data=jpeg_bytes(width=1000, height=800))
    assert response.status_code == 400
    assert "一次发送的照片像素总数过多" in response.json()["error"]
    # the form: two photos within it each, over it together; nothing is saved
    client.force_login(kit["users"]["secretary"])
    photos = [jpeg_upload(name=f"{i}.jpg", width=600, height=500) for i in range(2)]
    response = client.post(reverse("activities:create"), form_data(kit, new_photos=photos))
    assert response.status_code == 200
    assert "一次发送的照片像素总数过多" in response.content.decode()
    assert not Activity.objects.exists()


# --- the form: tokens attach, survive a validation error, only one's own --------------------------------


def test_tokens_attach_the_held_photos(client, kit):
    one, two = held(client, kit), held(client, kit, data=png_bytes(width=300, height=200))
    data = form_data(kit, photo_token=[one["token"], two["token"]], photo_token_minors=[two["token"]])
    data[f"photo_caption_{one['token']}"] = "维修现场"
    response = client.post(reverse("activities:create"), data)
    assert response.status_code == 302, response.context["upload"].errors if response.context else ""
    activity = Activity.objects.get()
    photos = list(activity.photos.order_by("id"))
    assert [(p.caption, p.shows_minors) for p in photos] == [("维修现场", False), ("", True)]
    uploads = list(PhotoUpload.objects.order_by("id"))
    # the files are handed over, not copied; the upload records what it became
    assert [u.attached_to_id for u in uploads] == [p.pk for p in photos]
    assert [u.image.name for u in uploads] == [p.image.name for p in photos]
    assert all(u.attached_at for u in uploads) and photos[0].sha256 == uploads[0].sha256
    assert client.get(reverse("activities:photo", args=[photos[0].pk]))["Cache-Control"] == "private, no-store"
    assert client.get(one["thumb"]).status_code == 404  # attached: the photo's own URLs serve it now
    # a token attaches once
    response = client.post(reverse("activities:create"), form_data(kit, photo_token=[one["token"]], title="again"))
    assert response.status_code == 200 and Activity.objects.count() == 1
    assert "已过期或无法在此使用" in response.content.decode()


def test_a_validation_error_keeps_the_held_photos(client, kit):
    one, two = held(client, kit), held(client, kit)
    data = form_data(kit, title="", photo_token=[one["token"], two["token"]], photo_token_minors=[one["token"]])
    data[f"photo_caption_{two['token']}"] = "合影"
    response = client.post(reverse("activities:create"), data)
    assert response.status_code == 200 and not Activity.objects.exists()
    page = response.content.decode()
    for body in (one, two):
        assert f'name="photo_token" value="{body["token"]}"' in page
        assert f'src="{body["thumb"]}"' in page
    assert f'name="photo_caption_{two["token"]}" value="合影"' in page
    assert re.search(rf'value="{one["token"]}" checked data-minors', page)
    # removed on the page: not attached
    data.update(title="合影留念", photo_token_remove=[one["token"]])
    assert client.post(reverse("activities:create"), data).status_code == 302
    activity = Activity.objects.get()
    assert [p.caption for p in activity.photos.all()] == ["合影"]


def test_another_users_token_is_a_form_error(client, kit):
    theirs = held(client, kit, user=kit["users"]["other_secretary"])
    client.force_login(kit["users"]["secretary"])
    response = client.post(reverse("activities:create"), form_data(kit, photo_token=[theirs["token"]]))
    assert response.status_code == 200 and not Activity.objects.exists()
    page = response.content.decode()
    assert "部分已添加的照片已过期或无法在此使用" in page and theirs["token"] not in page
    assert PhotoUpload.objects.get().attached_at is None


def test_an_expired_token_is_a_form_error(client, kit):
    body = held(client, kit)
    PhotoUpload.objects.update(created_at=timezone.now() - datetime.timedelta(days=1, minutes=1))
    response = client.post(reverse("activities:create"), form_data(kit, photo_token=[body["token"]]))
    assert response.status_code == 200 and not Activity.objects.exists()


def test_the_service_checks_the_token_too(kit):
    """A crafted call meets the same rule as the form: someone else's token attaches nothing."""
    from activities.images import clean_photo

    upload_row, token = services.photo_upload_hold(
        owner=kit["users"]["other_secretary"], photo=clean_photo(SimpleUploadedFile("a.jpg", jpeg_bytes()))
    )
    fields = services.ActivityFields(pairing=kit["pairing"], activity_type=kit["type"], title="x",
                                     date=timezone.localdate() - datetime.timedelta(days=1))
    with pytest.raises(services.ValidationError) as caught:
        services.activity_create(actor=kit["users"]["secretary"], fields=fields, new_photos=[services.HeldPhoto(token=token)])
    assert "new_photos" in caught.value.error_dict
    assert not Activity.objects.exists()


def test_without_javascript_the_photos_survive_a_validation_error(client, kit):
    """The plain file input: photos sent with a form that has errors are held, so the form shows them again."""
    client.force_login(kit["users"]["secretary"])
    photos = [jpeg_upload(name="a.jpg"), jpeg_upload(name="b.jpg", color=(0, 90, 0))]
    response = client.post(reverse("activities:create"), form_data(kit, title="", new_photos=photos, new_photos_show_minors="on"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "请重新选择" not in page  # the old "choose them again"
    tokens = re.findall(r'name="photo_token" value="([^"]+)"', page)
    assert len(tokens) == 2 and PhotoUpload.objects.count() == 2
    response = client.post(reverse("activities:create"), form_data(kit, photo_token=tokens, photo_token_minors=tokens))
    assert response.status_code == 302
    assert [p.shows_minors for p in Activity.objects.get().photos.all()] == [True, True]


def test_edit_form_attaches_held_photos(client, kit):
    client.force_login(kit["users"]["secretary"])
    assert client.post(reverse("activities:create"), form_data(kit)).status_code == 302
    activity = Activity.objects.get()
    body = held(client, kit)
    data = form_data(kit, photo_token=[body["token"]], **{"photos-TOTAL_FORMS": "0", "photos-INITIAL_FORMS": "0"})
    assert client.post(reverse("activities:update", args=[activity.pk]), data).status_code == 302
    assert activity.photos.count() == 1


def test_form_queries_do_not_grow_with_held_photos(client, kit, django_assert_num_queries):
    bodies = [held(client, kit) for _ in range(3)]
    data = form_data(kit, title="", photo_token=[b["token"] for b in bodies[:1]])
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        client.post(reverse("activities:create"), data)
    data["photo_token"] = [b["token"] for b in bodies]
    with django_assert_num_queries(len(one.captured_queries)):
        response = client.post(reverse("activities:create"), data)
    assert response.content.decode().count('name="photo_token"') == 3 + 1  # three held, one in the template


# --- the purge --------------------------------------------------------------------------------------------


def test_the_purge_removes_unattached_uploads_after_a_day(client, kit, django_capture_on_commit_callbacks):
    old, recent, attached = held(client, kit), held(client, kit), held(client, kit)
    client.post(reverse("activities:create"), form_data(kit, photo_token=[attached["token"]]))
    day_old = timezone.now() - datetime.timedelta(days=1, minutes=1)
    PhotoUpload.objects.exclude(token_hash=PhotoUpload.hash_token(recent["token"])).update(created_at=day_old)
    rows = {b["token"]: PhotoUpload.objects.get(token_hash=PhotoUpload.hash_token(b["token"])) for b in (old, recent, attached)}
    media = Path(settings.MEDIA_ROOT)
    files = {token: [media / row.image.name, media / row.thumbnail.name] for token, row in rows.items()}
    assert all(path.exists() for paths in files.values() for path in paths)

    with django_capture_on_commit_callbacks(execute=True):  # the files go once the rows' removal is committed
        assert tasks.purge_photo_uploads.delay().get() == 1

    assert set(PhotoUpload.objects.values_list("pk", flat=True)) == {rows[recent["token"]].pk, rows[attached["token"]].pk}
    assert not any(path.exists() for path in files[old["token"]])
    assert all(path.exists() for path in files[recent["token"]] + files[attached["token"]])  # the photo's files
    assert Activity.objects.get().photos.count() == 1
    assert services.photo_uploads_purge() == 0  # nothing left to do


def test_the_purge_is_on_the_beat_schedule():
    entry = settings.CELERY_BEAT_SCHEDULE["photo-uploads-purge"]
    assert entry["task"] == "activities.tasks.purge_photo_uploads" == tasks.purge_photo_uploads.name
    assert entry["schedule"].minute == {40} and len(entry["schedule"].hour) == 24  # hourly


# --- no copy kept in a shared browser ---------------------------------------------------------------------


def test_nginx_keeps_the_portals_cache_control():
    """X-Accel-Redirect: nginx passes the portal's Cache-Control on (it is one of the headers it keeps from the
    redirecting response), unless its internal location sets its own: it must not."""
    conf = (Path(settings.BASE_DIR) / "deploy" / "nginx.conf").read_text()
    location = conf[conf.index("location /protected-media/"):]
    location = location[: location.index("}")]
    assert "internal;" in location
    for directive in ("expires", "Cache-Control", "proxy_hide_header", "proxy_ignore_headers"):
        assert directive not in location.split("#")[0] or all(
            directive not in line.split("#")[0] for line in location.splitlines()
        ), directive
