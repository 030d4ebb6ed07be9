"""One predicate per action (pairings.permissions), for every role of the world: a branch's secretary, a
branch member (read-only), the school's committee, the village committee, the program admin, an outsider
(another village) and a superuser."""

import pytest

from pairings import permissions
from pairings.models import JointPlan, Pairing
from tests import factories as f

pytestmark = pytest.mark.django_db
ROLES = ("secretary", "other_secretary", "member", "committee", "village", "admin", "outsider", "superuser")


@pytest.fixture
def pairing(world):
    return Pairing.objects.select_related("program").get(pk=world["pairing"].pk)


def who(cast, predicate, *args, **kwargs):
    return {role for role in ROLES if predicate(cast[role], *args, **kwargs)}


def test_the_village_side_and_the_program_admin(cast, pairing):
    assert who(cast, permissions.is_village_side, pairing) == {"village", "superuser"}
    assert who(cast, permissions.administers, pairing) == {"admin", "superuser"}


def test_the_agreement_is_the_program_admins(cast, pairing):
    assert who(cast, permissions.can_edit_agreement, pairing) == {"admin", "superuser"}
    for role in ROLES:  # the QuerySet form says the same
        assert (pairing in Pairing.objects.editable_by(cast[role])) == (role in {"admin", "superuser"})


def test_joint_plans_are_edited_by_the_program_admin_and_the_school_committee(cast, pairing):
    editors = {"committee", "admin", "superuser"}
    assert who(cast, permissions.can_edit_plans, pairing) == editors
    for role in ROLES:
        assert (pairing in permissions.plan_editable_pairings(cast[role])) == (role in editors)


def test_the_village_agrees_to_a_plan_with_items_not_yet_agreed_to(world, cast, pairing):
    plan = f.JointPlanFactory(pairing=pairing)
    plan = JointPlan.objects.select_related("pairing").get(pk=plan.pk)
    assert who(cast, permissions.may_agree, plan) == {"village", "superuser"}
    assert who(cast, permissions.can_agree, plan, items=[]) == set()
    item = f.PlanItemFactory(plan=plan)
    assert who(cast, permissions.can_agree, plan, items=[item]) == {"village", "superuser"}
    plan.village_agreed_on = world["pairing"].term_start
    assert who(cast, permissions.may_agree, plan) == {"village", "superuser"}
    assert who(cast, permissions.can_agree, plan, items=[item]) == set()
