"""What this app shows on the pages of the apps to its left (portal/panels.py): a pairing's recent activities,
open needs and joint meetings on the pairing page. Registered by ActivitiesConfig.ready().

The pairing page is read far more often than a pairing's activities, needs and meetings are written, so what its
three panels list is kept in the cache (portal/versioned.py) under the set-up's version and this app's
`PANELS_VERSION`, which every save and delete of an activity, a need, a meeting or a decision replaces, and so do
the writes that bypass save() (activities/receivers.py): the next page shows what was written. Who may see a list
is decided before (the view's scope check) or is part of its key (whose drafts the user sees).
"""

from django.db.models import Count, Q, Subquery, Window
from django.utils.translation import get_language

from activities.models import ActionItem, Activity, ActivityType, Meeting, Need
from activities.permissions import can_record_meeting_of
from portal import versioned
from portal.panels import page_panel, with_card_html

RECENT_ACTIVITIES = 8
OPEN_NEEDS_SHOWN = 10
PANELS_VERSION = "activities:pairing-panels-version"


def panels_changed(**kwargs):
    """An activity, need, meeting or decision was written: the pairing page's panels are read afresh (now, and
    once the transaction commits). A signal receiver, and callable as is."""
    versioned.changed(PANELS_VERSION)


def _cached(name, build, *parts):
    return versioned.cached(name, build, *parts, versions=(PANELS_VERSION,))


@page_panel("pairings.pairing_detail.bottom", template_name="activities/panels/pairing_recent.html", order=10)
def pairing_recent(request, pairing, *, administers, **page):
    # The pairing is one the user reads (the view found it through visible_to): the activities' rule narrowed
    # to it, which walks the (pairing, date, id) index and stops after the few rows shown.
    # Cached per whose drafts the user sees: the rest of the pairing's activities is the same for all its readers.
    user = request.user

    def build():
        recent = Activity.objects.visible_in_pairing(user, pairing.pk, administers=administers)
        activities = list(recent.select_related("branch", "activity_type").order_by("-date", "-id")[:RECENT_ACTIVITIES])
        return with_card_html("activities/panels/_pairing_recent_card.html", {"pairing_id": pairing.pk, "activities": activities})

    drafts_of = Activity.objects.drafts_seen_in_pairing(user, administers=administers)
    return _cached("pairing_recent", build, pairing.pk, drafts_of, get_language())


@page_panel("pairings.pairing_detail.bottom", template_name="activities/panels/pairing_needs.html", order=20)
def pairing_needs(request, pairing, **page):
    # the first ones and how many there are, in one query: COUNT(*) OVER () is taken before the LIMIT; the same
    # for everyone who reads the pairing
    def build():
        needs = list(
            Need.objects.filter(pairing=pairing, status=Need.Status.OPEN)
            .annotate(open_total=Window(Count("id")))
            .order_by("-raised_at")[:OPEN_NEEDS_SHOWN]
        )
        count = needs[0].open_total if needs else 0
        return with_card_html("activities/panels/_pairing_needs_card.html", {"pairing_id": pairing.pk, "needs": needs, "count": count})

    return _cached("pairing_needs", build, pairing.pk, get_language())


RECENT_MEETINGS = 3


@page_panel("pairings.pairing_detail.bottom", template_name="activities/panels/pairing_meetings.html", order=30)
def pairing_meetings(request, pairing, *, today, **page):
    """The pairing's latest joint meetings, how many of their decisions are open and overdue, and the link to record
    one. One query: the meetings, each carrying the pairing's counts (decisions exist only with a meeting), the same
    for everyone who reads the pairing on the day; whether the user records its meetings takes one more for a branch
    secretary or a liaison only, kept until the set-up changes."""

    def build():
        items = ActionItem.objects.filter(meeting__pairing=pairing, status=ActionItem.Status.OPEN).order_by()

        def total(queryset):
            return Subquery(queryset.values("meeting__pairing_id").annotate(n=Count("id")).values("n")[:1])

        return list(
            Meeting.objects.filter(pairing=pairing)
            .annotate(open_total=total(items), overdue_total=total(items.filter(due_date__lt=today)))
            .order_by("-date", "-id")[:RECENT_MEETINGS]
        )

    meetings = _cached("pairing_meetings", build, pairing.pk, today)
    first = meetings[0] if meetings else None
    return {
        "pairing_id": pairing.pk,
        "meetings": meetings,
        "open": (first.open_total or 0) if first else 0,
        "overdue": (first.overdue_total or 0) if first else 0,
        "can_record": versioned.cached(
            "meeting_recorder", lambda: can_record_meeting_of(request.user, pairing), request.user.pk,
            request.user.is_superuser, pairing.pk,
        ),
    }


@page_panel("pairings.program_setup.bottom", template_name="activities/panels/program_types.html", order=10)
def program_types(request, program, **page):
    """On a program's set-up page: how many types its forms offer (shared and its own) and the link to them."""
    counts = ActivityType.objects.offered_for([program.pk]).aggregate(
        own=Count("id", filter=Q(program=program)), shared=Count("id", filter=Q(program__isnull=True))
    )
    return {"program_id": program.pk, **counts}
