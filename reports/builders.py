"""Report builders: (kind, scope, period) → plain data, the one source every format is rendered from.

The data are dataclasses turned into a JSON-able dict (stored in ``Report.data``): numbers are ints or
floats rounded to two places, dates ISO strings, choices stored as their codes (the renderers translate).

Counting rules (DESIGN.md, "Counting rules that matter"):
- only submitted and confirmed, not deleted activities count; the number confirmed is given beside the total;
- an activity co-hosted by two branches credits both branches but counts once for the pairing (and program);
- a ``sum`` metric adds up over activities, a ``snapshot`` metric takes the latest value (by activity date);
  snapshot values are never added across pairings, so a program-wide report leaves them to the pairing rows;
- people taking part, added over activities, are person-times (人次), never persons (人); persons are the
  distinct volunteers with verified hours;
- only verified service hours count (recorded but unverified hours are shown apart, as pending);
- a village's statistics (人均纯收入 …) are its own records, not activities' figures: a pairing's report shows,
  for each indicator, the latest value of its supported side dated on or before the report's ``as_at`` day, with
  that date and its source (pairings.selectors.latest_statistics), never a later one;
- a plan item's progress is figures.item_progress (the plan page's rule: the counted activities linked to it,
  dated in its plan's year) as at the report's ``as_at`` day: the period's end, or the day the report is built
  if that is earlier, so a past period's report never counts the activities dated after it;
- joint meetings' decisions (action items) stand as at the report's moment (``stands_at``): a monthly reminder lists
  those still open then (overdue: open and due on or before ``overdue_by``), a quarterly report the last meeting's
  decisions on or before its as-at day and what had become of each by then (activities.selectors._item_then: a
  decision closed or reopened later does not change what the report says);
- a past period's report (its as-at day has ended: ``reads_history``) counts everything as it stood at the end of
  that day: the activities' statuses then (figures.counted_then, from their history), hours verified by then,
  the plan items' statuses then (overdue: open then and due by then), the pairings' states then.

The queries are in ``selectors``: a fixed number per report, whatever the number of rows.
"""

from __future__ import annotations

import datetime
import heapq
import itertools
from collections import defaultdict
from dataclasses import dataclass, field, fields, is_dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import connections, router
from django.utils import timezone

from activities import selectors as activity_selectors
from activities.models import ActionItem, Activity, ServiceRecord
from pairings.models import Metric, Pairing, PlanItem
from pairings.selectors import latest_statistics, warnings_of
from figures import selectors as figures
from reports import selectors
from reports.periods import TZ, Month, Quarter, Year, parse

SCHEMA_VERSION = 1
PERIOD_FOR_KIND = {"monthly": Month, "quarterly": Quarter, "annual": Year}
STALE_NEED_DAYS = 30


class BuildError(ValueError):
    pass


def period_for(kind, period):
    """The period value for a report kind, from a string or a period value; checks they match."""
    value = parse(period) if isinstance(period, str) else period
    expected = PERIOD_FOR_KIND.get(kind)
    if expected is None:
        raise BuildError(f"unknown report kind {kind!r}")
    if not isinstance(value, expected):
        raise BuildError(f"a {kind} report needs a {expected.__name__.lower()} period, not {value}")
    return value


def num(value):
    """A Decimal/int as a JSON number: an int when whole, else a float with two decimals."""
    if value is None:
        return None
    value = Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return int(value) if value == value.to_integral_value() else float(value)


def mean_days(deltas):
    if not deltas:
        return None
    seconds = sum(delta.total_seconds() for delta in deltas) / len(deltas)
    return round(seconds / 86400, 1)


def label_of(name, short_name):
    return short_name or name


class PlainList(list):
    """A list whose items are plain already (dicts of scalars and lists of scalars, made so as they were built):
    plain() copies the list without visiting its items."""


# --------------------------------------------------------------------------------------------------------
# The data
# --------------------------------------------------------------------------------------------------------


@dataclass
class PairingInfo:
    id: int | None  # None: the program-wide activities' group (no paired village: program_wide_info)
    name: str
    supporter: str
    supported: str
    status: str
    state: str = ""  # Pairing.State on the as-at day (有效, 期满, 续签中, 已暂停, 已结束); "" in reports built before it


@dataclass
class CountRow:
    key: int | str
    label: str
    total: int = 0
    confirmed: int = 0


@dataclass
class MonthRow:
    month: str
    label: str
    total: int = 0
    confirmed: int = 0


@dataclass
class Participants:
    """Added up over activities, so these are person-times (人次)."""

    party_members: int = 0
    teachers: int = 0
    students: int = 0
    residents_served: int = 0


@dataclass
class ActivityItem:
    """The shape of an activity listed in a report. Listed as a plain dict of these fields, in this order
    (activity_item): a program's report lists every activity of its month, and a dataclass made for each only
    for plain() to take it apart again cost more than the rest of the activity section."""

    id: int
    date: str
    title: str
    pairing_id: int | None  # None: a program-wide activity (no paired village)
    pairing: str
    branch: str
    co_branches: list[str]
    type: str
    status: str
    place: str
    residents_served: int


@dataclass
class ActivitySection:
    total: int = 0
    confirmed: int = 0
    submitted: int = 0
    by_type: list[CountRow] = field(default_factory=list)
    by_branch: list[CountRow] = field(default_factory=list)
    by_month: list[MonthRow] = field(default_factory=list)  # January to the period's last month
    participants: Participants = field(default_factory=Participants)
    items: list[dict] = field(default_factory=PlainList)  # ActivityItem's fields (activity_item)


@dataclass
class MetricRow:
    id: int
    code: str
    name: str
    unit: str
    aggregation: str
    period_value: int | float | None
    ytd_value: int | float | None
    target: int | float | None
    progress: float | None  # percent of the target reached by the year-to-date value
    # a snapshot metric: the day of the latest value in the period and in the year to date (what its links open)
    period_on: str | None = None
    ytd_on: str | None = None


@dataclass
class PlanItemRow:
    id: int
    pairing_id: int
    pairing: str
    year: int
    title: str
    category: str
    owner: str
    counterpart: str
    due_date: str | None
    status: str
    progress: int  # as at the report's as_at day (figures.item_progress), or as set by hand without targets


@dataclass
class PlanSection:
    next_month: str
    due_next_month: list[PlanItemRow] = field(default_factory=list)
    overdue: list[PlanItemRow] = field(default_factory=list)
    items: list[PlanItemRow] = field(default_factory=list)  # the year's plan (quarterly and annual reports)
    status_counts: dict[str, int] = field(default_factory=dict)
    total: int = 0
    done: int = 0


@dataclass
class NeedItem:
    id: int
    pairing: str
    title: str
    category: str
    raised_on: str
    days_open: int


@dataclass
class NeedSection:
    opened: int = 0
    claimed: int = 0
    fulfilled: int = 0
    rated: int = 0
    open_over_30: int = 0
    avg_claim_days: float | None = None
    avg_response_days: float | None = None
    avg_rating: float | None = None
    stale: list[NeedItem] = field(default_factory=list)


@dataclass
class HoursRow:
    branch_id: int
    branch: str
    verified_hours: int | float = 0
    records: int = 0
    pending_hours: int | float = 0


@dataclass
class VolunteerSection:
    verified_hours: int | float = 0
    pending_hours: int | float = 0  # recorded, not yet verified: shown apart, never counted
    records: int = 0  # verified service records (人次)
    volunteers: int = 0  # distinct volunteers with verified hours (人)
    by_branch: list[HoursRow] = field(default_factory=list)


@dataclass
class SilentBranch:
    branch_id: int
    branch: str
    pairing_id: int
    pairing: str


@dataclass
class Completeness:
    branches: int = 0  # participating branches (per pairing)
    silent: list[SilentBranch] = field(default_factory=list)


@dataclass
class Photo:
    id: int
    caption: str


@dataclass
class Highlight:
    activity_id: int
    pairing: str
    title: str
    date: str
    branch: str
    type: str
    status: str
    residents_served: int
    summary: str
    photos: list[Photo]


@dataclass
class StatisticRow:
    """A village statistic as at the report's day: the latest value dated on or before it."""

    indicator: str
    unit: str
    value: int | float
    as_at: str
    source: str


@dataclass
class ActionItemRow:
    """A decision of a joint meeting as it stood at the report's moment."""

    id: int
    meeting_id: int
    meeting_date: str
    meeting_title: str
    pairing_id: int | None  # None: a meeting of the whole program
    pairing: str
    text: str
    owner: str
    owner_person: str
    due_date: str
    status: str  # then: open, done, dropped
    overdue: bool  # open then, and due on or before the report's overdue_by day
    closed_on: str | None
    activity_id: int | None  # the activity that showed it done, then
    activity: str
    note: str


@dataclass
class MeetingInfo:
    id: int
    date: str
    title: str
    place: str
    pairing_id: int | None
    pairing: str


@dataclass
class MeetingSection:
    open_items: list[ActionItemRow] = field(default_factory=list)  # open then, by due date (so overdue first)
    overdue: int = 0
    last_meeting: MeetingInfo | None = None  # the latest meeting on or before the as-at day (of the whole program,
    # in a program's report)
    decisions: list[ActionItemRow] = field(default_factory=list)  # its decisions, as they stood


@dataclass
class PairingRow:
    pairing: PairingInfo
    activities: int
    confirmed: int
    verified_hours: int | float
    volunteers: int
    needs_opened: int
    needs_fulfilled: int
    plan_done: int
    plan_total: int
    silent_branches: int
    metrics: dict[str, int | float | None]
    metric_dates: dict[str, str | None] = field(default_factory=dict)  # a snapshot metric's latest value's day


@dataclass
class PairingDetail:
    pairing: PairingInfo
    activities: ActivitySection
    metrics: list[MetricRow]
    volunteers: VolunteerSection


@dataclass
class AlertRow:
    """A pairing's alert in the monthly reminder: dormant (no counted activity for 60 days; ``days`` since the
    last one, None: never) or its agreement ending within 60 days (``days`` until its term ends)."""

    pairing_id: int
    pairing: str
    code: str  # "dormant" or "ending"
    days: int | None
    day: str | None  # the last activity's date, or the term's end


@dataclass
class ReportData:
    schema: int
    kind: str
    period: str
    period_kind: str
    scope: str  # "program" or "pairing"
    program: dict
    pairing: PairingInfo | None
    start: str
    end: str
    ytd_start: str
    built_at: str
    as_at: str  # the figures stand as at this day: the period's end, or the build day if earlier
    pairings: list[PairingInfo]
    activities: ActivitySection
    metrics: list[MetricRow]
    plan: PlanSection
    needs: NeedSection
    volunteers: VolunteerSection
    completeness: Completeness
    highlights: list[Highlight] = field(default_factory=list)
    pairing_rows: list[PairingRow] = field(default_factory=list)
    totals: dict = field(default_factory=dict)
    details: list[PairingDetail] = field(default_factory=list)  # a program's annual report: the program-wide
    # activities' detail last, when there are any (its pairing: program_wide_info())
    # a program's report: the figures of its program-wide activities (no paired village), a row beside the
    # pairings' (its pairing: program_wide_info()); they count in the program's totals and in no pairing's. None when the
    # period has none (and in a pairing's report, or one built before they were counted)
    program_wide: PairingRow | None = None
    # what the figures' links need besides the rows' own ids (branch, type, metric, pairing): the scope's ids,
    # and the as-at day when the statuses are those of then (a past period's report); a report built before
    # links were stored has none, and shows its figures without links
    links: dict = field(default_factory=dict)
    # a pairing's report: its supported side's statistics as at ``as_at`` (None in a program's report)
    village_statistics: list[StatisticRow] | None = None
    # the monthly reminder: its pairings' alerts as at ``as_at`` (None in other kinds, or built before them)
    alerts: list[AlertRow] | None = None
    # monthly and quarterly reports: the joint meetings' decisions as they stood (None in an annual report, or one
    # built before meetings were recorded)
    meetings: MeetingSection | None = None

    def to_dict(self, *, release=False):
        """plain(self). ``release=True`` (a ReportData read no more afterwards: build_report_data's) lets each field
        go once it is converted, and a list's items one by one, so that the report is not held as dataclasses and as
        dicts at once (slsz's annual summary: some 3 MB of the one beside 4 MB of the other). Either way the same
        dict."""
        once = {}
        if not release:
            return plain(self, once)
        out = {}
        for name in [f.name for f in fields(self)]:
            value = getattr(self, name)
            setattr(self, name, None)
            if type(value) is list:
                items = out[name] = []
                for i, item in enumerate(value):
                    items.append(item if type(item) in _SCALARS else plain(item, once))
                    value[i] = None
            else:
                out[name] = value if type(value) in _SCALARS else plain(value, once)
        return out


_FIELDS = {}
_SCALARS = frozenset({str, int, float, bool, type(None)})


def plain(value, once=None):
    """``dataclasses.asdict`` without its deep copies (a program's report has tens of thousands of values):
    dataclasses become dicts, lists and dicts are rebuilt, every other value (str, int, float, None) is
    immutable and kept as it is. Scalars are told apart before any call (they are most of the values: a call
    for each cost a third of the walk). A row listed more than once (_LISTED_ONCE) becomes one dict, kept in
    ``once`` ({id: (the row, its dict)}, one per to_dict: the row held there, its id names no other object
    meanwhile)."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is PlainList:
        return list(value)
    if once is None:
        once = {}
    names = _FIELDS.get(kind)
    if names is None and is_dataclass(kind):
        names = _FIELDS[kind] = tuple(f.name for f in fields(kind))
    if names is not None:
        if kind in _LISTED_ONCE:
            made = once.get(id(value))
            if made is not None:
                return made[1]
        attributes = value.__dict__  # a dataclass's fields are its instance's attributes
        out = {}
        for name in names:
            item = attributes[name]
            out[name] = item if type(item) in _SCALARS else plain(item, once)
        if kind in _LISTED_ONCE:
            once[id(value)] = (value, out)
        return out
    if kind is list or kind is tuple:
        return kind([item if type(item) in _SCALARS else plain(item, once) for item in value])
    if kind is dict:
        return {key: item if type(item) in _SCALARS else plain(item, once) for key, item in value.items()}
    return value


# the rows a report lists in more than one place (plan_section: an overdue item is in the year's plan too)
_LISTED_ONCE = frozenset({PlanItemRow})


# --------------------------------------------------------------------------------------------------------
# Sections, computed from the fetched rows (no queries below this line)
# --------------------------------------------------------------------------------------------------------


def pairing_info(pairing, as_at):
    """The pairing as the report names it, with its state on the as-at day: its term then, its flags as they
    stood then (status_then, renewing_then when read so)."""
    status = getattr(pairing, "status_then", pairing.status)
    renewing = getattr(pairing, "renewing_then", pairing.renewing)
    return PairingInfo(
        id=pairing.id,
        name=str(pairing),
        supporter=pairing.supporter.name,
        supported=pairing.supported.name,
        status=status,
        state=Pairing.state_of(status, pairing.term_end, as_at, renewing).value,
    )


def ytd_months(period):
    """January of the period's year up to the period's last month."""
    return Year(period.start.year).months()[: period.end.month]


# each of Fetched's row lists, and its rows' pairing (split, runs)
_SPLIT_KEYS = {
    "branches": "pairing_id",
    "type_counts": "pairing_id",
    "host_counts": "pairing_id",
    "co_counts": "activity__pairing_id",
    "participants": "pairing_id",
    "month_counts": "pairing_id",
    "hours": "activity__pairing_id",
    "needs": "pairing_id",
    "plan": "plan__pairing_id",
    "metric_sums": "activity__pairing_id",
    "snapshots": "activity__pairing_id",
    "targets": "item__plan__pairing_id",
}


@dataclass
class Fetched:
    """The aggregated rows of one report's queries; ``split()`` narrows them to each pairing."""

    branches: list
    type_counts: list
    host_counts: list
    co_counts: list
    participants: list
    month_counts: list
    items: list | None
    co_items: dict
    hours: list
    needs: list
    plan: list
    metric_sums: list
    snapshots: list
    targets: list
    volunteers: tuple = ({}, 0)  # distinct volunteers with verified hours: (per pairing, overall)
    # ``items`` as a report lists them (activity_item), when made already: a program's report makes them once for
    # itself and its pairings' own reports, which list the same dicts (split() hands each pairing its own)
    listed: list | None = None
    # each pairing's counts per status, when ``type_counts`` and ``month_counts`` are the program's (a summary without
    # a part per pairing: selectors.summary_counts(by_pairing=False)); its pairings are then split from these alone
    pairing_type_counts: list | None = None

    def split(self):
        """{pairing id: Fetched narrowed to that pairing}, in one pass over the rows (a program of many
        pairings would otherwise scan every row list once per pairing)."""
        parts = defaultdict(lambda: defaultdict(list))
        for name, (rows, key) in self._row_lists().items():
            for row in rows:
                parts[row[key]][name].append(row)
        return defaultdict(lambda: self.part({}), {pid: self.part(rows) for pid, rows in parts.items()})

    def runs(self):
        """(pairing id, Fetched narrowed to that pairing), one pairing at a time, by pairing id (the program-wide rows,
        pairing None, last): what split() gives for the pairings with rows, without every pairing's part held at once.
        Each row list is copied (its rows' references) sorted by pairing, last first (a stable sort: a pairing's rows
        keep their order), and each pairing's rows are cut from the copy's end, so that only the pairing at hand is
        held besides the lists themselves, which are left as they were."""
        def order(row, key):
            return (row[key] is None, row[key] or 0)

        lists = {
            name: (sorted(rows, key=lambda row, key=key: order(row, key), reverse=True), key)
            for name, (rows, key) in self._row_lists().items()
        }
        while True:
            last = [order(rows[-1], key) for rows, key in lists.values() if rows]
            if not last:
                return
            none, pid = min(last)
            pid = None if none else pid
            narrowed = {}
            for name, (rows, key) in lists.items():
                start = len(rows)
                while start and rows[start - 1][key] == pid:
                    start -= 1
                narrowed[name] = rows[start:]
                del rows[start:]
            yield pid, self.part(narrowed)

    def part(self, rows):
        """A pairing's Fetched from its rows ({list name: rows}; a name left out: none), as split() and runs() give
        it: the items and listed items only if this report has them."""
        return Fetched(
            **{name: rows.get(name, []) for name in _SPLIT_KEYS},
            items=rows.get("items", []) if self.items is not None else None,
            co_items=self.co_items,
            listed=rows.get("listed", []) if self.listed is not None else None,
        )

    def _row_lists(self):
        """{list name: (its rows, their pairing's key)} of the lists a pairing's part narrows: _SPLIT_KEYS' (with
        ``pairing_type_counts``, those stand for the types and no months: a summary without a part per pairing),
        and the items and listed items when the report has them."""
        lists = {}
        for name, key in dict(_SPLIT_KEYS, items="pairing_id", listed="pairing_id").items():
            if self.pairing_type_counts is not None and name in ("type_counts", "month_counts"):
                rows = self.pairing_type_counts if name == "type_counts" else []
            else:
                rows = getattr(self, name)
            if rows is not None:
                lists[name] = (rows, key)
        return lists


def activity_section(f, period, pairing_names, with_items):
    section = ActivitySection()
    confirmed_status = Activity.Status.CONFIRMED
    by_type = {}
    for row in f.type_counts:
        type_row = by_type.setdefault(row["activity_type_id"], CountRow(row["activity_type_id"], row["activity_type__name"]))
        type_row.total += row["n"]
        section.total += row["n"]
        if row["status"] == confirmed_status:
            type_row.confirmed += row["n"]
            section.confirmed += row["n"]
    section.submitted = section.total - section.confirmed
    order = {row["activity_type_id"]: (row["activity_type__order"], row["activity_type__name"]) for row in f.type_counts}
    section.by_type = sorted(by_type.values(), key=lambda r: order[r.key])

    # The host and every co-host are credited once each; the activity itself counts once (above).
    by_branch = {}
    for b in f.branches:
        by_branch.setdefault(b["branch_id"], CountRow(b["branch_id"], label_of(b["branch__name"], b["branch__short_name"])))
    # read as they are: a program's year has thousands of them (slsz: 7,400), not copied into one list
    credits = itertools.chain(
        ((r["branch_id"], r["branch__name"], r["branch__short_name"], r["status"], r["n"]) for r in f.host_counts),
        (
            (r["organization_id"], r["organization__name"], r["organization__short_name"], r["activity__status"], r["n"])
            for r in f.co_counts
        ),
    )
    for branch_id, name, short_name, status, n in credits:
        branch_row = by_branch.setdefault(branch_id, CountRow(branch_id, label_of(name, short_name)))
        branch_row.total += n
        if status == confirmed_status:
            branch_row.confirmed += n
    section.by_branch = sorted(by_branch.values(), key=lambda r: (-r.total, r.label))

    months = {m.month: MonthRow(month=m.key, label=m.short_label) for m in ytd_months(period)}
    for row in f.month_counts:
        month = months.get(row["date__month"])
        if month is not None:
            month.total += row["n"]
            if row["status"] == confirmed_status:
                month.confirmed += row["n"]
    section.by_month = list(months.values())

    for row in f.participants:
        section.participants.party_members += row["party_members"] or 0
        section.participants.teachers += row["teachers"] or 0
        section.participants.students += row["students"] or 0
        section.participants.residents_served += row["residents_served"] or 0

    if with_items and f.listed is not None:
        section.items.extend(f.listed)
    elif with_items and f.items is not None:
        section.items.extend(activity_item(row, pairing_names, f.co_items) for row in f.items)
    return section


def activity_item(row, pairing_names, co_items):
    """An activity's row as a report lists it: ActivityItem's fields, in order, as a plain dict."""
    return {
        "id": row["id"],
        "date": row["date"].isoformat(),
        "title": row["title"],
        "pairing_id": row["pairing_id"],
        "pairing": pairing_names.get(row["pairing_id"], ""),
        "branch": label_of(row["branch__name"], row["branch__short_name"]),
        "co_branches": [
            label_of(co["organization__name"], co["organization__short_name"]) for co in co_items.get(row["id"], ())
        ],
        "type": row["activity_type__name"],
        "status": row["status"],
        "place": row["place"],
        "residents_served": row["residents_served"],
    }


def snapshot_metric_ids(metrics):
    """The ids of the metrics (selectors.program_metrics) that take their latest value (fetch's snapshot_metrics)."""
    return {metric["id"] for metric in metrics if metric["aggregation"] == Metric.Aggregation.SNAPSHOT}


def metric_section(metrics, f, period, single_pairing):
    sums = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for row in f.metric_sums:
        sums[row["metric_id"]][0] += row["period"] or 0
        sums[row["metric_id"]][1] += row["ytd"] or 0
    snapshots = defaultdict(list)
    for row in f.snapshots:
        snapshots[row["metric_id"]].append(row)
    targets = defaultdict(list)
    for row in f.targets:
        targets[row["metric_id"]].append(row["value"])
    result = []
    for metric in metrics:
        period_on = ytd_on = None
        metric_targets = targets.get(metric["id"], [])
        if metric["aggregation"] == Metric.Aggregation.SUM:
            period_value, ytd_value = sums[metric["id"]] if metric["id"] in sums else (Decimal(0), Decimal(0))
            target = sum(metric_targets, Decimal(0)) if metric_targets else None
        elif single_pairing:
            values = snapshots.get(metric["id"], [])
            in_period = [v for v in values if v["activity__date"] >= period.start]
            period_value = in_period[-1]["value"] if in_period else None
            ytd_value = values[-1]["value"] if values else None
            period_on = in_period[-1]["activity__date"].isoformat() if in_period else None
            ytd_on = values[-1]["activity__date"].isoformat() if values else None
            target = max(metric_targets) if metric_targets else None
        else:
            period_value = ytd_value = target = None  # never added across pairings
        progress = None
        if target and ytd_value is not None:
            progress = round(float(Decimal(ytd_value) * 100 / Decimal(target)), 1)
        result.append(
            MetricRow(
                id=metric["id"],
                code=metric["code"],
                name=metric["name"],
                unit=metric["unit"],
                aggregation=metric["aggregation"],
                period_value=num(period_value),
                ytd_value=num(ytd_value),
                target=num(target),
                progress=progress,
                period_on=period_on,
                ytd_on=ytd_on,
            )
        )
    return result


def plan_item_row(row, pairing_names):
    return PlanItemRow(
        id=row["id"],
        pairing_id=row["plan__pairing_id"],
        pairing=pairing_names.get(row["plan__pairing_id"], ""),
        year=row["plan__year"],
        title=row["title"],
        category=row["category"],
        owner=label_of(row["owner_branch__name"] or "", row["owner_branch__short_name"] or ""),
        counterpart=row["village_counterpart"],
        due_date=row["due_date"].isoformat() if row["due_date"] else None,
        status=row["status"],
        progress=row["progress"],
    )


def plan_section(rows, period, pairing_names, with_items, due_by):
    """Items due next month, items overdue (open, and due on or before ``due_by``: overdue_by) and the year's
    plan with its status counts; the statuses are those the rows carry (as at the day for a past period's
    report)."""
    next_month = Month(period.end.year, period.end.month).next()
    section = PlanSection(next_month=next_month.key)
    counts = {status: 0 for status in PlanItem.Status.values}
    for row in rows:
        is_open = row["status"] in selectors.OPEN_ITEM
        due = row["due_date"]
        # an item listed more than once (overdue, and in the year's plan) is one PlanItemRow, and one dict (plain)
        item = None
        if is_open and due is not None and next_month.start <= due <= next_month.end:
            item = plan_item_row(row, pairing_names)
            section.due_next_month.append(item)
        if is_open and due is not None and due <= due_by:
            item = item or plan_item_row(row, pairing_names)
            section.overdue.append(item)
        if row["plan__year"] == period.year:
            counts[row["status"]] += 1
            section.total += 1
            section.done += row["status"] == PlanItem.Status.DONE
            if with_items:
                section.items.append(item or plan_item_row(row, pairing_names))
    section.status_counts = counts
    return section


def need_section(rows, period, pairing_names, stands_at):
    """What happened to needs in the period (raised, claimed, fulfilled, rated; the mean claim and response
    times) and the needs open for over 30 days at ``stands_at`` (stands_at): raised 30 days before it, neither
    claimed nor fulfilled nor closed by then."""
    start_at, end_at = period.start_at, period.end_at
    stale_before = stands_at - datetime.timedelta(days=STALE_NEED_DAYS)
    section = NeedSection()
    claim_times, response_times, ratings = [], [], []

    def within(moment):
        return moment is not None and start_at <= moment < end_at

    for row in rows:
        section.opened += within(row["raised_at"])
        if within(row["claimed_at"]):
            section.claimed += 1
            claim_times.append(row["claimed_at"] - row["raised_at"])
        if within(row["fulfilled_at"]):
            section.fulfilled += 1
            response_times.append(row["fulfilled_at"] - row["raised_at"])
        if within(row["rated_at"]) and row["rating"]:
            section.rated += 1
            ratings.append(row["rating"])
        unanswered = (row["claimed_at"] is None or row["claimed_at"] >= stands_at) and (
            row["fulfilled_at"] is None or row["fulfilled_at"] >= stands_at
        )
        closed = row["status"] == "closed" and (row["rated_at"] is None or row["rated_at"] < stands_at)
        if row["raised_at"] < stale_before and unanswered and not closed:
            section.open_over_30 += 1
            section.stale.append(
                NeedItem(
                    id=row["id"],
                    pairing=pairing_names.get(row["pairing_id"], ""),
                    title=row["title"],
                    category=row["category"],
                    raised_on=timezone.localtime(row["raised_at"], period.start_at.tzinfo).date().isoformat(),
                    days_open=(stands_at - row["raised_at"]).days,
                )
            )
    section.avg_claim_days = mean_days(claim_times)
    section.avg_response_days = mean_days(response_times)
    section.avg_rating = round(sum(ratings) / len(ratings), 2) if ratings else None
    return section


def volunteer_section(rows, volunteers, branches):
    section = VolunteerSection(volunteers=volunteers)
    by_branch = {}
    for branch in branches:
        by_branch.setdefault(branch["branch_id"], HoursRow(branch["branch_id"], label_of(branch["branch__name"], branch["branch__short_name"])))
    verified, pending = Decimal(0), Decimal(0)
    # each branch's hours are added up on its row, exact (Decimal), and rounded once all are in (a program's 2,444
    # branches: no table of sums beside the rows)
    for row in rows:
        hours_row = by_branch.get(row["activity__branch_id"])
        if hours_row is None:
            hours_row = by_branch[row["activity__branch_id"]] = HoursRow(
                row["activity__branch_id"], label_of(row["activity__branch__name"], row["activity__branch__short_name"])
            )
        if row["status"] == ServiceRecord.Status.VERIFIED:
            verified += row["hours"]
            section.records += row["records"]
            hours_row.verified_hours += row["hours"]
            hours_row.records += row["records"]
        else:
            pending += row["hours"]
            hours_row.pending_hours += row["hours"]
    for hours_row in by_branch.values():
        hours_row.verified_hours, hours_row.pending_hours = num(hours_row.verified_hours), num(hours_row.pending_hours)
    section.verified_hours, section.pending_hours = num(verified), num(pending)
    # the hours are rounded numbers (num): compared as they are, in the order of their decimals
    section.by_branch = sorted(by_branch.values(), key=lambda r: (-r.verified_hours, r.branch))
    return section


def completeness_section(f, pairing_names):
    """Participating branches (per pairing) that no counted activity of the period credits."""
    credited = {(row["pairing_id"], row["branch_id"]) for row in f.host_counts}
    credited |= {(row["activity__pairing_id"], row["organization_id"]) for row in f.co_counts}
    silent = [
        SilentBranch(
            branch_id=b["branch_id"],
            branch=label_of(b["branch__name"], b["branch__short_name"]),
            pairing_id=b["pairing_id"],
            pairing=pairing_names.get(b["pairing_id"], ""),
        )
        for b in f.branches
        if (b["pairing_id"], b["branch_id"]) not in credited
    ]
    return Completeness(branches=len(f.branches), silent=silent)


def statistic_section(statistics):
    """The StatisticRows of one village's latest statistics (pairings.selectors.latest_statistics)."""
    return [
        StatisticRow(
            indicator=row.indicator.name, unit=row.indicator.unit, value=num(row.value), as_at=row.as_at.isoformat(),
            source=row.source,
        )
        for row in statistics
    ]


def highlight_section(rows, photos, pairing_names):
    by_activity = defaultdict(list)
    for photo in photos:
        by_activity[photo["activity_id"]].append(Photo(id=photo["id"], caption=photo["caption"]))
    result = []
    for row in rows:
        summary = " ".join((row["description"] or "").split())
        result.append(
            Highlight(
                activity_id=row["id"],
                pairing=pairing_names.get(row["pairing_id"], ""),
                title=row["title"],
                date=row["date"].isoformat(),
                branch=label_of(row["branch__name"], row["branch__short_name"]),
                type=row["activity_type__name"],
                status=row["status"],
                residents_served=row["residents_served"],
                summary=summary[:140] + ("…" if len(summary) > 140 else ""),
                photos=by_activity.get(row["id"], []),
            )
        )
    return result


def action_item_row(row, pairing_names, due_by):
    status = row["status_then"]
    closed = row["closed_at_then"]
    return ActionItemRow(
        id=row["id"],
        meeting_id=row["meeting_id"],
        meeting_date=row["meeting__date"].isoformat(),
        meeting_title=row["meeting__title"],
        pairing_id=row["meeting__pairing_id"],
        pairing=pairing_names.get(row["meeting__pairing_id"], "") if row["meeting__pairing_id"] else "",
        text=row["text"],
        owner=label_of(row["owner_org__name"], row["owner_org__short_name"]),
        owner_person=row["owner_user__full_name"] or row["owner_user__username"] or "",
        due_date=row["due_date"].isoformat(),
        status=status,
        overdue=status == ActionItem.Status.OPEN and row["due_date"] <= due_by,
        closed_on=timezone.localtime(closed, TZ).date().isoformat() if closed and status != ActionItem.Status.OPEN else None,
        activity_id=row["activity_then"] if status == ActionItem.Status.DONE else None,
        activity=(
            f"{row['activity_date'].isoformat()} {row['activity_title']}"
            if status == ActionItem.Status.DONE and row["activity_title"] else ""
        ),
        note=row["note_then"] if status != ActionItem.Status.OPEN else "",
    )


def meeting_section(rows, last, pairing_names, due_by):
    """The decisions a report shows: those open at its moment (in the rows' order, by due date: the overdue ones
    first), and the last meeting's, as they stood."""
    section = MeetingSection()
    if last is not None:
        section.last_meeting = MeetingInfo(
            id=last["id"], date=last["date"].isoformat(), title=last["title"], place=last["place"],
            pairing_id=last["pairing_id"], pairing=pairing_names.get(last["pairing_id"], "") if last["pairing_id"] else "",
        )
    for row in rows:
        item = action_item_row(row, pairing_names, due_by)
        if item.status == ActionItem.Status.OPEN:
            section.open_items.append(item)
            section.overdue += item.overdue
        if last is not None and item.meeting_id == last["id"]:
            section.decisions.append(item)
    return section


def meeting_rows(kind, period, now, ids, program_id=None):
    """(the last meetings, the decisions' rows) a monthly or quarterly report reads (activities.selectors): two
    queries, for one pairing or a batch of them (``program_id``: a program's report, with its program-wide
    meetings; its last meeting is the last program-wide one). None for an annual report."""
    if kind not in ("monthly", "quarterly"):
        return None
    day = as_at_day(period, now)
    last = activity_selectors.last_meetings([] if program_id is not None else ids, day=day, program_id=program_id)
    rows = activity_selectors.report_action_items(
        ids, day=day, moment=stands_at(period, now), program_id=program_id, meeting_ids=[row["id"] for row in last]
    )
    return last, rows


# --------------------------------------------------------------------------------------------------------
# The builder
# --------------------------------------------------------------------------------------------------------


def as_at_day(period, now):
    """The day a report's figures stand at: the period's end, or the day it is built (in Asia/Shanghai) if
    that is earlier."""
    return min(period.end, timezone.localtime(now, TZ).date())


def stands_at(period, now):
    """The moment a report's figures stand at: the period's end, or the build if earlier (the end of as_at_day,
    or now)."""
    return min(period.end_at, now)


def overdue_by(period, now):
    """The last due date of a plan item overdue in a report built at ``now`` (if still open): a past period's
    report, on or before its as-at day (it has ended); the running period's, before the build day (an item due
    today is not overdue yet, as on the plan page and the pairing page)."""
    as_at = as_at_day(period, now)
    return as_at if reads_history(period, now) else as_at - datetime.timedelta(days=1)


def reads_history(period, now):
    """Whether a report built at ``now`` counts the activities and plan items as they stood at its as-at day
    (their history) rather than as they are now: when that day has ended, i.e. the period is over. A report of
    the running period stands at the build day, whose statuses are those of now."""
    return as_at_day(period, now) < timezone.localtime(now, TZ).date()


def plan_rows(ids, period, as_at, then=None, *, listed=True):
    """The plan items a report shows (selectors.plan_item_rows; with ``then``, their status as it stood at the
    end of that day), each with its `progress` as at ``as_at`` (figures.item_progress; as set by hand for an
    item without targets). Two queries. ``listed=False`` (a monthly reminder, which does not list the year's
    plan: plan_section): the progress only of the items it shows, the open ones due by the end of next month
    (due next month, or overdue); the others' is never shown and stays as read."""
    next_month = Month(period.end.year, period.end.month).next()
    rows = selectors.plan_item_rows(ids, period.start.year, next_month.end, then)
    shown = rows if listed else [
        row for row in rows
        if row["status"] in selectors.OPEN_ITEM and row["due_date"] is not None and row["due_date"] <= next_month.end
    ]
    progress = figures.item_progress([row["id"] for row in shown], as_at=as_at)
    for row in shown:
        row["progress"] = progress.get(row["id"], row["progress"])
    return rows


def fetch(
    kind, period, ids, itemized, *, as_at, raw=False, per_pairing=None, history=False, now=None, wide=None, by_pairing=True,
    snapshot_metrics=None,
):
    """Every query of a report (a fixed number, whatever the number of rows).

    The year-to-date figures of the complete months before the period (the monthly counts, the metric sums
    and latest values) are read from the rollup (PairingMonth, PairingMonthMetric: one row per pairing,
    month and metric, counted by the same rules), only the period itself from the activities (an annual
    report's period is twelve whole months: its monthly counts and metric figures come from the rollup too,
    the annual export's summary reads no metric value); a report that lists its activities adds up its
    counts per type, host branch and pairing from that list; service hours and volunteers are one query
    (selectors.service_summary), or on PostgreSQL a lean report's (the annual export's summary) part of the one
    read of its activities that counts them too (selectors.summary_counts). ``raw=True``
    computes every figure from the source rows with a GROUP BY of its own (the reference: tests pin that
    both give the same report). ``per_pairing=True``: the rows serve reports of single pairings (a batch of
    them, build_pairing_reports), so the latest metric values are read per pairing whatever len(ids) is.

    ``history=True`` (a past period's report, built after its as-at day): every figure counts the activities as
    they stood at the end of ``as_at`` (their status then, from their history; hours verified by then; plan items
    with their status then). The rollup holds the statuses of now, so the year to date's months are read from it
    only for the months of a pairing none of whose activities changed status since (month_source), and from the
    history for the others: a few queries more, still a fixed number.

    ``wide`` (a program's report: the program's id): the program's program-wide activities (no pairing) are read
    beside the pairings', their rows under the pairing id None (selectors.of_scope; the rollup's months before the
    period from figures.program_wide_months): a few queries more, still a fixed number.

    ``by_pairing=False`` (a program's summary without a part per pairing): on PostgreSQL, without items, the types and
    months are counted for the program alone, each pairing's counts per status beside them (pairing_type_counts).

    ``snapshot_metrics`` (the ids of the report's metrics that take their latest value, the others being added up):
    the year to date's rows keep the latest values of those alone and the sums of the others, as metric_section
    reads them (slsz 2025: 1,100 latest values of 4,959, and 3,857 sums). None: every metric's both."""
    start, end = period.start, period.end
    then = as_at if history else None
    pairing_totals = None
    moment = stands_at(period, now or timezone.now())
    # first: working out the items' progress takes more memory for a while than any other read (slsz's year: 1.7 MB
    # for its 1,653 targets), and nothing else is held yet
    plan = plan_rows(ids, period, as_at, then, listed=kind != "monthly")
    co_items = defaultdict(list)
    items = None
    if itemized:
        co_rows = selectors.co_branch_rows(ids, start, end, then, wide=wide)
        for co in co_rows:
            co_items[co["activity_id"]].append(co)
        items = selectors.activity_rows(ids, start, end, then, wide=wide)
    months = None  # the year's months, when counted with the types (summary_counts)
    hours = None  # the service rows, when read with the counts (summary_counts)
    if itemized and not raw:
        type_counts, host_counts, co_counts, participants = counts_from_items(items, co_rows)
    elif not raw and connections[router.db_for_read(Activity)].vendor == "postgresql":
        # the annual export's summary: the counts per type, host, month and pairing, the co-hosts', the service hours
        # and volunteers, from one read of the activities (a past year's reads each one's status then once); its
        # months are the whole year's, so the rollup's are not read for them
        counts = selectors.summary_counts(ids, start, end, then, wide=wide, by_pairing=by_pairing)
        pairing_totals = counts.pairing_totals
        type_counts, host_counts, participants, months = counts.types, counts.hosts, counts.people, counts.months
        co_counts, hours, volunteers = counts.co_hosts, counts.hours, counts.volunteers
        if not isinstance(period, Year):
            months = None
    else:
        type_counts = selectors.activity_type_counts(ids, start, end, then, wide=wide)
        host_counts = selectors.host_branch_counts(ids, start, end, then, wide=wide)
        co_counts = selectors.co_branch_counts(ids, start, end, then, wide=wide)
        participants = selectors.participant_sums(ids, start, end, then, wide=wide)
    if hours is None and not raw:  # now, or as at a day (a batch of pairing reports reads only the per-pairing counts)
        hours, *volunteers = selectors.service_summary(ids, start, end, wide=wide, as_at=then)
    elif hours is None:
        hours = selectors.service_rows(ids, start, end, then, wide=wide)
        volunteers = selectors.volunteer_counts(ids, start, end, then, overall=not per_pairing, wide=wide)
    if not raw:
        month_counts, metric_sums, snapshots = _year_to_date(
            period, ids, type_counts, per_pairing, wide=wide, then=then, months=months, snapshot_metrics=snapshot_metrics,
        )
    else:
        month_counts = selectors.activity_month_rows(ids, period.year_start, end, then, wide=wide)
        metric_sums = selectors.metric_sums(ids, period.year_start, start, end, then, wide=wide)
        if raw:  # the reference: every value of the year
            snapshots = selectors.snapshot_value_rows(ids, period.year_start, end, then, wide=wide)
        else:  # what metric_section reads of them: the latest before the period and in it, per pairing and metric
            snapshots = selectors.latest_snapshot_rows(ids, period.year_start, start, end, then, wide=wide)
    return Fetched(
        branches=selectors.participating_branches(ids),
        type_counts=type_counts,
        host_counts=host_counts,
        co_counts=co_counts,
        participants=participants,
        month_counts=month_counts,
        items=items,
        co_items=co_items,
        hours=hours,
        needs=selectors.need_rows(
            ids, period.start_at, period.end_at, moment, moment - datetime.timedelta(days=STALE_NEED_DAYS)
        ),
        plan=plan,
        metric_sums=metric_sums,
        snapshots=snapshots,
        targets=selectors.target_rows(ids, start.year, then),
        volunteers=tuple(volunteers),
        pairing_type_counts=pairing_totals,
    )


def counts_from_items(items, co_rows):
    """(type_counts, host_counts, co_counts, participants) in the shape of the selectors' GROUP BY rows
    (activity_type_counts, host_branch_counts, co_branch_counts, participant_sums), added up from a listed
    report's activity rows and co-host rows, which it reads anyway: four queries fewer per report."""
    types, hosts, cos, people = {}, {}, {}, {}
    by_id = {}
    for row in items:
        by_id[row["id"]] = row
        pairing_id, status = row["pairing_id"], row["status"]
        key = (pairing_id, row["activity_type_id"], status)
        if key not in types:
            types[key] = {
                "pairing_id": pairing_id, "activity_type_id": row["activity_type_id"],
                "activity_type__name": row["activity_type__name"], "activity_type__order": row["activity_type__order"],
                "status": status, "n": 0,
            }
        types[key]["n"] += 1
        key = (pairing_id, row["branch_id"], status)
        if key not in hosts:
            hosts[key] = {
                "pairing_id": pairing_id, "branch_id": row["branch_id"], "branch__name": row["branch__name"],
                "branch__short_name": row["branch__short_name"], "status": status, "n": 0,
            }
        hosts[key]["n"] += 1
        sums = people.get(pairing_id)
        if sums is None:
            sums = people[pairing_id] = {"pairing_id": pairing_id, "party_members": 0, "teachers": 0, "students": 0,
                                         "residents_served": 0}
        sums["party_members"] += row["party_members"]
        sums["teachers"] += row["teachers"]
        sums["students"] += row["students"]
        sums["residents_served"] += row["residents_served"]
    for co in co_rows:
        activity = by_id.get(co["activity_id"])
        if activity is None:  # changed between the two reads: counted as the activity rows say
            continue
        key = (activity["pairing_id"], co["organization_id"], activity["status"])
        if key not in cos:
            cos[key] = {
                "activity__pairing_id": activity["pairing_id"], "organization_id": co["organization_id"],
                "organization__name": co["organization__name"], "organization__short_name": co["organization__short_name"],
                "activity__status": activity["status"], "n": 0,
            }
        cos[key]["n"] += 1
    return list(types.values()), list(hosts.values()), list(cos.values()), list(people.values())


@dataclass
class MonthSource:
    """Where _year_to_date reads the complete months of the year to date: the rollup (PairingMonth,
    PairingMonthMetric: the statuses of now) for the pairings ``ids``, but in a past period's report (``then``: its
    as-at day) the activities as they stood at the end of that day for the months ``history_months`` ((pairing id,
    first day of the month): those holding an activity whose status may have changed since,
    selectors.months_changed_since) and for the program-wide activities of ``wide``. Each method gives its rows in
    the shape the rollup's selectors give them, whichever source they came from (a pairing's months from both
    sources merged into one row per pairing and metric). The rollup is read for every pairing (its rows of
    ``history_months`` left out), so the number of queries does not depend on how many months changed: two more
    when any did, and always in a program's report (``wide``: its program-wide activities are read from the
    history). The months are those of one year (a report's year to date)."""

    ids: list
    history_months: set = field(default_factory=set)
    wide: int | None = None
    then: datetime.date | None = None

    @property
    def history_ids(self):
        """The pairings with a month read from the history."""
        return {pairing_id for pairing_id, _month in self.history_months}

    @property
    def reads_history(self):
        return self.then is not None and (bool(self.history_months) or self.wide is not None)

    @property
    def rollup_wide(self):
        """The program whose program-wide months the rollup's selectors add: none as it stood (read from history)."""
        return self.wide if self.then is None else None

    def _changed(self, first, before):
        """(the pairings, their months) read from the history among the months ``first``..``before``."""
        months = {(p, m) for p, m in self.history_months if first <= m < before}
        return sorted({p for p, _m in months}), months

    def month_rows(self, first, before):
        """Counted activities per (pairing, month, status) from ``first`` up to (not including) ``before``, as
        activity_month_rows gives them."""
        confirmed, submitted = Activity.Status.CONFIRMED, Activity.Status.SUBMITTED
        rows = []
        for pairing_id, month, activities, confirmed_n in figures.rollup_month_rows(
            self.ids, first, before, wide=self.rollup_wide
        ):
            if (pairing_id, month) in self.history_months:
                continue
            rows.append({"pairing_id": pairing_id, "date__month": month.month, "status": confirmed, "n": confirmed_n})
            rows.append({"pairing_id": pairing_id, "date__month": month.month, "status": submitted, "n": activities - confirmed_n})
        if self.reads_history and first < before:
            ids, months = self._changed(first, before)
            rows += selectors.activity_month_rows(
                ids, first, _day_before(before), self.then, wide=self.wide, months=months
            )
        return rows

    def metric_latest(self, first, before):
        """(pairing, metric, total, latest value, its date, its activity) over the months, as
        figures.rollup_metric_latest gives them: an iterator (_merged)."""
        rows = figures.rollup_metric_latest(self.ids, first, before, wide=self.rollup_wide, skip=self.history_months)
        return _merged(rows, self._history_metric_rows(first, before, ordered=True))

    def metric_totals(self, first, before):
        """(pairing, metric, total) over the months, as figures.rollup_metric_totals gives them."""
        rows = figures.rollup_metric_totals(self.ids, first, before, wide=self.rollup_wide, skip=self.history_months)
        return [row[:3] for row in _merged(
            sorted(((*row, None, None, None) for row in rows), key=_row_key),
            sorted(self._history_metric_rows(first, before), key=_row_key),
        )]

    def _history_metric_rows(self, first, before, *, ordered=False):
        if not self.reads_history or first >= before:
            return []
        ids, months = self._changed(first, before)
        return selectors.period_metric_rows(
            ids, first, _day_before(before), as_at=self.then, wide=self.wide, months=months, ordered=ordered
        )


def _merged(rows, more=()):
    """Metric rows (pairing, metric, total, latest value, its date, its activity) with one row per (pairing, metric):
    a pairing's months from the rollup (``rows``) and from the history (``more``) added up, the latest value the
    latest of both (by date, then activity id, none last: as the rollup picks it). Each of the two has one row per
    pairing and metric, in the order of _row_key; so has the iterator returned, which holds no more than a row of
    each (a program's year: some 5,000 rows, read as they come)."""
    for _key, rows_of_key in itertools.groupby(heapq.merge(rows, more, key=_row_key), key=_row_key):
        row = next(rows_of_key)
        for other in rows_of_key:
            row = _added(row, other)
        yield row


def _row_key(row):
    """The order of metric rows: by pairing (the program-wide activities', pairing None, last), then metric."""
    return (row[0] is None, row[0] or 0, row[1])


def _added(found, row):
    """Two metric rows of one pairing and metric as one (_merged)."""
    if found[4] is None:
        latest = row
    elif row[4] is None:
        latest = found
    else:
        latest = max(found, row, key=lambda r: (r[4], r[5] is not None, r[5] or 0))
    return (found[0], found[1], found[2] + row[2], *latest[3:])


def _day_before(day):
    return day - datetime.timedelta(days=1)


def month_source(period, ids, wide=None, then=None):
    """The MonthSource of a report's year to date. The running period's: the rollup. A past period's (``then``):
    the rollup still, for every month of a pairing none of whose activities in it changed its status since the
    as-at day (their figures then are the figures of now), and the history for the others (one query tells
    them apart)."""
    if then is None:
        return MonthSource(ids=ids, wide=wide)
    # the months read from the rollup: those before the period, or a year's own twelve
    first, last = (period.start, period.end) if isinstance(period, Year) else (period.year_start, _day_before(period.start))
    changed = selectors.months_changed_since(ids, first, last, then) if first <= last else set()
    return MonthSource(ids=ids, history_months=changed, wide=wide, then=then)


def _year_to_date(period, ids, type_counts, latest_values=None, wide=None, then=None, months=None, snapshot_metrics=None):
    """(month_counts, metric_sums, snapshots) in the shape of the raw selectors' rows (activity_month_rows,
    metric_sums, snapshot_value_rows), from the complete months before the period (month_source: the rollup,
    and in a past period's report, ``then``, the history where statuses changed since) and from the activities
    for the period (as they stood at the end of ``then`` if given). Sums and counts add up month by month; the
    latest value of the year to date is the latest of the months' latest values and the period's (by date, then
    activity id).

    Metrics are told apart by their aggregation afterwards (metric_section reads each metric's rows as its
    aggregation says), so the rows below carry every metric, as the rollup does, unless ``snapshot_metrics`` says
    which take their latest value: then those keep their latest values alone and the others their sums alone.

    ``months``: a year's monthly counts already read (selectors.activity_counts), in activity_month_rows' shape."""
    start, end, year_start = period.start, period.end, period.year_start
    source = month_source(period, ids, wide, then)

    month_counts = source.month_rows(year_start, start)
    if months is not None:
        month_counts += months
    elif isinstance(period, Month):
        # the period is one month: its counts per status are the type counts added up
        month_counts += [{"pairing_id": r["pairing_id"], "date__month": start.month, "status": r["status"], "n": r["n"]} for r in type_counts]
    elif isinstance(period, Year):
        month_counts += source.month_rows(start, Year(start.year + 1).start)  # twelve whole months
    else:
        month_counts += selectors.activity_month_rows(ids, start, end, then, wide=wide)

    sums = {}  # (pairing, metric) -> the sum of the months before the period
    latest = {}  # (pairing, metric) -> snapshot row (the latest value before the period, then in it)
    if latest_values is None:
        latest_values = len(ids) <= 1
    if latest_values:
        # a single pairing's report (or a batch of them: the rows are per pairing) shows the latest value of the year to date: the months' latest
        for pairing_id, metric_id, total, value, day, activity_id in source.metric_latest(year_start, start):
            sums[(pairing_id, metric_id)] = Decimal(total)
            if snapshot_metrics is None or metric_id in snapshot_metrics:
                latest[(pairing_id, metric_id)] = _snapshot_row(pairing_id, metric_id, value, day, activity_id)
    else:
        # across pairings the snapshot values are never added up and the pairing rows show the period's
        # value only: the totals suffice
        for pairing_id, metric_id, total in source.metric_totals(year_start, start):
            sums[(pairing_id, metric_id)] = Decimal(total)
    snapshots = [row for row in latest.values()]
    if isinstance(period, Year):
        # a year is twelve whole months: its sums and latest values are the months' added up (the latest of the
        # months' latest values), without reading each value of the year
        period_rows = source.metric_latest(start, Year(start.year + 1).start)
    else:
        period_rows = selectors.period_metric_rows(ids, start, end, as_at=then, wide=wide)
    # the period's rows (one per pairing and metric) as they are read, each with the months before it added up: a
    # year's (slsz: 4,959 rows, nothing before them) are not held in a table at once
    metric_sums = []
    for pairing_id, metric_id, total, value, day, activity_id in period_rows:
        before_period = sums.pop((pairing_id, metric_id), None)
        if snapshot_metrics is None or metric_id in snapshot_metrics:
            snapshots.append(_snapshot_row(pairing_id, metric_id, value, day, activity_id))
        if snapshot_metrics is None or metric_id not in snapshot_metrics:
            ytd = total if before_period is None else before_period + total
            metric_sums.append(MetricSum(metric_id, pairing_id, total, ytd))
    # then those with months before the period and nothing in it
    metric_sums += [
        MetricSum(metric_id, pairing_id, None, ytd) for (pairing_id, metric_id), ytd in sums.items()
        if snapshot_metrics is None or metric_id not in snapshot_metrics
    ]
    return month_counts, metric_sums, _by_date(snapshots)


def _by_date(snapshots):
    """The snapshot rows in the order of their values' days, then activities."""
    snapshots.sort(key=lambda row: (row["activity__date"], row["activity_id"] or 0))
    return snapshots


@dataclass(slots=True)
class MetricSum(selectors.Record):
    """metric_sums' row: a pairing's sum of a metric in the period and in the year to date."""

    metric_id: int
    activity__pairing_id: int | None
    period: Decimal | None
    ytd: Decimal


@dataclass(slots=True)
class SnapshotValue(selectors.Record):
    """snapshot_value_rows' row: a metric's value, with its activity's id, date and pairing."""

    metric_id: int
    value: Decimal
    activity_id: int | None
    activity__date: datetime.date
    activity__pairing_id: int | None


def _snapshot_row(pairing_id, metric_id, value, day, activity_id):
    return SnapshotValue(metric_id, value, activity_id, day, pairing_id)


def scope_data(
    kind, period, program, pairing_info, infos, names, f, metrics, volunteers, highlights, now, *, single, release=False,
):
    """The ReportData of one scope (one pairing when ``pairing_info`` is given, else the program) from its
    fetched rows ``f``; the program's per-pairing rows are added by build_report. ``release=True`` (``f`` read no
    more afterwards) lets each of f's row lists go once the last section that reads it is made (None: a section
    that read it later would fail, not count nothing)."""
    as_at = as_at_day(period, now)
    links = {
        "program_id": program.id,
        "pairing_id": pairing_info.id if pairing_info is not None else None,
        "as_at": as_at.isoformat() if reads_history(period, now) else None,
    }

    def done_with(*lists):
        if release:
            for name in lists:
                setattr(f, name, None)

    # the sections whose rows no other section reads first: those rows go before the next section is made
    metric_rows = metric_section(metrics, f, period, single)
    done_with("metric_sums", "snapshots", "targets")
    plan = plan_section(f.plan, period, names, with_items=kind != "monthly", due_by=overdue_by(period, now))
    done_with("plan")
    needs = need_section(f.needs, period, names, stands_at(period, now))
    done_with("needs")
    volunteer_rows = volunteer_section(f.hours, volunteers, f.branches)
    done_with("hours")
    activities = activity_section(f, period, names, with_items=kind != "annual" or pairing_info is not None)
    done_with("type_counts", "month_counts", "participants", "pairing_type_counts", "items", "listed")
    completeness = completeness_section(f, names)
    done_with("host_counts", "co_counts", "branches")
    return ReportData(
        schema=SCHEMA_VERSION,
        kind=kind,
        period=period.key,
        period_kind=period.kind,
        scope="pairing" if pairing_info is not None else "program",
        program={"id": program.id, "name": program.name, "code": program.code, "office": program.office.name},
        pairing=pairing_info,
        start=period.start.isoformat(),
        end=period.end.isoformat(),
        ytd_start=period.year_start.isoformat(),
        built_at=now.isoformat(),
        as_at=as_at_day(period, now).isoformat(),
        pairings=infos,
        activities=activities,
        metrics=metric_rows,
        plan=plan,
        needs=needs,
        volunteers=volunteer_rows,
        completeness=completeness,
        highlights=highlights,
        links=links,
    )


# --- alerts in the monthly reminder (dormant pairings, agreements ending): one query per report or batch ----


def alert_section(pairings, last_on, as_at):
    """The AlertRows of ``pairings`` (as read by scope_pairings, with their flags then when so read) as at the
    report's day, by the pairing page's rules (pairings.selectors.warnings_of), with ``last_on`` (their last
    counted activity then: selectors.last_counted_on) in place of today's last_activity_on."""
    rows = []
    for pairing in pairings:
        warnings = warnings_of(
            status=getattr(pairing, "status_then", pairing.status), term_start=pairing.term_start,
            term_end=pairing.term_end, renewing=getattr(pairing, "renewing_then", pairing.renewing),
            last_activity_on=last_on.get(pairing.id), today=as_at,
        )
        for warning in warnings:
            if warning.code == "dormant":
                last = last_on.get(pairing.id)
                rows.append(AlertRow(pairing.id, str(pairing), "dormant", warning.days, last.isoformat() if last else None))
            elif warning.code == "ending":
                rows.append(AlertRow(pairing.id, str(pairing), "ending", warning.days, pairing.term_end.isoformat()))
    # the most urgent first: the longest silent (never active first), then the soonest ending
    rows.sort(key=lambda row: (0, -(row.days if row.days is not None else 10**6)) if row.code == "dormant"
              else (1, row.days))
    return rows


def alerts_for(kind, pairings, as_at, then):
    """The alerts of a monthly reminder's pairings (None for the other kinds)."""
    if kind != "monthly":
        return None
    return alert_section(pairings, selectors.last_counted_on([p.id for p in pairings], as_at, then), as_at)


def build_pairing_reports(kind, period, program, pairings, *, now=None):
    """{pairing id: the data of that pairing's own report}, for several pairings of ``program`` at once: each
    exactly what build_report_data(kind, period, program, pairing) gives (tests compare the two), from one set
    of queries for all of them instead of one per pairing (a quarterly report's highlights, the top activities
    of each pairing, are still read per pairing). build_program_reports builds them with the program's report."""
    period = period_for(kind, period)
    now = now or timezone.now()
    if any(pairing.program_id != program.id for pairing in pairings):
        raise BuildError("the pairing is not part of the program")
    as_at = as_at_day(period, now)
    pairings = selectors.pairings_by_ids([pairing.id for pairing in pairings], as_at)
    if not pairings:
        return {}
    ids = [p.id for p in pairings]
    history = reads_history(period, now)
    metrics = selectors.program_metrics(program)
    f = fetch(
        kind, period, ids, True, as_at=as_at, per_pairing=True, history=history, now=now,
        snapshot_metrics=snapshot_metric_ids(metrics),
    )
    volunteers_per_pairing, _overall = f.volunteers
    alerts = alerts_for(kind, pairings, as_at, as_at if history else None)
    reports = pairing_reports(kind, period, program, pairings, f.split(), metrics, volunteers_per_pairing, alerts, now)
    return {pid: data.to_dict() for pid, data in reports.items()}


def pairing_reports(kind, period, program, pairings, parts, metrics, volunteers_per_pairing, alerts, now):
    """{pairing id: its report's ReportData} from the rows already read for these pairings (``parts``: Fetched.split()
    of rows read with per_pairing=True; ``alerts``: alerts_for of these pairings, or of more): the few queries
    left are the village statistics and the meetings of them all, and a quarterly report's highlights, per
    pairing."""
    as_at = as_at_day(period, now)
    history = reads_history(period, now)
    ids = [p.id for p in pairings]
    statistics = latest_statistics({p.supported_id for p in pairings}, as_at=as_at)
    alerts_of = defaultdict(list)
    for row in alerts or ():
        alerts_of[row.pairing_id].append(row)
    meetings = meeting_rows(kind, period, now, ids)
    if meetings is not None:
        last_of = {row["pairing_id"]: row for row in meetings[0]}
        rows_of = defaultdict(list)
        for row in meetings[1]:
            rows_of[row["meeting__pairing_id"]].append(row)
    out = {}
    for pairing in pairings:
        info, names = pairing_info(pairing, as_at), {pairing.id: str(pairing)}
        highlights = []
        if kind == "quarterly":
            highlight_rows = selectors.highlight_rows(
                [pairing.id], period.start, period.end, as_at=as_at if history else None
            )
            photos = selectors.highlight_photo_rows([row["id"] for row in highlight_rows])
            highlights = highlight_section(highlight_rows, photos, names)
        data = scope_data(
            kind, period, program, info, [info], names, parts[pairing.id], metrics,
            volunteers_per_pairing.get(pairing.id, 0), highlights, now, single=True,
        )
        data.village_statistics = statistic_section(statistics.get(pairing.supported_id, []))
        if alerts is not None:
            data.alerts = alerts_of.get(pairing.id, [])
        if meetings is not None:
            data.meetings = meeting_section(
                rows_of.get(pairing.id, []), last_of.get(pairing.id), names, overdue_by(period, now)
            )
        out[pairing.id] = data
    return out


def build_report(kind, period, program, pairing=None, *, now=None, itemized=True, raw=False, details=True):
    """Build the data of one report. ``pairing`` None means the whole program. Returns ReportData.

    ``itemized=False`` leaves out the lists of activities (the annual export streams those itself), so
    memory does not grow with the number of activities: everything else is added up by the database.
    ``details=False`` leaves out an annual program report's part per pairing (``details``: its tables of types,
    branches, months, metrics and hours), which the annual export's workbook does not show: only its Word file does."""
    return _build_report(kind, period, program, pairing, now=now, itemized=itemized, raw=raw, details=details)[0]


def build_program_reports(kind, period, program, *, now=None):
    """(the data of the program's report, {pairing id: the data of its pairing's own report} for every pairing it
    covers), each what build_report_data gives (tests compare them), from the program report's queries: its
    pairings' reports are made from its rows sliced per pairing instead of reading the same rows again in
    batches (the 1,004 monthly reports of the bench: 116 queries fewer, about 40 % of their SQL). The rows are
    read as a batch of pairing reports reads them (``per_pairing``: each pairing's latest metric values of the
    year to date too), which changes nothing in the program's report: it shows a snapshot metric's value for
    one pairing only, and then only the period's, which those rows do not touch."""
    period = period_for(kind, period)
    now = now or timezone.now()
    data, own = _build_report(kind, period, program, None, now=now, per_pairing=True, with_pairing_reports=True)
    return data.to_dict(), {pid: mine.to_dict() for pid, mine in own.items()}


def _build_report(
    kind, period, program, pairing=None, *, now=None, itemized=True, raw=False, per_pairing=None,
    with_pairing_reports=False, details=True,
):
    period = period_for(kind, period)
    if pairing is not None and pairing.program_id != program.id:
        raise BuildError("the pairing is not part of the program")
    now = now or timezone.now()

    as_at = as_at_day(period, now)
    history = reads_history(period, now)
    pairings = selectors.scope_pairings(program, pairing, period, as_at, then=as_at if history else None)
    ids = [p.id for p in pairings]
    infos = {p.id: pairing_info(p, as_at) for p in pairings}
    names = {pid: info.name for pid, info in infos.items()}
    alerts = alerts_for(kind, pairings, as_at, as_at if history else None)
    if not with_pairing_reports or pairing is not None:
        # what the report reads of them is in ids, infos and names: a program's pairings and their organisations
        # (slsz: 551, 1.4 MB) are not held while its rows are read
        pairings = None
    # a program's report counts its program-wide activities (no pairing) too; a pairing's never does
    wide = program.id if pairing is None else None
    metrics = selectors.program_metrics(program)
    f = fetch(
        kind, period, ids, itemized, as_at=as_at_day(period, now), raw=raw, per_pairing=per_pairing, history=history,
        now=now, wide=wide, by_pairing=details or pairing is not None,
        snapshot_metrics=snapshot_metric_ids(metrics),
    )
    volunteers_per_pairing, volunteers_overall = f.volunteers
    highlights = []
    if kind == "quarterly":
        highlight_rows = selectors.highlight_rows(
            ids, period.start, period.end, as_at=as_at_day(period, now) if history else None, wide=wide
        )
        photos = selectors.highlight_photo_rows([row["id"] for row in highlight_rows])
        highlights = highlight_section(highlight_rows, photos, names)

    if pairing is None and with_pairing_reports and f.items is not None:
        # each activity's listed row made once: the program's report and its pairing's own list the same (a pairing's
        # name is the same in both, a program-wide activity's none)
        f.listed = [activity_item(row, names, f.co_items) for row in f.items]
    # a snapshot metric's latest value is shown for one pairing's figures only, never across pairings, nor across
    # a pairing and the program-wide activities
    parts = f.split() if pairing is None and len(ids) == 1 else None
    single = pairing is not None or (parts is not None and None not in parts)

    def row_of(pid, activities, metric_rows, volunteers, needs, plan, silent):
        """(the pairing's PairingRow, its PairingDetail when the report has them) from its sections."""
        row = PairingRow(
            pairing=infos[pid],
            activities=activities.total,
            confirmed=activities.confirmed,
            verified_hours=volunteers.verified_hours,
            volunteers=volunteers.volunteers,
            needs_opened=needs.opened,
            needs_fulfilled=needs.fulfilled,
            plan_done=plan.done,
            plan_total=plan.total,
            silent_branches=len(silent.silent),
            metrics={m.code: m.period_value for m in metric_rows},
            metric_dates={m.code: m.period_on for m in metric_rows if m.period_on},
        )
        if kind == "annual" and details:
            return row, PairingDetail(pairing=infos[pid], activities=activities, metrics=metric_rows, volunteers=volunteers)
        return row, None

    def made_from(pid, part):
        return row_of(
            pid,
            activity_section(part, period, names, with_items=kind == "annual"),
            metric_section(metrics, part, period, True),
            volunteer_section(part.hours, volunteers_per_pairing.get(pid, 0), part.branches),
            need_section(part.needs, period, names, stands_at(period, now)),
            plan_section(part.plan, period, names, with_items=False, due_by=overdue_by(period, now)),
            completeness_section(part, names),
        )

    # a program's report without its pairings' own: each pairing's row is made first, a pairing at a time (runs),
    # then the program's sections, each row list let go once the last section reading it is made (scope_data's
    # ``release``): the rows are never held beside the program's sections (slsz's summary: 5 MB of rows, 1.7 MB of
    # sections)
    release = pairing is None and not with_pairing_reports
    nothing = f.part({})  # the part of a pairing without rows: its figures are those of nothing
    made, wide_part = {}, None
    if release:
        for pid, part in f.runs():
            if pid is None:
                wide_part = part
            elif pid in infos:
                made[pid] = made_from(pid, part)
    data = scope_data(
        kind, period, program, infos.get(pairing.id) if pairing is not None else None, [infos[i] for i in ids], names,
        f, metrics, volunteers_overall, highlights, now, single=single, release=release,
    )
    if pairing is None and with_pairing_reports and parts is None:
        parts = f.split()  # once the program's sections are made: not held beside what making them takes
    if pairing is not None:
        statistics = latest_statistics([pairing.supported_id], as_at=as_at_day(period, now))
        data.village_statistics = statistic_section(statistics.get(pairing.supported_id, []))
    data.alerts = alerts
    meetings = meeting_rows(kind, period, now, ids, program_id=program.id if pairing is None else None)
    if meetings is not None:
        last, rows = meetings
        data.meetings = meeting_section(rows, last[0] if last else None, names, overdue_by(period, now))

    own = {}
    if pairing is None and with_pairing_reports:
        own = pairing_reports(kind, period, program, pairings, parts, metrics, volunteers_per_pairing, data.alerts, now)
        # the sections the pairing's own report made from the same rows: a row reads only their totals (and an
        # annual report's details, which list the items, as the pairing's report does)
        made = {
            pid: row_of(pid, mine.activities, mine.metrics, mine.volunteers, mine.needs, mine.plan, mine.completeness)
            for pid, mine in own.items()
        }
        wide_part = parts[None] if None in parts else None
    if pairing is None:
        for pid in ids:
            row, detail = made.pop(pid) if pid in made else made_from(pid, nothing)
            data.pairing_rows.append(row)
            if detail is not None:
                data.details.append(detail)
        if wide_part is not None:
            data.program_wide, detail = program_wide_row(
                wide_part, period, names, metrics, volunteers_per_pairing.get(None, 0), with_items=kind == "annual"
            )
            if data.program_wide is not None and kind == "annual" and details:
                data.details.append(detail)
        data.totals = {
            "activities": data.activities.total,
            "confirmed": data.activities.confirmed,
            "verified_hours": data.volunteers.verified_hours,
            "volunteers": data.volunteers.volunteers,
            "needs_opened": data.needs.opened,
            "needs_fulfilled": data.needs.fulfilled,
            "plan_done": data.plan.done,
            "plan_total": data.plan.total,
            "silent_branches": len(data.completeness.silent),
            "metrics": {m.code: m.period_value for m in data.metrics},
        }
    return data, own  # the report's data, and with ``with_pairing_reports`` its pairings' own: {id: ReportData}


def program_wide_info():
    """The PairingInfo of a program's report's program-wide group: no pairing, no name (the renderers name it in
    the reader's language: activities.selectors.program_wide_label)."""
    return PairingInfo(id=None, name="", supporter="", supported="", status="", state="")


def program_wide_row(part, period, names, metrics, volunteers, *, with_items):
    """(PairingRow, PairingDetail) of a program's program-wide activities from their rows ``part`` (the fetched
    rows under the pairing id None), as a pairing's row is made; (None, None) when none counted in the period (the
    rows may hold only months before it)."""
    activities = activity_section(part, period, names, with_items=with_items)
    volunteers_section = volunteer_section(part.hours, volunteers, part.branches)
    if not activities.total and not part.hours:
        return None, None
    metric_rows = metric_section(metrics, part, period, True)
    info = program_wide_info()
    row = PairingRow(
        pairing=info,
        activities=activities.total,
        confirmed=activities.confirmed,
        verified_hours=volunteers_section.verified_hours,
        volunteers=volunteers_section.volunteers,
        needs_opened=0,
        needs_fulfilled=0,
        plan_done=0,
        plan_total=0,
        silent_branches=0,
        metrics={m.code: m.period_value for m in metric_rows},
        metric_dates={m.code: m.period_on for m in metric_rows if m.period_on},
    )
    return row, PairingDetail(pairing=info, activities=activities, metrics=metric_rows, volunteers=volunteers_section)


def build_report_data(kind, period, program, pairing=None, *, now=None, itemized=True, raw=False, details=True):
    """The JSON-able dict stored in Report.data."""
    data = build_report(kind, period, program, pairing, now=now, itemized=itemized, raw=raw, details=details)
    return data.to_dict(release=True)
