"""One figure, one truth, on the demo: for every pairing and every year the demo holds, each figure shows the same
value on the pairing page, the plan page, the program dashboard, the year's report, the volunteer pages and the
service certificates, and that value is the one a query written here computes from the tables. Each figure of
the pairing page opens exactly the activities it was counted from (followed through every page of the list).

The pages are read as the demo's superuser, who reads every pairing; the rules are the ones in docs/figures.md."""

import datetime
import html
import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from figures.selectors import year_bounds
from pairings.models import Pairing
from reports.builders import build_report_data
from reports.certificates import certificate_lines
from tests.figures.test_selectors import dec, sql, sql_headline, sql_progress
from tests.pairings.helpers import plan_items_with_progress
from volunteers.models import Volunteer

pytestmark = pytest.mark.slow  # the demo, three years of every pairing, several hundred pages

COUNTED = "a.status IN ('submitted', 'confirmed') AND a.deleted_at IS NULL"


def years():
    today = timezone.localdate()
    return [today.year - 2, today.year - 1, today.year]


@pytest.fixture
def reader(loaded, client):
    client.force_login(get_user_model().objects.get(username="admin"))
    return client


def pairings():
    return list(Pairing.objects.select_related("program").order_by("pk"))


FIGURE = re.compile(
    r'<li class="figure"><a class="value" href="(?P<href>[^"]*)"><span class="num">(?P<num>[^<]*)</span>'
    r"<small>(?P<unit>[^<]*)</small></a>\s*<div class=\"label\">(?P<label>[^<]*)"
)


def shown_figures(page):
    """The figures panel as the reader sees it: [(label, number, link)] in the page's order."""
    return [
        (html.unescape(m["label"]).strip(), Decimal(m["num"].replace(",", "")), html.unescape(m["href"]))
        for m in FIGURE.finditer(page)
    ]


def listed_ids(client, url):
    """Every activity the list shows for `url`, following its pages."""
    ids, cursor = [], None
    while True:
        response = client.get(url + (f"&cursor={cursor}" if cursor else ""))
        assert response.status_code == 200, url
        page = response.context["page"]
        ids += [row.pk for row in page.object_list]
        cursor = page.next_cursor
        if not cursor:
            return sorted(ids)


def sql_ids(pairing_id, start, end, extra="", params=()):
    rows = sql(
        f"SELECT a.id FROM activities_activity a WHERE a.pairing_id = %s AND {COUNTED} AND a.date BETWEEN %s AND %s "
        f"{extra} ORDER BY a.id",
        [pairing_id, start, end, *params],
    )
    return [row[0] for row in rows]


def test_the_demo_spans_three_years_of_every_pairing(loaded):
    """The checks below are not empty: every pairing has counted activities in each year checked."""
    for pairing in pairings():
        for year in years():
            start, end = year_bounds(year)
            assert sql_ids(pairing.pk, start, end), (pairing, year)


def test_pairing_page_figures_and_their_links(reader):
    for pairing in pairings():
        metric_names = dict(sql("SELECT name, id FROM pairings_metric WHERE program_id = %s", [pairing.program_id]))
        for year in years():
            start, end = year_bounds(year)
            page = reader.get(reverse("pairings:pairing_detail", args=[pairing.pk]) + f"?year={year}").content.decode()
            figures = shown_figures(page)
            expected = sql_headline(pairing.pk, year)
            assert len(figures) == 3 + len(expected["metrics"]), (pairing, year)
            if expected["metrics"]:  # why the plan page's item progress may differ from the year figure
                assert "计划页中各项目的进度只统计关联该项目的活动" in page
            (_, activities, all_url), (_, people, people_url), (_, hours, hours_url) = figures[:3]
            assert (activities, people, dec(hours)) == (expected["activities"], expected["people"], expected["hours"])
            year_ids = sql_ids(pairing.pk, start, end)
            assert listed_ids(reader, all_url) == year_ids == listed_ids(reader, people_url)
            assert listed_ids(reader, hours_url) == sql_ids(
                pairing.pk, start, end,
                "AND EXISTS (SELECT 1 FROM activities_servicerecord r WHERE r.activity_id = a.id "
                "AND r.status = 'verified' AND r.deleted_at IS NULL)",
            )
            for label, value, url in figures[3:]:
                metric_id = metric_names[label.removeprefix("成效指标·")]  # a metric named like a fixed card is marked
                assert dec(value) == expected["metrics"][metric_id][0], (pairing, year, label)
                carrying = sql_ids(
                    pairing.pk, start, end,
                    "AND EXISTS (SELECT 1 FROM activities_activitymetricvalue v WHERE v.activity_id = a.id "
                    "AND v.metric_id = %s)",
                    [metric_id],
                )
                shown = listed_ids(reader, url)
                aggregation, = sql("SELECT aggregation FROM pairings_metric WHERE id = %s", [metric_id])[0]
                if aggregation == "sum":
                    assert shown == carrying, (pairing, year, label)
                else:  # a snapshot opens the activities of its latest value's day
                    assert set(shown) <= set(carrying) and (shown or not carrying), (pairing, year, label)


def test_plan_pages(reader):
    today = timezone.localdate()
    for pairing in pairings():
        for plan in pairing.plans.filter(year__in=years()):
            as_at = min(today, year_bounds(plan.year)[1])
            response = reader.get(reverse("pairings:plan_detail", args=[plan.pk]))
            assert response.status_code == 200
            items = plan_items_with_progress(plan, today=as_at)
            assert {item.pk: item.derived_progress for item in items} == sql_progress(plan.pk, as_at=as_at), plan
            shown = [int(n) for n in re.findall(r'<progress max="100" value="(\d+)">', response.content.decode())]
            assert sorted(shown) == sorted(item.derived_progress for item in items), plan


def test_program_dashboards(reader):
    for program_id in sorted({p.program_id for p in pairings()}):
        for year in years():
            response = reader.get(reverse("dashboards:program_dashboard", args=[program_id]) + f"?year={year}")
            assert response.status_code == 200
            for row in response.context["rows"]:
                expected = sql_headline(row.pk, year)
                assert (row.activities, row.people, dec(row.hours)) == (
                    expected["activities"], expected["people"], expected["hours"]
                ), (program_id, year, row.pk)


def test_year_reports(loaded):
    """The pairing report of each complete year, and of this year so far."""
    for pairing in pairings():
        for year in years():
            data = build_report_data("annual", str(year), pairing.program, pairing)
            expected = sql_headline(pairing.pk, year)
            assert data["activities"]["total"] == expected["activities"], (pairing, year)
            assert data["activities"]["participants"]["residents_served"] == expected["people"]
            assert dec(data["volunteers"]["verified_hours"]) == expected["hours"]
            for metric in data["metrics"]:
                assert dec(metric["period_value"]) == expected["metrics"][metric["id"]][0], (pairing, year, metric["name"])
                target = expected["metrics"][metric["id"]][1]
                assert (None if metric["target"] is None else dec(metric["target"])) == target


def sql_volunteer_hours(volunteer_id, start=None, end=None):
    dates = "AND a.date BETWEEN %s AND %s" if start else ""
    (verified, records), = sql(
        "SELECT SUM(r.hours), COUNT(*) FROM activities_servicerecord r JOIN activities_activity a "
        f"ON a.id = r.activity_id WHERE r.volunteer_id = %s AND r.status = 'verified' AND r.deleted_at IS NULL "
        f"AND {COUNTED} {dates}",
        [volunteer_id, *([start, end] if start else [])],
    )
    return dec(verified), records


def test_volunteer_pages_and_certificates(reader):
    volunteers = list(Volunteer.objects.order_by("pk"))
    assert volunteers
    for volunteer in volunteers:
        response = reader.get(reverse("dashboards:volunteer_detail", args=[volunteer.pk]))
        assert response.status_code == 200
        totals = response.context["totals"]
        hours, records = sql_volunteer_hours(volunteer.pk)
        assert (dec(totals["verified_hours"]), totals["verified_records"]) == (hours, records), volunteer
        for year in years():
            start, end = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
            lines = certificate_lines(volunteer=volunteer, start=start, end=end)
            hours, records = sql_volunteer_hours(volunteer.pk, start, end)
            assert (sum((Decimal(line["hours"]) for line in lines), Decimal(0)), len(lines)) == (hours, records)


def test_past_quarter_reports_show_plan_items_as_they_stood(loaded):
    """A back-dated quarterly report of this year shows each plan item with its status then: none done before
    the activities that did it, none done at under 100 % where targets measure it."""
    from reports.periods import Quarter

    today = timezone.localdate()
    checked = 0
    for pairing in pairings():
        targeted = set(sql(
            "SELECT DISTINCT t.item_id FROM pairings_plantarget t JOIN pairings_planitem i ON i.id = t.item_id "
            "JOIN pairings_jointplan j ON j.id = i.plan_id WHERE j.pairing_id = %s", [pairing.pk],
        ))
        for quarter in range(1, 5):
            period = Quarter(today.year, quarter)
            if period.end >= today:
                break
            data = build_report_data("quarterly", str(period), pairing.program, pairing)
            for item in data["plan"]["items"]:
                if item["status"] == "done" and (item["id"],) in targeted:
                    assert item["progress"] == 100, (pairing, str(period), item["title"], item["progress"])
                    checked += 1
    assert checked  # some items were done in a past quarter of this year
