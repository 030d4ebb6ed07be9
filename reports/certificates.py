"""The volunteer service certificate (志愿服务记录证明): issued for a period's verified hours, numbered
ZYFW-<year>-<serial>, and written as a Word document (reports/renderers/certificate.py).

The Word writer lives apart so that python-docx and lxml (some 6 MB of every process) are loaded by the process
that writes a certificate, not by every web and worker process that only lists or issues them.
"""

import hashlib
import json
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from activities.models import ServiceRecord
from figures.selectors import verified_q
from portal.models import Organization
from volunteers.models import Certificate, Volunteer

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def certificate_docx(certificate, *, volunteer_kind=""):
    """The certificate as .docx bytes (reports.renderers.certificate, imported when one is written)."""
    from reports.renderers.certificate import certificate_docx as write

    return write(certificate, volunteer_kind=volunteer_kind)


# --- issuing ---------------------------------------------------------------------------------------

MAX_CERTIFICATE_DAYS = 366 * 10


def issuer_name(organization):
    """The organisation named on the certificate: a branch or department under its school or organ, as it
    is written on a stamp (中山中专第三党支部)."""
    parent = organization.parent
    if organization.kind in (Organization.Kind.BRANCH, Organization.Kind.DEPARTMENT) and parent is not None:
        if not organization.name.startswith(parent.short_name or parent.name):
            return f"{parent.short_name or parent.name}{organization.name}"
    return organization.name


def certificate_lines(*, volunteer, start, end):
    """The verified services of the volunteer in the period (by activity date), oldest first: the hours that
    count (figures.selectors.verified_q: verified, on a submitted or confirmed activity), so a certificate
    never certifies hours on a draft or a returned activity."""
    records = (
        ServiceRecord.objects.filter(
            verified_q(""), volunteer=volunteer, activity__date__gte=start, activity__date__lte=end,
        )
        .select_related("activity__branch__parent")
        .order_by("activity__date", "activity__id", "id")
    )
    return [
        {
            "record": record.pk,
            "date": record.activity.date.isoformat(),
            "content": record.content or record.activity.title,
            "activity": record.activity.title,
            "place": record.activity.place,
            "organiser": issuer_name(record.activity.branch),
            "hours": str(record.hours),
        }
        for record in records
    ]


def _digest(start, end, lines):
    payload = json.dumps({"start": start.isoformat(), "end": end.isoformat(), "lines": lines}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def can_issue_certificates(user, volunteer):
    """The managers of the volunteer's own organisation issue (and stamp) the certificate."""
    return Volunteer.objects.editable_by(user).filter(pk=volunteer.pk).exists()


# pg_advisory_xact_lock(ZYFW, year): one issuer at a time takes the next serial of a year.
SERIAL_LOCK = int.from_bytes(b"ZYFW", "big")


def _lock_serials(year):
    """On PostgreSQL, wait for other issuers of the same year until their transaction ends, so the next
    serial is read after theirs is committed. (SQLite writes one at a time; the retry below covers it.)"""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [SERIAL_LOCK, year])


@transaction.atomic
def certificate_issue(*, volunteer, start, end, actor, today=None):
    """The certificate of the volunteer's verified services between `start` and `end` (inclusive). The same
    volunteer, period and services give back the certificate already issued, with its number; otherwise a
    new one is numbered ZYFW-<year of issue>-<serial>. Refuses a period without verified hours."""
    if not can_issue_certificates(actor, volunteer):
        raise PermissionDenied
    today = today or timezone.localdate()
    if start is None or end is None:
        raise ValidationError(_("Give the first and the last day of the period."))
    if end < start:
        raise ValidationError({"end": _("The period ends before it starts.")})
    if (end - start).days > MAX_CERTIFICATE_DAYS:
        raise ValidationError({"start": _("A certificate covers at most ten years.")})
    if start > today:
        raise ValidationError({"start": _("The period lies in the future.")})
    lines = certificate_lines(volunteer=volunteer, start=start, end=end)
    if not lines:
        raise ValidationError(
            _("%(name)s has no verified service hours between %(start)s and %(end)s, so no certificate can be issued. "
              "Hours count once the organising side has verified them.")
            % {
                "name": volunteer.name,
                "start": formats.date_format(start, "Y-m-d"),
                "end": formats.date_format(end, "Y-m-d"),
            }
        )
    digest = _digest(start, end, lines)
    _lock_serials(today.year)
    existing = Certificate.objects.filter(volunteer=volunteer, period_start=start, period_end=end, digest=digest).first()
    if existing:
        return existing, False
    total = sum((Decimal(line["hours"]) for line in lines), Decimal("0"))
    issuer = issuer_name(volunteer.organization)
    for _attempt in range(5):
        try:
            with transaction.atomic():
                serial = (Certificate.objects.filter(year=today.year).aggregate(m=Max("serial"))["m"] or 0) + 1
                certificate = Certificate.objects.create(
                    volunteer=volunteer,
                    number=f"{Certificate.PREFIX}-{today.year}-{serial:06d}",
                    year=today.year,
                    serial=serial,
                    period_start=start,
                    period_end=end,
                    total_hours=total,
                    lines=lines,
                    digest=digest,
                    issuer_name=issuer,
                    issued_by=actor,
                )
            return certificate, True
        except IntegrityError:
            # Someone took the serial (or issued the same certificate) at the same moment: look again.
            existing = Certificate.objects.filter(
                volunteer=volunteer, period_start=start, period_end=end, digest=digest
            ).first()
            if existing:
                return existing, False
    raise ValidationError(_("The certificate could not be numbered just now; please try again."))


def volunteer_certificates(volunteer):
    """The certificates issued to the volunteer, newest first (one query)."""
    return list(Certificate.objects.filter(volunteer=volunteer).select_related("issued_by").order_by("-issued_at", "-id"))
