"""Photos that survive, for real (issue 16): on a 375-px phone, secretary3 picks three camera-size photos; the
browser shrinks and uploads each as it is picked; the form is sent with its title missing, comes back with the three
photos still there; the title is filled in and the form sent again: one activity with three photos.

Prints (and the report quotes) each photo's bytes as picked and as uploaded after the browser shrank it."""

import io
import random
import re

import pytest
from playwright.sync_api import expect
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from activities.models import Activity, PhotoUpload
from tests.activities.test_browser import chromium, demo_cast, images_loaded, phone, shot, unfold  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def camera_jpeg(seed, width=4000, height=3000):
    """A 12-megapixel JPEG as a phone saves it: a scene of soft shapes with sensor grain (so it does not compress
    to nothing), quality 92."""
    rnd = random.Random(seed)
    image = Image.new("RGB", (width, height), tuple(rnd.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(50):
        x0, y0 = rnd.randrange(width), rnd.randrange(height)
        box = (x0, y0, x0 + rnd.randrange(width // 20, width // 2), y0 + rnd.randrange(height // 20, height // 2))
        draw.ellipse(box, fill=tuple(rnd.randrange(256) for _ in range(3)))
    image = image.filter(ImageFilter.GaussianBlur(3))
    grain = Image.effect_noise((width, height), 10).convert("RGB")
    image = ImageChops.add(image, grain, scale=1.0, offset=-128)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=92)
    return out.getvalue()


def held_items(page):
    return page.eval_on_selector_all(
        "[data-held-photo]",
        """items => items.map(li => ({
            token: li.querySelector('[data-token]').value,
            picked: Number(li.getAttribute('data-bytes-picked')),
            sent: Number(li.getAttribute('data-bytes-sent')),
            stored: Number(li.getAttribute('data-bytes-stored')),
            name: li.querySelector('[data-name]').textContent,
        }))""",
    )


def test_photos_survive_a_validation_error(chromium, live_server, settings, tmp_path):  # noqa: F811
    settings.MEDIA_ROOT = tmp_path / "media"
    demo_cast()
    before = set(Activity.objects.values_list("id", flat=True))
    files = []
    for i in range(3):
        path = tmp_path / f"IMG_{2024 + i}.jpg"
        path.write_bytes(camera_jpeg(i))
        files.append(str(path))

    page = phone(chromium, live_server, "secretary3")
    page.goto(f"{live_server.url}/activities/new/")
    pairing = page.locator("select[name=pairing] option", has_text="龙石村").first.get_attribute("value")
    page.select_option("select[name=pairing]", pairing)
    page.select_option("select[name=activity_type]", index=1)
    page.fill("input[name=place]", "龙石村党群服务中心")
    page.set_input_files("input[name=new_photos]", files)
    try:
        expect(page.locator("[data-held-photo] img[src]")).to_have_count(3, timeout=90_000)
    finally:
        print(page.locator("[data-pending] [data-status]").all_inner_texts())
    items = held_items(page)
    print()
    for item in items:
        print(f"{item['name']}: picked {item['picked']:,} B → uploaded {item['sent']:,} B "
              f"({item['sent'] / item['picked']:.0%}), stored {item['stored']:,} B")
    assert all(item["sent"] < item["picked"] / 2 for item in items)  # shrunk in the browser
    assert page.input_value("input[name=new_photos]") == ""  # not sent a second time with the form
    uploads = list(PhotoUpload.objects.order_by("id"))
    assert len(uploads) == 3 and {(u.width, u.height) for u in uploads} == {(2560, 1920)}
    page.wait_for_load_state("networkidle")
    assert all(images_loaded(page))
    shot(page, "photos-01-picked")

    # the title is missing: the form comes back, with the three photos (the browser's own check of required fields
    # is switched off, so the server's answer is what is tested)
    page.eval_on_selector("form.act-form", "form => { form.noValidate = true; }")
    page.click("button[name=action][value=draft]")
    page.wait_for_load_state("networkidle")
    expect(page.locator(".act-alert[role=alert]")).to_be_visible()
    unfold(page, "input[name=new_photos]")  # folded on a phone (static/js/form-sections.js), summing up 3 photos
    assert [item["token"] for item in held_items(page)] == [item["token"] for item in items]
    assert all(images_loaded(page))
    shot(page, "photos-02-error-keeps-photos")

    page.fill("input[name=title]", "小电匠家电义务维修进龙石村")
    page.fill(f"input[name='photo_caption_{items[0]['token']}']", "维修现场")
    page.click("button[name=action][value=draft]")
    page.wait_for_url(re.compile(r"/activities/\d+/$"))
    page.wait_for_load_state("networkidle")
    shot(page, "photos-03-saved")
    [new_id] = set(Activity.objects.values_list("id", flat=True)) - before
    activity = Activity.objects.get(pk=new_id)
    photos = list(activity.photos.order_by("id"))
    assert len(photos) == 3 and photos[0].caption == "维修现场"
    assert [p.image.name for p in photos] == [u.image.name for u in uploads]
    assert all(images_loaded(page))

    # a new form in the same tab starts empty: the tokens were used
    page.goto(f"{live_server.url}/activities/new/")
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-held-photo]").count() == 0
    page.context.close()


def test_a_reload_brings_the_photos_back(chromium, live_server, settings, tmp_path):  # noqa: F811
    settings.MEDIA_ROOT = tmp_path / "media"
    demo_cast()
    path = tmp_path / "IMG_0001.jpg"
    path.write_bytes(camera_jpeg(7, width=1600, height=1200))
    page = phone(chromium, live_server, "secretary3")
    page.goto(f"{live_server.url}/activities/new/")
    page.set_input_files("input[name=new_photos]", [str(path)])
    expect(page.locator("[data-held-photo] img[src]")).to_have_count(1, timeout=60_000)
    [item] = held_items(page)
    assert item["sent"] == item["picked"]  # small enough: sent as it is
    page.reload()
    page.wait_for_load_state("networkidle")
    assert [i["token"] for i in held_items(page)] == [item["token"]]
    assert all(images_loaded(page))
    unfold(page, "input[name=new_photos]")
    page.click("[data-held-photo] [data-remove]")
    page.reload()
    assert page.locator("[data-held-photo]").count() == 0
    page.context.close()
