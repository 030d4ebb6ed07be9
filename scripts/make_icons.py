"""Draw the portal's icons once (they are committed under static/icons/): `python scripts/make_icons.py`.

The mark is two linked rings, white on the portal's red: two sides paired (结对). Drawn from shapes only, so no
font is needed and the SVG favicon is the same picture. Pillow draws at 4× and scales down for smooth edges.
Outputs: icon-192.png, icon-512.png (purpose "any": a rounded tile), icon-maskable-512.png (full-bleed, the mark
inside the 80 % safe zone), apple-touch-icon.png (180, square: iOS rounds it), favicon.ico (16, 32, 48), icon.svg."""

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent.parent / "static" / "icons"
RED = (183, 28, 28, 255)  # --red in static/css/portal.css
WHITE = (255, 255, 255, 255)
SCALE = 4

# The mark on a 100-unit tile: ring centres, radius and stroke, and the tile's corner radius.
RINGS = ((38, 50), (62, 50))
RADIUS, STROKE, CORNER = 22, 8, 20


def draw(size, *, rounded=True, zoom=1.0):
    big = size * SCALE
    unit = big / 100
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    if rounded:
        pen.rounded_rectangle((0, 0, big - 1, big - 1), radius=CORNER * unit, fill=RED)
    else:
        pen.rectangle((0, 0, big, big), fill=RED)
    r = RADIUS * unit * zoom
    width = round(STROKE * unit * zoom)
    for cx, cy in RINGS:
        x, y = 50 * unit + (cx - 50) * unit * zoom, cy * unit
        pen.ellipse((x - r, y - r, x + r, y + r), outline=WHITE, width=width)
    return image.resize((size, size), Image.LANCZOS)


def svg():
    rings = "".join(
        f'<circle cx="{cx}" cy="{cy}" r="{RADIUS}" fill="none" stroke="#fff" stroke-width="{STROKE}"/>' for cx, cy in RINGS
    )
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">'
        f'<rect width="100" height="100" rx="{CORNER}" fill="#b71c1c"/>{rings}</svg>\n'
    )


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        draw(size).save(OUT / f"icon-{size}.png", optimize=True)
    draw(512, rounded=False, zoom=0.8).save(OUT / "icon-maskable-512.png", optimize=True)
    draw(180, rounded=False).save(OUT / "apple-touch-icon.png", optimize=True)
    draw(48).save(OUT / "favicon.ico", sizes=[(16, 16), (32, 32), (48, 48)])
    (OUT / "icon.svg").write_text(svg(), encoding="utf-8")


if __name__ == "__main__":
    main()
