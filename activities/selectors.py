"""Reads on activities: what the list, the detail page, the CSV export and the home pages need, fetched in a
fixed number of queries however many rows there are."""

import datetime

from django.db.models import (
    BooleanField, Count, DecimalField, ExpressionWrapper, OuterRef, Prefetch, Q, Subquery, Sum, Value,
)
from django.db.models.functions import Coalesce

from activities.models import Activity, ActivityMetricValue, ActivityPhoto, Need, ServiceRecord
from activities.services import mask_name, sees_wanted_by
from pairings.models import Pairing, PairingBranch
from portal.models import Organization
from portal.permissions import scope_for


def _hours_total():
    return Coalesce(
        Subquery(
            ServiceRecord.objects.filter(activity_id=OuterRef("pk"))
            .order_by()
            .values("activity_id")
            .annotate(total=Sum("hours"))
            .values("total"),
            output_field=DecimalField(max_digits=8, decimal_places=1),
        ),
        Value(0, output_field=DecimalField(max_digits=8, decimal_places=1)),
    )


def activity_list(user):
    """Activities the user may see, newest first, with what a row of the list shows (first photo, counts)."""
    return (
        Activity.objects.visible_to(user)
        .select_related("pairing__supporter", "pairing__supported", "branch", "activity_type")
        .prefetch_related(
            Prefetch("photos", queryset=ActivityPhoto.objects.order_by("id").only("id", "activity_id"), to_attr="photo_list")
        )
        .order_by("-date", "-id")
    )


def activity_export(user):
    """Activities for the CSV export: the list's rows plus their program, figures and hours."""
    return (
        Activity.objects.visible_to(user)
        .select_related("pairing__supporter", "pairing__supported", "pairing__program", "branch", "activity_type")
        .annotate(photo_count=Count("photos", distinct=True), hours_total=_hours_total())
        .prefetch_related(
            Prefetch(
                "metric_values",
                queryset=ActivityMetricValue.objects.select_related("metric").order_by("metric__order", "metric_id"),
            )
        )
        .order_by("-date", "-id")
    )


def activity_detail(user):
    """The queryset the detail page reads its one activity from, everything it shows fetched alongside."""
    return Activity.objects.visible_to(user).select_related(
        "pairing__supporter",
        "pairing__supported",
        "pairing__program",
        "branch",
        "activity_type",
        "plan_item",
        "need",
        "created_by",
        "confirmed_by",
    ).prefetch_related(
        Prefetch("photos", queryset=ActivityPhoto.objects.order_by("id")),
        Prefetch(
            "metric_values",
            queryset=ActivityMetricValue.objects.select_related("metric").order_by("metric__order", "metric_id"),
        ),
        Prefetch(
            "service_records",
            queryset=ServiceRecord.objects.select_related("volunteer").order_by("volunteer__name", "id"),
        ),
        "co_branches",
    )


def status_history(activity):
    """The activity's status changes, oldest first: (when, who, from, to, reason) from its history rows."""
    rows = (
        Activity.history.filter(id=activity.id)
        .select_related("history_user")
        .order_by("history_date", "history_id")
    )
    changes = []
    previous = None
    for row in rows:
        if previous is None or row.status != previous:
            changes.append(
                {
                    "when": row.history_date,
                    "who": row.history_user,
                    "from": previous,
                    "to": row.status,
                    "to_label": Activity.Status(row.status).label if row.status in Activity.Status.values else row.status,
                    "comment": row.return_comment if row.status == Activity.Status.RETURNED else "",
                }
            )
        previous = row.status
    return changes


def duplicate_photos(activity, user):
    """For each photo of the activity, the other activities (that the user may see) holding the same file,
    and how many more they may not see: {photo id: ([activities], hidden count)}."""
    photos = list(activity.photos.all())
    hashes = {photo.sha256 for photo in photos if photo.sha256}
    if not hashes:
        return {}
    twins = list(
        ActivityPhoto.objects.filter(sha256__in=hashes, activity__deleted_at__isnull=True)
        .exclude(activity_id=activity.id)
        .values_list("sha256", "activity_id")
    )
    if not twins:
        return {}
    visible = {
        a.id: a for a in Activity.objects.visible_to(user).filter(id__in={activity_id for _, activity_id in twins})
    }
    by_hash = {}
    for sha, activity_id in twins:
        seen, hidden = by_hash.setdefault(sha, ({}, set()))
        if activity_id in visible:
            seen[activity_id] = visible[activity_id]
        else:
            hidden.add(activity_id)
    result = {}
    for photo in photos:
        if photo.sha256 in by_hash:
            seen, hidden = by_hash[photo.sha256]
            result[photo.id] = (list(seen.values()), len(hidden))
    return result


def branches_in_scope(user):
    """The branches whose activities the user may filter by: the participating branches of the pairings
    the user reads (and, for the supporting side, their own branches)."""
    scope = scope_for(user)
    if scope.is_superuser:
        return Organization.objects.filter(branch_pairings__isnull=False).distinct().order_by("name")
    pairings = Pairing.objects.visible_to(user).values("id")
    return Organization.objects.filter(
        id__in=PairingBranch.objects.filter(pairing_id__in=pairings).values("branch_id")
    ).order_by("name")


# ---------------------------------------------------------------------------------------------------------
# Needs (微心愿)
# ---------------------------------------------------------------------------------------------------------

OVERDUE_DAYS = 30
WAITING_STATUSES = (Need.Status.OPEN, Need.Status.CLAIMED)


def overdue_q(now):
    """Needs still waiting for a response (open or claimed, not yet fulfilled) raised over 30 days ago."""
    return Q(status__in=WAITING_STATUSES, raised_at__lt=now - datetime.timedelta(days=OVERDUE_DAYS))


def need_list(user, now):
    """Needs the user may see, newest first, each with its pairing, claiming branch and an `is_overdue` flag."""
    return (
        Need.objects.visible_to(user)
        .select_related("pairing__supporter", "pairing__supported", "pairing__program", "claimed_by_branch")
        .annotate(is_overdue=ExpressionWrapper(overdue_q(now), output_field=BooleanField()))
        .order_by("-raised_at", "-id")
    )


def need_detail(user, now):
    """The queryset the need page reads its one need from, with what it shows fetched alongside."""
    return need_list(user, now).select_related("raised_by").prefetch_related(
        Prefetch(
            "activities",
            queryset=Activity.objects.visible_to(user)
            .select_related("pairing__supported", "branch", "activity_type")
            .order_by("-date", "-id"),
            to_attr="answers",
        )
    )


def shown_wanted_by(user, need):
    """Who wants it, as this viewer may read it: masked (王**) when asked, except to the village side and
    the program admin."""
    if need.mask_wanted_by and not sees_wanted_by(user, need.pairing):
        return mask_name(need.wanted_by)
    return need.wanted_by
