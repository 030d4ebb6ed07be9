"""visible_to / editable_by for every role, on the small world of conftest."""

import pytest

from activities.models import Activity, Need, ServiceRecord
from pairings.models import JointPlan, Pairing, PlanItem, Program
from portal.models import Membership
from portal.permissions import mask_phone, scope_for
from reports.models import Report
from tests import factories as f
from volunteers.models import Volunteer

pytestmark = pytest.mark.django_db


def ids(queryset):
    return set(queryset.values_list("id", flat=True))


@pytest.fixture
def records(world):
    pairing, other = world["pairing"], world["other_pairing"]
    submitted = f.ActivityFactory(pairing=pairing, branch=world["branch"], status="submitted", submitted_at="2024-03-15T10:00+08:00")
    draft = f.ActivityFactory(pairing=pairing, branch=world["branch"], status="draft")
    other_draft = f.ActivityFactory(pairing=pairing, branch=world["other_branch"], status="draft")
    foreign = f.ActivityFactory(pairing=other, status="submitted", submitted_at="2024-03-15T10:00+08:00")
    return {"submitted": submitted, "draft": draft, "other_draft": other_draft, "foreign": foreign}


@pytest.mark.parametrize(
    "role, sees_pairing",
    [
        ("admin", True),
        ("committee", True),
        ("secretary", True),
        ("other_secretary", True),
        ("village", True),
        ("outsider", False),
        ("superuser", True),
    ],
)
def test_pairing_visibility(world, role, sees_pairing):
    user = world["users"][role]
    visible = ids(Pairing.objects.visible_to(user))
    assert (world["pairing"].id in visible) is sees_pairing
    if role not in ("superuser", "outsider"):
        assert world["other_pairing"].id not in visible


def test_outsider_sees_own_pairing_only(world):
    outsider = world["users"]["outsider"]
    assert ids(Pairing.objects.visible_to(outsider)) == {world["other_pairing"].id}
    assert ids(Program.objects.visible_to(outsider)) == {world["other_program"].id}


def test_anonymous_sees_nothing(world, records):
    from django.contrib.auth.models import AnonymousUser

    anon = AnonymousUser()
    assert not Pairing.objects.visible_to(anon).exists()
    assert not Activity.objects.visible_to(anon).exists()
    assert not Report.objects.visible_to(anon).exists()


def test_drafts_stay_on_the_supporting_side(world, records):
    users = world["users"]
    village_sees = ids(Activity.objects.visible_to(users["village"]))
    assert village_sees == {records["submitted"].id}
    # a secretary sees the pairing's submitted work, and the drafts of their own branch only
    assert ids(Activity.objects.visible_to(users["secretary"])) == {records["submitted"].id, records["draft"].id}
    assert records["other_draft"].id in ids(Activity.objects.visible_to(users["committee"]))
    assert records["foreign"].id not in ids(Activity.objects.visible_to(users["admin"]))


def test_only_the_own_branch_secretary_edits(world, records):
    users = world["users"]
    assert ids(Activity.objects.editable_by(users["secretary"])) == {records["draft"].id}
    assert ids(Activity.objects.editable_by(users["other_secretary"])) == {records["other_draft"].id}
    assert not Activity.objects.editable_by(users["village"]).exists()
    assert not Activity.objects.editable_by(users["committee"]).exists()
    assert records["foreign"].id not in ids(Activity.objects.editable_by(users["admin"]))


def test_only_the_village_confirms(world, records):
    users = world["users"]
    assert ids(Activity.objects.confirmable_by(users["village"])) == {records["submitted"].id}
    for role in ("secretary", "committee", "admin"):
        assert not Activity.objects.confirmable_by(users[role]).exists(), role
    # tianxin's committee confirms in its own village only
    assert ids(Activity.objects.confirmable_by(users["outsider"])) == {records["foreign"].id}


def test_revoked_membership_takes_effect_on_the_next_request(world, client, records):
    secretary = world["users"]["secretary"]
    assert Activity.objects.visible_to(secretary).exists()
    Membership.objects.filter(user=secretary).delete()
    fresh = type(secretary).objects.get(pk=secretary.pk)  # a new request loads the user anew
    assert not Activity.objects.visible_to(fresh).exists()
    assert scope_for(fresh).branch_orgs == frozenset()


def test_committee_and_admin_edit_plans_village_does_not(world):
    plan = f.JointPlanFactory(pairing=world["pairing"])
    item = f.PlanItemFactory(plan=plan)
    users = world["users"]
    for role in ("committee", "admin", "superuser"):
        assert ids(JointPlan.objects.editable_by(users[role])) == {plan.id}, role
        assert ids(PlanItem.objects.editable_by(users[role])) == {item.id}, role
    for role in ("village", "secretary", "outsider"):
        assert not JointPlan.objects.editable_by(users[role]).exists(), role
    assert ids(JointPlan.objects.visible_to(users["village"])) == {plan.id}
    assert not JointPlan.objects.visible_to(users["outsider"]).exists()


def test_needs_are_raised_by_the_village_and_claimed_by_a_branch(world):
    need = f.NeedFactory(pairing=world["pairing"])
    users = world["users"]
    assert ids(Need.objects.editable_by(users["village"])) == {need.id}
    assert not Need.objects.editable_by(users["secretary"]).exists()
    assert ids(Need.objects.claimable_by(users["secretary"])) == {need.id}
    assert not Need.objects.claimable_by(users["village"]).exists()
    assert not Need.objects.visible_to(users["outsider"]).exists()


def test_reports_drafts_for_admins_published_for_readers(world):
    users = world["users"]
    program_draft = f.ReportFactory(program=world["program"])
    pairing_draft = f.ReportFactory(program=world["program"], pairing=world["pairing"])
    published = f.ReportFactory(
        program=world["program"], pairing=world["pairing"], period="2024-04", status="published",
        published_at="2024-05-01T06:00+08:00",
    )
    assert ids(Report.objects.visible_to(users["admin"])) == {program_draft.id, pairing_draft.id, published.id}
    assert ids(Report.objects.visible_to(users["superuser"])) == {program_draft.id, pairing_draft.id, published.id}
    assert ids(Report.objects.visible_to(users["village"])) == {published.id}
    assert not Report.objects.visible_to(users["outsider"]).exists()
    assert ids(Report.objects.editable_by(users["admin"])) == {program_draft.id, pairing_draft.id, published.id}
    assert not Report.objects.editable_by(users["committee"]).exists()


def test_volunteers_belong_to_their_side(world):
    users = world["users"]
    own = f.VolunteerFactory(organization=world["branch"])
    other = f.VolunteerFactory(organization=world["other_branch"])
    foreign = f.VolunteerFactory(organization=world["other_pairing"].supporter)
    assert ids(Volunteer.objects.visible_to(users["secretary"])) == {own.id}
    assert ids(Volunteer.objects.visible_to(users["committee"])) == {own.id, other.id}
    assert ids(Volunteer.objects.visible_to(users["admin"])) == {own.id, other.id}
    assert foreign.id not in ids(Volunteer.objects.visible_to(users["admin"]))
    assert not Volunteer.objects.visible_to(users["outsider"]).exists()
    assert ids(Volunteer.objects.editable_by(users["secretary"])) == {own.id}


def test_soft_deleted_rows_leave_every_list(world, records):
    activity = records["submitted"]
    record = f.ServiceRecordFactory(activity=activity)
    Activity.objects.filter(pk=activity.pk).update(deleted_at="2024-04-01T00:00+08:00")
    ServiceRecord.objects.filter(pk=record.pk).update(deleted_at="2024-04-01T00:00+08:00")
    assert not Activity.objects.filter(pk=activity.pk).exists()
    assert Activity.all_objects.filter(pk=activity.pk).exists()
    assert activity.id not in ids(Activity.objects.visible_to(world["users"]["superuser"]))
    assert not ServiceRecord.objects.filter(pk=record.pk).exists()


def test_mask_phone():
    assert mask_phone("13812341234") == "138****1234"
    assert mask_phone("123") == "***"
    assert mask_phone("") == ""
