"""What this app shows on the pages of the apps to its left (portal/panels.py): a pairing's recent activities,
open needs and joint meetings on the pairing page. Registered by ActivitiesConfig.ready()."""

from django.db.models import Count, Q, Subquery, Window

from activities.models import ActionItem, Activity, ActivityType, Meeting, Need
from activities.permissions import can_record_meeting_of
from portal.panels import page_panel

RECENT_ACTIVITIES = 8
OPEN_NEEDS_SHOWN = 10


@page_panel("pairings.pairing_detail.bottom", template_name="activities/panels/pairing_recent.html", order=10)
def pairing_recent(request, pairing, *, administers, **page):
    # The pairing is one the user reads (the view found it through visible_to): the activities' rule narrowed
    # to it, which walks the (pairing, date, id) index and stops after the few rows shown.
    recent = Activity.objects.visible_in_pairing(request.user, pairing.pk, administers=administers)
    activities = list(recent.select_related("branch", "activity_type").order_by("-date", "-id")[:RECENT_ACTIVITIES])
    return {"pairing_id": pairing.pk, "activities": activities}


@page_panel("pairings.pairing_detail.bottom", template_name="activities/panels/pairing_needs.html", order=20)
def pairing_needs(request, pairing, **page):
    # the first ones and how many there are, in one query: COUNT(*) OVER () is taken before the LIMIT
    needs = list(
        Need.objects.filter(pairing=pairing, status=Need.Status.OPEN)
        .annotate(open_total=Window(Count("id")))
        .order_by("-raised_at")[:OPEN_NEEDS_SHOWN]
    )
    return {"pairing_id": pairing.pk, "needs": needs, "count": needs[0].open_total if needs else 0}


RECENT_MEETINGS = 3


@page_panel("pairings.pairing_detail.bottom", template_name="activities/panels/pairing_meetings.html", order=30)
def pairing_meetings(request, pairing, *, today, **page):
    """The pairing's latest joint meetings, how many of their decisions are open and overdue, and the link to record
    one. One query: the meetings, each carrying the pairing's counts (decisions exist only with a meeting); whether the
    user records its meetings takes one more for a branch secretary or a liaison only."""
    items = ActionItem.objects.filter(meeting__pairing=pairing, status=ActionItem.Status.OPEN).order_by()

    def total(queryset):
        return Subquery(queryset.values("meeting__pairing_id").annotate(n=Count("id")).values("n")[:1])

    meetings = list(
        Meeting.objects.filter(pairing=pairing)
        .annotate(open_total=total(items), overdue_total=total(items.filter(due_date__lt=today)))
        .order_by("-date", "-id")[:RECENT_MEETINGS]
    )
    first = meetings[0] if meetings else None
    return {
        "pairing_id": pairing.pk,
        "meetings": meetings,
        "open": (first.open_total or 0) if first else 0,
        "overdue": (first.overdue_total or 0) if first else 0,
        "can_record": can_record_meeting_of(request.user, pairing),
    }


@page_panel("pairings.program_setup.bottom", template_name="activities/panels/program_types.html", order=10)
def program_types(request, program, **page):
    """On a program's set-up page: how many types its forms offer (shared and its own) and the link to them."""
    counts = ActivityType.objects.offered_for([program.pk]).aggregate(
        own=Count("id", filter=Q(program=program)), shared=Count("id", filter=Q(program__isnull=True))
    )
    return {"program_id": program.pk, **counts}
