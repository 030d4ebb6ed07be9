"""Time and peak memory of checking and re-encoding one large photo (activities.images.clean_photo).

    .venv/bin/python -m bench.photo_decode [--module path/to/images.py]

Each case runs in a fresh process, so its peak resident memory (ru_maxrss) is its own: the figure given is the
peak minus the process's size before the photo was read. The inputs are made with Pillow: noise, so that they
do not compress to nothing. --module measures another version of activities/images.py (e.g. an older one).
"""

import argparse
import importlib.util
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

CASES = {
    "png-7000x7000": ("PNG", 7000, 7000),
    "jpeg-7000x7000": ("JPEG", 7000, 7000),
    "jpeg-4000x3000": ("JPEG", 4000, 3000),
    "webp-4000x3000": ("WEBP", 4000, 3000),
    "png-4000x4000": ("PNG", 4000, 4000),
}


def make(kind, width, height, path):
    """A scene of soft shapes with a little grain: a JPEG of camera size, a PNG that stays under the upload limit."""
    from PIL import Image, ImageChops, ImageDraw, ImageFilter

    rnd = random.Random(width * height)
    image = Image.new("RGB", (width, height), (120, 140, 160))
    draw = ImageDraw.Draw(image)
    for _ in range(60):
        x0, y0 = rnd.randrange(width), rnd.randrange(height)
        box = (x0, y0, x0 + rnd.randrange(width // 20, width // 2), y0 + rnd.randrange(height // 20, height // 2))
        draw.ellipse(box, fill=tuple(rnd.randrange(256) for _ in range(3)))
    image = image.filter(ImageFilter.GaussianBlur(4))
    if kind != "PNG":  # grain, as a camera sensor gives
        grain = Image.effect_noise((width, height), 8).convert("RGB")
        image = ImageChops.add(image, grain, scale=1.0, offset=-128)
    image.save(path, format=kind, **({"quality": 85} if kind != "PNG" else {"optimize": True}))


def child(module_path, file_path):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile

    spec = importlib.util.spec_from_file_location("images_under_test", module_path)
    images = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(images)
    data = Path(file_path).read_bytes()
    upload = SimpleUploadedFile(Path(file_path).name, data)
    page = os.sysconf("SC_PAGE_SIZE")

    def rss():
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * page

    # ru_maxrss would count what the imports once took: sample the resident size while the photo is handled
    before, peak, done = rss(), [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss())
            time.sleep(0.002)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.perf_counter()
    try:
        clean = images.clean_photo(upload)
        outcome = f"stored {clean.width}×{clean.height}"
    except Exception as exc:  # a refusal is an outcome too
        outcome = f"refused: {exc.__class__.__name__} {getattr(exc, 'code', '')}"
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    peak[0] = max(peak[0], rss())
    print(json.dumps({"seconds": seconds, "peak_mb": (peak[0] - before) / 2**20, "outcome": outcome}))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--module", default=str(Path(__file__).resolve().parent.parent / "activities" / "images.py"))
    parser.add_argument("--child", nargs=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        for name, (kind, width, height) in CASES.items():
            path = Path(tmp) / f"{name}.{kind.lower()}"
            make(kind, width, height, path)
            runs = []
            for _ in range(args.repeat):
                out = subprocess.run(
                    [sys.executable, "-m", "bench.photo_decode", "--child", args.module, str(path)],
                    capture_output=True, text=True, check=True,
                )
                runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
            best = min(runs, key=lambda r: r["seconds"])
            peak = max(r["peak_mb"] for r in runs)
            print(f"{name:16} {path.stat().st_size / 1e6:7.1f} MB file  {best['seconds']:6.2f} s  "
                  f"+{peak:6.0f} MB peak  {best['outcome']}")


if __name__ == "__main__":
    main()
