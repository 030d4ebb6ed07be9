"""Who may do what to activities and needs: one predicate per action, called by the views (to show a button,
to answer 403), by the services (to refuse) and so, through the views' context, by the templates.

Built on portal.permissions (a user's Scope) and pairings.permissions (the village side of a pairing, its
program's admins). `can_<action>(user, obj)` asks whether the user may do it now: the page shows the button.
Where the object's state matters too, `may_<action>(user, obj)` asks about the user's role alone: a view
answers 403 when it fails and a service raises PermissionDenied, while a wrong state (an activity no longer
waiting, a need already claimed) gets its own message. The QuerySet form of a rule, for lists, is a method of
the model's QuerySet (`editable_by`, `confirmable_by`, `claimable_by`) or a function here, as named below;
tests/activities/test_permissions.py checks that both forms agree.

Activities:

- recording, `can_record(user)`: the secretary of a branch taking part in an active pairing
  (QuerySet form: `recordable_pairings(user)`).
- editing, `can_edit(user, activity)`: its branch's secretary while it is a draft or returned, its program's
  admins at any time (QuerySet form: `Activity.objects.editable_by(user)`). Confirmed means confirmed: a change
  to a confirmed activity's counted fields needs a reason and sends it back to the village
  (activities.services.activity_update).
- submitting, `can_submit(user, activity)`: can_edit, and it is a draft or returned.
- serving on an activity, `serving_volunteers(branch_ids, activity_id=…)`: whose hours an activity of the
  branch may carry, the one list the form offers and the service accepts: the active volunteers of the branch
  and of the villages of its pairings, and the members of the teams of either side of its pairings; and
  whoever already has hours on the activity.
- confirming (验单) and returning, `may_confirm(user, activity)`: the village side of its pairing;
  `can_confirm` / `can_return`: and it is submitted (QuerySet form: `Activity.objects.confirmable_by(user)`).
- verifying volunteer hours (谁记录谁证明): the organising branch's secretary and the program's admins, as
  `ServiceRecord.objects.editable_by(user)` says; the volunteers app reaches it through the volunteer's
  `service_records`, so that QuerySet is the rule's only form.

Needs (微心愿):

- raising, `can_raise(user)`: the village side, or the program's admins, of an active pairing
  (QuerySet form: `raisable_pairings(user)`).
- claiming, `may_claim(user, need)`: the secretary of a branch taking part in the need's pairing;
  `can_claim`: and the need is open (QuerySet forms: `claiming_branches(user, pairing)`,
  `Need.objects.claimable_by(user)`).
- marking fulfilled, `may_fulfil(user, need)`: the secretary of the branch that claimed it; `can_fulfil`:
  and it is claimed.
- rating, `may_rate(user, need)`: the village side of its pairing or the program's admins (who also edit it);
  `can_rate`: and it is fulfilled (QuerySet form: `Need.objects.editable_by(user)`).
- reading a masked name in full, `sees_wanted_by(user, pairing)`: the village side and the program's admins.

Joint meetings (联席会议) and their decisions (action items):

- reading a meeting: whoever reads its pairing; a program-wide meeting, whoever reads the program
  (`Meeting.objects.visible_to(user)`).
- recording one, `meeting_pairings(user)` / `meeting_programs(user)`: in an active pairing, its program's admins
  and those who speak for either side (the supporting party committee, the secretaries of its participating
  branches, the village committee, its named liaisons: models.meeting_recorders_q); a program-wide meeting, the
  program's admins. `can_record_meeting(user)`: either exists.
- editing it, `can_edit_meeting(user, meeting)`: the same people (QuerySet form: `Meeting.objects.editable_by`).
- closing (done or dropped) and reopening a decision, `may_close(user, item)`: the people who act for its owner
  organisation (not a plain member), the person named its owner, and the program's admins; `can_close`: and it is
  open; `can_reopen`: and it is closed (QuerySet form: `ActionItem.objects.closable_by(user)`).

A superuser may do everything.
"""

from django.db.models import Q

from activities.models import (
    OPEN_STATUSES, ActionItem, Activity, Need, ServiceRecord, action_item_managers, meeting_recorders_q,
)
from pairings.models import Pairing, PairingBranch, Program, program_admin_q
from pairings.permissions import administers, is_village_side
from portal.models import Organization
from portal.permissions import scope_for, subtree_ids
from volunteers.models import Volunteer


# --- activities ----------------------------------------------------------------------------------


def recordable_pairings(user):
    """The pairings the user may record a new activity in: those a branch they are secretary of takes part in."""
    scope = scope_for(user)
    if not scope.secretary_orgs:
        return Pairing.objects.none()
    return Pairing.objects.filter(
        id__in=PairingBranch.objects.filter(branch_id__in=scope.secretary_orgs).values("pairing_id"),
        status=Pairing.Status.ACTIVE,
    )


def can_record(user):
    return recordable_pairings(user).exists()


def recordable_programs(user):
    """The programs the user may record a program-wide activity of (one that serves no paired village): those of
    the active pairings a branch they are secretary of takes part in."""
    return Program.objects.filter(id__in=recordable_pairings(user).values("program_id"))


def cohosting_branches(*, branch_id, pairing=None, program=None):
    """The branches that may co-host an activity of the branch `branch_id`, never the branch itself: in a pairing,
    its participating branches; program-wide (pairing None), the branches taking part in the program's pairings of
    the supporting side(s) the branch takes part for (its own school's or organ's branches in the program)."""
    if pairing is not None:
        links = PairingBranch.objects.filter(pairing=pairing)
    else:
        supporters = Pairing.objects.filter(program=program, pairing_branches__branch_id=branch_id).values("supporter_id")
        links = PairingBranch.objects.filter(pairing__program=program, pairing__supporter_id__in=supporters)
    return Organization.objects.filter(id__in=links.values("branch_id")).exclude(pk=branch_id)


def cohosting_choices(branch_ids, pairings):
    """What the activity form offers as co-hosts of an activity of these branches in one of these pairings or
    program-wide in their programs: cohosting_branches over all of them (the service checks the chosen one's)."""
    links = PairingBranch.objects.filter(
        Q(pairing__in=pairings)
        | Q(pairing__program_id__in=pairings.values("program_id"), pairing__supporter_id__in=pairings.values("supporter_id"))
    )
    return Organization.objects.filter(id__in=links.values("branch_id")).exclude(pk__in=list(branch_ids))


def serving_volunteers(branch_ids, *, activity_id=None):
    """The volunteers an activity of these branches may record hours for: the branch's own; the residents
    registered with the villages (and their sub-organisations) of its pairings; the members of the teams of
    either side of its pairings, wherever they are registered (a department's team with the branch's
    teachers, a community's team). Only the active ones, and whoever already has hours on the activity."""
    branch_ids = set(branch_ids)
    sides = list(
        Pairing.objects.filter(pairing_branches__branch_id__in=branch_ids).values_list("supporter_id", "supported_id")
    )
    villages = subtree_ids([supported for _, supported in sides])
    team_orgs = subtree_ids([org_id for pair in sides for org_id in pair]) | branch_ids
    # each way of serving its own plain condition, answered from its index, and their ids united: as one OR,
    # PostgreSQL read all of a province's 100,000 volunteers for a branch's 20 (36 ms; now under 1 ms)
    ways = [
        Volunteer.objects.filter(organization_id__in=branch_ids | villages, is_active=True).order_by().values("id"),
        Volunteer.objects.filter(teams__organization_id__in=team_orgs, is_active=True).order_by().values("id"),
    ]
    if activity_id is not None:
        ways.append(ServiceRecord.objects.filter(activity_id=activity_id).order_by().values("volunteer_id"))
    return Volunteer.objects.filter(id__in=ways[0].union(*ways[1:]))


def administers_activity(user, activity):
    """Whether the user is an admin of the activity's program: read through its pairing, as the pages select it
    (`pairing__program`), or for a program-wide activity its own `program`."""
    scope = scope_for(user)
    if scope.is_superuser:
        return True
    if not scope.admin_orgs:
        return False
    program = activity.pairing.program if activity.pairing_id is not None else activity.program
    return program.office_id in scope.admin_orgs


def can_edit(user, activity):
    """ActivityQuerySet.editable_by for one activity, without a query (reads `activity.pairing.program` only
    for a program admin: select it with the activity)."""
    if activity.deleted_at is not None:
        return False
    scope = scope_for(user)
    if scope.is_superuser:
        return True
    if activity.branch_id in scope.secretary_orgs and activity.status in OPEN_STATUSES:
        return True
    return administers_activity(user, activity)


def may_delete(user, activity):
    """Whether the user may delete the activity (soft: its admin can restore it): the secretary of its branch
    (or a superuser), whatever its state; `can_delete`: and it is a draft or returned, not deleted yet. A submitted
    or confirmed activity counts in figures: it is not deleted, it is corrected (activity_update)."""
    scope = scope_for(user)
    return scope.is_superuser or activity.branch_id in scope.secretary_orgs


def can_delete(user, activity):
    return activity.deleted_at is None and activity.status in OPEN_STATUSES and may_delete(user, activity)


def restorable_activities(user):
    """The deleted activities the user may restore: those of the programs they administer (all, for a superuser)."""
    scope = scope_for(user)
    deleted = Activity.all_objects.filter(deleted_at__isnull=False)
    if scope.is_superuser:
        return deleted
    return deleted.filter(program_admin_q(user, "program__"))


def can_submit(user, activity):
    return activity.status in OPEN_STATUSES and can_edit(user, activity)


def can_verify_hours(user, activity):
    """ServiceRecordQuerySet.editable_by for the hours of one activity, without a query: its branch's secretary
    and its program's admins (reads `activity.pairing.program` only for a program admin)."""
    scope = scope_for(user)
    if scope.is_superuser or activity.branch_id in scope.secretary_orgs:
        return True
    return administers_activity(user, activity)


def records(user, activity):
    """Whether the user is one who writes and submits this activity while it is open (its branch's secretary, its
    program's admin), whatever its status now: a second tap on 提交 is answered, not refused. No query but for a
    program admin (reads `activity.pairing.program`)."""
    if activity.deleted_at is not None:
        return False
    return can_verify_hours(user, activity)


def may_confirm(user, activity):
    """Whether the user confirms and returns for the activity's village (whatever the activity's status); a
    program-wide activity serves no village: its program's admins confirm it."""
    if activity.pairing_id is None:
        return administers_activity(user, activity)
    return is_village_side(user, activity.pairing)


def can_confirm(user, activity):
    """ActivityQuerySet.confirmable_by for one activity, without a query."""
    if activity.deleted_at is not None or activity.status != Activity.Status.SUBMITTED:
        return False
    return may_confirm(user, activity)


def can_return(user, activity):
    """The village returns what it could confirm: the same rule."""
    return can_confirm(user, activity)


# --- needs ---------------------------------------------------------------------------------------


def raisable_pairings(user):
    """The pairings the user may raise a need in: those of the villages whose committee they sit on
    (and, for a program admin, the program's pairings). Suspended or ended pairings take no new needs."""
    scope = scope_for(user)
    queryset = Pairing.objects.filter(status=Pairing.Status.ACTIVE)
    if scope.is_superuser:
        return queryset
    q = program_admin_q(user, "program__")
    if scope.village_orgs:
        q |= Q(supported_id__in=scope.village_orgs)
    return queryset.filter(q)


def can_raise(user):
    return raisable_pairings(user).exists()


def claiming_branches(user, pairing):
    """The branches the user may claim a need of the pairing for: those they are secretary of that take part
    in it (any participating branch, for a superuser)."""
    scope = scope_for(user)
    links = PairingBranch.objects.filter(pairing=pairing)
    if not scope.is_superuser:
        links = links.filter(branch_id__in=scope.secretary_orgs)
    return Organization.objects.filter(id__in=links.values("branch_id")).order_by("name", "id")


def may_claim(user, need):
    return claiming_branches(user, need.pairing).exists()


def can_claim(user, need):
    return need.status == Need.Status.OPEN and may_claim(user, need)


def may_fulfil(user, need):
    """Whether the user is secretary of the branch that claimed the need."""
    scope = scope_for(user)
    return scope.is_superuser or (need.claimed_by_branch_id is not None and need.claimed_by_branch_id in scope.secretary_orgs)


def can_fulfil(user, need):
    return need.status == Need.Status.CLAIMED and may_fulfil(user, need)


def may_rate(user, need):
    return Need.objects.editable_by(user).filter(pk=need.pk).exists()


def can_rate(user, need):
    return need.status == Need.Status.FULFILLED and may_rate(user, need)


def sees_wanted_by(user, pairing):
    """Whether the user reads a masked name in full: the village side of the pairing and its program admin."""
    return is_village_side(user, pairing) or administers(user, pairing)


# --- joint meetings and their decisions ------------------------------------------------------------------


def meeting_pairings(user):
    """The active pairings the user may record a joint meeting of."""
    return Pairing.objects.filter(meeting_recorders_q(user), status=Pairing.Status.ACTIVE)


def meeting_programs(user):
    """The programs the user may record a program-wide meeting of: those they administer."""
    return Program.objects.editable_by(user)


def can_record_meeting(user):
    return meeting_pairings(user).exists() or meeting_programs(user).exists()


def can_record_meeting_of(user, pairing):
    """meeting_pairings for one pairing: no query for a superuser, the program's admin (reads `pairing.program`:
    select it), the school's committee or the village side; one for a branch secretary or a liaison."""
    if pairing.status != Pairing.Status.ACTIVE:
        return False
    scope = scope_for(user)
    if scope.is_superuser or scope.is_anonymous:
        return scope.is_superuser
    if pairing.supporter_id in scope.committee_orgs or pairing.supported_id in scope.village_orgs:
        return True
    if scope.admin_orgs and pairing.program.office_id in scope.admin_orgs:
        return True
    return meeting_pairings(user).filter(pk=pairing.pk).exists()


def can_edit_meeting(user, meeting):
    """Meeting.objects.editable_by for one meeting: no query for a superuser or the program's admin (reads
    `meeting.program`: select it with the meeting), one otherwise."""
    scope = scope_for(user)
    if scope.is_superuser or (scope.admin_orgs and meeting.program.office_id in scope.admin_orgs):
        return True
    if meeting.pairing_id is None or scope.is_anonymous:
        return False
    return Pairing.objects.filter(meeting_recorders_q(user), pk=meeting.pairing_id).exists()


def may_close(user, item):
    """ActionItem.objects.closable_by for one item, without a query (reads `item.meeting.program`: select it)."""
    scope = scope_for(user)
    if scope.is_superuser or scope.is_anonymous:
        return scope.is_superuser
    if item.owner_user_id == scope.user_id or item.owner_org_id in action_item_managers(scope):
        return True
    return bool(scope.admin_orgs) and item.meeting.program.office_id in scope.admin_orgs


def can_close(user, item):
    return item.status == ActionItem.Status.OPEN and may_close(user, item)


def can_reopen(user, item):
    return item.status != ActionItem.Status.OPEN and may_close(user, item)


# --- ledger import (台账导入) ---------------------------------------------------------------------------


def importable_pairing_branches(user, program_id):
    """The (pairing, branch) links of the program whose activities and hours the user may import: all of the
    program's for its admin (or a superuser); for a party committee, its own branches'; for a secretary, their
    branch's. Anything else named in a file is refused as if it did not exist."""
    scope = scope_for(user)
    links = PairingBranch.objects.filter(pairing__program_id=program_id)
    if scope.is_superuser:
        return links
    own = Q(branch_id__in=scope.committee_orgs | scope.secretary_orgs)
    if scope.admin_orgs:
        own |= Q(pairing__program__office_id__in=scope.admin_orgs)
    return links.filter(own)


def activity_import_programs(user):
    """The programs (id, name) the user may import activities or hours for."""
    scope = scope_for(user)
    programs = Program.objects.all()
    if not scope.is_superuser:
        programs = programs.filter(
            Q(office_id__in=scope.admin_orgs)
            | Q(pairings__pairing_branches__branch_id__in=scope.committee_orgs | scope.secretary_orgs)
        )
    return list(programs.distinct().order_by("name").values_list("id", "name"))


def may_import_confirmed(user, program_id):
    """A ledger's past activities may come in as confirmed only when a program admin of the program imports
    them (recorded as confirmed by that admin, by ledger import)."""
    scope = scope_for(user)
    return scope.is_superuser or Program.objects.filter(pk=program_id, office_id__in=scope.admin_orgs).exists()


def import_overseen_program_ids(user):
    """The programs whose ledger imports (activities, hours) a user reads whoever uploaded them: a program
    admin's programs (a secretary or a committee reads its own uploads only)."""
    scope = scope_for(user)
    if not scope.admin_orgs:
        return []
    return list(Program.objects.filter(office_id__in=scope.admin_orgs).values_list("id", flat=True))


def may_hold_photos(user):
    """Who may upload photos for an activity form before saving it: whoever records activities, or edits one."""
    if not getattr(user, "is_authenticated", False):
        return False
    return can_record(user) or Activity.objects.editable_by(user).exists()
