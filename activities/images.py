"""Photo uploads, handled with Pillow and trusting nothing the file says about itself.

Every photo is checked before it is decoded (file size, format from the content, pixel count read from the
header), then decoded once, turned upright (EXIF orientation), and re-encoded as a fresh JPEG from its
pixels: EXIF, GPS, XMP, ICC comments and every other piece of metadata stay behind. A thumbnail is made from
the same pixels. File names are made here, never taken from the upload.

Large pictures are decoded at a reduced size: a JPEG by Image.draft (its decoder scales by 1/2, 1/4 or 1/8 while
decoding, to no less than the stored size), other formats only up to FULL_DECODE_MAX_PIXELS, since Pillow decodes
them whole. What a request decodes in all is held to a PixelBudget (the form takes several photos at once).

Each photo also gets a picture hash (`dhash`), so that a copy of a photo on another activity is recognised even
when it was resized, re-compressed or slightly cropped (activities.plausibility). A 64-bit difference hash is a
few lines of Pillow; ImageHash would bring numpy, SciPy and PyWavelets (about 60 MB of wheels) for the same.
"""

import hashlib
import io
import math
import uuid
import warnings
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import gettext_lazy as _
from PIL import Image, UnidentifiedImageError

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
ACCEPTED_CONTENT_TYPES = "image/jpeg,image/png,image/webp"
MAX_UPLOAD_BYTES = 15 * 1024 * 1024
# Checked against the header before any pixel is decoded: a 100-megapixel PNG can be a few hundred kB.
MAX_PIXELS = 50_000_000
MAX_SIDE = 12_000
# A PNG or WebP is decoded whole (4 bytes a pixel, then copies): a 7,000×7,000 PNG took 2.8 s and 468 MB. A camera
# gives JPEGs and the browser sends shrunk JPEGs (static/js/photo-upload.js); other formats are screenshots.
FULL_DECODE_MAX_PIXELS = 16_000_000
# The pixels one request may decode in all (after a JPEG's reduced decoding): ten 12-megapixel photos.
REQUEST_PIXEL_BUDGET = 120_000_000
STORED_LONG_EDGE = 2560
THUMB_LONG_EDGE = 480
JPEG_QUALITY = 85
THUMB_QUALITY = 80
MAX_PHOTOS_PER_ACTIVITY = 30

# Pillow warns when it opens an image over its own MAX_IMAGE_PIXELS (and refuses at twice that). MAX_PIXELS
# is stricter and is checked right after opening, so the warning adds nothing; it is silenced once here
# rather than per call (warnings.catch_warnings is not thread-safe).
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


@dataclass(frozen=True)
class CleanPhoto:
    """A photo ready to store: new JPEG bytes for the image and its thumbnail, and what lists show."""

    image: ContentFile
    thumbnail: ContentFile
    width: int
    height: int
    sha256: str  # of the uploaded bytes, so the same file uploaded twice is recognised
    dhash: int | None = None  # of the stored picture (`dhash`), so a resized or re-saved copy is recognised too


def _read_upload(upload):
    size = getattr(upload, "size", None)
    if size is not None and size > MAX_UPLOAD_BYTES:
        raise ValidationError(
            _("“%(name)s” is larger than %(limit)d MB."),
            code="too_large",
            params={"name": _short_name(upload), "limit": MAX_UPLOAD_BYTES // (1024 * 1024)},
        )
    upload.seek(0)
    data = upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationError(
            _("“%(name)s” is larger than %(limit)d MB."),
            code="too_large",
            params={"name": _short_name(upload), "limit": MAX_UPLOAD_BYTES // (1024 * 1024)},
        )
    if not data:
        raise ValidationError(_("“%(name)s” is empty."), code="empty", params={"name": _short_name(upload)})
    return data


def _short_name(upload):
    name = str(getattr(upload, "name", "") or _("photo"))
    return name if len(name) <= 40 else name[:37] + "…"


def _not_an_image(upload):
    return ValidationError(
        _("“%(name)s” is not a JPEG, PNG or WebP photo."), code="not_image", params={"name": _short_name(upload)}
    )


def _too_many_pixels(upload, limit=None):
    return ValidationError(
        _("“%(name)s” has too many pixels (at most %(limit)d megapixels)."),
        code="too_many_pixels",
        params={"name": _short_name(upload), "limit": (limit or MAX_PIXELS) // 1_000_000},
    )


class PixelBudget:
    """The pixels a request may still decode; each photo is charged what it is decoded at, before decoding."""

    def __init__(self, total=None):
        self.total = total or REQUEST_PIXEL_BUDGET
        self.left = self.total

    def charge(self, pixels, upload):
        if pixels > self.left:
            raise ValidationError(
                _("“%(name)s”: the photos sent at once have too many pixels together (at most %(limit)d megapixels). "
                  "Add them a few at a time."),
                code="over_budget",
                params={"name": _short_name(upload), "limit": self.total // 1_000_000},
            )
        self.left -= pixels


# ImageOps.exif_transpose's table, applied here to the shrunk picture rather than to the decoded one
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
ORIENTATION = 0x0112


def _to_rgb(image):
    """RGB pixels; transparency is laid on white, as a photo print would show it."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode != "RGB":
        return image.convert("RGB")
    return image


def _jpeg(image, quality):
    # A fresh image holding only the pixels: Pillow carries `info` (comments, ICC, XMP …) along with an image
    # through copy() and transpose(), and some encoders write it back out.
    fresh = Image.new("RGB", image.size)
    fresh.paste(image)
    out = io.BytesIO()
    fresh.save(out, format="JPEG", quality=quality, optimize=True, progressive=True)
    return out.getvalue()


def clean_photo(upload, *, budget=None):
    """Check and re-encode one uploaded photo; raise ValidationError with a message for the form. `budget` (a
    PixelBudget) is charged what the photo is decoded at; without one the photo has a budget of its own."""
    data = _read_upload(upload)
    digest = hashlib.sha256(data).hexdigest()
    budget = budget if budget is not None else PixelBudget()
    try:
        with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as probe:
            width, height = probe.size  # from the header: nothing decoded yet
            if width <= 0 or height <= 0:
                raise _not_an_image(upload)
            if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
                raise _too_many_pixels(upload)
            if probe.format != "JPEG" and width * height > FULL_DECODE_MAX_PIXELS:
                raise _too_many_pixels(upload, FULL_DECODE_MAX_PIXELS)
            probe.seek(0)  # the first frame of an animated PNG or WebP
            orientation = probe.getexif().get(ORIENTATION)
            scale = STORED_LONG_EDGE / max(width, height)
            if probe.format == "JPEG" and scale < 1:
                # the decoder scales while decoding, to no less than this size: then one resampling to the stored size
                probe.draft(probe.mode, (max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))))
            budget.charge(probe.size[0] * probe.size[1], upload)
            probe.load()
            # shrink first, then convert and turn: the copies are of the small picture
            pixels = probe if probe.mode in ("RGB", "RGBA", "L", "LA") else _to_rgb(probe)
            pixels.thumbnail((STORED_LONG_EDGE, STORED_LONG_EDGE), Image.Resampling.LANCZOS)
            pixels = _to_rgb(pixels)
            if orientation in _TRANSPOSE:
                pixels = pixels.transpose(_TRANSPOSE[orientation])
            stored = pixels.copy()
            thumb = pixels.copy()
            thumb.thumbnail((THUMB_LONG_EDGE, THUMB_LONG_EDGE), Image.Resampling.LANCZOS)
    except ValidationError:
        raise
    except Image.DecompressionBombError:
        raise _too_many_pixels(upload) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, TypeError):
        # not an image, a format we do not take, or a truncated/corrupt file
        raise _not_an_image(upload) from None
    stem = uuid.uuid4().hex
    return CleanPhoto(
        image=ContentFile(_jpeg(stored, JPEG_QUALITY), name=f"{stem}.jpg"),
        thumbnail=ContentFile(_jpeg(thumb, THUMB_QUALITY), name=f"{stem}.jpg"),
        width=stored.width,
        height=stored.height,
        sha256=digest,
        dhash=dhash(stored),
    )


# --- the picture hash ---------------------------------------------------------------------------------------

HASH_BITS = 64
BAND_BITS = 16
BANDS = HASH_BITS // BAND_BITS
# Below this spread of grey levels the 9×8 picture is flat (a blank wall, a black frame): its bits would be noise.
FLAT_SPREAD = 4


def dhash(image):
    """The 64-bit difference hash of a picture: shrunk to 9×8 grey pixels, one bit per pair of neighbours in a
    row (1 where the left one is brighter). Resizing and re-compressing change a few bits at most, another picture
    about half of them. None for a flat picture, whose bits say nothing."""
    small = image.convert("L").resize((9, 8), Image.Resampling.LANCZOS)
    grey = list(small.tobytes())
    if max(grey) - min(grey) < FLAT_SPREAD:
        return None
    bits = 0
    for row in range(8):
        for col in range(8):
            left = grey[row * 9 + col]
            bits = (bits << 1) | (left > grey[row * 9 + col + 1])
    return bits


def dhash_of_file(file):
    """The picture hash of a stored photo file (an open file), or None if it cannot be read as a picture. Decoded
    whole: a JPEG decoded at a reduced scale (Image.draft) hashes a few bits differently from the upload."""
    try:
        with Image.open(file, formats=ACCEPTED_FORMATS) as picture:
            width, height = picture.size
            if width * height > MAX_PIXELS:
                return None
            return dhash(_to_rgb(picture))
    except (Image.DecompressionBombError, UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        return None


def split_bands(value):
    """A 64-bit hash as its four 16-bit bands, highest first; (None, …) for None."""
    if value is None:
        return (None,) * BANDS
    mask = (1 << BAND_BITS) - 1
    return tuple((value >> (BAND_BITS * (BANDS - 1 - i))) & mask for i in range(BANDS))


def join_bands(bands):
    """The 64-bit hash of its four bands (None if any is missing)."""
    if any(band is None for band in bands):
        return None
    value = 0
    for band in bands:
        value = (value << BAND_BITS) | band
    return value


def distance(a, b):
    """How many bits two hashes differ in (the Hamming distance)."""
    return (a ^ b).bit_count()

