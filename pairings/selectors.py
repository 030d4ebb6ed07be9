"""The reads behind the pairing and joint-plan pages: each runs a fixed number of queries, whatever the rows.

This app knows pairings, plans and their targets, nothing of activities: the figures, recent activities and open
needs on its pages come from the apps to its right, as panels (portal/panels.py) registered into the slots the
views name. ``Pairing.last_activity_on`` is the one activity-derived value on its own row, written by the
figures app's rollup.
"""

import datetime
import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.db.models import BooleanField, CharField, Count, Exists, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from pairings.models import JointPlan, Pairing, PairingBranch, PlanItem, PlanTarget, VillageStatistic
from pairings.permissions import can_edit_agreement, can_edit_plans, can_record_statistics
from portal import versioned
from portal.db import StringAgg, stream_rows
from portal.downloads import DATE, Column

WARNING_DAYS = 60


def year_bounds(year):
    return datetime.date(year, 1, 1), datetime.date(year, 12, 31)


def end_of_day(day):
    """The moment ``day`` ends in the portal's time zone (Asia/Shanghai): the start of the next day. What stood
    "as at" a day is what stood just before this moment."""
    return datetime.datetime.combine(
        day + datetime.timedelta(days=1), datetime.time.min, tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE)
    )


def value_on(model, name, day, output_field):
    """An expression over rows of ``model`` (a model with history): the value its field ``name`` had at the end of
    ``day``, read from the row's history (the last history row before the day ended). A row with no history row
    before then is read as first recorded (its earliest history row), or as it is now when it has no history at
    all (rows written behind the history's back, e.g. by a bulk load). No query of its own: correlated
    subqueries on the history table."""
    cutoff = end_of_day(day)
    history = model.history.model.objects.filter(id=OuterRef("pk"))
    before = history.filter(history_date__lt=cutoff).order_by("-history_date", "-history_id")
    first = history.order_by("history_date", "history_id")
    return Coalesce(
        Subquery(before.values(name)[:1]), Subquery(first.values(name)[:1]), F(name),
        output_field=output_field,
    )


def item_status_on(day):
    """An expression over plan items: the status an item had at the end of ``day`` (value_on)."""
    return value_on(PlanItem, "status", day, CharField())


def flags_on(day):
    """Annotations of pairings: their status flag and renewal mark as they stood at the end of ``day``
    (``status_then``, ``renewing_then``; value_on), for Pairing.state_of on that day."""
    return {
        "status_then": value_on(Pairing, "status", day, CharField()),
        "renewing_then": value_on(Pairing, "renewing", day, BooleanField()),
    }


# --- village statistics ----------------------------------------------------------------------------


def latest_statistics(village_ids, *, as_at):
    """{village id: [VillageStatistic, …]}: for each village and indicator, the value of the latest day on or
    before ``as_at`` (never a later one), with its indicator, in the indicators' order. One query, whatever the
    number of villages."""
    later = VillageStatistic.objects.filter(
        village_id=OuterRef("village_id"),
        indicator_id=OuterRef("indicator_id"),
        as_at__gt=OuterRef("as_at"),
        as_at__lte=as_at,
    )
    rows = (
        VillageStatistic.objects.filter(village_id__in=list(village_ids), as_at__lte=as_at)
        .filter(~Exists(later))
        .select_related("indicator")
        .order_by("village_id", "indicator__order", "indicator_id")
    )
    by_village = {}
    for row in rows:
        by_village.setdefault(row.village_id, []).append(row)
    return by_village


def village_pairings(user, village):
    """The pairings the user reads whose supported side is the village (the statistics page's way back)."""
    return list(
        Pairing.objects.visible_to(user).filter(supported=village)
        .select_related("program", "supporter", "supported")
        .order_by("program__name", "supporter__name")
    )


def village_statistics(village):
    """Every value recorded for the village, each indicator's newest first, with who recorded it."""
    return list(
        village.village_statistics.select_related("indicator", "recorded_by").order_by(
            "indicator__order", "indicator_id", "-as_at"
        )
    )


# --- the pairing list -----------------------------------------------------------------------------


def pairing_list(user):
    """The pairings the user reads, with their program and both sides."""
    return (
        Pairing.objects.visible_to(user)
        .select_related("program", "supporter", "supported")
        .order_by("program__name", "supporter__name", "supported__name")
    )


def pairing_export_columns():
    return [
        Column(_("Program")), Column(_("School or organisation")), Column(_("Village or community")),
        Column(_("Status")), Column(_("Signed on"), DATE), Column(_("term start"), DATE), Column(_("term end"), DATE),
        Column(_("Participating branches")), Column(_("Last activity"), DATE),
    ]


def pairing_export_rows(queryset, today):
    """The rows of the pairings of ``queryset`` (the list's, filtered): the state shown on the pages (on
    ``today``), the participating branches joined with 、. One query, streamed."""
    branches = (
        PairingBranch.objects.filter(pairing_id=OuterRef("pk"))
        .order_by()
        .values("pairing_id")
        .annotate(text=StringAgg("branch__name", "、", order_by=("branch__name", "branch_id")))
        .values("text")
    )
    rows = queryset.annotate(branch_names=Subquery(branches)).values_list(
        "program__name", "supporter__name", "supported__name", "status", "term_end", "renewing", "signed_on",
        "term_start", "branch_names", "last_activity_on",
    )
    stream = stream_rows(rows)
    try:
        for program, supporter, supported, status, term_end, renewing, signed_on, term_start, names, last in stream:
            state = Pairing.state_of(status, term_end, today, renewing)
            yield program, supporter, supported, state.label, signed_on, term_start, term_end, names, last
    finally:
        stream.close()


def ending_soon_q(today):
    return Q(status=Pairing.Status.ACTIVE, term_end__gte=today, term_end__lte=today + datetime.timedelta(days=WARNING_DAYS))


def expired_q(today):
    """Still marked active although the term has ended, and not marked being renewed (期满; a pairing being
    renewed is 续签中, which is in hand)."""
    return Q(status=Pairing.Status.ACTIVE, term_end__lt=today, renewing=False)


def dormant_q(today):
    """Running pairings (active, term started 60 days ago at least and not ended) without a counted
    activity in the last 60 days."""
    since = today - datetime.timedelta(days=WARNING_DAYS)
    running = Q(status=Pairing.Status.ACTIVE, term_start__lte=since) & (Q(term_end__isnull=True) | Q(term_end__gte=today))
    return running & (Q(last_activity_on__isnull=True) | Q(last_activity_on__lte=since))


# --- what waits for someone: one definition each, read by the daily notices and the home pages ---------------

ITEM_DUE_DAYS = 7  # a plan item due within this many days is announced to its owner branch
OPEN_ITEM_STATUSES = (PlanItem.Status.PLANNED, PlanItem.Status.IN_PROGRESS)


def items_due_q(until, prefix=""):
    """Open plan items (through ``prefix``) with a due date on or before ``until``: overdue ones included."""
    return Q(**{f"{prefix}status__in": OPEN_ITEM_STATUSES, f"{prefix}due_date__isnull": False,
                f"{prefix}due_date__lte": until})


def items_due(today, *, until=None):
    """Open plan items of active pairings due by ``until`` (default: within ITEM_DUE_DAYS of ``today``) or
    overdue, the most urgent first (the earliest due date), with their plan, pairing and owner branch."""
    until = until or today + datetime.timedelta(days=ITEM_DUE_DAYS)
    return (
        PlanItem.objects.filter(items_due_q(until), plan__pairing__status=Pairing.Status.ACTIVE)
        .select_related("plan__pairing__supporter", "plan__pairing__supported", "owner_branch")
        .order_by("due_date", "id")
    )


def plans_to_agree(today):
    """Joint plans of active pairings, of this year or later, that have items and wait for the village's
    agreement (never given, or withdrawn by a change), the longest waiting first."""
    return (
        JointPlan.objects.filter(
            village_agreed_on__isnull=True, year__gte=today.year, pairing__status=Pairing.Status.ACTIVE,
        )
        .filter(Exists(PlanItem.objects.filter(plan=OuterRef("pk"))))
        .select_related("pairing__supporter", "pairing__supported")
        .order_by("updated_at", "id")
    )


def pairings_dormant(today):
    """Running pairings without a counted activity for WARNING_DAYS days (dormant_q), the longest silent first."""
    return (
        Pairing.objects.filter(dormant_q(today))
        .select_related("program", "supporter", "supported")
        .order_by(F("last_activity_on").asc(nulls_first=True), "id")
    )


def agreements_expiring(today):
    """Active pairings whose term ends within WARNING_DAYS days (ending_soon_q), the soonest first."""
    return (
        Pairing.objects.filter(ending_soon_q(today))
        .select_related("program", "supporter", "supported")
        .order_by("term_end", "id")
    )


def warnings_of(*, status, term_start, term_end, renewing, last_activity_on, today):
    """pairing_warnings for a pairing given by its values (a report reads them as they stood on its day)."""
    if status != Pairing.Status.ACTIVE:
        return []
    warnings = []
    if term_end and term_end < today:
        return [] if renewing else [Warning("expired", (today - term_end).days)]
    if term_end and term_end <= today + datetime.timedelta(days=WARNING_DAYS):
        warnings.append(Warning("ending", (term_end - today).days))
    since = today - datetime.timedelta(days=WARNING_DAYS)
    last = last_activity_on
    if term_start <= since and (last is None or last <= since):
        warnings.append(Warning("dormant", None if last is None else (today - last).days))
    return warnings


@dataclass(frozen=True)
class Warning:
    code: str  # "ending", "expired" or "dormant"
    days: int | None  # days until the term ends / since it ended / since the last activity (None: never)


def pairing_warnings(pairing, today):
    """The warnings of a pairing (the same rules as the filters above): its term ends within 60 days or has
    ended while the pairing is still active, or it is dormant, without activity for 60 days."""
    return warnings_of(
        status=pairing.status, term_start=pairing.term_start, term_end=pairing.term_end, renewing=pairing.renewing,
        last_activity_on=pairing.last_activity_on, today=today,
    )


# --- the pairing page ----------------------------------------------------------------------------


@dataclass
class PairingPage:
    pairing: Pairing
    year: int
    liaisons_supporter: list
    liaisons_supported: list
    branches: list
    plans: list
    plan: object
    warnings: list
    can_edit_agreement: bool
    can_edit_plans: bool
    statistics: list  # the supported side's latest value of each indicator, as at today
    can_record_statistics: bool


@dataclass
class PairingParts:
    """What the pairing page shows of the set-up: the same for everyone who reads the pairing."""

    liaisons: list
    plans: list  # newest first, each with its items' counts as at the day
    branches: list
    statistics: list  # the supported side's latest value of each indicator, as at the day


# The version keys (portal/versioned.py) a pairing's own row depends on besides the set-up's: an app to the right
# that writes a pairing's columns without save() adds its key from its AppConfig.ready() (last_activity_on, which the
# pairing page's warnings read, is written so).
PAIRING_ROW_VERSIONS = []


def kept_pairing(user, pk, read):
    """`read()`, the pairing `pk` as the user may read it (the view's scope check: it raises when not), kept per user
    until the set-up or a key of PAIRING_ROW_VERSIONS changes (not kept when the user's may not be: versioned.user_parts)."""
    who = versioned.user_parts(user)
    if who is None:
        return read()
    return versioned.cached("pairing_detail", read, *who, pk, versions=tuple(PAIRING_ROW_VERSIONS))


def pairing_parts(pairing, today):
    """The pairing's liaisons, plans, branches and its village's statistics (four queries), kept until the set-up
    changes (portal/versioned.py). Ask only once the pairing is known to be the user's (the view's scope check)."""

    def build():
        plans = pairing.plans.annotate(
            items_total=Count("items"),
            items_done=Count("items", filter=Q(items__status=PlanItem.Status.DONE)),
            items_overdue=Count(
                "items",
                filter=Q(items__due_date__lt=today)
                & ~Q(items__status__in=[PlanItem.Status.DONE, PlanItem.Status.CANCELLED]),
            ),
        )
        return PairingParts(
            liaisons=list(pairing.liaisons.order_by("side", "name")),
            plans=list(plans.order_by("-year")),
            branches=list(pairing.pairing_branches.select_related("branch").order_by("branch__name")),
            statistics=latest_statistics([pairing.supported_id], as_at=today).get(pairing.supported_id, []),
        )

    return versioned.cached("pairing_parts", build, pairing.pk, today)


def pairing_page(user, pairing, *, year, today):
    """Everything the pairing page shows (fixed number of queries)."""
    parts = pairing_parts(pairing, today)
    plan = next((p for p in parts.plans if p.year == year), None)
    administers = can_edit_agreement(user, pairing)  # its program's admin
    return PairingPage(
        pairing=pairing,
        year=year,
        liaisons_supporter=[l for l in parts.liaisons if l.side == "supporter"],
        liaisons_supported=[l for l in parts.liaisons if l.side == "supported"],
        branches=parts.branches,
        plans=parts.plans,
        plan=plan,
        warnings=pairing_warnings(pairing, today),
        can_edit_agreement=administers,
        can_edit_plans=can_edit_plans(user, pairing),
        statistics=parts.statistics,
        can_record_statistics=can_record_statistics(user, pairing.supported),
    )


# --- the joint plan page --------------------------------------------------------------------------


def plan_items(plan, *, today):
    """The plan's items with their owner branch, `target_list` (targets with their metric) and `is_overdue`.
    Two queries. (How far each target is reached is a figure: the figures app adds it where it is shown.)"""
    items = list(plan.items.select_related("owner_branch").order_by("order", "id"))
    by_item = {}
    for target in PlanTarget.objects.filter(item__plan=plan).select_related("metric").order_by("metric__order", "metric_id"):
        by_item.setdefault(target.item_id, []).append(target)
    for item in items:
        item.target_list = by_item.get(item.pk, [])
        item.is_overdue = is_overdue(item, today)
    return items


def is_overdue(item, today):
    return bool(
        item.due_date
        and item.due_date < today
        and item.status not in (PlanItem.Status.DONE, PlanItem.Status.CANCELLED)
    )
