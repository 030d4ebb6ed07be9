"""Events become notifications: who is told of what, with a link to where it is done.

The apps on the left send domain signals from inside their services' transactions (activities.signals,
pairings.signals); the receivers here turn each into one ``notify()`` call, so the notification rows commit (or
roll back) with the event. The time-based notices (a plan item coming due, a dormant pairing, an agreement about
to expire, drafts waiting) come from ``due_scan(today)``, run each morning by the ``scan_due`` task.

Recipients are decided in this module alone (the functions under "Who"), and a person is told only if the link
opens for them: each notice is checked against the linked page's own rule (``visible_to`` / the action's
permission), so a notification never reveals a record its reader could not open. The one who acted is not told
of their own action (except hours they recorded: verifying them is still theirs to do).

Every event has a key (its kind, the record, and what makes this occurrence distinct: the submission's moment,
the due date, the day of the scan), so a retried task, a double click or a second scan the same day adds nothing.
Messages are written in the portal's language (Simplified Chinese) whoever's request caused them.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db.models import Count, Q
from django.dispatch import receiver
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from activities import signals as activity_signals
from activities.models import Activity, Need, ServiceRecord
from activities.permissions import can_edit, can_verify_hours, may_close
from activities.selectors import hours_waiting_on, open_action_items
from pairings import signals as pairing_signals
from pairings.models import JointPlan, Liaison, Pairing, PlanItem
from pairings.selectors import ITEM_DUE_DAYS, agreements_expiring, items_due, pairings_dormant
from portal.models import Membership, User
from portal.permissions import VILLAGE_ROLES
from reports.models import Notification, Report
from reports.notifications import notify

Kind = Notification.Kind
Role = Membership.Role


# --------------------------------------------------------------------------------------------------------
# Who
# --------------------------------------------------------------------------------------------------------


def _active(q):
    return list(User.objects.filter(q, is_active=True).distinct().order_by("id"))


def village_side(pairing):
    """The village committee (and liaison members) of the pairing's supported side, and its liaisons on that side
    who have an account."""
    return _active(
        Q(memberships__organization_id=pairing.supported_id, memberships__role__in=VILLAGE_ROLES)
        | Q(liaison_roles__pairing_id=pairing.pk, liaison_roles__side=Liaison.Side.SUPPORTED)
    )


def branch_secretaries(branch_id):
    return _active(Q(memberships__organization_id=branch_id, memberships__role=Role.SECRETARY))


def program_admins(program_id):
    """The admins of the program's office."""
    return _active(
        Q(memberships__role=Role.ADMIN, memberships__organization__programs_run__id=program_id)
    )


def supporter_committee(pairing):
    """The party committee of the supporting side (the school committee)."""
    return _active(Q(memberships__organization_id=pairing.supporter_id, memberships__role=Role.COMMITTEE))


def supporter_liaisons(pairing):
    return _active(Q(liaison_roles__pairing_id=pairing.pk, liaison_roles__side=Liaison.Side.SUPPORTER))


def _people(*groups, leave_out=None, may_open):
    """Everyone in ``groups`` once, but ``leave_out`` (the one who acted), and only those ``may_open(user)`` the
    link (asked of each: a handful of people per event)."""
    seen, out = set(), []
    for group in groups:
        for user in group:
            if user.pk in seen or (leave_out is not None and user.pk == leave_out.pk):
                continue
            seen.add(user.pk)
            if may_open(user):
                out.append(user)
    return out


def _sees(model, pk):
    return lambda user: model.objects.visible_to(user).filter(pk=pk).exists()


def _org(org):
    return org.short_name or org.name


def _say(message_fn):
    with translation.override(settings.LANGUAGE_CODE):
        return message_fn()


# --------------------------------------------------------------------------------------------------------
# Activities: 验单, returned, hours to verify
# --------------------------------------------------------------------------------------------------------


def _activity(activity):
    return Activity.objects.select_related(
        "pairing__program", "pairing__supporter", "pairing__supported", "branch", "program"
    ).get(pk=activity.pk)


def _where(activity):
    """The village an activity serves, as a notice names it; for a program-wide one, its program."""
    return _org(activity.pairing.supported) if activity.pairing_id is not None else activity.program.name


@receiver(activity_signals.activity_submitted, dispatch_uid="events_activity_submitted")
def activity_to_confirm(sender, activity, actor=None, corrected=False, **kwargs):
    """An activity waits for 验单: the village side of its pairing, on the activity's page (where it confirms)."""
    activity = _activity(activity)
    pairing = activity.pairing
    # a program-wide activity serves no village: its program's admins confirm it
    confirmers = village_side(pairing) if pairing is not None else program_admins(activity.program_id)
    people = _people(confirmers, leave_out=actor, may_open=_sees(Activity, activity.pk))
    names = {"village": _where(activity), "title": activity.title, "branch": _org(activity.branch)}
    if corrected:
        message = _say(lambda: _("%(village)s: “%(title)s” was corrected and waits for confirmation again "
                                 "(%(branch)s)") % names)
    else:
        message = _say(lambda: _("%(village)s: “%(title)s” waits for confirmation (submitted by %(branch)s)") % names)
    return notify(
        kind=Kind.ACTIVITY_TO_CONFIRM, message=message, users=people, pairing=pairing,
        program=activity.program if pairing is None else None,
        url=reverse("activities:detail", args=[activity.pk]),
        key=f"activity_to_confirm:{activity.pk}:{activity.submitted_at.timestamp():.6f}",
    )


@receiver(activity_signals.activities_submitted_in_bulk, dispatch_uid="events_activities_submitted_in_bulk")
def activities_to_confirm(sender, activity_ids, actor=None, batch_label="", **kwargs):
    """Many activities entered as submitted at once (a ledger import): the village side of each pairing is told
    ONCE for the lot — "第三党支部经台账导入提交了 12 条活动，待验单" — on the activity list filtered to that pairing's
    submitted activities, not once per activity. Program-wide ones (no village) go to their program's admins, once
    per program, on the list of the program's submitted program-wide activities. Keyed by the pairing (or program)
    and the activities (the first and last id and their number), so a retried task or a second announcement adds
    nothing."""
    ids = sorted(set(activity_ids))
    groups = {}  # pairing id, or ("program", id) -> {"ids": [...], "branches": {name: None}}
    for start in range(0, len(ids), 2000):
        rows = (
            Activity.objects.filter(pk__in=ids[start:start + 2000], status=Activity.Status.SUBMITTED)
            .values_list("pk", "pairing_id", "program_id", "branch__short_name", "branch__name")
            .order_by("pk")
        )
        for pk, pairing_id, program_id, short_name, name in rows:
            group = groups.setdefault(pairing_id if pairing_id is not None else ("program", program_id),
                                      {"ids": [], "branches": {}})
            group["ids"].append(pk)
            group["branches"][short_name or name] = None
    made = 0
    pairings = Pairing.objects.select_related("program", "supporter", "supported").in_bulk(
        [key for key in groups if not isinstance(key, tuple)]
    )
    # the pairings in id order, then the programs' program-wide lots
    for key, group in sorted(groups.items(), key=lambda item: (isinstance(item[0], tuple), item[0][1] if isinstance(item[0], tuple) else item[0])):
        first, count = group["ids"][0], len(group["ids"])
        pairing = pairings[key] if not isinstance(key, tuple) else None
        if pairing is not None:
            confirmers, where = village_side(pairing), f"pairing={pairing.pk}"
            subject = {"pairing": pairing}
        else:
            program_id = key[1]
            confirmers, where = program_admins(program_id), f"program={program_id}&program_wide=on"
            subject = {"pairing": None, "program": Activity.objects.get(pk=first).program}
        people = _people(confirmers, leave_out=actor, may_open=_sees(Activity, first))
        names = {"branches": "、".join(group["branches"]), "n": count}
        message = _say(lambda: ngettext(
            "%(branches)s submitted %(n)d activity through a ledger import; it waits for confirmation",
            "%(branches)s submitted %(n)d activities through a ledger import; they wait for confirmation",
            count,
        ) % names)
        made += notify(
            kind=Kind.ACTIVITY_TO_CONFIRM, message=message, users=people, **subject,
            url=reverse("activities:list") + f"?{where}&status={Activity.Status.SUBMITTED}",
            key=f"activities_to_confirm:{pairing.pk if pairing else 'program-' + str(key[1])}:{first}-{group['ids'][-1]}:{count}",
        )
    return made


@receiver(activity_signals.activity_returned, dispatch_uid="events_activity_returned")
def activity_returned(sender, activity, actor=None, **kwargs):
    """A returned activity: its branch's secretaries and the one who recorded it, on its edit page."""
    activity = _activity(activity)
    recorder = [activity.created_by] if activity.created_by_id else []
    people = _people(
        branch_secretaries(activity.branch_id), recorder, leave_out=actor,
        may_open=lambda user: can_edit(user, activity),
    )
    message = _say(lambda: _("%(village)s returned “%(title)s”: %(comment)s") % {
        "village": _where(activity), "title": activity.title, "comment": activity.return_comment,
    })
    submitted = activity.submitted_at.timestamp() if activity.submitted_at else 0
    return notify(
        kind=Kind.ACTIVITY_RETURNED, message=message, users=people, pairing=activity.pairing,
        url=reverse("activities:update", args=[activity.pk]),
        key=f"activity_returned:{activity.pk}:{submitted:.6f}",
    )


@receiver(activity_signals.hours_recorded_in_bulk, dispatch_uid="events_hours_recorded_in_bulk")
def hours_to_verify_in_bulk(sender, activity_ids, actor=None, batch_label="", **kwargs):
    """Hours recorded on many activities at once (a ledger import): each branch's secretaries are told ONCE for
    the lot — "台账导入的 120 条服务时长（35 项活动）待您核验" — on their home page, where the activities with hours
    to verify are listed, not once per activity. Keyed by the branch and the records, so a retried task adds
    nothing."""
    ids = sorted(set(activity_ids))
    groups = {}  # branch id -> {"activities": {...}, "records": n, "last": newest record id}
    for start in range(0, len(ids), 2000):
        rows = (
            ServiceRecord.objects.filter(activity_id__in=ids[start:start + 2000]).awaiting_verification()
            .values_list("activity_id", "activity__branch_id", "id")
        )
        for activity_id, branch_id, record_id in rows:
            group = groups.setdefault(branch_id, {"activities": set(), "records": 0, "last": 0})
            group["activities"].add(activity_id)
            group["records"] += 1
            group["last"] = max(group["last"], record_id)
    made = 0
    for branch_id, group in sorted(groups.items()):
        first = min(group["activities"])
        activity = _activity(Activity(pk=first))
        people = _people(branch_secretaries(branch_id), may_open=lambda user: can_verify_hours(user, activity))
        count, activities_count = group["records"], len(group["activities"])
        message = _say(lambda: ngettext(
            "%(n)d record of hours imported from a ledger (%(activities)d activities) waits for your verification",
            "%(n)d records of hours imported from a ledger (%(activities)d activities) wait for your verification",
            count,
        ) % {"n": count, "activities": activities_count})
        made += notify(
            kind=Kind.HOURS_TO_VERIFY, message=message, users=people, url=reverse("home"),
            key=f"hours_to_verify_bulk:{branch_id}:{group['last']}:{count}",
        )
    return made


@receiver(activity_signals.hours_recorded, dispatch_uid="events_hours_recorded")
def hours_to_verify(sender, activity, actor=None, **kwargs):
    """Hours wait for verification: one notice per verifier per activity (and per batch of records), to the
    branch's secretaries (谁记录谁证明), on the activity's page where they are ticked and verified."""
    count, last = hours_waiting_on(activity)
    if not count:
        return 0
    activity = _activity(activity)
    people = _people(branch_secretaries(activity.branch_id), may_open=lambda user: can_verify_hours(user, activity))
    message = _say(lambda: ngettext(
        "%(pairing)s: %(n)d record of hours in “%(title)s” waits for your verification",
        "%(pairing)s: %(n)d records of hours in “%(title)s” wait for your verification",
        count,
    ) % {"pairing": str(activity.pairing) if activity.pairing_id else activity.program.name, "n": count,
         "title": activity.title})
    return notify(
        kind=Kind.HOURS_TO_VERIFY, message=message, users=people,
        url=reverse("activities:detail", args=[activity.pk]) + "#hours",
        key=f"hours_to_verify:{activity.pk}:{last}",
    )


# --------------------------------------------------------------------------------------------------------
# Needs: claimed, fulfilled
# --------------------------------------------------------------------------------------------------------


def _need(need):
    return Need.objects.select_related(
        "pairing__program", "pairing__supporter", "pairing__supported", "claimed_by_branch", "raised_by"
    ).get(pk=need.pk)


@receiver(activity_signals.need_claimed, dispatch_uid="events_need_claimed")
def need_claimed(sender, need, actor=None, **kwargs):
    """A need was claimed: the village that raised it (its village side, and whoever raised it), on the need."""
    need = _need(need)
    raiser = [need.raised_by] if need.raised_by_id else []
    people = _people(village_side(need.pairing), raiser, leave_out=actor, may_open=_sees(Need, need.pk))
    message = _say(lambda: _("%(branch)s claimed the need “%(title)s” of %(village)s") % {
        "branch": _org(need.claimed_by_branch), "title": need.title, "village": _org(need.pairing.supported),
    })
    return notify(
        kind=Kind.NEED_CLAIMED, message=message, users=people, pairing=need.pairing,
        url=reverse("activities:need_detail", args=[need.pk]),
        key=f"need_claimed:{need.pk}:{need.claimed_at.timestamp():.6f}",
    )


@receiver(activity_signals.need_fulfilled, dispatch_uid="events_need_fulfilled")
def need_fulfilled(sender, need, actor=None, **kwargs):
    """A need was fulfilled: the village (it rates the response) and the claiming branch's secretaries."""
    need = _need(need)
    raiser = [need.raised_by] if need.raised_by_id else []
    people = _people(
        village_side(need.pairing), raiser, branch_secretaries(need.claimed_by_branch_id), leave_out=actor,
        may_open=_sees(Need, need.pk),
    )
    message = _say(lambda: _("%(branch)s fulfilled the need “%(title)s” of %(village)s: please rate the response") % {
        "branch": _org(need.claimed_by_branch), "title": need.title, "village": _org(need.pairing.supported),
    })
    return notify(
        kind=Kind.NEED_FULFILLED, message=message, users=people, pairing=need.pairing,
        url=reverse("activities:need_detail", args=[need.pk]),
        key=f"need_fulfilled:{need.pk}:{need.fulfilled_at.timestamp():.6f}",
    )


# --------------------------------------------------------------------------------------------------------
# Plans: the village's agreement
# --------------------------------------------------------------------------------------------------------


@receiver(pairing_signals.plan_needs_agreement, dispatch_uid="events_plan_needs_agreement")
def plan_to_agree(sender, plan, actor=None, since=None, **kwargs):
    """A plan waits for the village's agreement (a new plan, or one changed since it was agreed to): the village
    side, on the plan's page. One notice per round: the key names the agreement withdrawn (or "new")."""
    plan = JointPlan.objects.select_related("pairing__program", "pairing__supporter", "pairing__supported").get(
        pk=plan.pk
    )
    people = _people(village_side(plan.pairing), leave_out=actor, may_open=_sees(JointPlan, plan.pk))
    names = {"village": _org(plan.pairing.supported), "plan": plan.title}
    if since is None:
        message = _say(lambda: _("%(village)s: the joint plan “%(plan)s” waits for your agreement") % names)
    else:
        message = _say(lambda: _("%(village)s: the joint plan “%(plan)s” was changed and needs your agreement again")
                       % names)
    round_key = since.isoformat() if since else "new"
    return notify(
        kind=Kind.PLAN_TO_AGREE, message=message, users=people, pairing=plan.pairing,
        url=reverse("pairings:plan_detail", args=[plan.pk]) + "#agree",
        key=f"plan_to_agree:{plan.pk}:{round_key}",
    )


# --------------------------------------------------------------------------------------------------------
# The daily scan
# --------------------------------------------------------------------------------------------------------


def item_link(item):
    """The plan page, at the item."""
    return reverse("pairings:plan_detail", args=[item.plan_id]) + f"#item-{item.pk}"


def _scan_items(today):
    """Open items due within ITEM_DUE_DAYS days (once per due date) or overdue (once more, per due date): their
    owner branch's secretaries."""
    made = 0
    for item in items_due(today).filter(owner_branch__isnull=False):
        overdue = item.due_date < today
        people = _people(branch_secretaries(item.owner_branch_id), may_open=_sees(PlanItem, item.pk))
        names = {"pairing": str(item.plan.pairing), "title": item.title, "due": item.due_date.isoformat()}
        if overdue:
            message = _say(lambda: _("%(pairing)s: the plan item “%(title)s” is overdue (due %(due)s)") % names)
        else:
            message = _say(lambda: _("%(pairing)s: the plan item “%(title)s” is due on %(due)s") % names)
        made += notify(
            kind=Kind.ITEM_DUE, message=message, users=people, url=item_link(item),
            key=f"{'item_overdue' if overdue else 'item_due'}:{item.pk}:{item.due_date.isoformat()}",
        )
    return made


def _scan_pairings(today):
    """Dormant pairings (once per silent spell: the key names the last activity) to the supporting side's
    liaisons, the program's admins and the supporting committee; agreements expiring within 60 days (once per
    term end) to the program's admins and the supporting committee."""
    made = 0
    for pairing in pairings_dormant(today):
        people = _people(
            supporter_liaisons(pairing), program_admins(pairing.program_id), supporter_committee(pairing),
            may_open=_sees(Pairing, pairing.pk),
        )
        last = pairing.last_activity_on
        if last is None:
            message = _say(lambda: _("%(pairing)s has no activity yet: the pairing is dormant") % {"pairing": str(pairing)})
        else:
            message = _say(lambda: _("%(pairing)s has had no activity for %(days)d days (last on %(last)s)") % {
                "pairing": str(pairing), "days": (today - last).days, "last": last.isoformat(),
            })
        made += notify(
            kind=Kind.PAIRING_DORMANT, message=message, users=people, pairing=pairing,
            url=reverse("pairings:pairing_detail", args=[pairing.pk]),
            key=f"pairing_dormant:{pairing.pk}:{last.isoformat() if last else 'never'}",
        )
    for pairing in agreements_expiring(today):
        people = _people(
            program_admins(pairing.program_id), supporter_committee(pairing), may_open=_sees(Pairing, pairing.pk)
        )
        message = _say(lambda: _("%(pairing)s: the agreement's term ends on %(end)s (in %(days)d days)") % {
            "pairing": str(pairing), "end": pairing.term_end.isoformat(), "days": (pairing.term_end - today).days,
        })
        made += notify(
            kind=Kind.AGREEMENT_EXPIRING, message=message, users=people, pairing=pairing,
            url=reverse("pairings:pairing_detail", args=[pairing.pk]),
            key=f"agreement_expiring:{pairing.pk}:{pairing.term_end.isoformat()}",
        )
    return made


def _scan_drafts(today):
    """Draft reports waiting for each program's admins: one notice a day with the count (key per date)."""
    made = 0
    rows = (
        Report.objects.filter(status=Report.Status.DRAFT)
        .values("program_id", "program__name")
        .annotate(n=Count("id"))
        .order_by("program_id")
    )
    for row in rows:
        people = _people(program_admins(row["program_id"]), may_open=lambda user: True)
        message = _say(lambda: ngettext(
            "%(program)s: %(n)d draft report waits for publishing",
            "%(program)s: %(n)d draft reports wait for publishing",
            row["n"],
        ) % {"program": row["program__name"], "n": row["n"]})
        made += notify(
            kind=Kind.DRAFTS_WAITING, message=message, users=people,
            url=reverse("reports:report_list") + f"?program={row['program_id']}&status=draft",
            key=f"drafts_waiting:{row['program_id']}:{today.isoformat()}",
        )
    return made


ACTING_ROLES = (Role.ADMIN, Role.COMMITTEE, Role.SECRETARY, Role.VILLAGE_COMMITTEE, Role.LIAISON)


def _scan_action_items(today):
    """Open decisions of joint meetings due within ITEM_DUE_DAYS days (once per due date) or overdue (once more, per
    due date): the person named their owner and those who act for the owner organisation, each only if they may
    close it (the link is its close form, where the home page's row leads too)."""
    made = 0
    until = today + datetime.timedelta(days=ITEM_DUE_DAYS)
    for item in open_action_items(today=today).filter(due_date__lte=until):
        acting = _active(Q(memberships__organization_id=item.owner_org_id, memberships__role__in=ACTING_ROLES))
        named = [item.owner_user] if item.owner_user_id else []
        people = _people(named, acting, may_open=lambda user, item=item: may_close(user, item))
        names = {"org": _org(item.owner_org), "text": item.text[:60], "due": item.due_date.isoformat()}
        if item.due_date < today:
            message = _say(lambda: _("%(org)s: the meeting's decision “%(text)s” is overdue (due %(due)s)") % names)
        else:
            message = _say(lambda: _("%(org)s: the meeting's decision “%(text)s” is due on %(due)s") % names)
        made += notify(
            kind=Kind.ACTION_ITEM, message=message, users=people, pairing=item.meeting.pairing,
            program=item.meeting.program if item.meeting.pairing_id is None else None,
            url=reverse("activities:action_item_close", args=[item.pk]),
            key=f"{'action_overdue' if item.due_date < today else 'action_due'}:{item.pk}:{item.due_date.isoformat()}",
        )
    return made


# The scans of the daily run, each (today) -> notifications made; another part may add its own here.
SCANS = [_scan_items, _scan_pairings, _scan_drafts, _scan_action_items]


def due_scan(*, today: datetime.date):
    """The time-based notices of ``today`` (a date in Asia/Shanghai). Idempotent: every key holds the due date,
    the last activity's date, the term's end or the day, so running it twice adds nothing. Returns the number of
    notifications added (rows, counted: a notice already made is skipped by its key)."""
    before = Notification.objects.count()
    for scan in SCANS:
        scan(today)
    return Notification.objects.count() - before


__all__ = ["ITEM_DUE_DAYS", "due_scan", "item_link"]
