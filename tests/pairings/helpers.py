"""Builders shared by the pairing tests: activities in each status, and a small PDF."""

import datetime

from tests import factories as f

SUBMITTED_AT = "2024-03-15T10:00+08:00"
CONFIRMED_AT = "2024-03-16T10:00+08:00"


def activity(pairing, branch, *, status="confirmed", date=datetime.date(2024, 3, 15), **fields):
    """An activity in the given status, with the timestamps the status needs."""
    if status in ("submitted", "confirmed"):
        fields.setdefault("submitted_at", SUBMITTED_AT)
    if status == "confirmed":
        fields.setdefault("confirmed_at", CONFIRMED_AT)
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
