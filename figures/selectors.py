"""The one source of each headline figure: what counts, and the selectors every page and report reads.

Counting rules (docs/figures.md states them in full, with where each lives):

* an activity counts when it is submitted or confirmed and not deleted (drafts and returned ones never count);
  one co-hosted by several branches is one row of its pairing, so it counts once for the pairing;
* volunteer hours count once verified, on counted activities (``verified_q``); hours recorded on a counted
  activity and not yet verified are pending (``pending_q``); hours on a draft or returned activity are neither
  (these Q builders and ``counted`` are written at the end of activities/models.py, read by the activity
  export too, and re-exported here);
* a ``sum`` metric adds up over the counted activities, a ``snapshot`` metric takes the latest value (by
  activity date, then id);
* a plan item's progress comes from the counted activities linked to it and dated in its plan's year (a plan
  belongs to its year: an activity of another year never counts toward it); "as at" a day (a past period's
  report: the period's end), only the activities dated up to that day count;
* "as at" a day, an activity counts as it stood at the end of that day (Asia/Shanghai): its status then, read
  from its history (``counted_then``; an activity submitted later does not count, one confirmed later counts as
  submitted), and hours count as verified when verified by then (``verified_then``). Deletions and corrections
  of figures are not undone: a rebuilt report of a past period shows the corrected figures with the statuses
  of then; the published version keeps what it showed.

The pairing page and the dashboards read the rollup (figures/models.py), kept current by figures/rollups.py;
a report of the running period reads the rollup for the months before its period; a past period's report reads
the activities as they stood at its as-at day (the rollup holds the statuses of now), but for the months before its
period (a year's: all twelve) still the rollup, for each month of a pairing none of whose activities in it changed
status since that day (reports.builders.month_source).
"""

import datetime
import itertools
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlencode

from django.db import router
from django.db.models import (
    Count, DecimalField, ExpressionWrapper, F, IntegerField, Max, OuterRef, Q, Subquery, Sum, Value, Window,
)
from django.db.models.functions import Coalesce, ExtractMonth, RowNumber, TruncMonth
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from activities.models import (  # COUNTED_STATUSES, counted_q, pending_q, verified_q re-exported: see below
    COUNTED_STATUSES, Activity, ActivityMetricValue, ServiceRecord, counted_q, pending_q, verified_q,
)
from activities.selectors import pending_on, status_on, verified_on
from figures.models import PairingMonth, PairingMonthMetric
from pairings.models import Metric, PlanItem, PlanTarget
from pairings.selectors import year_bounds
from portal.db import stream_rows
from volunteers.models import Volunteer

ZERO = Decimal("0")

# COUNTED_STATUSES and counted_q (which activities count), verified_q() and pending_q() (which hours are verified,
# which pending) are defined in activities/models.py, beside the activity, so the activities app's own pages
# (the export, the verify screens, the plausibility warnings) read the same rule; they are re-exported here,
# where the apps to the right read them.


def counted(prefix=""):
    """A Q over activities (reached through `prefix`) that count in figures and progress."""
    return counted_q(prefix)


def counted_activities():
    """Activities that count: submitted or confirmed, not deleted."""
    return Activity.objects.counted()


def status_then(as_at, *, ref="pk", prefix=""):
    """An expression: the status an activity had at the end of ``as_at`` (activities.selectors.status_on, read
    from its history; over rows that point to an activity with ``ref``/``prefix``)."""
    return status_on(as_at, ref=ref, prefix=prefix)


def counted_then(queryset, as_at, *, ref="pk", prefix=""):
    """The rows of ``queryset`` (activities, or rows that point to one: ``ref="activity_id",
    prefix="activity__"``) whose activity counted at the end of ``as_at``: submitted or confirmed then (its
    history), not deleted. The status it had then is the alias ``status_then``. The rule of a past period's
    report; the activity list's ``as_at`` filter reads the same status (activities.selectors.status_on), so a
    figure's link opens what it counted."""
    return queryset.alias(status_then=status_then(as_at, ref=ref, prefix=prefix)).filter(
        status_then__in=COUNTED_STATUSES, **{f"{prefix}deleted_at__isnull": True}
    )


def verified_then(as_at, prefix="service_records__"):
    """Service records (through ``prefix``) whose hours counted as verified at the end of ``as_at``: verified by
    then, not deleted (their activity must count then too: counted_then)."""
    return verified_on(as_at, prefix) & Q(**{f"{prefix}deleted_at__isnull": True})


def pending_then(as_at, prefix="service_records__"):
    """Service records (through ``prefix``) whose hours were waiting for verification at the end of ``as_at``
    (activities.selectors.pending_on: not verified by then, not deleted; their activity must count then too:
    counted_then)."""
    return pending_on(as_at, prefix)


def exact(value, places):
    """A decimal sum as an exact Decimal (SQLite adds decimals as floats)."""
    return ZERO if value is None else Decimal(str(value)).quantize(Decimal(places))


def activity_list_url(
    *, pairing_id=None, program_id=None, date_after=None, date_before=None, branch_id=None, credited=False, metric_id=None,
    verified_hours=False, activity_type_id=None, statuses=COUNTED_STATUSES, as_at=None, program_wide=False,
):
    """The activity list filtered to the activities a figure was counted from: the program's or the pairing's, in the
    dates, submitted or confirmed (`status` given twice: the list's status filter takes several values; `statuses`
    narrows it, e.g. to the confirmed ones). With `branch_id`: that branch's, and with `credited` those it co-hosted
    too (a co-host is credited like the host); with `activity_type_id`: those of the type; with `metric_id`: those
    carrying a value for the metric; with `verified_hours`: those with verified hours (what the hours figure adds
    up). With `as_at` (a past period's report): the statuses and verified hours as they stood at the end of that
    day (counted_then, verified_then). With `program_wide`: the program's activities of no pairing only (a program
    report's 不针对结对村 row)."""
    params = [("program", program_id)] if program_id else []
    if pairing_id:
        params.append(("pairing", pairing_id))
    elif program_wide:
        params.append(("program_wide", "on"))
    if branch_id:
        params.append(("branch", branch_id))
        if credited:
            params.append(("co_hosted", "on"))
    if activity_type_id:
        params.append(("activity_type", activity_type_id))
    if metric_id:
        params.append(("metric", metric_id))
    if verified_hours:
        params.append(("verified_hours", "on"))
    params += [("status", status) for status in statuses]
    if as_at:
        params.append(("as_at", as_at.isoformat()))
    if date_after:
        params.append(("date_from", date_after.isoformat()))
    if date_before:
        params.append(("date_to", date_before.isoformat()))
    path = _list_path()
    if all(_PLAIN.fullmatch(str(value)) for _name, value in params):
        # what urlencode gives for ids, ISO dates and status names, without its per-character quoting
        return f"{path}?" + "&".join(f"{name}={value}" for name, value in params)
    return f"{path}?{urlencode(params)}"


_PLAIN = re.compile(r"[A-Za-z0-9_.\-]*")  # characters urlencode leaves as they are
_list_paths = {}


def _list_path():
    """The activity list's path, reversed once per URL configuration and script prefix (a board or a dashboard
    links to it a few hundred times, and reverse() is most of what a link cost)."""
    key = (get_script_prefix(), get_urlconf())
    path = _list_paths.get(key)
    if path is None:
        path = _list_paths[key] = reverse("activities:list")
    return path


# --- a pairing's year ------------------------------------------------------------------------------

# The figures the pairing page and the program dashboard show beside the program's metrics, as they label them.
FIXED_FIGURES = (
    gettext_lazy("Activities (submitted or confirmed)"), gettext_lazy("of which confirmed by the village"),
    gettext_lazy("of which confirmed"),  # the program's: its program-wide work is confirmed by its admins
    gettext_lazy("People served"), gettext_lazy("Volunteer hours (verified)"), gettext_lazy("Pairings with activities"),
)


def metric_label(name):
    """A metric's name as shown beside the fixed figures: marked as a metric (成效指标·服务群众) where it reads like
    one of their labels (the people served, 服务群众), so no two figures of a page carry the same name, as the
    exports tell their columns apart."""
    taken = {str(label).replace(" ", "") for label in FIXED_FIGURES}
    return f"{_('Metric')}·{name}" if name.replace(" ", "") in taken else name



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
    hours_url: str = ""  # the counted activities with verified hours
    metrics: list = field(default_factory=list)
    last_activity_on: datetime.date | None = None  # the last counted activity, any year


def pairing_headline(pairing, year):
    """The year's headline figures of a pairing, read from the per-month rollup rather than from the
    activities: two queries whatever their number."""
    start, end = year_bounds(year)
    url = activity_list_url(pairing_id=pairing.pk, date_after=start, date_before=end)
    in_year = Q(month__range=(start, end))
    totals = PairingMonth.objects.filter(pairing=pairing).aggregate(
        n=Sum("activities", filter=in_year),
        people=Sum("residents_served", filter=in_year),
        hours=Sum("verified_hours", filter=in_year),
        last=Max("last_activity_on"),
    )
    headline = Headline(
        year=year,
        activities=totals["n"] or 0,
        people_served=totals["people"] or 0,
        volunteer_hours=exact(totals["hours"], "0.1"),
        url=url,
        hours_url=activity_list_url(pairing_id=pairing.pk, date_after=start, date_before=end, verified_hours=True),
        last_activity_on=totals["last"],
    )
    for metric in metric_totals(pairing, year):
        is_snapshot = metric.aggregation == Metric.Aggregation.SNAPSHOT
        value = metric.latest_value if is_snapshot else metric.total
        # the activities carrying the metric: in the year (a sum), or on the day of the latest value (a snapshot)
        on = metric.latest_on if is_snapshot and metric.latest_on else None
        figure_url = activity_list_url(
            pairing_id=pairing.pk, date_after=on or start, date_before=on or end, metric_id=metric.pk
        )
        headline.metrics.append(
            Figure(
                label=metric_label(metric.name),
                value=value if value is not None else ZERO,
                unit=metric.unit,
                target=metric.target,
                url=figure_url,
                metric=metric,
            )
        )
    return headline


def metric_totals(pairing, year):
    """The pairing's program metrics with the year's `total` (sum), `latest_value` and `latest_on` (the
    latest value and its date) and `target` (from this year's joint plan; items cancelled left out; for a
    snapshot metric the highest target). One query, on the rollup."""
    start, end = year_bounds(year)
    months = PairingMonthMetric.objects.filter(
        pairing=pairing, month__range=(start, end), metric=OuterRef("pk")
    ).order_by()
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
        metric.total = exact(metric.total, "0.01")
        metric.target = metric.target_max if metric.aggregation == Metric.Aggregation.SNAPSHOT else metric.target_sum
    return metrics


def activities_in_year(pairing_ids, year):
    """{pairing id: counted activities in the year} from the rollup, for the pairing list. One query."""
    start, end = year_bounds(year)
    rows = (
        PairingMonth.objects.filter(pairing_id__in=pairing_ids, month__range=(start, end))
        .order_by()
        .values("pairing_id")
        .annotate(n=Sum("activities"))
        .values_list("pairing_id", "n")
    )
    return dict(rows)


# --- plan progress --------------------------------------------------------------------------------


def toward_plan(prefix="", *, plan_year=None, as_at=None, among=None):
    """A Q over activities (reached through `prefix`) that count toward the plan item they are linked to:
    counted, dated in the year of the item's plan (`plan_year`, an expression; by default the activity's own
    item's plan), and (given `as_at`) dated on or before that day and counted as they stood at its end
    (counted_then: their status then, from their history), looked for among the activities `among` (by default
    all). The one rule, used by the plan page and the reports alike."""
    plan_year = F(f"{prefix}plan_item__plan__year") if plan_year is None else plan_year
    q = Q(**{f"{prefix}date__year": plan_year})
    if as_at is None:
        return counted(prefix) & q
    among = Activity.objects.all() if among is None else among
    then = counted_then(among.filter(date__lte=as_at), as_at).values("id")
    return Q(**{f"{prefix}id__in": then, f"{prefix}date__lte": as_at}) & q


def achieved_by_target(targets, *, as_at=None, item_ids=None):
    """{target pk: (item id, target value, metric aggregation, achieved)} for the PlanTarget queryset `targets`:
    achieved is the sum of the values of the activities that count toward the target's item (toward_plan, as
    they stood at the end of `as_at` if given), or for a snapshot metric the latest of them (by date, then id);
    ZERO when none. ``item_ids``: the targets' items, when the caller has them. One query."""
    decimal = DecimalField(max_digits=14, decimal_places=2)
    # as at a day, the history is read only for the activities linked to these targets' items: by a list of ids
    # when known (PostgreSQL hashes it), not by a subquery, which it runs again for every activity of every target
    # (24 s for a program of 550 pairings)
    items = sorted(set(item_ids)) if item_ids is not None else targets.values("item_id")
    among = Activity.objects.filter(plan_item_id__in=items) if as_at is not None else None
    linked = toward_plan("item__activities__", plan_year=F("item__plan__year"), as_at=as_at, among=among) & Q(
        item__activities__metric_values__metric=OuterRef("metric_id")
    )
    achieved_sum = (
        PlanTarget.objects.filter(pk=OuterRef("pk")).filter(linked).order_by()
        .values("pk").annotate(s=Sum("item__activities__metric_values__value")).values("s")
    )
    achieved_latest = (
        PlanTarget.objects.filter(pk=OuterRef("pk")).filter(linked)
        .order_by("-item__activities__date", "-item__activities__id")
        .values("item__activities__metric_values__value")[:1]
    )
    rows = (
        targets.annotate(
            achieved_sum=Subquery(achieved_sum, output_field=decimal),
            achieved_latest=Subquery(achieved_latest, output_field=decimal),
        )
        .order_by()
        .values_list("pk", "item_id", "value", "metric__aggregation", "achieved_sum", "achieved_latest")
    )
    return {
        pk: (item_id, value, aggregation, (latest if aggregation == Metric.Aggregation.SNAPSHOT else total) or ZERO)
        for pk, item_id, value, aggregation, total, latest in rows
    }


def plan_progress(items, *, as_at=None):
    """Each target in the items' `target_list` gets `achieved` (from the activities that count toward its item,
    toward_plan: counted, dated in the plan's year, up to `as_at` if given; the sum, or for a snapshot metric the
    latest value) and `percent`; each item gets `derived_progress` (with targets: the mean of their attainment,
    each capped at 100 %, rounded down; without: the progress set by hand). One query, none without targets."""
    targets = [target for item in items for target in item.target_list]
    achieved = {}
    if targets:
        achieved = achieved_by_target(
            PlanTarget.objects.filter(pk__in=[t.pk for t in targets]), as_at=as_at, item_ids=[t.item_id for t in targets]
        )
    for target in targets:
        target.achieved = achieved[target.pk][3] if target.pk in achieved else ZERO
        target.percent = min(100, int(target.achieved * 100 / target.value))
    for item in items:
        item.derived_progress = derive_progress(item, item.target_list)
    return items


def item_progress(item_ids, *, as_at=None):
    """{item id: derived progress} for the plan items with targets among `item_ids` (items without targets are
    left out: their progress is the one set by hand), by the same rule as plan_progress (achieved_by_target:
    tests compare the two). Two queries, none without ids: the targets, and what their items' activities
    achieved (achieved_by_item). The reports read it with the period's as-at day."""
    if not item_ids:
        return {}
    targets = list(
        PlanTarget.objects.filter(item_id__in=item_ids).order_by()
        .values_list("item_id", "metric_id", "value", "metric__aggregation")
    )
    achieved = achieved_by_item(item_ids, as_at=as_at, pairs={(item_id, metric_id) for item_id, metric_id, *_ in targets})
    ratios = defaultdict(list)
    for item_id, metric_id, value, aggregation in targets:
        total, latest = achieved.get((item_id, metric_id), (None, None))
        ratios[item_id].append(attainment((latest if aggregation == Metric.Aggregation.SNAPSHOT else total) or ZERO, value))
    return {item_id: int(sum(r) * 100 / len(r)) for item_id, r in ratios.items()}


def achieved_by_item(item_ids, *, as_at=None, pairs=None):
    """{(item id, metric id): (sum, latest value)} of the metric values of the activities that count toward
    the items (toward_plan's rule: counted, dated in the item's plan's year, and given `as_at` dated up to that
    day and counted as they stood at its end; the latest by date, then id). One grouped pass over the items'
    activities, instead of achieved_by_target's two correlated subqueries per target (the 1,653 targets of a
    program of 551 pairings as at 2025-06-30: 0.62-0.71 s that way, 0.48-0.54 s this way, warm). The status then is read on the joined activity itself
    (counted_then through ``activity__``), not by toward_plan's ``id IN (…)``, which PostgreSQL checked against
    the list of items once per activity.

    With ``pairs`` (a set of (item id, metric id)), only those: the rows are streamed past, not held (a program's
    year: some 15,000 items and metrics achieved something, and a tenth of them have a target)."""
    values = ActivityMetricValue.objects.filter(
        activity__plan_item_id__in=sorted(set(item_ids)), activity__date__year=F("activity__plan_item__plan__year")
    )
    if as_at is None:
        values = values.filter(counted("activity__"))
    else:
        values = counted_then(values.filter(activity__date__lte=as_at), as_at, ref="activity_id", prefix="activity__")
    partition = [F("activity__plan_item_id"), F("metric_id")]
    rows = (
        values.annotate(
            rank=Window(RowNumber(), partition_by=partition, order_by=[F("activity__date").desc(), F("activity_id").desc()]),
            achieved=Window(Sum("value"), partition_by=partition),
        )
        .filter(rank=1)
        .order_by()
        .values_list("activity__plan_item_id", "metric_id", "achieved", "value")
    )
    if pairs is not None:
        return {
            (item_id, metric_id): (total, latest)
            for item_id, metric_id, total, latest in stream_rows(rows) if (item_id, metric_id) in pairs
        }
    return {(item_id, metric_id): (total, latest) for item_id, metric_id, total, latest in rows}


def attainment(achieved, value):
    """How far one target is reached, capped at 1."""
    return min(Decimal(1), (achieved or ZERO) / value)


def derive_progress(item, targets):
    if not targets:
        return item.progress
    ratios = [attainment(t.achieved, t.value) for t in targets]
    return int(sum(ratios) * 100 / len(ratios))


# --- the rollup's months, for reports ----------------------------------------------------------------


PEOPLE = ("residents_served", "party_members", "teachers", "students")


def pairing_month_queries(where, *, using, owner="pairing_id"):
    """The two queries of compute_pairing_months, unevaluated (the rollup runs them inside its INSERT … SELECT):
    per (owner, month) the counted activities (columns owner, month, activities, confirmed, the PEOPLE sums,
    verified_hours, last_activity_on) and per metric the month's total and latest value (owner, month, metric_id,
    month_total, value, latest_on, activity_id). ``month`` is the database's month truncation (a timestamp on
    PostgreSQL).

    The verified hours are the activities' kept verified hours (Activity.kept_verified_hours: the sum of their
    verified, not deleted service records, kept in the transaction that writes a record, activities.kept): on
    counted activities that is exactly verified_q's sum, read in the same pass over the activities instead of a
    join to every record of the month (a month of every pairing: 63,000 records looked up one by one)."""
    months = (
        Activity.all_objects.using(using).filter(counted(), where(""))
        .annotate(owner=F(owner), month=TruncMonth("date"))
        .order_by()
        .values("owner", "month")
        .annotate(
            activities=Count("id"),
            confirmed=Count("id", filter=Q(status=Activity.Status.CONFIRMED)),
            **{name: Sum(name) for name in PEOPLE},
            verified_hours=Sum("kept_verified_hours"),
            last_activity_on=Max("date"),
        )
    )
    partition = [F(f"activity__{owner}"), TruncMonth("activity__date"), F("metric_id")]
    metrics = (
        ActivityMetricValue.objects.using(using)
        .filter(counted("activity__"), where("activity__"))
        .annotate(
            owner=F(f"activity__{owner}"),
            month=TruncMonth("activity__date"),
            rank=Window(RowNumber(), partition_by=partition, order_by=[F("activity__date").desc(), F("activity_id").desc()]),
            month_total=Window(Sum("value"), partition_by=partition),
            latest_on=F("activity__date"),
        )
        .filter(rank=1)
        .order_by()
        .values("owner", "month", "metric_id", "month_total", "value", "latest_on", "activity_id")
    )
    return months, metrics


def compute_pairing_months(where, *, using, owner="pairing_id", parts=("months", "metrics")):
    """{(pairing, month): fields} and {(pairing, month, metric): fields} of the activities `where(prefix)`
    selects (prefix "" for activities, "activity__" for their metric values); with owner="program_id", per
    program instead (the program-wide activities' months). ``parts`` names the queries to run (a report reading
    only the months, or only the metrics, of the program-wide activities runs one). The queries are
    pairing_month_queries'."""
    months_query, metrics_query = pairing_month_queries(where, using=using, owner=owner)
    months, metrics = {}, {}
    if "metrics" in parts:
        metrics = _compute_metrics(metrics_query)
    if "months" not in parts:
        return months, metrics
    for row in months_query:
        key = (row.pop("owner"), row.pop("month"))
        row["verified_hours"] = exact(row["verified_hours"], "0.1")
        months[key] = row
    return months, metrics


def _compute_metrics(query):
    """{(owner, month, metric): fields} of compute_pairing_months: each metric's month total and latest value."""
    return {
        (row["owner"], row["month"], row["metric_id"]): {
            "total": exact(row["month_total"], "0.01"),
            "latest_value": exact(row["value"], "0.01"),
            "latest_on": row["latest_on"],
            "latest_activity_id": row["activity_id"],
        }
        for row in query
    }




def program_wide_months(program_id, first_month, before, parts):
    """The months of the program's program-wide activities (no pairing) from ``first_month`` up to (not
    including) ``before``, computed from the source rows by the rollup's own rule, as it adds them to the
    program's months (compute_pairing_months, owner program: figures.rollups._add_program_wide): ({(program,
    month): fields}, {(program, month, metric): fields}). They are few (a branch's service days in the towns);
    ``parts`` ("months", "metrics") names the one query to run."""
    def where(prefix):
        return Q(**{
            f"{prefix}program_id": program_id, f"{prefix}pairing_id__isnull": True,
            f"{prefix}date__gte": first_month, f"{prefix}date__lt": before,
        })

    return compute_pairing_months(where, using=router.db_for_read(Activity), owner="program_id", parts=parts)


def rollup_month_rows(pairing_ids, first_month, before, *, wide=None):
    """(pairing id, month, counted activities, of which confirmed) from the rollup, for the months from
    ``first_month`` up to (not including) ``before``: complete months before a report's period. With ``wide`` (a
    program's id), the program's program-wide activities' months too, under the pairing id None."""
    if first_month >= before:
        return []
    rows = list(
        PairingMonth.objects.filter(pairing_id__in=pairing_ids, month__gte=first_month, month__lt=before)
        .order_by()
        .values_list("pairing_id", "month", "activities", "confirmed")
    )
    if wide is not None:
        months, _metrics = program_wide_months(wide, first_month, before, ("months",))
        rows += [(None, month, row["activities"], row["confirmed"]) for (_program, month), row in months.items()]
    return rows


def _wide_metric_rows(program_id, first_month, before):
    """Per metric of the program's program-wide activities over the months: (None, metric id, the months' totals
    added up, the latest value, its date, its activity id), as rollup_metric_latest gives a pairing's."""
    _months, metrics = program_wide_months(program_id, first_month, before, ("metrics",))
    by_metric = {}
    for (_program, _month, metric_id), row in metrics.items():
        total, latest = by_metric.get(metric_id, (ZERO, None))
        if latest is None or (row["latest_on"], row["latest_activity_id"]) > (latest["latest_on"], latest["latest_activity_id"]):
            latest = row
        by_metric[metric_id] = (total + row["total"], latest)
    return [
        (None, metric_id, exact(total, "0.01"), latest["latest_value"], latest["latest_on"], latest["latest_activity_id"])
        for metric_id, (total, latest) in by_metric.items()
    ]


def month_keys(months):
    """The keys ``pairing id * 100 + month number`` of (pairing id, month) pairs of one year, as ``month_key``
    computes them in the database."""
    return sorted({pairing_id * 100 + month.month for pairing_id, month in months})


def month_key(pairing="pairing_id", day="month"):
    """The expression ``pairing id * 100 + month number`` of rows' pairing and a day of theirs (month_keys)."""
    return ExpressionWrapper(F(pairing) * 100 + ExtractMonth(day), output_field=IntegerField())


def without_months(rows, skip):
    """The rollup's ``rows`` but those of the (pairing id, first day of the month) pairs ``skip`` (months of one
    year: those read from elsewhere)."""
    if not skip:
        return rows
    return rows.alias(month_key=month_key()).exclude(month_key__in=month_keys(skip))


# the rows of a long read held at once as Python objects (rollup_metric_latest)
ROWS_PER_CHUNK = 250


def rollup_metric_latest(pairing_ids, first_month, before, *, wide=None, skip=None):
    """Per (pairing, metric), over the rollup's months from ``first_month`` up to (not including) ``before``:
    (pairing id, metric id, the months' totals added up, the latest of the months' latest values, its date,
    its activity id). One row per pairing and metric (the database picks the latest month's row). With ``wide``
    (a program's id), the program's program-wide activities' too, under the pairing id None. ``skip``: the
    (pairing, month) pairs left out (without_months).

    An iterator, read in chunks, in the order of the pairing (the program-wide rows last), then the metric: a
    program's year is a row per pairing and metric (slsz: 4,959, some 2 MB as Python objects), which its reader
    merges with other rows in the same order and adds up as it goes rather than holding."""
    if first_month >= before:
        return iter(())
    partition = [F("pairing_id"), F("metric_id")]
    latest_first = [F("latest_on").desc(), F("latest_activity_id").desc(nulls_last=True)]
    months = PairingMonthMetric.objects.filter(pairing_id__in=pairing_ids, month__gte=first_month, month__lt=before)
    wide_rows = _wide_metric_rows(wide, first_month, before) if wide is not None else []
    rows = (
        without_months(months, skip)
        .annotate(
            rank=Window(RowNumber(), partition_by=partition, order_by=latest_first),
            months_total=Window(Sum("total"), partition_by=partition),
        )
        .filter(rank=1)
        .order_by("pairing_id", "metric_id")
        .values_list("pairing_id", "metric_id", "months_total", "latest_value", "latest_on", "latest_activity_id")
    )
    return itertools.chain(rows.iterator(chunk_size=ROWS_PER_CHUNK), sorted(wide_rows, key=lambda row: row[1]))


def rollup_metric_totals(pairing_ids, first_month, before, *, wide=None, skip=None):
    """(pairing id, metric id, total) from the rollup, added up over the months from ``first_month`` up to
    (not including) ``before``: the part of a year-to-date sum before the period (no latest values). With
    ``wide`` (a program's id), the program's program-wide activities' too, under the pairing id None. ``skip``:
    the (pairing, month) pairs left out (without_months)."""
    if first_month >= before:
        return []
    months = PairingMonthMetric.objects.filter(pairing_id__in=pairing_ids, month__gte=first_month, month__lt=before)
    rows = list(
        without_months(months, skip)
        .order_by()
        .values("pairing_id", "metric_id")
        .annotate(total=Sum("total"))
        .values_list("pairing_id", "metric_id", "total")
    )
    if wide is not None:
        rows += [row[:3] for row in _wide_metric_rows(wide, first_month, before)]
    return rows


# --- volunteer hours ------------------------------------------------------------------------------


HOURS = DecimalField(max_digits=10, decimal_places=1)


def _volunteer_records(which):
    """The service records matching the Q ``which`` (on ServiceRecord itself) of the volunteer of the outer row."""
    return ServiceRecord.all_objects.filter(which, volunteer_id=OuterRef("pk")).order_by().values("volunteer_id")


def with_hours(volunteers):
    """Annotate volunteers with `verified_hours` and `pending_records` (recorded, not verified yet). Each a subquery
    of the volunteer's own records, worked out for the rows read: joined and grouped, a page of a province's list
    (50 of 100,000 volunteers) made PostgreSQL add up all 2,000,000 records first (7 s; now some 100 ms)."""
    verified = _volunteer_records(verified_q("")).annotate(total=Sum("hours")).values("total")
    pending = _volunteer_records(pending_q("")).annotate(n=Count("*")).values("n")
    return volunteers.annotate(
        verified_hours=Coalesce(Subquery(verified, output_field=HOURS), Value(ZERO), output_field=HOURS),
        pending_records=Coalesce(Subquery(pending, output_field=IntegerField()), Value(0)),
    )


def with_team_hours(teams):
    """Annotate teams with `verified_hours`: the verified hours of their members."""
    prefix = "members__service_records__"
    return teams.annotate(
        verified_hours=Coalesce(Sum(f"{prefix}hours", filter=verified_q(prefix)), Value(ZERO), output_field=HOURS)
    )


def volunteer_totals(volunteer):
    """The volunteer's verified hours (all time), the number of records verified and waiting for
    verification, and the date of the last verified service. One query."""
    return Volunteer.objects.filter(pk=volunteer.pk).aggregate(
        verified_hours=Coalesce(Sum("service_records__hours", filter=verified_q()), Value(ZERO), output_field=HOURS),
        verified_records=Count("service_records", filter=verified_q()),
        pending_records=Count("service_records", filter=pending_q()),
        last_verified_on=Max("service_records__activity__date", filter=verified_q()),
    )
