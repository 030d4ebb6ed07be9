"""A report's figures link to exactly the activities they counted. Each link on the report page is followed
through the activity list, as the report's reader, and what the list shows is added up here (independently of
the builders): a count is the number of activities listed, a metric the sum (or the latest value) of their
values, hours the verified hours on them. A past period's report links with its as-at day, so a status changed
since does not change what its links open."""

import contextlib
import datetime
import html
import re
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from activities import services as activity_services
from activities.models import ActivityMetricValue, ServiceRecord
from pairings.models import Metric
from pairings.selectors import end_of_day
from reports import generation, services
from reports.renderers.base import document
from tests.reports.conftest import at

pytestmark = pytest.mark.django_db

REPORTS = [
    ("monthly", "2024-03", "pairing"), ("monthly", "2024-03", "program"),
    ("quarterly", "2024Q1", "pairing"), ("quarterly", "2024Q1", "program"),
    ("annual", "2024", "pairing"), ("annual", "2024", "program"),
]


def publish(records, kind, period, scope, now=None):
    """The report generated (at ``now``, or today) and published."""
    pairing = records["pairing"] if scope == "pairing" else None
    with time_machine.travel(now, tick=False) if now else contextlib.nullcontext():
        report, _ = generation.report_generate(kind=kind, period=period, program=records["program"], pairing=pairing)
    report, _ = services.report_publish(report=report, actor=records["users"]["admin"])
    return report


def reader(records, scope):
    """Who reads the report: the village, its pairing's report once published; the program admin, the program's."""
    return records["users"]["village" if scope == "pairing" else "admin"]


def linked_cells(report):
    """(table key, figure, url) of every linked figure of the report's document, details included."""
    doc = document(report)
    sections = list(doc.sections) + [s for _, detail in doc.details for s in detail]
    return [
        (table.key, value, url)
        for section in sections for table in section.tables
        for row in table.linked_rows for value, url in row if url
    ]


def listed(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return [a.pk for a in response.context["page"].object_list]


def recount(url, ids):
    """The figure the listed activities add up to, by what the link asks for: a metric's values (summed, or the
    latest by date and id), verified hours (verified by the as-at day, if the link has one), else their number."""
    params = parse_qs(urlparse(url).query)
    if "metric" in params:
        metric = Metric.objects.get(pk=params["metric"][0])
        values = ActivityMetricValue.objects.filter(activity_id__in=ids, metric=metric)
        if metric.aggregation == Metric.Aggregation.SNAPSHOT:
            latest = values.order_by("-activity__date", "-activity_id").first()
            return latest.value if latest else None
        return sum((v.value for v in values), Decimal(0))
    if "verified_hours" in params:
        records = ServiceRecord.objects.filter(activity_id__in=ids, status=ServiceRecord.Status.VERIFIED)
        if "as_at" in params:
            records = records.filter(verified_at__lt=end_of_day(datetime.date.fromisoformat(params["as_at"][0])))
        return sum((r.hours for r in records), Decimal(0))
    return len(ids)


@pytest.mark.parametrize("kind, period, scope", REPORTS)
def test_every_figure_of_a_report_opens_exactly_its_activities(client, records, kind, period, scope):
    report = publish(records, kind, period, scope)
    client.force_login(reader(records, scope))
    page = client.get(reverse("reports:report_detail", args=[report.pk])).content.decode()
    cells = linked_cells(report)
    assert {key for key, _, _ in cells} >= {"by_branch", "by_type", "metrics", "hours"}
    on_page = {html.unescape(href) for href in re.findall(r'href="(/activities/\?[^"]*)"', page)}
    assert on_page == {url for _, _, url in cells}
    for key, value, url in cells:
        ids = listed(client, url)
        assert len(ids) == len(set(ids))
        assert recount(url, ids) == Decimal(str(value)), (key, url)


def test_the_links_open_the_activities_the_figures_counted(client, records):
    """By name, in the March report of the pairing: the host branch's activities (a1 co-hosted, a2), the
    confirmed among them, the other branch's (a3, and a1 it co-hosted), and the repairs figure's carriers."""
    acts = records["activities"]
    report = publish(records, "monthly", "2024-03", "pairing")
    client.force_login(reader(records, "pairing"))
    by_url = {}
    for key, value, url in linked_cells(report):
        by_url.setdefault(key, []).append((value, url))
    branch_links = {parse_qs(urlparse(url).query)["branch"][0]: [] for _, url in by_url["by_branch"]}
    for value, url in by_url["by_branch"]:
        branch_links[parse_qs(urlparse(url).query)["branch"][0]].append(set(listed(client, url)))
    assert branch_links[str(records["branch"].pk)] == [{acts["a1"].pk, acts["a2"].pk}, {acts["a1"].pk}]
    assert branch_links[str(records["other_branch"].pk)] == [{acts["a1"].pk, acts["a3"].pk}, {acts["a1"].pk, acts["a3"].pk}]
    repairs = next(url for _, url in by_url["metrics"] if f"metric={records['metrics']['repairs'].pk}&" in url and "date_from=2024-03-01" in url)
    assert set(listed(client, repairs)) == {acts["a1"].pk, acts["a2"].pk}


def test_a_past_period_s_links_stand_at_its_as_at_day(client, records):
    """Built after March, the report counted a2 as submitted; confirmed since, a2 still is not among the
    confirmed the report's links open, and an activity returned since is still among the counted ones."""
    acts = records["activities"]
    report = publish(records, "monthly", "2024-03", "pairing")
    assert report.data["links"]["as_at"] == "2024-03-31"
    activity_services.activity_confirm(activity=acts["a2"], actor=records["users"]["village"])
    client.force_login(reader(records, "pairing"))
    for key, value, url in linked_cells(report):
        assert "as_at=2024-03-31" in url
        assert recount(url, listed(client, url)) == Decimal(str(value)), (key, url)
    confirmed = next(url for key, _, url in linked_cells(report) if key == "by_type" and "status=confirmed" in url and "status=submitted" not in url)
    assert acts["a2"].pk not in listed(client, confirmed)


def test_a_report_built_during_its_period_links_to_the_statuses_of_now(client, records):
    report = publish(records, "monthly", "2024-03", "pairing", now=at("2024-03-31 12:00"))
    assert report.data["links"]["as_at"] is None
    client.force_login(reader(records, "pairing"))
    for key, value, url in linked_cells(report):
        assert "as_at" not in url
        assert recount(url, listed(client, url)) == Decimal(str(value)), (key, url)


def test_a_report_stored_without_links_shows_its_figures_plainly(client, records):
    report = publish(records, "quarterly", "2024Q1", "pairing")
    data = dict(report.data)
    del data["links"]
    type(report).objects.filter(pk=report.pk).update(data=data)
    client.force_login(reader(records, "pairing"))
    response = client.get(reverse("reports:report_detail", args=[report.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'href="/activities/?' not in page
    assert "维修家电" in page


def test_the_list_as_at_a_day_costs_no_more_queries(client, records, django_assert_num_queries):
    """Reading the statuses as at a day is part of the list's own query, whatever the number of activities."""
    client.force_login(reader(records, "pairing"))
    plain = f"/activities/?pairing={records['pairing'].pk}&status=submitted&status=confirmed&verified_hours=on"
    client.get(plain)  # the list's choices are then cached (portal/versioned.py), as on any later request
    with CaptureQueriesContext(connection) as now:
        client.get(plain)
    with django_assert_num_queries(len(now.captured_queries)):
        response = client.get(plain + "&as_at=2024-03-31")
    assert {a.pk for a in response.context["page"].object_list} == {records["activities"]["a1"].pk, records["activities"]["a3"].pk}
