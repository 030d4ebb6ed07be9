"""The program dashboard's figures each open exactly the activities they were counted from: the year's cards (and
the year before's), the month cells and the outcome figures. Each link is followed through the activity list as
the program's admin and what it lists is compared with a query written here, and with the figure itself."""

import datetime
import html
import random
from decimal import Decimal

import pytest
from django.db.models import Exists, OuterRef, Q, Sum
from django.urls import reverse

from activities.models import Activity, ActivityMetricValue, ServiceRecord
from tests import factories as f
from tests.dashboards.test_program import life

pytestmark = pytest.mark.django_db


def listed(client, url):
    """The ids the activity list shows at `url`, every page of it."""
    shown, page_url = set(), url
    while page_url:
        response = client.get(page_url)
        assert response.status_code == 200
        page = response.context["page"]
        shown |= {a.pk for a in page.object_list}
        page_url = f"{url}&cursor={page.next_cursor}" if page.has_next else None
    return shown


def counted(program, first, last):
    """The program's counted activities dated first..last, written out."""
    return Activity.all_objects.filter(
        pairing__program=program, date__range=(first, last), status__in=("submitted", "confirmed"),
        deleted_at__isnull=True,
    )


def ids(queryset):
    return set(queryset.values_list("pk", flat=True))


def verified_hours(activity_ids):
    records = ServiceRecord.all_objects.filter(activity_id__in=activity_ids, status="verified", deleted_at__isnull=True)
    return Decimal(records.aggregate(s=Sum("hours"))["s"] or 0).quantize(Decimal("0.1"))


def people(activity_ids):
    return Activity.all_objects.filter(pk__in=activity_ids).aggregate(s=Sum("residents_served"))["s"] or 0


def on_page(page, url):
    assert f'href="{html.escape(url)}"' in page, url
    return url


@pytest.fixture
def program_life(world, django_capture_on_commit_callbacks):
    rng = random.Random(13)
    pairings = [world["pairing"]] + [f.PairingFactory(program=world["program"]) for _ in range(7)]
    with django_capture_on_commit_callbacks(execute=True):
        metrics = life(world, pairings, rng)
        from tests.reports.conftest import activity

        # another program's activity never shows under this one's links
        activity(f.PairingFactory(program=world["other_program"]), world["branch"], "2024-05-01", residents_served=9)
    return metrics


@pytest.fixture
def page(client, world, program_life):
    client.force_login(world["users"]["admin"])
    response = client.get(reverse("dashboards:program_dashboard", args=[world["program"].pk]) + "?year=2024")
    assert response.status_code == 200
    return response


@pytest.mark.parametrize("year, side", [(2024, "value"), (2023, "previous")])
def test_the_year_cards_open_what_they_counted(client, world, page, year, side):
    program, html_ = world["program"], page.content.decode()
    totals = page.context["totals"]
    link = "url" if side == "value" else "previous_url"
    year_counted = counted(program, datetime.date(year, 1, 1), datetime.date(year, 12, 31))

    shown = listed(client, on_page(html_, getattr(totals["activities"], link)))
    assert shown == ids(year_counted) and len(shown) == getattr(totals["activities"], side) > 0

    shown = listed(client, on_page(html_, getattr(totals["people"], link)))
    assert shown == ids(year_counted) and people(shown) == getattr(totals["people"], side)

    shown = listed(client, on_page(html_, getattr(totals["confirmed"], link)))
    assert shown == ids(year_counted.filter(status="confirmed")) and len(shown) == getattr(totals["confirmed"], side)

    with_hours = year_counted.filter(Exists(ServiceRecord.all_objects.filter(
        activity_id=OuterRef("pk"), status="verified", deleted_at__isnull=True,
    )))
    shown = listed(client, on_page(html_, getattr(totals["hours"], link)))
    assert shown == ids(with_hours) and shown < ids(year_counted)
    assert verified_hours(shown) == getattr(totals["hours"], side)


def test_each_month_cell_opens_that_months_activities(client, world, page):
    program, html_ = world["program"], page.content.decode()
    months = page.context["months"]
    assert len(months) == 12
    for n, month in enumerate(months, start=1):
        for year, key, url in ((2024, "this", month["this_url"]), (2023, "before", month["before_url"])):
            first = datetime.date(year, n, 1)
            last = (first + datetime.timedelta(days=31)).replace(day=1) - datetime.timedelta(days=1)
            shown = listed(client, on_page(html_, url))
            assert shown == ids(counted(program, first, last))
            assert len(shown) == (month[key].activities if month[key] else 0)
            if key == "this":  # the 人次 row of the year links to the same activities
                assert people(shown) == (month[key].residents_served if month[key] else 0)


def test_each_outcome_figure_opens_the_activities_carrying_it(client, world, page, program_life):
    program, html_ = world["program"], page.content.decode()
    rows = page.context["metrics"]
    assert {metric.pk for metric, _ in rows} == {m.pk for m in program_life if m.aggregation == "sum"}
    for metric, change in rows:
        for year, value, url in ((2024, change.value, change.url), (2023, change.previous, change.previous_url)):
            carrying = counted(program, datetime.date(year, 1, 1), datetime.date(year, 12, 31)).filter(
                Q(metric_values__metric_id=metric.pk)
            )
            shown = listed(client, on_page(html_, url))
            assert shown == ids(carrying) and shown
            total = ActivityMetricValue.objects.filter(metric_id=metric.pk, activity_id__in=shown).aggregate(s=Sum("value"))
            assert Decimal(total["s"]).quantize(Decimal("0.01")) == value


def test_the_pairings_card_opens_the_activities_that_made_them_count(client, world, page):
    program, totals = world["program"], page.context["totals"]
    shown = listed(client, on_page(page.content.decode(), totals["pairings"].url))
    year_counted = counted(program, datetime.date(2024, 1, 1), datetime.date(2024, 12, 31))
    assert shown == ids(year_counted)
    assert len(set(year_counted.values_list("pairing_id", flat=True))) == totals["pairings"].value > 1
