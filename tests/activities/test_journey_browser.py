"""Issue 16's "done when", on the demo, in Chromium at a 375-px phone viewport: secretary3 opens the activity form
online, loses the connection, fills it in, names 第二党支部 as co-host, picks three camera photos (4,000×3,000, about
4.7 MB each) and submits: the phone keeps it ("1 条待上传"); back online it is sent, and there is exactly one
activity, with its co-host and its three photos, and nothing waiting.

Prints (and the report quotes) each photo's bytes as picked and as uploaded once the browser shrank it (as the
upload endpoint received it), and the size stored after the server's re-encoding. Screenshots: artifacts/screenshots/journey-*."""

import re

import pytest
from PIL import Image

from activities import services
from activities.models import Activity, PhotoUpload
from portal.models import Organization
from tests.activities.test_browser import chromium, demo_cast, phone, shot, unfold  # noqa: F401 (fixture)
from tests.activities.test_offline_browser import wait_for
from tests.activities.test_photo_browser import camera_jpeg

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TITLE = "“小电匠”家电义务维修进龙石村(断网填写)"


def test_secretary3_records_a_cohosted_activity_with_three_photos_offline(chromium, live_server, settings, tmp_path, monkeypatch):  # noqa: F811
    settings.MEDIA_ROOT = tmp_path / "media"
    demo_cast()
    before = set(Activity.objects.values_list("id", flat=True))
    files = []
    for i in range(3):
        path = tmp_path / f"IMG_{3001 + i}.jpg"
        path.write_bytes(camera_jpeg(100 + i))
        files.append(path)
    picked = {path.name: path.stat().st_size for path in files}
    assert all(4_000_000 < size < 6_000_000 for size in picked.values()), picked  # camera-size

    # what reaches the server per photo: the live server runs in this process, so the service is watched here
    received = []
    create = services.photo_upload_create

    def watched(*, owner, file, **kwargs):
        received.append((file.name, file.size))
        return create(owner=owner, file=file, **kwargs)

    monkeypatch.setattr(services, "photo_upload_create", watched)
    page = phone(chromium, live_server, "secretary3")
    uploads = []
    page.on("request", lambda r: uploads.append(r) if r.method == "POST" and r.url.endswith("/activities/photos/upload/") else None)
    page.goto(f"{live_server.url}/activities/new/")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("navigator.serviceWorker.ready.then(r => !!r.active)")
    shot(page, "journey-01-form-online")

    context = page.context
    context.set_offline(True)
    pairing = page.locator("select[name=pairing] option", has_text="龙石村").first.get_attribute("value")
    page.select_option("select[name=pairing]", pairing)
    cohost = page.locator("label", has_text=re.compile(r"^\s*第二党支部\s*$")).locator("input[name=co_branches]")
    assert cohost.count() == 1, page.locator("input[name=co_branches]").evaluate_all("els => els.map(e => e.parentNode.textContent)")
    cohost.check()
    page.select_option("select[name=activity_type]", index=1)
    page.fill("input[name=title]", TITLE)
    page.fill("input[name=place]", "龙石村党群服务中心")
    unfold(page, "textarea[name=description]")
    page.fill("textarea[name=description]", "第三、第二党支部“小电匠”师生为村民义务检修电饭煲、风扇等小家电。")
    unfold(page, "input[name=party_members]")
    page.fill("input[name=party_members]", "6")
    page.fill("input[name=students]", "10")
    unfold(page, "input[name=new_photos]")
    page.set_input_files("input[name=new_photos]", [str(path) for path in files])
    # no connection: each is shrunk and kept on the phone, not lost and not in the submit's way
    kept = page.locator("[data-kept]")
    kept.nth(2).wait_for(state="attached", timeout=90_000)
    assert kept.count() == 3 and "联网后自动上传" in kept.first.inner_text()
    shrunk = page.eval_on_selector_all(
        "[data-kept]", "els => els.map(li => [li.querySelector('[data-name]').textContent, Number(li.getAttribute('data-bytes-sent'))])"
    )
    assert uploads == [] and PhotoUpload.objects.count() == 0
    shot(page, "journey-02-offline-photos-kept")

    page.click("button[name=action][value=submit]")
    waiting = page.locator("[data-outbox-page]")
    waiting.wait_for(state="visible")
    assert "1 条待上传" in waiting.inner_text()
    assert "1 条待上传" in page.locator("[data-outbox-user]").inner_text()
    assert page.input_value("input[name=title]") == ""  # emptied for the next activity, its photos too
    assert page.locator("[data-held-list] li").count() == 0
    assert page.evaluate("PortalOutbox.entries().then(e => e.map(x => x.files.length))") == [3]
    shot(page, "journey-03-waiting-to-upload")
    assert set(Activity.objects.values_list("id", flat=True)) == before

    context.set_offline(False)  # Chromium fires "online": outbox.js uploads the photos, then posts the form
    assert wait_for(lambda: set(Activity.objects.values_list("id", flat=True)) != before, seconds=90)
    waiting.wait_for(state="hidden", timeout=30_000)
    assert page.locator("[data-outbox-user]").is_hidden()
    shot(page, "journey-04-sent")
    page.evaluate("PortalOutbox.flush()")  # asked again: nothing is sent twice
    page.goto(f"{live_server.url}/activities/")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("PortalOutbox.entries().then(e => e.length)") == 0

    [new_id] = set(Activity.objects.values_list("id", flat=True)) - before
    activity = Activity.objects.get(pk=new_id)
    assert activity.title == TITLE and activity.status == Activity.Status.SUBMITTED
    assert activity.branch.name == "第三党支部" and "龙石村" in activity.pairing.supported.name
    assert list(activity.co_branches.values_list("name", flat=True)) == ["第二党支部"]
    assert activity.co_branches.get().kind == Organization.Kind.BRANCH
    assert activity.photos.count() == 3
    assert Activity.objects.filter(title=TITLE).count() == 1
    page.goto(f"{live_server.url}/activities/{activity.pk}/")
    page.wait_for_load_state("networkidle")
    assert "第二党支部" in page.inner_text("main")
    shot(page, "journey-05-activity")

    # the bytes: as picked, as the browser sent them after shrinking, as stored after the server's re-encoding
    assert len(uploads) == 3
    print()
    assert [size for _, size in received] == [size for _, size in shrunk]  # what was kept offline is what went up
    for (name, sent), path, (sent_name, _) in zip(shrunk, files, received, strict=True):
        assert name == path.name and sent_name == path.stem + ".jpg"
        assert sent < picked[path.name] / 2
        print(f"{name}: picked {picked[path.name]:,} B → uploaded {sent:,} B ({sent / picked[path.name]:.0%})")
    for photo in activity.photos.order_by("id"):
        with Image.open(photo.image.path) as image:
            print(f"  stored after the server's re-encoding: {photo.image.size:,} B, {image.width}×{image.height}")
            assert max(image.size) == 2560
    context.close()
