"""Who may do what to a pairing and its joint plans: one predicate per action, called by the views (to show a
button, to answer 403), by the services (to refuse) and so, through the views' context, by the templates.

Built on portal.permissions (a user's Scope: the organisations they reach, per kind of role).
`can_<action>(user, obj)` asks whether the user may do it now: the page shows the button, the view answers 403
otherwise, the service refuses. Where the object's state matters too (a plan already agreed to), `may_<action>`
asks about the user's role alone: the view's 403 and the service's "not allowed" follow it, while the state
gets its own message. Where the rule is a QuerySet method (`editable_by`), the predicate asks it about the
one object; where a list needs the rule, the QuerySet form is named below.

Actions and rules:

- the village side, `is_village_side(user, pairing)`: the committee or liaison of the pairing's supported
  village or community (or of a sub-district above it). The activities app builds confirming on it.
- administering, `administers(user, pairing)`: an admin of the pairing's program office.
- the signed agreement, `can_edit_agreement(user, pairing)`: the program's admins
  (QuerySet form: `Pairing.objects.editable_by(user)`).
- joint plans and their items, `can_edit_plans(user, pairing)`: the program's admins and the supporting
  school's (or organ's) party committee (QuerySet form: `plan_editable_pairings(user)`).
- agreeing to a joint plan, `may_agree(user, plan)`: the village side; `can_agree(user, plan, items=…)`:
  and the plan has items and is not agreed to yet.
- reading a village's statistics, `can_read_statistics(user, village)`: whoever reads a pairing whose
  supported side it is, and the village side itself (QuerySet form: `VillageStatistic.objects.visible_to(user)`).
- recording and deleting them, `can_record_statistics(user, village)`: the village's committee (or liaison, or
  a sub-district committee above it) and the admins of every program that pairs the village (QuerySet form:
  `VillageStatistic.objects.editable_by(user)`).

- setting up a program (its record, metrics, own activity types and pairings), `can_set_up_program(user,
  program)`: the admins of the program's office (QuerySet form: `Program.objects.set_up_by(user)`). A new
  program's office is one of `program_offices(user)`.
- setting up a pairing (term, status, branches, liaisons), `can_set_up_pairing(user, pairing)`: the admins of its
  program. The organisations offered on either side come from `portal.permissions.manageable_orgs(user)`:
  `supporter_choices(user)` (any kind but a supported one) and `supported_choices(user)` (a village, community,
  sub-district or town).

A superuser may do everything.
"""

from pairings.models import Pairing, PlanQuerySet, village_statistics_readers_q, village_statistics_recorders_q
from portal.models import Organization
from portal.permissions import manageable_orgs, scope_for, subtree_ids


def is_village_side(user, pairing):
    """Whether the user speaks for the pairing's supported side (its village committee or liaison)."""
    scope = scope_for(user)
    return scope.is_superuser or pairing.supported_id in scope.village_orgs


def administers(user, pairing):
    """Whether the user is an admin of the pairing's program (reads `pairing.program` only for an admin)."""
    scope = scope_for(user)
    if scope.is_superuser:
        return True
    return bool(scope.admin_orgs) and pairing.program.office_id in scope.admin_orgs


def can_edit_agreement(user, pairing):
    """Pairing.objects.editable_by for one pairing, from the user's scope: no query (reads `pairing.program` for
    an admin only: select it)."""
    return administers(user, pairing)


class _PairingPlanRights(PlanQuerySet):
    """PlanQuerySet's rule applied to pairings themselves: who may create and edit their joint plans."""

    pairing_path = ""


def plan_editable_pairings(user):
    """The pairings whose joint plans the user may create and edit."""
    return _PairingPlanRights(model=Pairing).editable_by(user)


def can_edit_plans(user, pairing):
    """plan_editable_pairings for one pairing, from the user's scope: no query (as can_edit_agreement)."""
    scope = scope_for(user)
    return pairing.supporter_id in scope.committee_orgs or administers(user, pairing)


def may_agree(user, plan):
    """The village side of the plan's pairing records its agreement to the plan."""
    return is_village_side(user, plan.pairing)


def can_agree(user, plan, *, items):
    """may_agree, and the plan (whose `items` the caller has read) has items and is not agreed to yet."""
    return may_agree(user, plan) and not plan.village_agreed_on and bool(items)


def can_read_statistics(user, village):
    return Organization.objects.filter(village_statistics_readers_q(user), pk=village.pk).exists()


def can_record_statistics(user, village):
    """The village side of `village`, or an admin of a program pairing it. No query for the village side (nor a
    user without a program-admin role); one for a program admin."""
    scope = scope_for(user)
    if scope.is_superuser or village.pk in scope.village_orgs:
        return True
    if not scope.admin_orgs:
        return False
    return Organization.objects.filter(village_statistics_recorders_q(user), pk=village.pk).exists()


# --- set-up ----------------------------------------------------------------------------------------


def can_set_up_program(user, program):
    """An admin of the program's office (no query: the office is on the program)."""
    scope = scope_for(user)
    return scope.is_superuser or (program is not None and program.office_id in scope.admin_orgs)


def can_set_up_programs(user):
    """Whether the user sets up any program at all (the programs' set-up list, the types' pages)."""
    scope = scope_for(user)
    return scope.is_superuser or bool(scope.admin_orgs)


def can_set_up_pairing(user, pairing):
    return administers(user, pairing)


def program_offices(user):
    """The organisations a new program may be run by: the offices the user administers (superuser: any)."""
    scope = scope_for(user)
    if scope.is_superuser:
        return Organization.objects.exclude(kind__in=Organization.SUPPORTED_KINDS)
    return Organization.objects.filter(id__in=scope.admin_orgs)


def supporter_choices(user):
    """Organisations that may be the supporting side of a new pairing: manageable schools, colleges, organs,
    departments and committees (not a party branch: a branch takes part in its school's pairing; not a
    supported kind)."""
    return (
        manageable_orgs(user)
        .exclude(kind__in=(*Organization.SUPPORTED_KINDS, Organization.Kind.BRANCH))
        .filter(is_active=True)
    )


def supported_choices(user):
    """Organisations that may be the supported side: manageable villages, communities, sub-districts, towns."""
    return manageable_orgs(user).filter(kind__in=Organization.SUPPORTED_KINDS, is_active=True)


def branch_choices(pairing):
    """The party branches under the pairing's supporting side, the ones that may take part in it."""
    ids = subtree_ids([pairing.supporter_id])
    return Organization.objects.filter(id__in=ids, kind=Organization.Kind.BRANCH)


def side_org_ids(pairing, side):
    """The organisations of one side of a pairing (its root and everything below it), whose people may be its
    liaisons."""
    root = pairing.supporter_id if side == "supporter" else pairing.supported_id
    return subtree_ids([root])
