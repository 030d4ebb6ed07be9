"""Headline figures and derived plan progress, recomputed independently with raw SQL and compared."""

import datetime
import random
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from figures import selectors
from tests import factories as f
from tests.pairings.helpers import activity, plan_items_with_progress

pytestmark = pytest.mark.django_db

COUNTED = ("submitted", "confirmed")


def dec(value):
    """A number from the database (SQLite returns floats for decimal sums) as a 2-place Decimal."""
    return Decimal(str(value if value is not None else 0)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def sql(query, params):
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def sql_headline(pairing_id, year):
    start, end = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    in_year = (
        "a.pairing_id = %s AND a.status IN ('submitted', 'confirmed') AND a.deleted_at IS NULL "
        "AND a.date >= %s AND a.date <= %s"
    )
    params = [pairing_id, start, end]
    (count, people), = sql(f"SELECT COUNT(*), SUM(a.residents_served) FROM activities_activity a WHERE {in_year}", params)
    (hours,), = sql(
        "SELECT SUM(r.hours) FROM activities_servicerecord r JOIN activities_activity a ON a.id = r.activity_id "
        f"WHERE {in_year} AND r.status = 'verified' AND r.deleted_at IS NULL",
        params,
    )
    metrics = {}
    for metric_id, aggregation in sql(
        "SELECT m.id, m.aggregation FROM pairings_metric m JOIN pairings_pairing p ON p.program_id = m.program_id "
        "WHERE p.id = %s",
        [pairing_id],
    ):
        if aggregation == "sum":
            (value,), = sql(
                "SELECT SUM(v.value) FROM activities_activitymetricvalue v JOIN activities_activity a "
                f"ON a.id = v.activity_id WHERE {in_year} AND v.metric_id = %s",
                params + [metric_id],
            )
        else:
            rows = sql(
                "SELECT v.value FROM activities_activitymetricvalue v JOIN activities_activity a "
                f"ON a.id = v.activity_id WHERE {in_year} AND v.metric_id = %s ORDER BY a.date DESC, a.id DESC LIMIT 1",
                params + [metric_id],
            )
            value = rows[0][0] if rows else None
        (target_sum, target_max), = sql(
            "SELECT SUM(t.value), MAX(t.value) FROM pairings_plantarget t JOIN pairings_planitem i ON i.id = t.item_id "
            "JOIN pairings_jointplan j ON j.id = i.plan_id WHERE j.pairing_id = %s AND j.year = %s "
            "AND i.status <> 'cancelled' AND t.metric_id = %s",
            [pairing_id, year, metric_id],
        )
        target = target_sum if aggregation == "sum" else target_max
        metrics[metric_id] = (dec(value), None if target is None else dec(target))
    return {"activities": count, "people": people or 0, "hours": dec(hours), "metrics": metrics}


def sql_progress(plan_id, as_at=None):
    """Each item's progress: targets → mean of min(1, achieved / target), rounded down; else as set by hand.
    Only the counted activities dated in the plan's year (and up to `as_at`, if given) count."""
    progress = {}
    (year,), = sql("SELECT year FROM pairings_jointplan WHERE id = %s", [plan_id])
    first, last = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    if as_at is not None:
        last = min(last, as_at)
    for item_id, hand in sql("SELECT id, progress FROM pairings_planitem WHERE plan_id = %s", [plan_id]):
        targets = sql(
            "SELECT t.metric_id, t.value, m.aggregation FROM pairings_plantarget t JOIN pairings_metric m "
            "ON m.id = t.metric_id WHERE t.item_id = %s",
            [item_id],
        )
        if not targets:
            progress[item_id] = hand
            continue
        linked = (
            "a.plan_item_id = %s AND a.status IN ('submitted', 'confirmed') AND a.deleted_at IS NULL AND v.metric_id = %s"
            " AND a.date BETWEEN %s AND %s"
        )
        ratios = []
        for metric_id, target, aggregation in targets:
            if aggregation == "sum":
                (achieved,), = sql(
                    "SELECT SUM(v.value) FROM activities_activitymetricvalue v JOIN activities_activity a "
                    f"ON a.id = v.activity_id WHERE {linked}",
                    [item_id, metric_id, first, last],
                )
            else:
                rows = sql(
                    "SELECT v.value FROM activities_activitymetricvalue v JOIN activities_activity a "
                    f"ON a.id = v.activity_id WHERE {linked} ORDER BY a.date DESC, a.id DESC LIMIT 1",
                    [item_id, metric_id, first, last],
                )
                achieved = rows[0][0] if rows else 0
            ratios.append(min(Decimal(1), Decimal(str(achieved or 0)) / Decimal(str(target))))
        progress[item_id] = int(sum(ratios) * 100 / len(ratios))
    return progress


def soft_delete(obj):
    """Delete as the admin does (a save, so the figures' rollup hears of it)."""
    obj.deleted_at = timezone.now()
    obj.save(update_fields=["deleted_at"])


@pytest.fixture
def busy(world, django_capture_on_commit_callbacks):
    """A year of a pairing's life: every status, deleted rows, other years, another pairing, co-hosted work.
    Written in one transaction whose commit hooks run at the end, as a request's would: the headline reads
    the rollup they keep current."""
    with django_capture_on_commit_callbacks(execute=True):
        return _busy(world)


def _busy(world):
    rng = random.Random(20240601)
    pairing, program = world["pairing"], world["program"]
    branches = [world["branch"], world["other_branch"]]
    repairs = f.MetricFactory(program=program, code="repairs", name="维修家电", unit="件")
    served = f.MetricFactory(program=program, code="served", name="服务群众", unit="人次")
    income = f.MetricFactory(program=program, code="income", name="人均纯收入", unit="元", aggregation="snapshot")
    f.MetricFactory(program=program, code="trees", name="植树", unit="株")  # never recorded, no target
    metrics = [repairs, served, income]

    plan = f.JointPlanFactory(pairing=pairing, year=2024)
    items = [
        f.PlanItemFactory(plan=plan, title="小电匠进村", status="in_progress"),
        f.PlanItemFactory(plan=plan, title="产业帮扶", status="in_progress"),
        f.PlanItemFactory(plan=plan, title="主题党日", progress=40),  # no targets: set by hand
        f.PlanItemFactory(plan=plan, title="取消的项目", status="cancelled"),
    ]
    f.PlanTargetFactory(item=items[0], metric=repairs, value=Decimal("100"))
    f.PlanTargetFactory(item=items[0], metric=served, value=Decimal("300"))
    f.PlanTargetFactory(item=items[1], metric=income, value=Decimal("18000"))
    f.PlanTargetFactory(item=items[1], metric=repairs, value=Decimal("20"))
    f.PlanTargetFactory(item=items[3], metric=repairs, value=Decimal("999"))  # cancelled: not a target
    f.JointPlanFactory(pairing=pairing, year=2023)

    other_pairing = world["other_pairing"]
    foreign_metric = f.MetricFactory(program=other_pairing.program, code="other", name="他项", unit="件")

    statuses = ["draft", "submitted", "confirmed", "confirmed", "returned"]
    for n in range(60):
        status = rng.choice(statuses)
        date = datetime.date(rng.choice([2023, 2024, 2024, 2024, 2025]), rng.randint(1, 12), rng.randint(1, 28))
        act = activity(
            pairing,
            rng.choice(branches),
            status=status,
            date=date,
            residents_served=rng.randint(0, 50),
            plan_item=rng.choice(items + [None]),
        )
        if n % 7 == 0:  # co-hosted by the other branch as well: still one activity of the pairing
            act.co_branches.add(*branches)
        if n % 11 == 0:
            soft_delete(act)
        for metric in rng.sample(metrics, rng.randint(0, 3)):
            value = Decimal(rng.randint(15000, 19000)) if metric is income else Decimal(rng.randint(1, 20))
            f.ActivityMetricValueFactory(activity=act, metric=metric, value=value)
        for _ in range(rng.randint(0, 3)):
            record = f.ServiceRecordFactory(
                activity=act,
                hours=Decimal(rng.randint(1, 16)) / 2,
                status=rng.choice(["recorded", "verified"]),
                verified_at=timezone.now(),
            )
            if rng.random() < 0.1:
                soft_delete(record)
    for n in range(5):  # another pairing's work never counts here
        act = activity(other_pairing, f.OrganizationFactory(kind="branch"), date=datetime.date(2024, 5, n + 1), residents_served=9)
        f.ActivityMetricValueFactory(activity=act, metric=foreign_metric, value=Decimal(5))
        f.ServiceRecordFactory(activity=act, status="verified", verified_at=timezone.now())
    return {"plan": plan, "items": items, "metrics": metrics}


@pytest.mark.parametrize("year", [2023, 2024, 2025, 2026])
def test_headline_matches_raw_sql(world, busy, year):
    pairing = world["pairing"]
    headline = selectors.pairing_headline(pairing, year)
    expected = sql_headline(pairing.pk, year)
    assert headline.activities == expected["activities"]
    assert headline.people_served == expected["people"]
    assert dec(headline.volunteer_hours) == expected["hours"]
    got = {figure.metric.pk: (dec(figure.value), None if figure.target is None else dec(figure.target)) for figure in headline.metrics}
    assert got == expected["metrics"]
    if year == 2024:
        assert headline.activities > 5 and expected["hours"] > 0  # the data is not trivially empty


def test_derived_progress_matches_raw_sql(world, busy):
    items = plan_items_with_progress(busy["plan"], today=datetime.date(2024, 12, 1))
    expected = sql_progress(busy["plan"].pk)
    assert {item.pk: item.derived_progress for item in items} == expected
    assert expected[busy["items"][2].pk] == 40  # the hand-set one
    assert 0 < expected[busy["items"][0].pk] <= 100


def test_co_hosted_activity_counts_once(world, django_capture_on_commit_callbacks):
    pairing = world["pairing"]
    metric = f.MetricFactory(program=world["program"], unit="件")
    with django_capture_on_commit_callbacks(execute=True):
        act = activity(pairing, world["branch"], residents_served=30)
        act.co_branches.add(world["other_branch"])
        f.ActivityMetricValueFactory(activity=act, metric=metric, value=Decimal(12))
        f.ServiceRecordFactory(activity=act, hours=Decimal("3.5"), status="verified", verified_at=timezone.now())
    headline = selectors.pairing_headline(pairing, 2024)
    assert (headline.activities, headline.people_served, headline.volunteer_hours) == (1, 30, Decimal("3.5"))
    assert headline.metrics[0].value == Decimal(12)


def test_only_verified_hours_and_counted_activities(world, django_capture_on_commit_callbacks):
    pairing, branch = world["pairing"], world["branch"]
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = activity(pairing, branch, residents_served=10)
        f.ServiceRecordFactory(activity=confirmed, hours=Decimal(2), status="verified", verified_at=timezone.now())
        f.ServiceRecordFactory(activity=confirmed, hours=Decimal(5))  # recorded, not verified
        draft = activity(pairing, branch, status="draft", residents_served=100)
        f.ServiceRecordFactory(activity=draft, hours=Decimal(7), status="verified", verified_at=timezone.now())
        returned = activity(pairing, branch, status="returned", residents_served=100)
        deleted = activity(pairing, branch, residents_served=100)
        soft_delete(deleted)
    headline = selectors.pairing_headline(pairing, 2024)
    assert (headline.activities, headline.people_served, headline.volunteer_hours) == (1, 10, Decimal(2))
    assert returned.pk and draft.pk


def test_snapshot_takes_the_latest_value_of_the_year(world, django_capture_on_commit_callbacks):
    pairing = world["pairing"]
    income = f.MetricFactory(program=world["program"], unit="元", aggregation="snapshot")
    with django_capture_on_commit_callbacks(execute=True):
        for date, value in [("2024-03-01", 15000), ("2024-11-30", 16861), ("2024-06-01", 17000), ("2025-01-05", 20000)]:
            f.ActivityMetricValueFactory(activity=activity(pairing, world["branch"], date=datetime.date.fromisoformat(date)), metric=income, value=value)
    figure = selectors.pairing_headline(pairing, 2024).metrics[0]
    assert figure.value == Decimal(16861)
    assert "date_from=2024-11-30" in figure.url and "date_to=2024-11-30" in figure.url


def test_each_figure_links_to_the_activities_it_was_counted_from(client, world):
    pairing = world["pairing"]
    metric = f.MetricFactory(program=world["program"], unit="件")
    client.force_login(world["users"]["committee"])
    page = client.get(reverse("pairings:pairing_detail", args=[pairing.pk]) + "?year=2024").content.decode()
    year = {"pairing_id": pairing.pk, "date_after": datetime.date(2024, 1, 1), "date_before": datetime.date(2024, 12, 31)}
    link = selectors.activity_list_url(**year)
    assert link.startswith("/activities/?pairing=%d&" % pairing.pk)

    def count(url):
        return page.count(f'href="{url.replace("&", "&amp;")}"')

    assert count(link) == 2  # activities, people: the year's counted activities
    assert count(selectors.activity_list_url(**year, verified_hours=True)) == 1  # hours: those with verified hours
    assert count(selectors.activity_list_url(**year, metric_id=metric.pk)) == 1  # the metric: those carrying it


def _listed(client, world, url, activities):
    client.force_login(world["users"]["superuser"])
    response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    return [a.title for a in activities if a.title in page]


def test_a_figure_link_filters_the_activity_list_by_pairing_and_dates(client, world, django_capture_on_commit_callbacks):
    """Through the activity list itself (the activities app's page): it takes the link's pairing and dates."""
    pairing, branch = world["pairing"], world["branch"]
    with django_capture_on_commit_callbacks(execute=True):
        inside = [
            activity(pairing, branch, title="T-IN-1", date=datetime.date(2024, 1, 1)),
            activity(pairing, branch, title="T-IN-2", date=datetime.date(2024, 12, 31)),
        ]
        outside = [
            activity(pairing, branch, title="T-OUT-1", date=datetime.date(2023, 12, 31)),
            activity(pairing, branch, title="T-OUT-2", date=datetime.date(2025, 1, 1)),
            activity(world["other_pairing"], f.OrganizationFactory(kind="branch"), title="T-OUT-3"),
        ]
    headline = selectors.pairing_headline(pairing, 2024)
    assert headline.activities == 2
    assert _listed(client, world, headline.url, inside) == ["T-IN-1", "T-IN-2"]
    assert _listed(client, world, headline.url, outside) == []


def test_a_figure_link_lists_submitted_and_confirmed_but_not_drafts_or_returned(client, world):
    pairing, branch = world["pairing"], world["branch"]
    counted = [activity(pairing, branch, status="submitted", title="T-SUBMITTED-1"), activity(pairing, branch, title="T-CONFIRMED-1")]
    left_out = [activity(pairing, branch, status="draft", title="T-DRAFT-1"), activity(pairing, branch, status="returned", title="T-RETURNED-1")]
    url = selectors.pairing_headline(pairing, 2024).url
    assert _listed(client, world, url, counted) == ["T-SUBMITTED-1", "T-CONFIRMED-1"]
    assert _listed(client, world, url, left_out) == []


def test_a_figures_link_is_what_urlencode_gives():
    """activity_list_url skips urlencode's quoting for plain values: the link is the same string either way."""
    from urllib.parse import urlencode

    from django.urls import reverse

    day = datetime.date(2024, 3, 1)
    cases = [
        ({"program_id": 3, "branch_id": 7, "credited": True, "date_after": day, "date_before": day}, [
            ("program", 3), ("branch", 7), ("co_hosted", "on"), ("status", "submitted"), ("status", "confirmed"),
            ("date_from", "2024-03-01"), ("date_to", "2024-03-01"),
        ]),
        ({"pairing_id": 5, "statuses": ("a b", "是")}, [("pairing", 5), ("status", "a b"), ("status", "是")]),
    ]
    for kwargs, params in cases:
        assert selectors.activity_list_url(**kwargs) == f"{reverse('activities:list')}?{urlencode(params)}"
