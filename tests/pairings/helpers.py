"""Builders shared by the pairing tests: activities in each status, and a small PDF."""

import datetime

from tests import factories as f

def activity(pairing, branch, *, status="confirmed", date=datetime.date(2024, 3, 15), **fields):
    """An activity in the given status, with the timestamps the status needs: submitted and confirmed on its own
    day (so a report as at that day or later sees it in that status)."""
    if status in ("submitted", "confirmed"):
        fields.setdefault("submitted_at", f"{date.isoformat()}T18:00+08:00")
    if status == "confirmed":
        fields.setdefault("confirmed_at", f"{date.isoformat()}T20:00+08:00")
    return f.ActivityFactory(pairing=pairing, branch=branch, status=status, date=date, **fields)


def pdf_bytes(pages=1, *, body=b""):
    """A minimal but well-formed PDF (header, objects, xref, trailer, %%EOF)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % (3 + i) for i in range(pages)) + b"] /Count %d >>" % pages,
    ] + [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>" for _ in range(pages)]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    out += body
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def panel_context(response, template_name):
    """The context of the panel (portal/panels.py) a page rendered from `template_name`."""
    for key in ("top_panels", "bottom_panels"):
        for panel in response.context.get(key) or ():
            if panel.template_name == template_name:
                return panel.context
    raise AssertionError(f"no panel {template_name} on the page")


def plan_items_with_progress(plan, *, today):
    """A plan's items as the plan page shows them: the pairings app's items, the figures app's progress."""
    from figures.selectors import plan_progress
    from pairings.selectors import plan_items

    return plan_progress(plan_items(plan, today=today))
