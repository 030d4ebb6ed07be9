"""activities.images: checks before decoding, re-encoding without metadata, orientation, thumbnails."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from activities import images
from tests.activities.images import GPS_IFD, jpeg_bytes, jpeg_upload, pdf_bytes, png_bomb, png_bytes, webp_bytes


def opened(content_file):
    content_file.seek(0)
    return Image.open(io.BytesIO(content_file.read()))


def test_jpeg_is_reencoded_without_exif_or_gps():
    clean = images.clean_photo(jpeg_upload(gps=True, comment=b"secret note"))
    stored = opened(clean.image)
    assert stored.format == "JPEG"
    exif = stored.getexif()
    assert len(exif) == 0
    assert not exif.get_ifd(GPS_IFD)
    assert "exif" not in stored.info and "comment" not in stored.info
    assert (clean.width, clean.height) == stored.size == (64, 48)


def test_orientation_is_applied_to_the_pixels():
    # orientation 6: the camera was turned; the picture must come out upright (portrait), tag gone
    clean = images.clean_photo(jpeg_upload(width=64, height=48, orientation=6))
    stored = opened(clean.image)
    assert stored.size == (48, 64)
    assert ORIENTATION_ABSENT(stored)
    # the blue strip that was on the left edge is now along the top
    r, g, b = stored.convert("RGB").getpixel((24, 2))
    assert b > 150 and r < 100


def ORIENTATION_ABSENT(image):
    return 0x0112 not in image.getexif()


@pytest.mark.parametrize("data", [png_bytes(), png_bytes(mode="RGB"), webp_bytes()], ids=["png-alpha", "png", "webp"])
def test_png_and_webp_become_jpeg(data):
    clean = images.clean_photo(SimpleUploadedFile("x.png", data))
    assert opened(clean.image).format == "JPEG"
    assert opened(clean.thumbnail).format == "JPEG"


def test_thumbnail_and_stored_size_are_bounded():
    clean = images.clean_photo(jpeg_upload(width=3000, height=1000))
    assert max(opened(clean.image).size) == images.STORED_LONG_EDGE
    assert max(opened(clean.thumbnail).size) == images.THUMB_LONG_EDGE


def test_file_names_are_made_by_the_server():
    clean = images.clean_photo(jpeg_upload(name="../../etc/我的照片.php.jpg"))
    assert clean.image.name.endswith(".jpg") and len(clean.image.name) == 36
    assert "/" not in clean.image.name and "照片" not in clean.image.name


def test_same_bytes_same_hash():
    data = jpeg_bytes()
    one = images.clean_photo(SimpleUploadedFile("a.jpg", data))
    two = images.clean_photo(SimpleUploadedFile("b.jpg", data))
    assert one.sha256 == two.sha256 and len(one.sha256) == 64


def test_png_bomb_is_refused_before_decoding(monkeypatch):
    data = png_bomb()
    assert len(data) < 1_000_000  # small on disk, 100 megapixels when decoded
    monkeypatch.setattr(Image.Image, "load", lambda self: pytest.fail("decoded a bomb"))
    with pytest.raises(ValidationError) as caught:
        images.clean_photo(SimpleUploadedFile("bomb.png", data))
    assert caught.value.code == "too_many_pixels"


@pytest.mark.parametrize(
    "name, data",
    [("report.jpg", pdf_bytes()), ("x.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"), ("t.jpg", jpeg_bytes()[:200])],
    ids=["renamed-pdf", "gif", "truncated"],
)
def test_not_an_accepted_image(name, data):
    with pytest.raises(ValidationError) as caught:
        images.clean_photo(SimpleUploadedFile(name, data))
    assert caught.value.code == "not_image"


def test_too_large_file(monkeypatch):
    monkeypatch.setattr(images, "MAX_UPLOAD_BYTES", 1000)
    with pytest.raises(ValidationError) as caught:
        images.clean_photo(jpeg_upload(width=200, height=200))
    assert caught.value.code == "too_large"


def test_empty_file():
    with pytest.raises(ValidationError) as caught:
        images.clean_photo(SimpleUploadedFile("empty.jpg", b""))
    assert caught.value.code == "empty"


def test_a_bomb_past_pillows_own_limit_is_refused_too():
    # 20000×20000 = 400 megapixels: Pillow itself refuses it at open(); the form still gets our message
    with pytest.raises(ValidationError) as caught:
        images.clean_photo(SimpleUploadedFile("big.png", png_bomb(width=20_000, height=20_000)))
    assert caught.value.code == "too_many_pixels"
