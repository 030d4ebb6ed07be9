"""The reads behind the volunteer and team pages, each a fixed number of queries whatever the rows.

Service records (hours) live in the activities app, to the right of this one. They are reached only through
the volunteer's reverse relation `service_records`, by string in queries (`service_records__hours`) or as the
related manager of a volunteer, whose QuerySet carries the activities app's own `visible_to` / `editable_by`:
so the rule of who verifies hours (谁记录谁证明) stays in one place and nothing here imports to the right.
"""

import functools
import operator
from decimal import Decimal

from django.db.models import Count, DecimalField, Max, Q, Sum, Value
from django.db.models.functions import Coalesce

from volunteers.models import Team, Volunteer

# ServiceRecord.Status values (the activities app's constants may not be imported here).
VERIFIED = "verified"
RECORDED = "recorded"
ZERO = Decimal("0")
HOURS = DecimalField(max_digits=10, decimal_places=1)


def verified_q(prefix="service_records__"):
    """Service records (through `prefix`) that count: verified, not deleted, of an activity not deleted."""
    return Q(
        **{
            f"{prefix}status": VERIFIED,
            f"{prefix}deleted_at__isnull": True,
            f"{prefix}activity__deleted_at__isnull": True,
        }
    )


def pending_q(prefix="service_records__"):
    return Q(
        **{
            f"{prefix}status": RECORDED,
            f"{prefix}deleted_at__isnull": True,
            f"{prefix}activity__deleted_at__isnull": True,
        }
    )


def with_hours(volunteers):
    """Annotate volunteers with `verified_hours` and `pending_records` (recorded, not verified yet)."""
    return volunteers.annotate(
        verified_hours=Coalesce(Sum("service_records__hours", filter=verified_q()), Value(ZERO), output_field=HOURS),
        pending_records=Count("service_records", filter=pending_q()),
    )


def volunteer_list(user):
    return with_hours(Volunteer.objects.visible_to(user).select_related("organization")).order_by(
        "organization__name", "name", "id"
    )


def team_list(user):
    """Teams with their member count and hours: the verified hours of their members."""
    return (
        Team.objects.visible_to(user)
        .select_related("organization", "leader")
        .annotate(
            member_count=Count("members", distinct=True),
            verified_hours=Coalesce(
                Sum("members__service_records__hours", filter=verified_q("members__service_records__")),
                Value(ZERO),
                output_field=HOURS,
            ),
        )
        .order_by("organization__name", "name")
    )


def records_of(volunteers):
    """One QuerySet of the service records (not deleted) of several volunteers: their reverse relations
    OR-ed together (one query when evaluated). None when there are no volunteers."""
    querysets = [volunteer.service_records.all() for volunteer in volunteers]
    if not querysets:
        return None
    return functools.reduce(operator.or_, querysets)


RECORD_RELATED = (
    "activity__branch",
    "activity__pairing__supporter",
    "activity__pairing__supported",
    "verified_by",
)


def volunteer_records(user, volunteer):
    """The volunteer's service records the user may see (drafts of another branch stay hidden), newest
    first, each with `can_verify`. Two queries."""
    records = list(
        volunteer.service_records.visible_to(user)
        .filter(activity__deleted_at__isnull=True)
        .select_related(*RECORD_RELATED)
        .order_by("-activity__date", "-id")
    )
    verifiable = set(
        volunteer.service_records.editable_by(user).filter(status=RECORDED).values_list("id", flat=True)
    )
    for record in records:
        record.can_verify = record.pk in verifiable
    return records


def volunteer_totals(volunteer):
    """The volunteer's verified hours (all time), the number of records verified and waiting for
    verification, and the date of the last verified service."""
    return Volunteer.objects.filter(pk=volunteer.pk).aggregate(
        verified_hours=Coalesce(Sum("service_records__hours", filter=verified_q()), Value(ZERO), output_field=HOURS),
        verified_records=Count("service_records", filter=verified_q()),
        pending_records=Count("service_records", filter=pending_q()),
        last_verified_on=Max("service_records__activity__date", filter=verified_q()),
    )


def team_members(team):
    return list(with_hours(team.members.select_related("organization")).order_by("name", "id"))


def team_pending_records(user, members):
    """The members' recorded (unverified) hours that the user may verify."""
    records = records_of(members)
    if records is None:
        return []
    return list(
        records.editable_by(user)
        .filter(status=RECORDED, activity__deleted_at__isnull=True)
        .select_related("volunteer", *RECORD_RELATED)
        .order_by("-activity__date", "volunteer__name", "id")
    )


def volunteer_certificates(volunteer):
    return list(volunteer.certificates.select_related("issued_by").order_by("-issued_at", "-id"))
