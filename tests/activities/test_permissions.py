"""One predicate per action (activities.permissions), for every role of the world: the branch's secretary
(owner), the other branch's secretary, a branch member (read-only), the school's committee, the village
committee, the program admin, an outsider (another village) and a superuser. The QuerySet forms give the same
answers as the predicates."""

import pytest
from django.utils import timezone

from activities import permissions
from activities.models import Activity, Need
from pairings.models import Pairing
from tests import factories as f

pytestmark = pytest.mark.django_db
S, N = Activity.Status, Need.Status
ROLES = ("secretary", "other_secretary", "member", "committee", "village", "admin", "outsider", "superuser")


def activity(world, status):
    done = timezone.now() if status != S.DRAFT and status != S.RETURNED else None
    made = f.ActivityFactory(
        pairing=world["pairing"], branch=world["branch"], status=status, submitted_at=done,
        confirmed_at=done if status == S.CONFIRMED else None,
    )
    return Activity.objects.select_related("pairing__program").get(pk=made.pk)


def need(world, status):
    claimed, now = status != N.OPEN, timezone.now()
    made = f.NeedFactory(
        pairing=world["pairing"], status=status, raised_at=now, claimed_by_branch=world["branch"] if claimed else None,
        claimed_at=now if claimed else None,
    )
    return Need.objects.select_related("pairing__program").get(pk=made.pk)


def who(cast, predicate, *args):
    return {role for role in ROLES if predicate(cast[role], *args)}


def test_recording_is_for_the_secretaries_of_a_branch_taking_part(world, cast):
    assert who(cast, permissions.can_record) == {"secretary", "other_secretary"}
    world["pairing"].status = Pairing.Status.SUSPENDED
    world["pairing"].save()
    assert who(cast, permissions.can_record) == set()


@pytest.mark.parametrize(
    "status, editors",
    [
        (S.DRAFT, {"secretary", "admin", "superuser"}),
        (S.RETURNED, {"secretary", "admin", "superuser"}),
        (S.SUBMITTED, {"admin", "superuser"}),
        (S.CONFIRMED, {"admin", "superuser"}),
    ],
)
def test_editing_and_submitting(world, cast, status, editors):
    item = activity(world, status)
    assert who(cast, permissions.can_edit, item) == editors
    submitters = editors if status in (S.DRAFT, S.RETURNED) else set()
    assert who(cast, permissions.can_submit, item) == submitters


@pytest.mark.parametrize("status", S.values)
def test_confirming_and_returning_are_the_villages(world, cast, status):
    item = activity(world, status)
    assert who(cast, permissions.may_confirm, item) == {"village", "superuser"}
    waiting = {"village", "superuser"} if status == S.SUBMITTED else set()
    assert who(cast, permissions.can_confirm, item) == waiting
    assert who(cast, permissions.can_return, item) == waiting


def test_a_deleted_activity_is_changed_by_no_one(world, cast):
    item = activity(world, S.SUBMITTED)
    item.deleted_at = timezone.now()
    assert who(cast, permissions.can_edit, item) == who(cast, permissions.can_confirm, item) == set()


@pytest.mark.parametrize("role", ROLES)
def test_the_activity_predicates_agree_with_their_querysets(world, cast, role):
    user = cast[role]
    items = [activity(world, status) for status in S.values]
    editable = set(Activity.objects.editable_by(user).values_list("pk", flat=True))
    confirmable = set(Activity.objects.confirmable_by(user).values_list("pk", flat=True))
    for item in items:
        assert permissions.can_edit(user, item) == (item.pk in editable), item.status
        assert permissions.can_confirm(user, item) == (item.pk in confirmable), item.status


def test_raising_a_need_is_for_the_village_and_the_program_admin(world, cast):
    raisers = {role for role in ROLES if world["pairing"] in permissions.raisable_pairings(cast[role])}
    assert raisers == {"village", "admin", "superuser"}
    assert who(cast, permissions.can_raise) == raisers | {"outsider"}  # who raises in their own pairing


@pytest.mark.parametrize("status", N.values)
def test_claiming_a_need_is_for_the_pairings_secretaries_while_it_is_open(world, cast, status):
    item = need(world, status)
    assert who(cast, permissions.may_claim, item) == {"secretary", "other_secretary", "superuser"}
    assert who(cast, permissions.can_claim, item) == (
        {"secretary", "other_secretary", "superuser"} if status == N.OPEN else set()
    )


@pytest.mark.parametrize("status", [N.CLAIMED, N.FULFILLED, N.CLOSED])
def test_fulfilling_a_need_is_for_the_claiming_secretary_while_it_is_claimed(world, cast, status):
    item = need(world, status)
    assert who(cast, permissions.may_fulfil, item) == {"secretary", "superuser"}
    assert who(cast, permissions.can_fulfil, item) == ({"secretary", "superuser"} if status == N.CLAIMED else set())


def test_an_open_need_is_fulfilled_by_no_secretary(world, cast):
    assert who(cast, permissions.may_fulfil, need(world, N.OPEN)) == {"superuser"}


@pytest.mark.parametrize("status", N.values)
def test_rating_a_need_is_for_the_village_and_the_program_admin_once_it_is_fulfilled(world, cast, status):
    item = need(world, status)
    assert who(cast, permissions.may_rate, item) == {"village", "admin", "superuser"}
    assert who(cast, permissions.can_rate, item) == (
        {"village", "admin", "superuser"} if status == N.FULFILLED else set()
    )


@pytest.mark.parametrize("role", ROLES)
def test_the_need_predicates_agree_with_their_querysets(world, cast, role):
    user = cast[role]
    items = [need(world, status) for status in N.values]
    claimable = set(Need.objects.claimable_by(user).values_list("pk", flat=True))
    editable = set(Need.objects.editable_by(user).values_list("pk", flat=True))
    for item in items:
        assert permissions.can_claim(user, item) == (item.pk in claimable), item.status
        assert permissions.may_rate(user, item) == (item.pk in editable), item.status


def test_a_masked_name_is_read_in_full_by_the_village_and_the_program_admin(world, cast):
    assert who(cast, permissions.sees_wanted_by, world["pairing"]) == {"village", "admin", "superuser"}


@pytest.mark.parametrize("role", ROLES)
def test_the_pairing_narrowed_rule_agrees_with_visible_to(world, cast, role):
    """visible_in_pairing (the pairing page's recent activities) reads exactly what visible_to reads of the
    pairing: drafts of either branch, every status, and never a program-wide activity or another pairing's."""
    from pairings.permissions import can_edit_agreement

    user, pairing = cast[role], world["pairing"]
    for status in S.values:
        done = timezone.now() if status in (S.SUBMITTED, S.CONFIRMED) else None
        times = {"status": status, "submitted_at": done, "confirmed_at": done if status == S.CONFIRMED else None}
        for branch in (world["branch"], world["other_branch"]):
            f.ActivityFactory(pairing=pairing, branch=branch, **times)
        f.ActivityFactory(pairing=None, program=pairing.program, branch=world["branch"], **times)
        f.ActivityFactory(pairing=world["other_pairing"], **times)
    expected = set(Activity.objects.visible_to(user).filter(pairing=pairing).values_list("pk", flat=True))
    if not Pairing.objects.visible_to(user).filter(pk=pairing.pk).exists():  # its page is a 404: never asked
        assert role == "outsider" and expected == set()
        return
    narrowed = set(
        Activity.objects.visible_in_pairing(user, pairing.pk, administers=can_edit_agreement(user, pairing))
        .values_list("pk", flat=True)
    )
    assert narrowed == expected
    if role in ("secretary", "admin", "superuser"):
        assert Activity.objects.filter(pairing=pairing, status=S.DRAFT, pk__in=narrowed).exists()
