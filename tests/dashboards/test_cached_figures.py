"""The pairing page's figures and the program dashboard are cached until the rollup or the set-up changes
(figures/cache.py): a page after a change shows the new figures, and a cached page never reaches a user who may
not see it."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from pairings.models import PlanItem
from portal.models import Membership, Organization
from tests import factories as f
from tests.pairings.helpers import activity

pytestmark = pytest.mark.django_db


def pairing_page(client, pairing):
    response = client.get(reverse("pairings:pairing_detail", args=[pairing.pk]), {"year": 2024})
    assert response.status_code == 200
    return response


def headline(response):
    return response.context["top_panels"][0].context["headline"]


def dashboard(client, program, status=200):
    response = client.get(reverse("dashboards:program_dashboard", args=[program.pk]), {"year": 2024})
    assert response.status_code == status
    return response


def test_the_pairing_page_shows_an_activity_submitted_since_it_was_cached(client, world, django_capture_on_commit_callbacks):
    client.force_login(world["users"]["village"])
    pairing = world["pairing"]
    with django_capture_on_commit_callbacks(execute=True):
        activity(pairing, world["branch"], status="confirmed", residents_served=7)
    assert (headline(pairing_page(client, pairing)).activities, headline(pairing_page(client, pairing)).people_served) == (1, 7)
    with django_capture_on_commit_callbacks(execute=True):
        activity(pairing, world["other_branch"], status="submitted", date=datetime.date(2024, 4, 2), residents_served=5)
    shown = headline(pairing_page(client, pairing))
    assert (shown.activities, shown.people_served) == (2, 12)


def test_the_pairing_page_shows_a_plan_target_changed_since_it_was_cached(client, world, django_capture_on_commit_callbacks):
    client.force_login(world["users"]["village"])
    pairing = world["pairing"]
    metric = f.MetricFactory(program=pairing.program, aggregation="sum")
    plan = f.JointPlanFactory(pairing=pairing, year=2024)
    item = f.PlanItemFactory(plan=plan, owner_branch=world["branch"])
    target = f.PlanTargetFactory(item=item, metric=metric, value=10)

    def shown_target():
        return next(m.target for m in headline(pairing_page(client, pairing)).metrics if m.metric.pk == metric.pk)

    assert shown_target() == 10
    target.value = 25
    target.save()
    assert shown_target() == 25
    item.status = PlanItem.Status.CANCELLED
    item.save()
    assert shown_target() is None


def test_a_cached_dashboard_reaches_only_its_programs_admins(client, world, django_capture_on_commit_callbacks):
    program, pairing = world["program"], world["pairing"]
    with django_capture_on_commit_callbacks(execute=True):
        activity(pairing, world["branch"], status="confirmed", residents_served=7)
    other_office = f.OrganizationFactory(name="另一项目办", kind=Organization.Kind.GOVERNMENT)
    other_program = f.ProgramFactory(name="两建三做", code="ljsz", office=other_office)
    other_admin = f.UserFactory(username="other_admin")
    f.MembershipFactory(user=other_admin, organization=other_office, role=Membership.Role.ADMIN)

    client.force_login(world["users"]["admin"])
    with CaptureQueriesContext(connection) as first_queries:
        first = dashboard(client, program)
    assert first.context["totals"]["activities"].value == 1
    with CaptureQueriesContext(connection) as cached_queries:
        assert dashboard(client, program).context["totals"]["people"].value == 7
    # from the cache: no figure read again, nor the scope (the session with its user and the header's count)
    assert len(cached_queries) == len(first_queries) - 3 == 1

    client.force_login(other_admin)
    dashboard(client, program, status=404)  # cached for the program's admin: still not the other program's admin's
    assert dashboard(client, other_program).context["totals"]["activities"].value == 0
    for role in ("committee", "secretary", "village"):
        client.force_login(world["users"][role])
        dashboard(client, program, status=404)

    # made an admin of the program: the membership changes the set-up, so the dashboard opens for them
    f.MembershipFactory(user=other_admin, organization=world["office"], role=Membership.Role.ADMIN)
    client.force_login(other_admin)
    assert dashboard(client, program).context["totals"]["activities"].value == 1

    with django_capture_on_commit_callbacks(execute=True):
        activity(pairing, world["other_branch"], status="submitted", date=datetime.date(2024, 4, 2), residents_served=5)
    client.force_login(world["users"]["admin"])
    totals = dashboard(client, program).context["totals"]
    assert (totals["activities"].value, totals["people"].value) == (2, 12)


def test_the_pairing_page_shows_liaisons_statistics_branches_and_plans_changed_since_it_was_cached(client, world):
    client.force_login(world["users"]["committee"])
    pairing = world["pairing"]
    plan = f.JointPlanFactory(pairing=pairing, year=2024)
    item = f.PlanItemFactory(plan=plan, owner_branch=world["branch"])
    page = pairing_page(client, pairing).context["page"]  # cached from here on
    assert (page.liaisons_supported, page.statistics, page.plan.items_done) == ([], [], 0)
    assert [pb.branch.name for pb in page.branches] == ["第三党支部", "第四党支部"]

    f.LiaisonFactory(pairing=pairing, side="supported", name="王联络")
    f.VillageStatisticFactory(village=pairing.supported, value=120, as_at=datetime.date(2024, 1, 1))
    f.PairingBranchFactory(pairing=pairing, branch=f.OrganizationFactory(name="第一党支部", kind=Organization.Kind.BRANCH))
    item.status = PlanItem.Status.DONE
    item.save()
    page = pairing_page(client, pairing).context["page"]
    assert [liaison.name for liaison in page.liaisons_supported] == ["王联络"]
    assert [statistic.value for statistic in page.statistics] == [120]
    assert [pb.branch.name for pb in page.branches] == ["第一党支部", "第三党支部", "第四党支部"]
    assert page.plan.items_done == 1


def test_the_cached_dashboard_page_is_the_one_rendered_from_its_figures(client, world, django_capture_on_commit_callbacks):
    program, pairing = world["program"], world["pairing"]
    with django_capture_on_commit_callbacks(execute=True):
        activity(pairing, world["branch"], status="confirmed", residents_served=7)
    client.force_login(world["users"]["admin"])
    first = dashboard(client, program).content.decode()
    again = dashboard(client, program).content.decode()  # its figures' HTML from the cache
    assert again.count(f"/pairings/{pairing.pk}/?year=2024") == first.count(f"/pairings/{pairing.pk}/?year=2024") == 1
    with django_capture_on_commit_callbacks(execute=True):
        activity(pairing, world["other_branch"], status="submitted", date=datetime.date(2024, 4, 2), residents_served=5)
    page = dashboard(client, program).content.decode()
    assert '<span class="num">12</span>' in page and '<span class="num">7</span>' not in page
