"""Drill-down per figure: every figure links to exactly the activities it was counted from. The links are
followed through the activity list itself and compared with queries written here, independently of the
figures' selectors."""

import csv
import datetime
import html
import io
import re
from decimal import Decimal

import pytest
from django.db.models import Q, Sum
from django.urls import reverse
from django.utils import timezone

from activities.models import Activity, ActivityMetricValue
from tests import factories as f
from tests.pairings.helpers import activity

pytestmark = pytest.mark.django_db

COUNTED = ("submitted", "confirmed")


def listed(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return {a.pk for a in response.context["page"].object_list}


def links(page):
    return [html.unescape(href) for href in re.findall(r'href="(/activities/\?[^"]*)"', page)]


def link_with(page, **params):
    """The one activity-list link on the page whose query holds all of `params`."""
    wanted = [f"{key}={value}" for key, value in params.items()]
    found = [url for url in links(page) if all(re.search(rf"[?&]{re.escape(w)}(&|$)", url) for w in wanted)]
    assert len(found) == 1, found
    return found[0]


@pytest.fixture
def repairs(world, django_capture_on_commit_callbacks):
    """A sum metric carried by four counted activities of 2024 (89 in all), and by others that do not count."""
    pairing, branch = world["pairing"], world["branch"]
    metric = f.MetricFactory(program=world["program"], unit="件", aggregation="sum")
    other = f.MetricFactory(program=world["program"], unit="人次", aggregation="sum")
    with django_capture_on_commit_callbacks(execute=True):
        carrying = []
        for n, (value, status) in enumerate([(30, "confirmed"), (25, "submitted"), (20, "confirmed"), (14, "confirmed")]):
            a = activity(pairing, branch if n % 2 else world["other_branch"], status=status, title=f"R{n}",
                         date=datetime.date(2024, 1 + n * 3, 10))
            f.ActivityMetricValueFactory(activity=a, metric=metric, value=value)
            carrying.append(a)
        # not counted toward the 2024 figure: a draft, a returned one, another year, another metric only
        for status, date in [("draft", datetime.date(2024, 5, 1)), ("returned", datetime.date(2024, 5, 2)),
                             ("confirmed", datetime.date(2023, 12, 31))]:
            f.ActivityMetricValueFactory(activity=activity(pairing, branch, status=status, date=date), metric=metric, value=100)
        f.ActivityMetricValueFactory(activity=activity(pairing, branch), metric=other, value=7)
        activity(pairing, branch, title="no figures")
    return {"metric": metric, "carrying": carrying}


def test_a_metric_figure_opens_exactly_the_activities_that_carry_it(client, world, repairs):
    metric, pairing = repairs["metric"], world["pairing"]
    client.force_login(world["users"]["committee"])
    page = client.get(reverse("pairings:pairing_detail", args=[pairing.pk]) + "?year=2024").content.decode()
    assert ">89</span>" in page
    url = link_with(page, metric=metric.pk)

    shown = listed(client, url)
    expected = set(
        ActivityMetricValue.objects.filter(
            metric=metric, activity__pairing=pairing, activity__date__year=2024,
            activity__status__in=COUNTED, activity__deleted_at__isnull=True,
        ).values_list("activity_id", flat=True)
    )
    assert shown == expected == {a.pk for a in repairs["carrying"]}
    total = ActivityMetricValue.objects.filter(metric=metric, activity_id__in=shown).aggregate(s=Sum("value"))["s"]
    assert total == Decimal(89)


def test_the_activity_and_people_figures_open_the_years_counted_activities(client, world, repairs):
    pairing = world["pairing"]
    client.force_login(world["users"]["committee"])
    page = client.get(reverse("pairings:pairing_detail", args=[pairing.pk]) + "?year=2024").content.decode()
    year_links = [u for u in links(page) if "status=" in u and "metric=" not in u and "verified_hours=" not in u]
    assert len(year_links) == 2 and len(set(year_links)) == 1
    expected = set(
        Activity.objects.filter(pairing=pairing, date__year=2024, status__in=COUNTED).values_list("pk", flat=True)
    )
    assert listed(client, year_links[0]) == expected


def test_the_hours_figure_opens_the_counted_activities_with_verified_hours(client, world, repairs):
    pairing, branch = world["pairing"], world["branch"]
    with_hours, recorded_only = repairs["carrying"][0], repairs["carrying"][1]
    f.ServiceRecordFactory(activity=with_hours, hours=Decimal(3), status="verified", verified_at=timezone.now())
    f.ServiceRecordFactory(activity=recorded_only, hours=Decimal(4))
    draft = activity(pairing, branch, status="draft")
    f.ServiceRecordFactory(activity=draft, hours=Decimal(5), status="verified", verified_at=timezone.now())
    client.force_login(world["users"]["committee"])
    page = client.get(reverse("pairings:pairing_detail", args=[pairing.pk]) + "?year=2024").content.decode()
    assert listed(client, link_with(page, verified_hours="on")) == {with_hours.pk}


def test_a_snapshot_figure_opens_the_activity_of_its_latest_value(client, world, django_capture_on_commit_callbacks):
    pairing = world["pairing"]
    income = f.MetricFactory(program=world["program"], unit="元", aggregation="snapshot")
    with django_capture_on_commit_callbacks(execute=True):
        made = {}
        for date, value in [("2024-03-01", 15000), ("2024-11-30", 16861), ("2024-06-01", 17000)]:
            made[value] = activity(pairing, world["branch"], date=datetime.date.fromisoformat(date))
            f.ActivityMetricValueFactory(activity=made[value], metric=income, value=value)
        activity(pairing, world["branch"], date=datetime.date(2024, 11, 30))  # the same day, without the metric
    client.force_login(world["users"]["committee"])
    page = client.get(reverse("pairings:pairing_detail", args=[pairing.pk]) + "?year=2024").content.decode()
    assert listed(client, link_with(page, metric=income.pk)) == {made[16861].pk}


def test_the_program_dashboards_metric_cells_link_with_the_metric(client, world, repairs):
    metric = repairs["metric"]
    client.force_login(world["users"]["admin"])
    page = client.get(reverse("dashboards:program_dashboard", args=[world["program"].pk]) + "?year=2024").content.decode()
    url = link_with(page, metric=metric.pk, pairing=world["pairing"].pk)
    assert listed(client, url) == {a.pk for a in repairs["carrying"]}


def test_a_cohosted_activity_is_listed_under_both_branches_when_credited(client, world):
    pairing, branch, other_branch = world["pairing"], world["branch"], world["other_branch"]
    third = f.OrganizationFactory(kind="branch")
    joint = activity(pairing, branch, title="联合")
    joint.co_branches.add(other_branch, third)  # two co-hosts: still one row under the host
    own = activity(pairing, other_branch, title="自办")
    client.force_login(world["users"]["superuser"])
    base = reverse("activities:list")
    assert listed(client, f"{base}?branch={branch.pk}&co_hosted=on") == {joint.pk}
    assert listed(client, f"{base}?branch={other_branch.pk}&co_hosted=on") == {joint.pk, own.pk}
    assert listed(client, f"{base}?branch={other_branch.pk}") == {own.pk}  # hosted only, as before
    response = client.get(f"{base}?branch={branch.pk}&co_hosted=on")
    assert response.context["total"].value == 1


def test_a_board_cell_opens_exactly_that_branch_months_activities(client, world):
    pairing, branch, other_branch = world["pairing"], world["branch"], world["other_branch"]
    march = datetime.date(2024, 3, 5)
    hosted = activity(pairing, branch, date=march, status="submitted")
    cohosted = activity(pairing, other_branch, date=datetime.date(2024, 3, 31))
    cohosted.co_branches.add(branch)
    left_out = [
        activity(pairing, branch, date=march, status="draft"),
        activity(pairing, branch, date=march, status="returned"),
        activity(pairing, branch, date=datetime.date(2024, 4, 1)),
        activity(pairing, branch, date=datetime.date(2024, 2, 29)),
        activity(pairing, other_branch, date=march),
        activity(world["other_pairing"], branch, date=march),  # another program's
    ]
    client.force_login(world["users"]["admin"])
    page = client.get(
        reverse("dashboards:completeness") + f"?program={world['program'].pk}&year=2024"
    ).content.decode()
    url = link_with(page, branch=branch.pk, date_from="2024-03-01")
    assert "date_to=2024-03-31" in url
    expected = set(
        Activity.objects.filter(
            Q(branch=branch) | Q(co_branches=branch), pairing__program=world["program"],
            date__range=(datetime.date(2024, 3, 1), datetime.date(2024, 3, 31)), status__in=COUNTED,
        ).values_list("pk", flat=True)
    )
    assert listed(client, url) == expected == {hosted.pk, cohosted.pk}
    assert not expected & {a.pk for a in left_out}


def test_the_metric_filter_offers_only_the_viewers_programs_metrics(client, world, repairs):
    metric = repairs["metric"]
    theirs = f.MetricFactory(program=world["other_program"], unit="件")
    f.ActivityMetricValueFactory(
        activity=activity(world["other_pairing"], f.OrganizationFactory(kind="branch")), metric=theirs, value=5
    )
    base = reverse("activities:list")

    client.force_login(world["users"]["outsider"])  # reads the other program's pairing only
    response = client.get(f"{base}?metric={metric.pk}")
    assert response.context["has_errors"] and listed(client, f"{base}?metric={metric.pk}") == set()
    select = re.search(r'<select[^>]*name="metric".*?</select>', response.content.decode(), re.S).group(0)
    assert re.findall(r'value="(\d+)"', select) == [str(theirs.pk)]  # its own program's metric only

    client.force_login(world["users"]["committee"])
    response = client.get(f"{base}?metric={theirs.pk}")
    assert response.context["has_errors"] and listed(client, f"{base}?metric={theirs.pk}") == set()
    # every activity carrying it, whatever its status and year (the committee reads its school's drafts too)
    assert listed(client, f"{base}?metric={metric.pk}") == set(
        ActivityMetricValue.objects.filter(metric=metric).values_list("activity_id", flat=True)
    )


def test_the_csv_export_with_the_same_filter_has_the_same_rows(client, world, repairs):
    metric, pairing = repairs["metric"], world["pairing"]
    client.force_login(world["users"]["committee"])
    page = client.get(reverse("pairings:pairing_detail", args=[pairing.pk]) + "?year=2024").content.decode()
    url = link_with(page, metric=metric.pk)
    shown = listed(client, url)
    response = client.get(reverse("activities:export") + url[url.index("?"):])
    body = b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(body)))[1:]
    titles = sorted(row[8] for row in rows)
    assert titles == sorted(Activity.objects.filter(pk__in=shown).values_list("title", flat=True))
    assert titles == ["R0", "R1", "R2", "R3"]
