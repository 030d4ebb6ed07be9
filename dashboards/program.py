"""The program dashboard's reads (项目看板): a year of one program against the year before, month by month and
pairing by pairing, for those who administer it. The page is dashboards/views.py's ProgramDashboardView.

Everything is read from the rollup (figures/rollups.py), never from the activities, in two queries whatever the
number of pairings (five with the session, the user and the user's scope): the program — through
``Program.objects.editable_by``, so for anyone else it is not there (404) — with its months, its metrics' totals
per year, its pairings with activities per year and its dormant pairings, five named reads sent together
(program_figures); then one page of pairings, sorted and cut in the database, each with its year, last activity
and key metrics (pairing_rows). Every figure links to the activities it was counted from
(figures.selectors.activity_list_url), built from the ids already read: the links cost no query.
"""

from __future__ import annotations

import calendar
import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.paginator import Paginator
from django.db.models import (
    BooleanField, Case, Count, DateField, DecimalField, Exists, F, FilteredRelation, OuterRef, Q, Subquery, Sum, Value,
    When,
)
from django.db.models.functions import Coalesce, ExtractYear
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pairings.models import Metric, Pairing, Program
from figures.selectors import activity_list_url, metric_label, year_bounds
from pairings.selectors import WARNING_DAYS, dormant_q
from reports import charts
from figures.models import PairingMonthMetric, PairingYear, ProgramMonth
from portal.db import named_rows

KEY_METRICS = 3  # metric columns of the pairing table: the program's first metrics in catalog order
PER_PAGE = 25  # a phone screenful or two; the sort puts what needs attention first
ZERO = Decimal("0")
SORTS = {
    "attention": gettext_lazy("Needs attention first"),
    "activities": gettext_lazy("Most activities"),
    "people": gettext_lazy("Most people served"),
    "hours": gettext_lazy("Most verified hours"),
    "last": gettext_lazy("Most recent activity"),
    "name": gettext_lazy("Name"),
}


def _exact(value, places="0.01"):
    """A decimal sum as an exact Decimal (SQLite adds decimals as floats)."""
    return Decimal(str(value or 0)).quantize(Decimal(places))


def _shown(value):
    """An _exact Decimal as {{ value|floatformat:"-N" }} shows it (N its places): without decimals when it is a
    whole number, else with all of them; no grouping, and "." in both languages. The table has a hundred such
    cells, and the filter (≈ 25 µs each: rounding contexts, localisation) cost the page more than its query."""
    if value == value.to_integral_value():
        return f"{value:.0f}"
    return f"{value:f}"


@dataclass
class Change:
    """A figure of the year beside the year before."""

    value: Decimal | int
    previous: Decimal | int
    url: str = ""  # the activities each was counted from
    previous_url: str = ""

    @property
    def percent(self):
        if not self.previous:
            return None
        return round((self.value - self.previous) * 100 / self.previous)


@dataclass
class Row:
    """One pairing's line in the table."""

    pk: int
    supporter: str
    supported: str
    activities: int
    confirmed: int
    people: int
    hours: Decimal
    last_activity_on: datetime.date | None
    dormant: bool
    state: str = Pairing.State.ACTIVE  # Pairing.state_of: 有效, 期满, 续签中, 已暂停, 已结束
    url: str = ""  # the links: filled in for the rows of the page shown
    last_url: str = ""
    metrics: list = field(default_factory=list)  # [(value or None, url)] per key metric

    # As the table shows them (see _shown): what floatformat and date:"Y-m" would give.
    @property
    def hours_text(self):
        return _shown(self.hours)

    @property
    def metric_cells(self):
        """[(the value's text or None, url)] per key metric."""
        return [(None if value is None else _shown(value), url) for value, url in self.metrics]

    @property
    def state_label(self):
        return Pairing.State(self.state).label

    @property
    def last_month(self):
        on = self.last_activity_on
        return f"{on.year:04d}-{on.month:02d}" if on else ""


def default_year(months, today):
    """The latest year with activity, not after this one (this year when there is none)."""
    years = sorted({m.month.year for m in months if m.month.year <= today.year})
    return years[-1] if years else today.year


# --------------------------------------------------------------------------------------------------------
# The first query: the program (if the user administers it) and its program-level figures
# --------------------------------------------------------------------------------------------------------

NUMBER = DecimalField(max_digits=22, decimal_places=2)


@dataclass
class ProgramFigures:
    """What the first query brings: the program and its figures for every year (a year is chosen after)."""

    program: object = None  # (pk, name), or None when the user does not administer it
    months: list = field(default_factory=list)  # MonthFigures, oldest first
    metrics: dict = field(default_factory=dict)  # metric pk -> MetricFigures
    active: dict = field(default_factory=dict)  # year -> pairings with activities
    pairings: int = 0
    dormant: int = 0


@dataclass
class MonthFigures:
    month: datetime.date
    pairings: int
    activities: int
    confirmed: int
    residents_served: int
    verified_hours: Decimal


@dataclass
class MetricFigures:
    pk: int
    name: str
    unit: str
    aggregation: str
    order: int
    totals: dict = field(default_factory=dict)  # year -> total

    @property
    def label(self):
        """Its name, marked as a metric where it reads like a card's label (figures.selectors.metric_label)."""
        return metric_label(self.name)


def program_figures(user, program_id, today):
    """The program, if `user` administers it (Program.objects.editable_by), with its months, its metrics'
    totals per year, its pairings with activities per year, how many pairings it has and how many are dormant.

    Five small reads, sent as one statement (UNION ALL of named_rows) so that the page keeps to five queries
    with the session, the user, the user's scope and the page of pairings (the benchmark's limit)."""
    since = today - datetime.timedelta(days=WARNING_DAYS)
    running = Q(status=Pairing.Status.ACTIVE, term_start__lte=since) & (Q(term_end__isnull=True) | Q(term_end__gte=today))
    recent = PairingYear.objects.filter(pairing=OuterRef("pk"), last_activity_on__gt=since)
    in_program = FilteredRelation("program_month_rollups", condition=Q(program_month_rollups__program_id=program_id))

    program = named_rows("program", Program.objects.editable_by(user).filter(pk=program_id), pk="pk", name="name")
    months = named_rows(
        "month", ProgramMonth.objects.filter(program_id=program_id),
        month="month", pairings="pairings", activities="activities", confirmed="confirmed",
        residents_served="residents_served", verified_hours="verified_hours",
    )
    metric_totals = named_rows(  # one row per metric and year with rollups; a metric without any has year None
        "metric",
        Metric.objects.filter(program_id=program_id)
        .annotate(rollup=in_program)
        .values("pk", "name", "unit", "aggregation", "order")
        .annotate(year=ExtractYear("rollup__month"), total=Sum("rollup__total")),
        pk="pk", name="name", unit="unit", aggregation="aggregation", order="order", year="year", total="total",
    )
    active_per_year = named_rows(
        "active", PairingYear.objects.filter(pairing__program_id=program_id).values("year").annotate(n=Count("pk")),
        year="year", pairings="n",
    )
    pairing_counts = named_rows(
        "pairings",
        Pairing.objects.filter(program_id=program_id)
        .values("program_id")
        .annotate(n=Count("pk"), d=Count("pk", filter=running & ~Exists(recent))),
        pairings="n", dormant="d",
    )

    figures = ProgramFigures()
    for part, row in program.union(months, metric_totals, active_per_year, pairing_counts, all=True):
        if part == "program":
            figures.program = (row["pk"], row["name"])
        elif part == "month":
            figures.months.append(MonthFigures(
                month=datetime.date.fromisoformat(row["month"]), pairings=row["pairings"],
                activities=row["activities"], confirmed=row["confirmed"], residents_served=row["residents_served"],
                verified_hours=_exact(row["verified_hours"], "0.1"),
            ))
        elif part == "metric":
            metric = figures.metrics.setdefault(
                row["pk"], MetricFigures(row["pk"], row["name"], row["unit"], row["aggregation"], row["order"])
            )
            if row["year"] is not None:
                metric.totals[int(row["year"])] = _exact(row["total"])
        elif part == "active":
            figures.active[row["year"]] = row["pairings"]
        elif part == "pairings":
            figures.pairings, figures.dormant = row["pairings"], row["dormant"]
    figures.months.sort(key=lambda m: m.month)
    return figures


# --------------------------------------------------------------------------------------------------------
# The second query: one page of pairings, sorted and cut in the database, with their key metrics
# --------------------------------------------------------------------------------------------------------

ORDERS = {
    "attention": ("-is_dormant", "n_activities", "supporter__name", "supported__name"),  # dormant first, least active
    "activities": ("-n_activities", "supporter__name", "supported__name"),
    "people": ("-n_people", "supporter__name", "supported__name"),
    "hours": ("-n_hours", "supporter__name", "supported__name"),
    "last": (F("last_activity_on").desc(nulls_last=True), "supporter__name", "supported__name"),
    "name": ("supporter__name", "supported__name"),
}


def pairing_rows(program_id, *, year, sort, offset, key_metrics, today):
    """The pairings of one page: their year (one PairingYear row each, joined), the last activity ever, the
    dormant flag and the key metrics, sorted and sliced in the database. One query."""
    start, end = year_bounds(year)
    this_year = FilteredRelation("year_rollups", condition=Q(year_rollups__year=year))
    metric_columns = {}
    for i, metric in enumerate(key_metrics):
        months = PairingMonthMetric.objects.filter(pairing=OuterRef("pk"), metric_id=metric.pk, month__range=(start, end))
        if metric.aggregation == Metric.Aggregation.SNAPSHOT:
            latest = months.order_by("-latest_on", "-latest_activity_id")
            metric_columns[f"m{i}"] = Subquery(latest.values("latest_value")[:1], output_field=NUMBER)
            metric_columns[f"m{i}_on"] = Subquery(latest.values("latest_on")[:1], output_field=DateField())
        else:
            total = months.order_by().values("pairing_id").annotate(s=Sum("total")).values("s")
            metric_columns[f"m{i}"] = Subquery(total, output_field=NUMBER)
            metric_columns[f"m{i}_on"] = Value(None, output_field=DateField())
    queryset = (
        Pairing.objects.filter(program_id=program_id)
        .annotate(y=this_year)
        .annotate(
            n_activities=Coalesce(F("y__activities"), 0),
            n_confirmed=Coalesce(F("y__confirmed"), 0),
            n_people=Coalesce(F("y__residents_served"), 0),
            n_hours=Coalesce(F("y__verified_hours"), Value(ZERO), output_field=NUMBER),
        )
        .annotate(is_dormant=Case(When(dormant_q(today), then=Value(True)), default=Value(False), output_field=BooleanField()))
        .annotate(**metric_columns)
        .order_by(*ORDERS.get(sort, ORDERS["attention"]), "pk")
        .values_list(
            "pk", "supporter__name", "supported__name", "n_activities", "n_confirmed", "n_people", "n_hours",
            "last_activity_on", "is_dormant", "status", "term_end", "renewing", *metric_columns,
        )
    )[offset:offset + PER_PAGE]
    rows = []
    for pk, supporter, supported, activities, confirmed, people, hours, last_on, dormant, status, term_end, renewing, *figures in queryset:
        row = Row(
            pk=pk, supporter=supporter, supported=supported, activities=activities, confirmed=confirmed, people=people,
            hours=_exact(hours, "0.1"), last_activity_on=last_on, dormant=dormant,
            state=Pairing.state_of(status, term_end, today, renewing),
            url=activity_list_url(pairing_id=pk, date_after=start, date_before=end),
        )
        if last_on:
            month_end = (last_on.replace(day=28) + datetime.timedelta(days=4)).replace(day=1) - datetime.timedelta(days=1)
            row.last_url = activity_list_url(pairing_id=pk, date_after=last_on.replace(day=1), date_before=month_end)
        for metric, value, on in zip(key_metrics, figures[::2], figures[1::2], strict=True):
            if value is None:
                row.metrics.append((None, row.url))
            else:  # the activities carrying the metric: in the year, or (a snapshot) on the day of its latest value
                url = activity_list_url(
                    pairing_id=pk, date_after=on or start, date_before=on or end, metric_id=metric.pk
                )
                row.metrics.append((_exact(value), url))
        rows.append(row)
    return rows


# --------------------------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------------------------


def dashboard(figures, *, year, sort, page, today):
    """The dashboard's context for `year` (None: the latest year with activity) from the program's figures
    and one page of its pairings (one query)."""
    if year is None:
        year = default_year(figures.months, today)
    previous = year - 1
    program_id = figures.program[0]

    def counted_in(first, last, **narrowed):
        """The link to the program's counted activities dated first..last (narrowed as activity_list_url is)."""
        return activity_list_url(program_id=program_id, date_after=first, date_before=last, **narrowed)

    def change(y_value, p_value, **narrowed):
        """A figure of the year beside the year before, each linked to the activities it was counted from."""
        return Change(
            y_value, p_value, url=counted_in(*year_bounds(year), **narrowed),
            previous_url=counted_in(*year_bounds(previous), **narrowed),
        )

    def month_url(y, n):
        first = datetime.date(y, n, 1)
        return counted_in(first, first.replace(day=calendar.monthrange(y, n)[1]))
    by_month = {m.month: m for m in figures.months}
    series = {y: [by_month.get(datetime.date(y, n, 1)) for n in range(1, 13)] for y in (previous, year)}

    def total(y, name):
        return sum((getattr(m, name) for m in series[y] if m is not None), ZERO if name == "verified_hours" else 0)

    metrics = sorted(figures.metrics.values(), key=lambda m: (m.order, m.pk))
    key_metrics = metrics[:KEY_METRICS]
    page_obj = Paginator(range(figures.pairings), PER_PAGE).get_page(page)
    rows = []
    if figures.pairings:
        rows = pairing_rows(
            figures.program[0], year=year, sort=sort, offset=page_obj.start_index() - 1, key_metrics=key_metrics,
            today=today,
        )
    month_labels = [_("%(month)d月") % {"month": n} for n in range(1, 13)]
    chart = charts.column_chart(
        month_labels,
        [
            (str(previous), [m.activities if m else 0 for m in series[previous]], charts.PINK),
            (str(year), [m.activities if m else 0 for m in series[year]], charts.RED),
        ],
        _("Activities per month, %(year)s and %(previous)s") % {"year": year, "previous": previous},
    )
    return {
        "year": year,
        "previous": previous,
        "years": sorted({m.month.year for m in figures.months} | {year, today.year}, reverse=True),
        "totals": {
            "activities": change(total(year, "activities"), total(previous, "activities")),
            "confirmed": change(total(year, "confirmed"), total(previous, "confirmed"), statuses=("confirmed",)),
            "people": change(total(year, "residents_served"), total(previous, "residents_served")),
            "hours": change(total(year, "verified_hours"), total(previous, "verified_hours"), verified_hours=True),
            # the pairings that have counted activities in the year: opens those activities
            "pairings": change(figures.active.get(year, 0), figures.active.get(previous, 0)),
        },
        "pairing_count": figures.pairings,
        "metrics": [
            (metric, change(metric.totals.get(year, ZERO), metric.totals.get(previous, ZERO), metric_id=metric.pk))
            for metric in metrics
            if metric.aggregation == Metric.Aggregation.SUM
        ],
        "key_metrics": key_metrics,
        "months": [
            {
                "label": month_labels[n - 1], "this": series[year][n - 1], "before": series[previous][n - 1],
                "this_url": month_url(year, n), "before_url": month_url(previous, n),
            }
            for n in range(1, 13)
        ],
        "chart": chart,
        "rows": rows,
        "page_obj": page_obj,
        "dormant": figures.dormant,
    }
