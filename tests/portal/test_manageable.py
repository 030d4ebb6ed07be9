"""The one answer to "whose records may this user set up" (portal.permissions.manageable_org_ids)."""

from portal.models import Organization
from portal.permissions import can_manage_org, can_set_up, manageable_org_ids, manageable_orgs
from tests import factories as f


def test_program_admin_manages_the_parties_of_its_programs_and_the_roots_its_office_keeps(world):
    admin = world["users"]["admin"]
    kept = f.OrganizationFactory(name="新结对学校", kind=Organization.Kind.SCHOOL, managed_by=world["office"])
    kept_branch = f.OrganizationFactory(name="新学校第一党支部", kind=Organization.Kind.BRANCH, parent=kept)
    ids = manageable_org_ids(admin)
    for org in (world["office"], world["school"], world["branch"], world["village"], kept, kept_branch):
        assert org.pk in ids, org
    # the other program's village is not this office's business
    assert world["other_pairing"].supported_id not in ids
    assert not can_manage_org(admin, world["other_pairing"].supported)


def test_committee_manages_its_own_subtree_only(world):
    committee = world["users"]["committee"]
    assert set(manageable_orgs(committee)) == {world["school"], world["branch"], world["other_branch"]}
    assert can_set_up(committee)


def test_secretaries_villages_and_outsiders_set_up_nothing(world):
    for name in ("secretary", "village", "outsider"):
        user = world["users"][name]
        assert manageable_org_ids(user) == frozenset(), name
        assert not can_set_up(user)
        assert not can_manage_org(user, world["branch"])


def test_superuser_manages_everything(world):
    assert manageable_org_ids(world["users"]["superuser"]) is None
    assert can_manage_org(world["users"]["superuser"], world["other_pairing"].supported)
