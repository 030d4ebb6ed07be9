"""The headline figures of 中山中专–龙石村 for 2024 over the demo data (load_demo), against raw SQL."""

import io

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings

from figures import selectors
from pairings.models import Pairing
from tests.figures.test_selectors import dec, sql_headline, sql_progress
from tests.pairings.helpers import panel_context, plan_items_with_progress


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo loaded once for the module, in a transaction rolled back at the end."""
    fast = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    with django_db_blocker.unblock(), fast, transaction.atomic():
        call_command("load_demo", stdout=io.StringIO())
        yield
        transaction.set_rollback(True)


@pytest.fixture
def zszz_longshi(demo, db):
    return Pairing.objects.select_related("program").get(supporter__short_name="中山中专", supported__name="龙石村")


def test_headline_2024_matches_sql(zszz_longshi):
    headline = selectors.pairing_headline(zszz_longshi, 2024)
    expected = sql_headline(zszz_longshi.pk, 2024)
    assert headline.activities == expected["activities"] > 0
    assert headline.people_served == expected["people"]
    assert dec(headline.volunteer_hours) == expected["hours"] > 0
    got = {fig.metric.pk: (dec(fig.value), None if fig.target is None else dec(fig.target)) for fig in headline.metrics}
    assert got == expected["metrics"]
    assert any(value > 0 for value, _ in got.values())


def test_plan_progress_2024_matches_sql(zszz_longshi):
    plan = zszz_longshi.plans.get(year=2024)
    items = plan_items_with_progress(plan, today=selectors.year_bounds(2024)[1])
    assert {item.pk: item.derived_progress for item in items} == sql_progress(plan.pk)


def test_the_village_sees_the_same_figures_on_the_page(client, zszz_longshi):
    from portal.models import Membership

    member = Membership.objects.filter(organization=zszz_longshi.supported, role="village_committee").first()
    client.force_login(member.user)
    response = client.get(f"/pairings/{zszz_longshi.pk}/?year=2024")
    assert response.status_code == 200
    shown = panel_context(response, "dashboards/panels/pairing_figures.html")["headline"]
    expected = sql_headline(zszz_longshi.pk, 2024)
    assert (shown.activities, shown.people_served, dec(shown.volunteer_hours)) == (
        expected["activities"], expected["people"], expected["hours"]
    )
