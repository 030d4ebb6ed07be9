"""The reads behind the pairing and joint-plan pages: each runs a fixed number of queries, whatever the rows.

Activities, their metric values, service records and needs live in the activities app, to the right of this
one: they are reached here only through reverse relations named by string ("activities", "values",
"metric_values", "service_records", "needs"), never imported. The headline figures are read from the
reports app's per-pairing, per-month rollup ("month_rollups", "metric_month_rollups"), which that app keeps
current as activities change, so the pairing page never scans a pairing's activities.

Counting rules (DESIGN.md): a figure counts the pairing's *submitted or confirmed* activities that are not
deleted; an activity co-hosted by several branches is one row of the pairing and so counts once; volunteer
hours count only once verified; a `sum` metric adds up over the activities, a `snapshot` metric takes the
latest value (by activity date, then id).
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlencode

from django.db.models import Count, DecimalField, Max, OuterRef, Q, Subquery, Sum, Value, Window
from django.db.models.functions import Coalesce

from pairings.models import Metric, Pairing, PlanItem, PlanTarget
from pairings.permissions import can_edit_agreement, can_edit_plans

# Activity.Status values that count (the activities app's constants may not be imported here).
COUNTED_STATUSES = ("submitted", "confirmed")
VERIFIED = "verified"
OPEN_NEED = "open"
# The activity list of the activities app (linked by URL, not imported) and the names of its django-filter
# parameters. The issue named the date range date_after/date_before; the list as built takes date_from/date_to.
ACTIVITY_LIST_URL = "/activities/"
DATE_FROM_PARAM = "date_from"
DATE_TO_PARAM = "date_to"
WARNING_DAYS = 60
ZERO = Decimal("0")


def counted(prefix=""):
    """A Q over activities (reached through `prefix`) that count in figures and progress."""
    return Q(**{f"{prefix}status__in": COUNTED_STATUSES, f"{prefix}deleted_at__isnull": True})


def year_bounds(year):
    return datetime.date(year, 1, 1), datetime.date(year, 12, 31)


def activity_list_url(*, pairing_id, date_after=None, date_before=None, branch_id=None):
    """The activity list filtered to the activities a figure was counted from: the pairing's, in the dates,
    submitted or confirmed (`status` given twice: the list's status filter must take several values)."""
    params = [("pairing", pairing_id)]
    if branch_id:
        params.append(("branch", branch_id))
    params += [("status", status) for status in COUNTED_STATUSES]
    if date_after:
        params.append((DATE_FROM_PARAM, date_after.isoformat()))
    if date_before:
        params.append((DATE_TO_PARAM, date_before.isoformat()))
    return f"{ACTIVITY_LIST_URL}?{urlencode(params)}"


# --- the pairing list -----------------------------------------------------------------------------


def pairing_list(user, *, year):
    """The pairings the user reads, with what the list shows: the last counted activity and the year's count."""
    start, end = year_bounds(year)
    return (
        Pairing.objects.visible_to(user)
        .select_related("program", "supporter", "supported")
        .annotate(
            last_activity_on=Max("activities__date", filter=counted("activities__")),
            activities_in_year=Count(
                "activities", filter=counted("activities__") & Q(activities__date__range=(start, end))
            ),
        )
        .order_by("program__name", "supporter__name", "supported__name")
    )


def ending_soon_q(today):
    return Q(status=Pairing.Status.ACTIVE, term_end__gte=today, term_end__lte=today + datetime.timedelta(days=WARNING_DAYS))


def expired_q(today):
    """Still marked active although the term has ended."""
    return Q(status=Pairing.Status.ACTIVE, term_end__lt=today)


def dormant_q(today):
    """Running pairings (active, term started 60 days ago at least and not ended) without a counted
    activity in the last 60 days. Needs the `last_activity_on` annotation of `pairing_list`."""
    since = today - datetime.timedelta(days=WARNING_DAYS)
    running = Q(status=Pairing.Status.ACTIVE, term_start__lte=since) & (Q(term_end__isnull=True) | Q(term_end__gte=today))
    return running & (Q(last_activity_on__isnull=True) | Q(last_activity_on__lte=since))


@dataclass(frozen=True)
class Warning:
    code: str  # "ending", "expired" or "dormant"
    days: int | None  # days until the term ends / since it ended / since the last activity (None: never)


def pairing_warnings(pairing, today):
    """The warnings of a pairing (the same rules as the filters above): its term ends within 60 days or has
    ended while the pairing is still active, or it is dormant, without activity for 60 days."""
    if pairing.status != Pairing.Status.ACTIVE:
        return []
    warnings = []
    if pairing.term_end and pairing.term_end < today:
        return [Warning("expired", (today - pairing.term_end).days)]
    if pairing.term_end and pairing.term_end <= today + datetime.timedelta(days=WARNING_DAYS):
        warnings.append(Warning("ending", (pairing.term_end - today).days))
    since = today - datetime.timedelta(days=WARNING_DAYS)
    last = pairing.last_activity_on
    if pairing.term_start <= since and (last is None or last <= since):
        warnings.append(Warning("dormant", None if last is None else (today - last).days))
    return warnings


# --- the pairing page ----------------------------------------------------------------------------


@dataclass
class Figure:
    """One headline figure: its value, the target it is held against (if any) and where it was counted from."""

    label: str
    value: Decimal
    unit: str = ""
    target: Decimal | None = None
    url: str = ""
    metric: Metric | None = None

    @property
    def percent(self):
        if not self.target:
            return None
        return min(100, int(self.value * 100 / self.target))


@dataclass
class Headline:
    year: int
    activities: int = 0
    people_served: int = 0
    volunteer_hours: Decimal = ZERO
    url: str = ""
    metrics: list = field(default_factory=list)
    last_activity_on: datetime.date | None = None  # the last counted activity, any year


def pairing_headline(pairing, year):
    """The year's headline figures of a pairing, read from the reports app's per-month rollup (reverse
    relations "month_rollups" and "metric_month_rollups", kept current as activities change) rather than
    from the activities: two queries whatever their number. Activities are rows of the pairing, so one
    co-hosted by several branches counts once here."""
    start, end = year_bounds(year)
    url = activity_list_url(pairing_id=pairing.pk, date_after=start, date_before=end)
    in_year = Q(month__range=(start, end))
    totals = pairing.month_rollups.aggregate(
        n=Sum("activities", filter=in_year),
        people=Sum("residents_served", filter=in_year),
        hours=Sum("verified_hours", filter=in_year),
        last=Max("last_activity_on"),
    )
    headline = Headline(
        year=year,
        activities=totals["n"] or 0,
        people_served=totals["people"] or 0,
        volunteer_hours=_exact(totals["hours"], "0.1"),
        url=url,
        last_activity_on=totals["last"],
    )
    for metric in metric_totals(pairing, year):
        is_snapshot = metric.aggregation == Metric.Aggregation.SNAPSHOT
        value = metric.latest_value if is_snapshot else metric.total
        figure_url = url
        if is_snapshot and metric.latest_on:
            figure_url = activity_list_url(pairing_id=pairing.pk, date_after=metric.latest_on, date_before=metric.latest_on)
        headline.metrics.append(
            Figure(
                label=metric.name,
                value=value if value is not None else ZERO,
                unit=metric.unit,
                target=metric.target,
                url=figure_url,
                metric=metric,
            )
        )
    return headline


def _exact(value, places):
    """A decimal sum as an exact Decimal (SQLite adds decimals as floats)."""
    return ZERO if value is None else Decimal(str(value)).quantize(Decimal(places))


def metric_totals(pairing, year):
    """The pairing's program metrics with the year's `total` (sum), `latest_value` and `latest_on` (the
    latest value and its date) and `target` (from this year's joint plan; items cancelled left out; for a
    snapshot metric the highest target). One query, on the rollup (reverse relation "metric_month_rollups")."""
    start, end = year_bounds(year)
    months = pairing.metric_month_rollups.filter(month__range=(start, end), metric=OuterRef("pk")).order_by()
    total = months.values("metric").annotate(s=Sum("total")).values("s")
    latest = months.order_by("-latest_on", "-latest_activity_id")
    targets = (
        PlanTarget.objects.filter(item__plan__pairing=pairing, item__plan__year=year, metric=OuterRef("pk"))
        .exclude(item__status=PlanItem.Status.CANCELLED)
        .order_by()
        .values("metric")
    )
    decimal = DecimalField(max_digits=18, decimal_places=2)
    metrics = list(
        Metric.objects.filter(program_id=pairing.program_id)
        .annotate(
            total=Coalesce(Subquery(total, output_field=decimal), Value(ZERO), output_field=decimal),
            latest_value=Subquery(latest.values("latest_value")[:1], output_field=decimal),
            latest_on=Subquery(latest.values("latest_on")[:1]),
            target_sum=Subquery(targets.annotate(s=Sum("value")).values("s"), output_field=decimal),
            target_max=Subquery(targets.annotate(m=Max("value")).values("m"), output_field=decimal),
        )
        .order_by("order", "id")
    )
    for metric in metrics:
        metric.total = _exact(metric.total, "0.01")
        metric.target = metric.target_max if metric.aggregation == Metric.Aggregation.SNAPSHOT else metric.target_sum
    return metrics


@dataclass
class PairingPage:
    pairing: Pairing
    year: int
    headline: Headline
    liaisons_supporter: list
    liaisons_supported: list
    branches: list
    plans: list
    plan: object
    recent_activities: list
    open_needs: list
    open_needs_count: int
    warnings: list
    can_edit_agreement: bool
    can_edit_plans: bool


RECENT_ACTIVITIES = 8
OPEN_NEEDS_SHOWN = 10


def pairing_page(user, pairing, *, year, today):
    """Everything the pairing page shows (fixed number of queries)."""
    liaisons = list(pairing.liaisons.order_by("side", "name"))
    plans = list(
        pairing.plans.annotate(
            items_total=Count("items"),
            items_done=Count("items", filter=Q(items__status=PlanItem.Status.DONE)),
            items_overdue=Count(
                "items",
                filter=Q(items__due_date__lt=today)
                & ~Q(items__status__in=[PlanItem.Status.DONE, PlanItem.Status.CANCELLED]),
            ),
        ).order_by("-year")
    )
    plan = next((p for p in plans if p.year == year), None)
    # the first ones and how many there are, in one query: COUNT(*) OVER () is taken before the LIMIT
    open_needs = list(
        pairing.needs.filter(status=OPEN_NEED).annotate(open_total=Window(Count("id"))).order_by("-raised_at")[
            :OPEN_NEEDS_SHOWN
        ]
    )
    headline = pairing_headline(pairing, year)
    pairing.last_activity_on = headline.last_activity_on
    administers = can_edit_agreement(user, pairing)  # its program's admin
    # The pairing is one the user reads (the view found it through visible_to): the activities' rule is then
    # given it as a literal id, as the activity list does when filtered by a pairing. The same rule, but a
    # query the ORM composes in a third of the time the general form takes.
    recent = pairing.activities.visible_to(
        user, pairing_ids=[pairing.pk], administered_ids=[pairing.pk] if administers else []
    )
    return PairingPage(
        pairing=pairing,
        year=year,
        headline=headline,
        liaisons_supporter=[l for l in liaisons if l.side == "supporter"],
        liaisons_supported=[l for l in liaisons if l.side == "supported"],
        branches=list(pairing.pairing_branches.select_related("branch").order_by("branch__name")),
        plans=plans,
        plan=plan,
        recent_activities=list(
            recent.select_related("branch", "activity_type")
            .order_by("-date", "-id")[:RECENT_ACTIVITIES]
        ),
        open_needs=open_needs,
        open_needs_count=open_needs[0].open_total if open_needs else 0,
        warnings=pairing_warnings(pairing, today),
        can_edit_agreement=administers,
        can_edit_plans=can_edit_plans(user, pairing),
    )


# --- the joint plan page --------------------------------------------------------------------------


def plan_items(plan, *, today):
    """The plan's items with their targets, each target's `achieved` value from the linked activities and
    each item's `derived_progress` (targets: the mean of the targets' attainment, each capped at 100 %,
    rounded down; no targets: the progress set by hand) and `is_overdue`. Two queries."""
    decimal = DecimalField(max_digits=14, decimal_places=2)
    linked = Q(
        item__activities__status__in=COUNTED_STATUSES,
        item__activities__deleted_at__isnull=True,
        item__activities__metric_values__metric=OuterRef("metric_id"),
    )
    achieved_sum = (
        PlanTarget.objects.filter(pk=OuterRef("pk"))
        .filter(linked)
        .order_by()
        .values("pk")
        .annotate(s=Sum("item__activities__metric_values__value"))
        .values("s")
    )
    achieved_latest = (
        PlanTarget.objects.filter(pk=OuterRef("pk"))
        .filter(linked)
        .order_by("-item__activities__date", "-item__activities__id")
        .values("item__activities__metric_values__value")[:1]
    )
    targets = list(
        PlanTarget.objects.filter(item__plan=plan)
        .select_related("metric")
        .annotate(
            achieved_sum=Subquery(achieved_sum, output_field=decimal),
            achieved_latest=Subquery(achieved_latest, output_field=decimal),
        )
        .order_by("metric__order", "metric_id")
    )
    items = list(plan.items.select_related("owner_branch").order_by("order", "id"))
    by_item = {}
    for target in targets:
        snapshot = target.metric.aggregation == Metric.Aggregation.SNAPSHOT
        target.achieved = (target.achieved_latest if snapshot else target.achieved_sum) or ZERO
        target.percent = min(100, int(target.achieved * 100 / target.value))
        by_item.setdefault(target.item_id, []).append(target)
    for item in items:
        item.target_list = by_item.get(item.pk, [])
        item.derived_progress = derive_progress(item, item.target_list)
        item.is_overdue = is_overdue(item, today)
    return items


def derive_progress(item, targets):
    if not targets:
        return item.progress
    ratios = [min(Decimal(1), (t.achieved or ZERO) / t.value) for t in targets]
    return int(sum(ratios) * 100 / len(ratios))


def is_overdue(item, today):
    return bool(
        item.due_date
        and item.due_date < today
        and item.status not in (PlanItem.Status.DONE, PlanItem.Status.CANCELLED)
    )
