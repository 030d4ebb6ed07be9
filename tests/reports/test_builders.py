"""The report builder: counting rules, the three kinds, both scopes, and a fixed number of queries."""

import datetime
import json
from decimal import Decimal

import pytest

from reports.builders import BuildError, build_report_data
from reports.periods import TZ, Month, Year
from activities.models import ActionItem, Meeting
from tests import factories as f
from tests.reports.conftest import activity

pytestmark = pytest.mark.django_db


def by_label(rows, key="label"):
    return {row[key]: row for row in rows}


def test_monthly_pairing_report_counts(records):
    data = build_report_data("monthly", "2024-03", records["program"], records["pairing"])
    json.dumps(data)  # JSON-able as stored
    a = data["activities"]
    # a1, a2, a3 count; the draft, the returned and the deleted activity do not; a0 is February.
    assert (a["total"], a["confirmed"], a["submitted"]) == (3, 2, 1)
    assert [item["id"] for item in a["items"]] == [records["activities"][k].id for k in ("a1", "a2", "a3")]
    types = by_label(a["by_type"])
    assert list(types) == ["联席会议", "志愿服务"]  # catalogue order
    assert (types["志愿服务"]["total"], types["志愿服务"]["confirmed"]) == (2, 2)
    # the co-hosted a1 credits both branches once each (the host listed as its own co-host is ignored)
    branches = by_label(a["by_branch"])
    assert (branches["第三党支部"]["total"], branches["第三党支部"]["confirmed"]) == (2, 1)
    assert (branches["第四党支部"]["total"], branches["第四党支部"]["confirmed"]) == (2, 2)
    assert branches["第五党支部"]["total"] == 0
    assert sum(row["total"] for row in a["by_branch"]) == 4  # credits, while the pairing counts 3 activities
    assert a["items"][0]["co_branches"] == ["第四党支部"]
    # people added over activities are person-times
    assert a["participants"] == {"party_members": 9, "teachers": 3, "students": 12, "residents_served": 65}
    assert [m["month"] for m in a["by_month"]] == ["2024-01", "2024-02", "2024-03"]
    assert [m["total"] for m in a["by_month"]] == [0, 1, 3]


def test_metrics_sum_snapshot_and_targets(records):
    data = build_report_data("monthly", "2024-03", records["program"], records["pairing"])
    metrics = {m["code"]: m for m in data["metrics"]}
    repairs = metrics["repairs"]
    assert (repairs["period_value"], repairs["ytd_value"], repairs["target"]) == (11.5, 18.5, 100)
    assert repairs["progress"] == 18.5  # the cancelled item's 50 is not part of the target
    visits = metrics["visits"]
    assert (visits["unit"], visits["period_value"], visits["target"], visits["progress"]) == ("人次", 65, None, None)
    income = metrics["income"]  # snapshot: the latest value, not the sum nor the largest
    assert (income["period_value"], income["ytd_value"], income["target"], income["progress"]) == (16000, 16000, 20000, 80.0)
    february = {m["code"]: m for m in build_report_data("monthly", "2024-02", records["program"], records["pairing"])["metrics"]}
    assert (february["repairs"]["period_value"], february["income"]["period_value"]) == (7, 15000)
    april = {m["code"]: m for m in build_report_data("monthly", "2024-04", records["program"], records["pairing"])["metrics"]}
    assert (april["repairs"]["period_value"], april["repairs"]["ytd_value"]) == (0, 18.5)
    assert (april["income"]["period_value"], april["income"]["ytd_value"]) == (None, 16000)


def test_plan_needs_hours_completeness(records):
    data = build_report_data("monthly", "2024-03", records["program"], records["pairing"])
    plan = data["plan"]
    assert plan["next_month"] == "2024-04"
    assert [item["title"] for item in plan["due_next_month"]] == ["小电匠家电维修"]
    assert [item["title"] for item in plan["overdue"]] == ["井上添画"]
    assert plan["items"] == []  # the monthly reminder lists only what is due
    needs = data["needs"]
    assert (needs["opened"], needs["claimed"], needs["fulfilled"], needs["rated"]) == (3, 2, 1, 1)
    assert needs["open_over_30"] == 1 and needs["stale"][0]["title"] == "健身器材"
    assert needs["stale"][0]["raised_on"] == "2024-01-15"
    assert (needs["avg_claim_days"], needs["avg_response_days"], needs["avg_rating"]) == (1.5, 10.0, 5.0)
    v = data["volunteers"]
    # verified only: 3.5 + 2 + 1.5; the recorded 4 h wait apart; deleted records and drafts never count
    assert (v["verified_hours"], v["pending_hours"], v["records"], v["volunteers"]) == (7, 4, 3, 2)
    hours = {row["branch"]: row["verified_hours"] for row in v["by_branch"]}
    assert hours == {"第三党支部": 5.5, "第四党支部": 1.5, "第五党支部": 0}
    assert [s["branch"] for s in data["completeness"]["silent"]] == ["第五党支部"]
    assert data["completeness"]["branches"] == 3


def test_quarterly_has_plan_items_and_highlights_without_minors(records):
    data = build_report_data("quarterly", "2024Q1", records["program"], records["pairing"])
    assert (data["activities"]["total"], data["activities"]["confirmed"]) == (4, 3)
    assert len(data["plan"]["items"]) == 5
    assert data["plan"]["status_counts"] == {"planned": 2, "in_progress": 1, "done": 1, "cancelled": 1}
    assert [h["activity_id"] for h in data["highlights"]] == [records["activities"]["a3"].id]
    photos = data["highlights"][0]["photos"]
    assert [p["id"] for p in photos] == [records["photo"].id]  # the photo showing minors is left out
    assert data["needs"]["opened"] == 4  # 健身器材 in January too


def test_program_scope_rows_and_totals(records):
    program, pairing = records["program"], records["pairing"]
    second = f.PairingFactory(program=program, supporter=records["school"])
    f.PairingBranchFactory(pairing=second, branch=records["branch"])
    activity(second, records["branch"], "2024-03-09", residents_served=5)
    data = build_report_data("annual", "2024", program)
    assert data["scope"] == "program" and data["pairing"] is None
    rows = {row["pairing"]["id"]: row for row in data["pairing_rows"]}
    assert set(rows) == {pairing.id, second.id}
    assert rows[pairing.id]["activities"] == 4 and rows[second.id]["activities"] == 1
    assert data["totals"]["activities"] == 5 == data["activities"]["total"]
    assert data["totals"]["volunteers"] == 2  # distinct persons, not a sum of the rows
    assert data["totals"]["metrics"]["income"] is None  # snapshots are never added across pairings
    assert rows[pairing.id]["metrics"]["income"] == 16000
    assert data["activities"]["items"] == []  # the program's annual summary lists per pairing instead
    assert [d["pairing"]["id"] for d in data["details"]] == [p["id"] for p in data["pairings"]]
    detail = next(d for d in data["details"] if d["pairing"]["id"] == pairing.id)
    assert len(detail["activities"]["items"]) == 4
    # the branch taking part in both pairings is silent in neither; 第五党支部 logged nothing all year
    assert [(s["branch"], s["pairing_id"]) for s in data["completeness"]["silent"]] == [("第五党支部", pairing.id)]


def test_foreign_pairings_never_leak(records):
    data = build_report_data("monthly", "2024-03", records["program"])
    assert records["activities"]["foreign"].id not in {item["id"] for item in data["activities"]["items"]}
    with pytest.raises(BuildError):
        build_report_data("monthly", "2024-03", records["program"], records["other_pairing"])


@pytest.mark.parametrize("kind, period", [("monthly", "2024Q1"), ("quarterly", "2024-03"), ("annual", "2024-03"), ("weekly", "2024")])
def test_kind_and_period_must_match(records, kind, period):
    with pytest.raises((BuildError, ValueError)):
        build_report_data(kind, period, records["program"])


def grow(records, n, *, wide=False):
    """n more activities with co-hosts, metric values, photos and hours (with ``wide``, as many program-wide ones
    too: no pairing, in January and March)."""
    pairing, branch, other = records["pairing"], records["branch"], records["other_branch"]
    for i in range(n):
        a = activity(pairing, branch, f"2024-03-{i % 27 + 1:02d}", residents_served=i)
        made = [a]
        if wide:
            made.append(activity(
                None, branch, f"2024-{1 + 2 * (i % 2):02d}-{i % 27 + 1:02d}", program=records["program"], residents_served=i
            ))
        for a in made:
            a.co_branches.add(other)
            f.ActivityMetricValueFactory(activity=a, metric=records["metrics"]["repairs"], value=Decimal(1))
            f.ActivityMetricValueFactory(activity=a, metric=records["metrics"]["income"], value=Decimal(17000 + i))
            f.ServiceRecordFactory(activity=a, status="verified", verified_at=datetime.datetime(2024, 3, 30, tzinfo=datetime.timezone.utc))
            f.ActivityPhotoFactory(activity=a)
        f.NeedFactory(pairing=pairing, raised_at=datetime.datetime(2024, 3, 2, tzinfo=datetime.timezone.utc))
        indicator = f.VillageIndicatorFactory(code=f"indicator-{i % 3}")
        f.VillageStatisticFactory(village=pairing.supported, indicator=indicator, as_at=datetime.date(2020 + i // 3, 12, 31))
        meeting = Meeting.objects.create(program=records["program"], pairing=pairing if i % 2 else None, title=f"会议{i}",
                                         date=datetime.date(2024, 3, i % 27 + 1))
        ActionItem.objects.create(meeting=meeting, text="决定", owner_org=branch, due_date=datetime.date(2024, 3, 20))


@pytest.mark.parametrize("kind, period", [("monthly", "2024-03"), ("quarterly", "2024Q1"), ("annual", "2024")])
@pytest.mark.parametrize("scope", ["program", "pairing"])
@pytest.mark.parametrize("built", ["after", "during"])
def test_query_count_is_fixed(records, django_assert_num_queries, kind, period, scope, built):
    program = records["program"]
    pairing = records["pairing"] if scope == "pairing" else None
    # "during": built on the period's last day (before it ended), so as at that day with the statuses of now;
    # "after": built today, so every status as it stood at the period's end (read from the history)
    now = datetime.datetime(2024, {"monthly": 3, "quarterly": 3, "annual": 12}[kind], 31, 12, tzinfo=TZ) if built == "during" else None
    expected = {
        # scope pairings, the activity list and its co-hosts (the counts per type, host branch and pairing are
        # added up from them), branches, service hours with the volunteers counted (one query), needs, plan
        # items, targets, metrics, the period's metric sums and latest values, and the months of the year to date:
        # January-February from the rollup (months, metrics: two queries), March from the type counts; the plan
        # items' progress as at the report's day (figures.item_progress: their targets, what was achieved: two
        # queries)
        ("during", "monthly"): 14,
        ("during", "quarterly"): 15,  # Q1: nothing before it in the year; its months from the activities (one query); + highlights and their photos
        ("during", "annual"): 13,  # its months from the rollup
        # after the period: hours and volunteers as they stood, also one query; the months of the year to date from
        # the rollup (months, metrics: two queries) but for the pairings with an activity whose status changed since
        # the period's end (one query finds them; these records were all saved since: their months, metrics as they
        # stood, two queries), the period's metric sums and latest values as they stood (one query)
        ("after", "monthly"): 17,
        ("after", "quarterly"): 15,  # Q1: nothing before it in the year; its months as they stood (one query)
        ("after", "annual"): 16,  # its twelve months as for the months before a monthly report's period
    }[built, kind] + (scope == "pairing") + (kind == "monthly")
    # a pairing's report: its village's statistics as at its day (one query); a monthly reminder: its pairings'
    # last counted activity as at its day, for its alerts (dormant pairings, agreements ending; one query)
    expected += 2 * (kind != "annual")  # the joint meetings: the last meeting, the decisions as they stood
    if scope == "program":
        # its program-wide activities (no pairing): built during the period, their complete months before it from
        # the source rows (figures.program_wide_months: the months, the metrics; none before a first quarter);
        # after it, nothing more (the distinct volunteers overall are counted with the hours)
        expected += {("during", "monthly"): 2, ("during", "annual"): 2}.get((built, kind), 0)
    with django_assert_num_queries(expected):
        small = build_report_data(kind, period, program, pairing, now=now)
    grow(records, 12, wide=scope == "program")
    with django_assert_num_queries(expected):
        big = build_report_data(kind, period, program, pairing, now=now)
    in_period = 12 + (scope == "program") * (12 if kind != "monthly" else 6)  # the program-wide: half in January
    assert big["activities"]["total"] == small["activities"]["total"] + in_period


def test_itemized_false_drops_lists_but_not_numbers(records):
    full = build_report_data("annual", "2024", records["program"], now=datetime.datetime(2024, 12, 31, tzinfo=datetime.timezone.utc))
    lean = build_report_data("annual", "2024", records["program"], itemized=False, now=datetime.datetime(2024, 12, 31, tzinfo=datetime.timezone.utc))
    for detail in lean["details"]:
        assert detail["activities"]["items"] == []
    for detail in full["details"]:
        detail["activities"]["items"] = []
    assert full == lean


def test_details_false_drops_the_part_per_pairing_only(records):
    """The annual export's workbook shows no part per pairing: its summary, built without one, is the same."""
    now = datetime.datetime(2024, 12, 31, tzinfo=datetime.timezone.utc)
    full = build_report_data("annual", "2024", records["program"], itemized=False, now=now)
    lean = build_report_data("annual", "2024", records["program"], itemized=False, now=now, details=False)
    assert full["details"] and lean["details"] == []
    assert {**full, "details": []} == lean


def test_itemized_false_as_it_stood_counts_as_the_listed_report(records):
    """A past year's lean report (the annual export's summary: on PostgreSQL its counts per type, host, month and
    pairing in one pass, selectors.activity_counts) gives the numbers the listed report adds up from its rows."""
    later = datetime.datetime(2025, 3, 1, tzinfo=datetime.timezone.utc)
    a1 = records["activities"]["a1"]
    a1.status = "returned"  # returned since the year ended: it counted then
    a1.save()
    full = build_report_data("annual", "2024", records["program"], now=later)
    lean = build_report_data("annual", "2024", records["program"], itemized=False, now=later)
    for detail in full["details"]:
        detail["activities"]["items"] = []
    assert full == lean
    assert lean["activities"]["total"] == build_report_data("annual", "2024", records["program"], now=later, raw=True)[
        "activities"]["total"]


@pytest.mark.parametrize("as_at", [None, datetime.date(2024, 12, 31)])
def test_activity_counts_in_one_pass_as_the_four_groupings(records, postgres_only, as_at):
    from reports import selectors

    a1 = records["activities"]["a1"]
    a1.status = "returned"
    a1.save()
    ids = [records["pairing"].id]
    args = (ids, datetime.date(2024, 1, 1), datetime.date(2024, 12, 31), as_at)
    wide = records["program"].id
    types, hosts, people, months = selectors.activity_counts(*args, wide=wide)

    def same(rows, expected):
        key = lambda row: json.dumps(row, sort_keys=True, default=str)  # noqa: E731
        # the one pass's rows are records read as the ORM's dicts are: compared as those dicts
        assert sorted(map(dict, rows), key=key) == sorted(expected, key=key)

    same(types, selectors.activity_type_counts(*args, wide=wide))
    same(hosts, selectors.host_branch_counts(*args, wide=wide))
    same(people, selectors.participant_sums(*args, wide=wide))
    same(months, selectors.activity_month_rows(*args, wide=wide))
    assert types and hosts and people and months
    counts = selectors.summary_counts(*args, wide=wide)
    assert (counts.types, counts.hosts, counts.people, counts.months) == (types, hosts, people, months)
    same(counts.co_hosts, selectors.co_branch_counts(*args, wide=wide))
    hours, *volunteers = selectors.service_summary(args[0], *args[1:3], wide=wide, as_at=as_at)
    assert [dict(row) for row in counts.hours] == hours and counts.volunteers == tuple(volunteers)
    assert hours and volunteers[1]
    assert counts.co_hosts or as_at is None  # a1, the co-hosted one, counted then only (returned since)


def test_month_bounds_use_shanghai_time(records):
    pairing = records["pairing"]
    # raised 31 March 23:30 in Shanghai (15:30 UTC): a March need, not an April one
    f.NeedFactory(pairing=pairing, raised_at=datetime.datetime(2024, 3, 31, 15, 30, tzinfo=datetime.timezone.utc))
    march = build_report_data("monthly", Month(2024, 3), records["program"], pairing)
    april = build_report_data("monthly", Month(2024, 4), records["program"], pairing)
    assert march["needs"]["opened"] == 4
    assert april["needs"]["opened"] == 1


@pytest.mark.parametrize("kind, period", [("monthly", Month(2024, 3)), ("annual", Year(2024))])
def test_fetch_keeps_for_each_metric_what_its_aggregation_reads(records, kind, period):
    """fetch(snapshot_metrics=…), as a report fetches: the latest values of the snapshot metrics alone and the sums
    of the others, the rows metric_section reads; its metric rows are those made from every metric's both."""
    from reports import builders, selectors

    metrics = selectors.program_metrics(records["program"])
    snapshot = builders.snapshot_metric_ids(metrics)
    assert snapshot and len(snapshot) < len(metrics)  # income; repairs and visits are added up
    now = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
    ids = [records["pairing"].id]
    every = builders.fetch(kind, period, ids, True, as_at=period.end, now=now)
    kept = builders.fetch(kind, period, ids, True, as_at=period.end, now=now, snapshot_metrics=snapshot)
    assert [dict(row) for row in kept.snapshots] == [dict(row) for row in every.snapshots if row["metric_id"] in snapshot]
    assert kept.snapshots and kept.metric_sums
    assert {row["metric_id"] for row in every.snapshots} - snapshot  # the sums' latest values were read, and are not
    assert [dict(row) for row in kept.metric_sums] == [
        dict(row) for row in every.metric_sums if row["metric_id"] not in snapshot
    ]
    for single in (True, False):
        assert builders.metric_section(metrics, kept, period, single) == builders.metric_section(metrics, every, period, single)


def test_merged_adds_the_history_to_the_rollup_rows_as_they_are_read():
    """_merged: the rollup's rows and the history's, each one per pairing and metric in _row_key's order, come out
    one per pairing and metric: the totals added up, the latest value the later one; read as they come."""
    from reports.builders import _merged

    day = datetime.date
    rollup = [
        (1, 1, Decimal("10"), Decimal("5"), day(2024, 3, 2), 7),
        (1, 2, Decimal("4"), Decimal("2"), day(2024, 3, 9), 8),
        (2, 1, Decimal("1"), Decimal("1"), day(2024, 1, 5), 9),
        (None, 1, Decimal("6"), Decimal("6"), day(2024, 2, 1), 3),
    ]
    history = [
        (1, 2, Decimal("3"), Decimal("9"), day(2024, 12, 9), 11),  # later than the rollup's: its value is the latest
        (2, 1, Decimal("2"), Decimal("8"), day(2023, 12, 30), 2),  # earlier: the rollup's stays
        (3, 1, Decimal("4"), Decimal("4"), day(2024, 6, 1), 12),  # the history's alone
        (None, 1, Decimal("1"), None, None, None),  # no value with a date: the rollup's stays
    ]
    read = []

    def reading(rows):
        for row in rows:
            read.append(row)
            yield row

    merged = _merged(reading(rollup), reading(history))
    assert next(merged) == rollup[0]
    assert len(read) <= 3  # a row of each, and the next of one: neither list is read ahead
    assert list(merged) == [
        (1, 2, Decimal("7"), Decimal("9"), day(2024, 12, 9), 11),
        (2, 1, Decimal("3"), Decimal("1"), day(2024, 1, 5), 9),
        (3, 1, Decimal("4"), Decimal("4"), day(2024, 6, 1), 12),
        (None, 1, Decimal("7"), Decimal("6"), day(2024, 2, 1), 3),
    ]


@pytest.mark.parametrize("itemized", [True, False])
def test_runs_give_each_pairing_the_rows_split_gives(records, itemized):
    """Fetched.runs(), a pairing at a time (the program-wide rows last), gives each pairing what split() gives it."""
    from reports import builders

    grow(records, 3, wide=True)
    f.PairingFactory(program=records["program"])  # a pairing without rows: in neither
    period = Year(2024)
    ids = list(records["program"].pairings.values_list("id", flat=True))
    now = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)

    def fetched():
        return builders.fetch(
            "annual", period, ids, itemized, as_at=period.end, now=now, wide=records["program"].id,
            by_pairing=False,
        )

    def rows(part):
        return {
            name: [dict(row) for row in getattr(part, name)] if getattr(part, name) is not None else None
            for name in [*builders._SPLIT_KEYS, "items"]
        }

    split = {pid: rows(part) for pid, part in fetched().split().items()}
    whole = fetched()
    before = rows(whole)
    runs = [(pid, rows(part)) for pid, part in whole.runs()]
    assert rows(whole) == before  # its lists left as they were: the program's sections are made from them after
    assert [pid for pid, _part in runs] == sorted(pid for pid in split if pid is not None) + [None]
    assert dict(runs) == split
    assert any(part["hours"] and part["metric_sums"] for _pid, part in runs)


@pytest.mark.parametrize("kind,period", [("annual", Year(2024)), ("monthly", Month(2024, 3))])
def test_scope_data_letting_go_of_the_rows_makes_the_same_sections(records, kind, period):
    """A program's summary lets each row list go once the last section reading it is made (``release``): the same
    report, and no list left that a section could still read (a section reading one after would fail)."""
    from reports import builders

    grow(records, 3, wide=True)
    ids = list(records["program"].pairings.values_list("id", flat=True))
    now = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
    metrics = builders.selectors.program_metrics(records["program"])
    names = {pid: str(pid) for pid in ids}

    def made(release):
        fetched = builders.fetch(kind, period, ids, True, as_at=period.end, now=now, wide=records["program"].id)
        data = builders.scope_data(
            kind, period, records["program"], None, [], names, fetched, metrics, 0, [], now, single=False,
            release=release,
        )
        return fetched, data.to_dict()

    kept, expected = made(False)
    let_go, data = made(True)
    assert data == expected
    assert expected["activities"]["total"] and expected["plan"]["items" if kind == "annual" else "overdue"]
    assert all(getattr(kept, name) is not None for name in builders._SPLIT_KEYS)
    assert all(getattr(let_go, name) is None for name in [*builders._SPLIT_KEYS, "items", "listed"])


def test_report_data_let_go_as_it_is_converted_gives_the_same_dict(records):
    """build_report_data converts its ReportData letting each part go once converted (``release``): the same dict
    as the plain conversion, and nothing left in the ReportData."""
    from reports.builders import build_report

    grow(records, 3, wide=True)
    now = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
    for pairing in (None, records["pairing"]):
        expected = build_report("annual", "2024", records["program"], pairing, now=now).to_dict()
        data = build_report("annual", "2024", records["program"], pairing, now=now)
        assert data.to_dict(release=True) == expected
        assert set(vars(data).values()) == {None}
        assert json.loads(json.dumps(expected)) == expected


def test_an_overdue_item_of_the_years_plan_is_listed_overdue_and_in_the_plan(records):
    """The open item due in March is overdue at the year's end and part of the year's plan: listed in both, the
    same row (one dict, not two copies of it)."""
    data = build_report_data("annual", "2024", records["program"], records["pairing"])
    overdue = {item["title"]: item for item in data["plan"]["overdue"]}
    items = {item["title"]: item for item in data["plan"]["items"]}
    assert "井上添画" in overdue and "井上添画" in items
    assert overdue["井上添画"] == items["井上添画"]
    assert overdue["井上添画"]["status"] == "planned" and overdue["井上添画"]["due_date"] == "2024-03-10"
    assert overdue["井上添画"] is items["井上添画"]
    assert "联席会议" in items and "联席会议" not in overdue  # done: in the plan only
