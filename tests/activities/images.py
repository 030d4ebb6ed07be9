"""Test images made on the fly: a JPEG with GPS EXIF and a rotation, a PNG decompression bomb, a fake photo, a
photo-like scene and a resized, re-saved copy of a photo."""

import io
import random
import struct
import zlib

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw, ImageFilter

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def jpeg_bytes(width=64, height=48, color=(200, 30, 30), gps=False, orientation=None, comment=b""):
    image = Image.new("RGB", (width, height), color)
    # a second colour on the left edge so a rotation can be seen in the pixels
    for x in range(width // 4):
        for y in range(height):
            image.putpixel((x, y), (20, 20, 220))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    if orientation:
        exif[ORIENTATION] = orientation
    if gps:
        exif.get_ifd(GPS_IFD).update({1: "N", 2: (22.0, 31.0, 12.5), 3: "E", 4: (113.0, 22.0, 5.0)})
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes(), comment=comment or None)
    return out.getvalue()


def jpeg_upload(name="photo.jpg", **kwargs):
    return SimpleUploadedFile(name, jpeg_bytes(**kwargs), content_type="image/jpeg")


def png_bytes(width=40, height=30, mode="RGBA"):
    out = io.BytesIO()
    Image.new(mode, (width, height), (0, 128, 0, 128) if mode == "RGBA" else (0, 128, 0)).save(out, format="PNG")
    return out.getvalue()


def webp_bytes(width=40, height=30):
    out = io.BytesIO()
    Image.new("RGB", (width, height), (0, 0, 200)).save(out, format="WEBP")
    return out.getvalue()


def png_bomb(width=10_000, height=10_000):
    """A valid PNG header for a 100-megapixel grey image with a tiny compressed body (all zero rows)."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    compressor = zlib.compressobj(9)
    row = b"\x00" * (width + 1)
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def pdf_bytes():
    return b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def scene_bytes(seed, width=1200, height=900, quality=90):
    """A JPEG that looks like a photo to a picture hash: overlapping shapes of many colours, softened; a different
    seed gives a different picture."""
    rnd = random.Random(seed)
    image = Image.new("RGB", (width, height), tuple(rnd.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x0, y0 = rnd.randrange(width), rnd.randrange(height)
        box = (x0, y0, x0 + rnd.randrange(width // 20, width // 2), y0 + rnd.randrange(height // 20, height // 2))
        colour = tuple(rnd.randrange(256) for _ in range(3))
        (draw.ellipse if rnd.random() < 0.5 else draw.rectangle)(box, fill=colour)
    out = io.BytesIO()
    image.filter(ImageFilter.GaussianBlur(2)).save(out, format="JPEG", quality=quality)
    return out.getvalue()


def resaved(data, scale=0.5, quality=70, crop=0.0):
    """A copy of a photo as someone would re-send it: cropped by `crop` of each side, resized by `scale`,
    re-saved as a JPEG of `quality`."""
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
        dx, dy = int(width * crop), int(height * crop)
        picture = image.convert("RGB").crop((dx, dy, width - dx, height - dy))
        picture = picture.resize((int(picture.width * scale), int(picture.height * scale)), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def upload(data, name="photo.jpg"):
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


def photo_hash(i):
    """A picture hash of its own for each i, for a photo row without a real picture (its bands differ in many bits
    from one i to the next)."""
    return (i * 0x9E3779B97F4A7C15 + 0x0123456789ABCDEF) % (1 << 64)
