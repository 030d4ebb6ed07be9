"""The report laid out once as titled sections of sentences and tables; each format draws these.

``document(report)`` turns ``Report.data`` (plus the report's notes and status) into a :class:`Document`.
The HTML page, the Word document, the workbook and the CSV all render this same object, so the same
numbers reach every format. Headings are the document's Chinese content (简报/调度材料 style), wrapped
in gettext like every other string.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from activities.models import ActionItem, Activity, Need
from activities.selectors import program_wide_label
from figures.selectors import activity_list_url
from pairings.models import Metric, Pairing, PlanItem

NUMERALS = "一二三四五六七八九十"


@dataclass
class Table:
    key: str
    caption: str
    columns: list[str]
    rows: list[list] = field(default_factory=list)
    total_row: bool = False  # the last row holds totals
    empty: str = ""  # what to say when there are no rows
    # beside `rows`, row for row: the activity-list URL of what each figure counted (None: no link); empty for
    # a table without links (the HTML page draws them, the files do not)
    links: list[list] = field(default_factory=list)

    @property
    def linked_rows(self):
        """Each row as (value, url) cells."""
        links = self.links or [[] for _ in self.rows]
        return [[(cell, link[i] if i < len(link) else None) for i, cell in enumerate(row)] for row, link in zip(self.rows, links)]

    @property
    def numeric_columns(self):
        """The columns holding numbers (percentages too): right-aligned."""
        found = set()
        for row in self.rows:
            for i, cell in enumerate(row):
                if isinstance(cell, (int, float, Percent)) and not isinstance(cell, bool):
                    found.add(i)
        return found

    @property
    def percent_columns(self):
        """The columns holding percentages (Percent cells)."""
        return {i for row in self.rows for i, cell in enumerate(row) if isinstance(cell, Percent)}


@dataclass
class Section:
    key: str
    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    chart: str | None = None  # "activities", "metrics" or "hours": the chart drawn with this section
    photos: list[dict] = field(default_factory=list)  # highlights: {"id", "caption", "activity"}


@dataclass
class Document:
    kind: str
    title: str  # 一月一提示 / 一季一调度 / 年度总结
    period_label: str  # 2024年3月
    subtitle: str  # program · scope · period
    issuer: str  # the program office
    meta: list[tuple[str, str]]  # (label, value) lines under the title
    sections: list[Section]
    status: str
    version: int
    file_stem: str
    issued_on: datetime.date | None = None  # the publication date (or the generation date of a draft)
    details: list[tuple[str, list[Section]]] = field(default_factory=list)  # annual: per-pairing sections


def fmt(value, unit=""):
    if value is None:
        return "—"
    if isinstance(value, float):
        text = f"{value:,.2f}".rstrip("0").rstrip(".")
    elif isinstance(value, int):
        text = f"{value:,}"
    else:
        text = str(value)
    return f"{text}{unit}"


@dataclass(frozen=True)
class Percent:
    """A percentage in a table (``value`` 62.0 means 62 %; None: none, e.g. no target), drawn by each format:
    "62.0%" on the page and in Word; in a workbook the number 0.62 with a percent format (so it sums, averages and
    sorts); in CSV the plain number 62.0, its column headed "…(%)". ``places``: the decimals shown."""

    value: float | int | None
    places: int = 1

    def __str__(self):
        return "—" if self.value is None else f"{self.value:.{self.places}f}%"

    @property
    def fraction(self):
        return None if self.value is None else self.value / 100


def status_label(choices, value):
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def kind_title(kind):
    return {"monthly": _("一月一提示"), "quarterly": _("一季一调度"), "annual": _("年度总结")}[kind]


def period_label(data):
    from reports.periods import parse

    return parse(data["period"]).label


def state_note(pairing):
    """"(期满)", "(续签中)", "(已暂停)" or "(已结束)" after a pairing's name: its state on the report's as-at day
    (nothing for a running pairing, or in a report built before the state was stored)."""
    state = pairing.get("state")
    if not state or state == Pairing.State.ACTIVE:
        return ""
    return f"({status_label(Pairing.State, state)})"


def scope_label(data):
    if data["scope"] == "pairing" and data["pairing"]:
        pairing = data["pairing"]
        return _("%(supporter)s—%(supported)s结对") % {"supporter": pairing["supporter"], "supported": pairing["supported"]} + state_note(pairing)
    return _("全项目(%(n)s个结对)") % {"n": len(data["pairings"])}


CONFIRMED = (Activity.Status.CONFIRMED,)


def linker(data, pairing_id=None, *, wide=False):
    """The links of a report's figures: a function of the list's filters (figures.activity_list_url: branch,
    type, metric, statuses, verified hours, and `after`/`before` for other dates than the period) giving the
    activity-list URL of exactly what the figure counted, in the report's scope (or in the pairing
    ``pairing_id``, or with ``wide`` among the program's program-wide activities), with the report's as-at day
    when its statuses are those of then. None for a report whose data carry no links (built before they were
    stored): its figures are shown without links."""
    info = data.get("links")
    if not info:
        return None
    as_at = datetime.date.fromisoformat(info["as_at"]) if info.get("as_at") else None
    start, end = datetime.date.fromisoformat(data["start"]), datetime.date.fromisoformat(data["end"])
    default_pairing = pairing_id or info.get("pairing_id")
    default_wide = wide

    def link(*, after=start, before=end, pairing_id=None, wide=None, **filters):
        wide = default_wide if wide is None else wide
        pairing_id = None if wide else pairing_id or default_pairing
        scope = {"pairing_id": pairing_id} if pairing_id else {"program_id": info["program_id"], "program_wide": wide}
        return activity_list_url(**scope, date_after=after, date_before=before, as_at=as_at, **filters)

    return link


def pairing_name(pairing):
    """A pairing's name in a report, or for the program-wide group (no pairing) what the lists call it."""
    return pairing["name"] if pairing.get("id") is not None else program_wide_label()


def _day(text):
    return datetime.date.fromisoformat(text)


def _month_bounds(key):
    from reports.periods import parse

    month = parse(key)
    return month.start, month.end


def _numbered(n, text):
    return f"{NUMERALS[n - 1] if n <= len(NUMERALS) else n}、{text}"


# --------------------------------------------------------------------------------------------------------
# Tables shared by the kinds
# --------------------------------------------------------------------------------------------------------


def activity_summary(data):
    a = data["activities"]
    p = a["participants"]
    return _(
        "本期共开展活动%(total)s次,其中村(社区)已验单%(confirmed)s次、待验单%(submitted)s次;"
        "参与党员%(party)s人次、教师%(teachers)s人次、学生%(students)s人次,服务群众%(residents)s人次。"
    ) % {
        "total": a["total"],
        "confirmed": a["confirmed"],
        "submitted": a["submitted"],
        "party": fmt(p["party_members"]),
        "teachers": fmt(p["teachers"]),
        "students": fmt(p["students"]),
        "residents": fmt(p["residents_served"]),
    }


def by_branch_table(a, link=None):
    # a branch is credited with the activities it hosted or co-hosted
    return Table(
        "by_branch",
        _("分支部活动情况(联合开展的活动计入每个参与支部)"),
        [_("支部"), _("活动(次)"), _("其中已验单(次)")],
        [[row["label"], row["total"], row["confirmed"]] for row in a["by_branch"]],
        empty=_("无参与支部"),
        links=[
            [None, link(branch_id=row["key"], credited=True), link(branch_id=row["key"], credited=True, statuses=CONFIRMED)]
            for row in a["by_branch"]
        ] if link else [],
    )


def by_type_table(a, link=None):
    return Table(
        "by_type",
        _("分类型活动情况"),
        [_("活动类型"), _("活动(次)"), _("其中已验单(次)")],
        [[row["label"], row["total"], row["confirmed"]] for row in a["by_type"]],
        empty=_("本期无活动"),
        links=[
            [None, link(activity_type_id=row["key"]), link(activity_type_id=row["key"], statuses=CONFIRMED)]
            for row in a["by_type"]
        ] if link else [],
    )


def by_month_table(a, link=None):
    links = []
    if link:
        for row in a["by_month"]:
            after, before = _month_bounds(row["month"])
            links.append([None, link(after=after, before=before), link(after=after, before=before, statuses=CONFIRMED)])
    return Table(
        "by_month",
        _("各月活动数(年初至本期末)"),
        [_("月份"), _("活动(次)"), _("其中已验单(次)")],
        [[row["month"], row["total"], row["confirmed"]] for row in a["by_month"]],
        links=links,
    )


def activity_list_table(a, with_pairing):
    columns = [_("日期"), _("活动"), _("主办支部"), _("联合支部"), _("类型"), _("状态"), _("地点"), _("服务群众(人次)")]
    if with_pairing:
        columns.insert(1, _("结对"))
    rows = []
    for item in a["items"]:
        row = [
            item["date"],
            item["title"],
            item["branch"],
            "、".join(item["co_branches"]),
            item["type"],
            status_label(Activity.Status, item["status"]),
            item["place"],
            item["residents_served"],
        ]
        if with_pairing:
            row.insert(1, item["pairing"] if item["pairing_id"] is not None else program_wide_label())
        rows.append(row)
    return Table("activities", _("活动明细"), columns, rows, empty=_("本期无活动"))


def metric_links(m, link, ytd_start):
    """(period, year to date) links of a metric's figures: the activities carrying it in the period and in the
    year to date (a sum), or on the day of the latest value (a snapshot); None where there is no value."""
    if link is None:
        return None, None
    if m["aggregation"] == Metric.Aggregation.SNAPSHOT:
        on = [m.get("period_on"), m.get("ytd_on")]
        return tuple(link(metric_id=m["id"], after=_day(d), before=_day(d)) if d else None for d in on)
    return (
        link(metric_id=m["id"]) if m["period_value"] is not None else None,
        link(metric_id=m["id"], after=ytd_start) if m["ytd_value"] is not None else None,
    )


def metric_table(metrics, period_column, link=None, ytd_start=None):
    rows, links = [], []
    for m in metrics:
        how = _("取最新值") if m["aggregation"] == Metric.Aggregation.SNAPSHOT else _("累加")
        rows.append(
            [m["name"], m["unit"], how, m["period_value"], m["ytd_value"], m["target"], Percent(m["progress"])]
        )
        if link:
            period_link, ytd_link = metric_links(m, link, ytd_start)
            links.append([None, None, None, period_link, ytd_link, None, None])
    return Table(
        "metrics",
        _("成效指标(只计已提交和已验单的活动;人次与人分别统计)"),
        [_("指标"), _("单位"), _("统计方式"), period_column, _("年度累计"), _("年度目标"), _("完成率")],
        rows,
        empty=_("本项目未设成效指标"),
        links=links,
    )


def village_statistics(data):
    """A pairing's report: its supported side's statistics as at the report's day (each indicator's latest value
    dated on or before it). None for a program's report, or one built before the report carried them."""
    rows = data.get("village_statistics")
    if data["scope"] != "pairing" or rows is None:
        return None
    village = data["pairing"]["supported"] if data.get("pairing") else ""
    text = _("%(village)s自报的统计数,每项取截至%(as_at)s(含)最近一次登记的数值及其日期;它们不是活动的成效,不计入成效指标。") % {
        "village": village, "as_at": as_at_label(data),
    }
    table = Table(
        "village_statistics",
        _("村(社区)统计数据"),
        [_("指标"), _("数值"), _("单位"), _("截至日期"), _("来源")],
        [[row["indicator"], row["value"], row["unit"], row["as_at"], row["source"]] for row in rows],
        empty=_("截至该日未登记统计数据"),
    )
    return Section("village_statistics", _("村(社区)统计数据"), [text], [table])


def plan_table(key, caption, items, with_pairing, empty):
    columns = [_("项目"), _("类别"), _("责任支部"), _("村(社区)对接人"), _("完成时限"), _("状态"), _("进度")]
    if with_pairing:
        columns.insert(0, _("结对"))
    rows = []
    for item in items:
        row = [
            item["title"],
            status_label(PlanItem.Category, item["category"]),
            item["owner"],
            item["counterpart"],
            item["due_date"] or "—",
            status_label(PlanItem.Status, item["status"]),
            Percent(item["progress"], places=0),
        ]
        if with_pairing:
            row.insert(0, item["pairing"])
        rows.append(row)
    return Table(key, caption, columns, rows, empty=empty)


def action_item_state(item):
    """What had become of a decision at the report's moment, in words."""
    if item["status"] == ActionItem.Status.DONE:
        return _("已完成")
    if item["status"] == ActionItem.Status.DROPPED:
        return _("已放弃")
    return _("逾期未完成") if item["overdue"] else _("未完成")


def action_items_table(key, caption, items, with_pairing, *, followed_up=False):
    """Decisions of joint meetings: those still open (with the meeting that made each), or a meeting's decisions
    with what became of each (``followed_up``: when closed, and the activity or note that shows it)."""
    columns = [_("决定事项"), _("责任单位"), _("责任人"), _("完成时限"), _("落实情况")]
    columns += [_("办结日期"), _("佐证活动或说明")] if followed_up else [_("会议日期")]
    if with_pairing:
        columns.insert(0, _("结对"))
    rows = []
    for item in items:
        row = [item["text"], item["owner"], item["owner_person"] or "—", item["due_date"], action_item_state(item)]
        if followed_up:
            row += [item["closed_on"] or "—", "；".join(part for part in (item["activity"], item["note"]) if part) or "—"]
        else:
            row.append(item["meeting_date"])
        if with_pairing:
            row.insert(0, item["pairing"] or _("全项目"))
        rows.append(row)
    return Table(key, caption, columns, rows, empty=_("无"))


def meetings_reminder(data):
    """The monthly reminder: the decisions of joint meetings still open at its moment, the overdue ones first. None
    for a report built before meetings were recorded."""
    meetings = data.get("meetings")
    if meetings is None:
        return None
    with_pairing = data["scope"] == "program"
    text = _("截至%(as_at)s,联席会议决定事项未完成%(open)s项,其中逾期%(overdue)s项。") % {
        "as_at": as_at_label(data), "open": len(meetings["open_items"]), "overdue": meetings["overdue"],
    }
    table = action_items_table("action_items_open", _("未完成的决定事项(逾期的在前)"), meetings["open_items"], with_pairing)
    return Section("meetings", _("联席会议决定事项提示"), [text], [table])


def meetings_followup(data):
    """The quarterly report: the last joint meeting's decisions (of the whole program, in a program's report) and what
    became of each by the report's moment; then the earlier meetings' decisions still open."""
    meetings = data.get("meetings")
    if meetings is None:
        return None
    with_pairing = data["scope"] == "program"
    last, decisions = meetings["last_meeting"], meetings["decisions"]
    as_at = as_at_label(data)
    paragraphs, tables = [], []
    if last is None:
        paragraphs.append(_("截至%(as_at)s尚无联席会议记录。") % {"as_at": as_at})
    else:
        states = [item["status"] for item in decisions]
        paragraphs.append(
            _("最近一次联席会议于%(date)s召开(%(title)s),形成决定事项%(n)s项;截至%(as_at)s,已完成%(done)s项、已放弃%(dropped)s项、未完成%(open)s项(其中逾期%(overdue)s项)。")
            % {
                "date": last["date"], "title": last["title"] + (f",{last['place']}" if last["place"] else ""),
                "n": len(decisions), "as_at": as_at, "done": states.count(ActionItem.Status.DONE),
                "dropped": states.count(ActionItem.Status.DROPPED), "open": states.count(ActionItem.Status.OPEN),
                "overdue": sum(1 for item in decisions if item["overdue"]),
            }
        )
        tables.append(action_items_table("last_meeting_decisions", _("上次会议决定事项落实情况"), decisions, False, followed_up=True))
    earlier = [item for item in meetings["open_items"] if last is None or item["meeting_id"] != last["id"]]
    if earlier:
        paragraphs.append(
            _("此前会议另有%(n)s项决定事项未完成,其中逾期%(overdue)s项。")
            % {"n": len(earlier), "overdue": sum(1 for item in earlier if item["overdue"])}
        )
        tables.append(action_items_table("earlier_open_decisions", _("此前会议未完成的决定事项"), earlier, with_pairing))
    return Section("meetings", _("联席会议决定事项落实情况"), paragraphs, tables)


def stale_needs_table(needs, with_pairing):
    columns = [_("需求"), _("类别"), _("提出日期"), _("已等待(天)")]
    if with_pairing:
        columns.insert(0, _("结对"))
    rows = []
    for need in needs["stale"]:
        row = [need["title"], status_label(Need.Category, need["category"]), need["raised_on"], need["days_open"]]
        if with_pairing:
            row.insert(0, need["pairing"])
        rows.append(row)
    return Table("stale_needs", _("超过30天未响应的需求"), columns, rows, empty=_("无"))


def needs_summary(needs, with_times):
    text = _(
        "本期新提出需求%(opened)s件,认领%(claimed)s件,办结%(fulfilled)s件;期末超过30天未响应%(stale)s件。"
    ) % {"opened": needs["opened"], "claimed": needs["claimed"], "fulfilled": needs["fulfilled"], "stale": needs["open_over_30"]}
    if with_times:
        text += _(
            "平均认领用时%(claim)s天,平均办结用时%(response)s天;群众评价%(rated)s件,平均%(rating)s分(满分5分)。"
        ) % {
            "claim": fmt(needs["avg_claim_days"]),
            "response": fmt(needs["avg_response_days"]),
            "rated": needs["rated"],
            "rating": fmt(needs["avg_rating"]),
        }
    return text


def needs_table(needs, with_times):
    rows = [
        [_("新提出"), needs["opened"], _("件")],
        [_("已认领"), needs["claimed"], _("件")],
        [_("已办结"), needs["fulfilled"], _("件")],
        [_("超过30天未响应"), needs["open_over_30"], _("件")],
    ]
    if with_times:
        rows += [
            [_("平均认领用时"), needs["avg_claim_days"], _("天")],
            [_("平均办结用时"), needs["avg_response_days"], _("天")],
            [_("群众评价"), needs["rated"], _("件")],
            [_("平均评分"), needs["avg_rating"], _("分")],
        ]
    return Table("needs", _("需求—响应—反馈"), [_("项目"), _("数值"), _("单位")], rows)


def volunteer_summary(v):
    text = _(
        "已核验志愿服务时长%(hours)s小时,%(volunteers)s名志愿者(人)服务%(records)s人次。"
    ) % {"hours": fmt(v["verified_hours"]), "volunteers": v["volunteers"], "records": v["records"]}
    if v["pending_hours"]:
        text += _("另有%(pending)s小时已记录、待核验,未计入。") % {"pending": fmt(v["pending_hours"])}
    return text


def hours_table(v, link=None):
    # hours are the host branch's (not the co-hosts'): the activities it hosted with verified hours
    return Table(
        "hours",
        _("分支部志愿服务时长(按活动主办支部;只计已核验)"),
        [_("支部"), _("已核验时长(小时)"), _("服务记录(人次)"), _("待核验时长(小时)")],
        [[row["branch"], row["verified_hours"], row["records"], row["pending_hours"]] for row in v["by_branch"]],
        empty=_("无"),
        links=[[None, link(branch_id=row["branch_id"], verified_hours=True), None, None] for row in v["by_branch"]]
        if link else [],
    )


def pairing_rows_table(data, metrics, link=None):
    sum_metrics = [m for m in metrics if m["aggregation"] == Metric.Aggregation.SUM]
    snapshot_metrics = [m for m in metrics if m["aggregation"] != Metric.Aggregation.SUM]
    columns = [
        _("结对"), _("活动(次)"), _("其中已验单"), _("已核验时长(小时)"), _("志愿者(人)"), _("新需求(件)"),
        _("办结需求(件)"), _("计划项目完成/总数"), _("未记录活动的支部"),
    ]
    columns += [f"{m['name']}({m['unit']})" for m in sum_metrics + snapshot_metrics]
    rows, links = [], []

    def row_links(pairing_id, values, dates, wide=False):
        """The links of one row (the totals row: pairing_id None, the report's scope; the program-wide row: wide,
        the program's activities of no pairing)."""
        scope = {"pairing_id": pairing_id, "wide": wide}
        counted = [None, link(**scope), link(**scope, statuses=CONFIRMED),
                   link(**scope, verified_hours=True), None, None, None, None, None]
        for m in sum_metrics:
            counted.append(link(**scope, metric_id=m["id"]) if values.get(m["code"]) is not None else None)
        for m in snapshot_metrics:
            on = dates.get(m["code"])
            counted.append(link(**scope, metric_id=m["id"], after=_day(on), before=_day(on)) if on else None)
        return counted

    # the program-wide activities (no paired village) after the pairings, before the totals they count in
    wide_row = data.get("program_wide")
    for row in data["pairing_rows"] + ([wide_row] if wide_row else []):
        wide = row["pairing"]["id"] is None
        rows.append(
            [
                pairing_name(row["pairing"]) + ("" if wide else state_note(row["pairing"])), row["activities"],
                row["confirmed"], row["verified_hours"], row["volunteers"],
                row["needs_opened"], row["needs_fulfilled"], f"{row['plan_done']}/{row['plan_total']}",
                row["silent_branches"],
            ]
            + [row["metrics"].get(m["code"]) for m in sum_metrics + snapshot_metrics]
        )
        if link:
            links.append(row_links(row["pairing"]["id"], row["metrics"], row.get("metric_dates", {}), wide))
    totals = data["totals"]
    if totals:
        rows.append(
            [
                _("合计"), totals["activities"], totals["confirmed"], totals["verified_hours"], totals["volunteers"],
                totals["needs_opened"], totals["needs_fulfilled"], f"{totals['plan_done']}/{totals['plan_total']}",
                totals["silent_branches"],
            ]
            + [totals["metrics"].get(m["code"]) if m in sum_metrics else None for m in sum_metrics + snapshot_metrics]
        )
        if link:
            links.append(row_links(None, totals["metrics"], {}))
    return Table(
        "pairings",
        _("各结对情况(志愿者合计按人去重;取最新值的指标不跨结对相加)"),
        columns,
        rows,
        total_row=bool(totals),
        empty=_("无结对"),
        links=links,
    )


# --------------------------------------------------------------------------------------------------------
# The three kinds
# --------------------------------------------------------------------------------------------------------


def _monthly(data, notes):
    with_pairing = data["scope"] == "program"
    a, plan, needs, v = data["activities"], data["plan"], data["needs"], data["volunteers"]
    link, ytd_start = linker(data), _day(data["ytd_start"])
    sections = [
        Section(
            "activities",
            _("本月活动开展情况"),
            [activity_summary(data)],
            [by_branch_table(a, link), by_type_table(a, link), activity_list_table(a, with_pairing)],
            chart="activities",
        ),
        Section("metrics", _("成效指标完成情况"), [], [metric_table(data["metrics"], _("本月"), link, ytd_start)], chart="metrics"),
        village_statistics(data),
        Section(
            "plan",
            _("计划事项提示"),
            [
                _("下月(%(month)s)到期%(due)s项,已逾期未完成%(overdue)s项。")
                % {"month": plan["next_month"], "due": len(plan["due_next_month"]), "overdue": len(plan["overdue"])}
            ],
            [
                plan_table("due_next_month", _("下月到期事项"), plan["due_next_month"], with_pairing, _("无")),
                plan_table("overdue", _("逾期未完成事项"), plan["overdue"], with_pairing, _("无")),
            ],
        ),
        meetings_reminder(data),
        Section("needs", _("群众需求(微心愿)"), [needs_summary(needs, False)], [needs_table(needs, False), stale_needs_table(needs, with_pairing)]),
        Section("volunteers", _("志愿服务"), [volunteer_summary(v)], [hours_table(v, link)], chart="hours"),
        completeness(data),
        alerts(data),  # 提示预警: dormant pairings, agreements ending
    ]
    if with_pairing:
        sections.append(Section("pairings", _("各结对情况"), [], [pairing_rows_table(data, data["metrics"], link)]))
    return sections


def alerts(data):
    """The monthly reminder's alerts (提示预警): dormant pairings and agreements ending within 60 days, as at the
    report's day. None for a report without them (another kind, or one built before they were added)."""
    rows = data.get("alerts")
    if rows is None:
        return None
    with_pairing = data["scope"] == "program"
    dormant = [row for row in rows if row["code"] == "dormant"]
    ending = [row for row in rows if row["code"] == "ending"]
    if rows:
        text = _("截至%(as_at)s:%(dormant)s个结对60天以上未开展活动,%(ending)s个结对协议将在60天内到期。") % {
            "as_at": as_at_label(data), "dormant": len(dormant), "ending": len(ending),
        }
    else:
        text = _("截至%(as_at)s:无60天以上未开展活动的结对,也无60天内到期的结对协议。") % {"as_at": as_at_label(data)}
    table_rows = []
    for row in rows:
        if row["code"] == "dormant":
            kind = _("长期未开展活动")
            detail = (_("最近一次活动%(day)s,已%(days)s天") % {"day": row["day"], "days": row["days"]}) if row["day"] \
                else _("尚无活动")
        else:
            kind = _("协议即将到期")
            detail = _("协议%(day)s到期,还有%(days)s天") % {"day": row["day"], "days": row["days"]}
        table_rows.append(([row["pairing"]] if with_pairing else []) + [kind, detail])
    columns = ([_("结对")] if with_pairing else []) + [_("预警"), _("说明")]
    table = Table("alerts", _("结对预警"), columns, table_rows, empty=_("无"))
    return Section("alerts", _("结对预警"), [text], [table])


def completeness(data):
    silent = data["completeness"]["silent"]
    with_pairing = data["scope"] == "program"
    if silent:
        names = "、".join(
            f"{row['branch']}({row['pairing']})" if with_pairing else row["branch"] for row in silent
        )
        text = _("%(n)s个参与支部本期未记录活动:%(names)s。请督促补录或说明情况。") % {"n": len(silent), "names": names}
    else:
        text = _("全部%(n)s个参与支部本期均记录了活动。") % {"n": data["completeness"]["branches"]}
    return Section("completeness", _("工作完整性提示"), [text])


def _quarterly(data, notes):
    with_pairing = data["scope"] == "program"
    a, plan, needs, v = data["activities"], data["plan"], data["needs"], data["volunteers"]
    link, ytd_start = linker(data), _day(data["ytd_start"])
    counts = plan["status_counts"]
    # a plan belongs to its year: the year's plan counts its own overdue items, earlier plans' are said apart
    overdue_this_year = [row for row in plan["overdue"] if row["year"] == int(data["start"][:4])]
    sections = [
        Section(
            "activities",
            _("本季度工作概况"),
            [activity_summary(data)],
            [by_month_table(a, link), by_branch_table(a, link), by_type_table(a, link), activity_list_table(a, with_pairing)],
            chart="activities",
        ),
        Section("metrics", _("成效指标完成进度"), [], [metric_table(data["metrics"], _("本季度"), link, ytd_start)], chart="metrics"),
        village_statistics(data),
        Section(
            "plan",
            _("项目实施清单进展"),
            [
                _("年度计划共%(total)s项:已完成%(done)s项、推进中%(progress)s项、未开始%(planned)s项、已取消%(cancelled)s项;逾期未完成%(overdue)s项。")
                % {
                    "total": plan["total"], "done": counts.get("done", 0), "progress": counts.get("in_progress", 0),
                    "planned": counts.get("planned", 0), "cancelled": counts.get("cancelled", 0),
                    "overdue": len(overdue_this_year),
                }
            ]
            + ([_("另有往年计划逾期未完成%(earlier)s项。") % {"earlier": len(plan["overdue"]) - len(overdue_this_year)}]
               if len(plan["overdue"]) > len(overdue_this_year) else []),
            [plan_table("plan_items", _("项目实施清单"), plan["items"], with_pairing, _("本年度无共建计划"))],
        ),
        meetings_followup(data),
        Section("needs", _("需求—响应—反馈"), [needs_summary(needs, True)], [needs_table(needs, True), stale_needs_table(needs, with_pairing)]),
        Section("volunteers", _("志愿服务"), [volunteer_summary(v)], [hours_table(v, link)], chart="hours"),
        highlights(data),
        completeness(data),
    ]
    if with_pairing:
        sections.append(Section("pairings", _("各结对情况"), [], [pairing_rows_table(data, data["metrics"], link)]))
    sections.append(Section("notes", _("调度意见"), [p for p in (notes or "").splitlines() if p.strip()] or [_("(待填写)")]))
    return sections


def highlights(data):
    section = Section("highlights", _("工作亮点"))
    if not data["highlights"]:
        section.paragraphs.append(_("本季度无带照片的活动。"))
    for h in data["highlights"]:
        section.paragraphs.append(
            _("%(date)s,%(branch)s开展“%(title)s”(%(type)s,服务群众%(served)s人次)。%(summary)s")
            % {
                "date": h["date"], "branch": h["branch"], "title": h["title"], "type": h["type"],
                "served": h["residents_served"], "summary": h["summary"],
            }
        )
        section.photos.extend({"id": p["id"], "caption": p["caption"] or h["title"], "activity": h["title"]} for p in h["photos"])
    return section


def _annual(data, notes):
    with_pairing = data["scope"] == "program"
    a, plan, needs, v = data["activities"], data["plan"], data["needs"], data["volunteers"]
    link, ytd_start = linker(data), _day(data["ytd_start"])
    sections = [Section("overview", _("年度总体情况"), [activity_summary(data)], [], chart="activities")]
    if with_pairing:
        sections[0].tables.append(pairing_rows_table(data, data["metrics"], link))
    sections[0].tables += [by_month_table(a, link), by_branch_table(a, link), by_type_table(a, link)]
    sections += [
        Section("metrics", _("成效指标完成情况"), [], [metric_table(data["metrics"], _("本年度"), link, ytd_start)], chart="metrics"),
        village_statistics(data),
        Section(
            "plan",
            _("项目实施清单完成情况"),
            [_("年度计划共%(total)s项,已完成%(done)s项。") % {"total": plan["total"], "done": plan["done"]}],
            [plan_table("plan_items", _("项目实施清单"), plan["items"], with_pairing, _("本年度无共建计划"))] if plan["items"] else [],
        ),
        Section("needs", _("需求—响应—反馈"), [needs_summary(needs, True)], [needs_table(needs, True)]),
        Section("volunteers", _("志愿服务"), [volunteer_summary(v)], [hours_table(v, link)], chart="hours"),
    ]
    if not with_pairing:
        sections[0].tables.append(activity_list_table(a, False))
    return sections


def detail_sections(detail, data=None):
    """One pairing's part of an annual summary (the list of activities only when the data carry it: the
    annual export streams its ledger separately); with the report's ``data``, its figures link to their
    activities in that pairing."""
    a = detail["activities"]
    wide = detail["pairing"]["id"] is None
    link = linker(data, detail["pairing"]["id"], wide=wide) if data is not None else None
    ytd_start = _day(data["ytd_start"]) if data is not None else None
    sections = [
        Section("activities", _("活动情况"), [], [by_month_table(a, link), by_branch_table(a, link), by_type_table(a, link)]),
        Section("metrics", _("成效指标"), [], [metric_table(detail["metrics"], _("本年度"), link, ytd_start)]),
        Section("volunteers", _("志愿服务"), [volunteer_summary(detail["volunteers"])], [hours_table(detail["volunteers"], link)]),
    ]
    if a["items"] or not a["total"]:
        sections.append(Section("list", _("活动明细"), [], [activity_list_table(a, False)]))
    return sections


BUILDERS = {"monthly": _monthly, "quarterly": _quarterly, "annual": _annual}


def document(report):
    """The Document of a Report (or of anything with kind, data, notes, status, version, pk)."""
    data = report.data
    sections = [section for section in BUILDERS[data["kind"]](data, report.notes) if section is not None]
    for n, section in enumerate(sections, 1):
        section.title = _numbered(n, section.title)
    status = getattr(report, "status_label", None) or (_("已发布") if report.status == "published" else _("草稿"))
    meta = [
        (_("项目"), data["program"]["name"]),
        (_("范围"), scope_label(data)),
        (_("期间"), f"{period_label(data)}({data['start']} 至 {data['end']})"),
        (_("版本"), f"v{report.version} · {status}"),
        (_("数据截至"), as_at_label(data)),
        (_("生成时间"), datetime.datetime.fromisoformat(data["built_at"]).astimezone(_tz()).strftime("%Y-%m-%d %H:%M")),
    ]
    doc = Document(
        kind=data["kind"],
        title=kind_title(data["kind"]),
        period_label=period_label(data),
        subtitle=f"{data['program']['name']} · {scope_label(data)} · {period_label(data)}",
        issuer=data["program"].get("office", ""),
        meta=meta,
        sections=sections,
        status=report.status,
        version=report.version,
        file_stem=file_stem(data, report.version),
        issued_on=_issued_on(report),
    )
    for detail in data.get("details", []):
        doc.details.append((pairing_name(detail["pairing"]), detail_sections(detail, data)))
    return doc


def as_at_label(data):
    """The day the report's figures stand at (YYYY-MM-DD): its ``as_at`` (the period's end, or the build day if
    earlier); a report built before it was recorded falls back to its build day."""
    if data.get("as_at"):
        return data["as_at"]
    return datetime.datetime.fromisoformat(data["built_at"]).astimezone(_tz()).date().isoformat()


def file_stem(data, version):
    """An ASCII file name for downloads: slsz-monthly-2024-03-pairing7-v1."""
    scope_slug = f"pairing{data['pairing']['id']}" if data.get("pairing") else "program"
    code = "".join(ch for ch in data["program"]["code"] if ch.isascii() and (ch.isalnum() or ch in "-_")) or "report"
    return f"{code}-{data['kind']}-{data['period']}-{scope_slug}-v{version}"


def _issued_on(report):
    moment = getattr(report, "published_at", None) or getattr(report, "generated_at", None)
    return moment.astimezone(_tz()).date() if moment else None


def _tz():
    from reports.periods import TZ

    return TZ
