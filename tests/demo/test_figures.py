"""The headline figures of 中山中专–龙石村 over the demo data, this year (so far) and last year, against raw SQL."""

import pytest
from django.utils import timezone

from figures import selectors
from pairings.models import Pairing
from portal.models import Membership
from tests.figures.test_selectors import dec, sql_headline, sql_progress
from tests.pairings.helpers import panel_context, plan_items_with_progress


@pytest.fixture
def zszz_longshi(loaded):
    return Pairing.objects.select_related("program").get(supporter__short_name="中山中专", supported__name="龙石村")


def years():
    this_year = timezone.localdate().year
    return [this_year, this_year - 1]


@pytest.mark.parametrize("back", [0, 1], ids=["this year", "last year"])
def test_headline_matches_sql(zszz_longshi, back):
    year = years()[back]
    headline = selectors.pairing_headline(zszz_longshi, year)
    expected = sql_headline(zszz_longshi.pk, year)
    assert headline.activities == expected["activities"] > 0
    assert headline.people_served == expected["people"]
    assert dec(headline.volunteer_hours) == expected["hours"] > 0
    got = {fig.metric.pk: (dec(fig.value), None if fig.target is None else dec(fig.target)) for fig in headline.metrics}
    assert got == expected["metrics"]
    assert any(value > 0 for value, _ in got.values())


@pytest.mark.parametrize("back", [0, 1], ids=["this year", "last year"])
def test_plan_progress_matches_sql(zszz_longshi, back):
    year = years()[back]
    plan = zszz_longshi.plans.get(year=year)
    items = plan_items_with_progress(plan, today=min(timezone.localdate(), selectors.year_bounds(year)[1]))
    assert {item.pk: item.derived_progress for item in items} == sql_progress(plan.pk)


def test_the_village_sees_the_same_figures_on_the_page(client, zszz_longshi):
    year = years()[0]
    member = Membership.objects.filter(organization=zszz_longshi.supported, role="village_committee").first()
    client.force_login(member.user)
    response = client.get(f"/pairings/{zszz_longshi.pk}/?year={year}")
    assert response.status_code == 200
    shown = panel_context(response, "dashboards/panels/pairing_figures.html")["headline"]
    expected = sql_headline(zszz_longshi.pk, year)
    assert (shown.activities, shown.people_served, dec(shown.volunteer_hours)) == (
        expected["activities"], expected["people"], expected["hours"]
    )
