"""Writes of the pairings app: the agreement, joint plans and their items, the village's agreement to a plan, and
the villages' statistics.

Every function is keyword-only and atomic, validates its input and raises ValidationError (with a message
for the person at the form) rather than writing half of it.
"""

import re
import uuid
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pairings import units
from pairings.models import (
    JointPlan, Liaison, Metric, Pairing, PairingBranch, PlanItem, PlanTarget, Program, VillageStatistic,
)
from pairings.permissions import (
    branch_choices, can_edit_agreement, can_edit_plans, can_record_statistics, can_set_up_pairing, can_set_up_program,
    may_agree, program_offices, side_org_ids, supported_choices, supporter_choices,
)
from pairings.signals import plan_needs_agreement
from portal.errors import AlreadyDone
from portal.models import Membership, Organization

MAX_AGREEMENT_BYTES = 10 * 1024 * 1024
PDF_HEADER = re.compile(rb"%PDF-([12])\.(\d)[\r\n \t%]")
PDF_TAIL_BYTES = 2048


def validate_pdf(upload, *, max_bytes=MAX_AGREEMENT_BYTES):
    """The upload is a real PDF: not too large, the `%PDF-x.y` header on the first line, and the end-of-file
    marker with its cross-reference pointer near the end. Leaves the file at its start."""
    size = upload.size
    if size is None or size == 0:
        raise ValidationError(_("The file is empty."), code="empty")
    if size > max_bytes:
        raise ValidationError(
            _("The file is %(size)s MB; at most %(max)s MB may be uploaded.")
            % {"size": f"{size / 1024 / 1024:.1f}", "max": max_bytes // 1024 // 1024},
            code="too_large",
        )
    upload.seek(0)
    head = upload.read(16)
    if not head.startswith(b"%PDF-"):
        upload.seek(0)
        raise ValidationError(_("This file is not a PDF. Scan the signed agreement to PDF and upload that."), code="not_pdf")
    if not PDF_HEADER.match(head):
        upload.seek(0)
        raise ValidationError(_("The PDF header of this file cannot be read: the file is damaged."), code="bad_header")
    upload.seek(max(0, size - PDF_TAIL_BYTES))
    tail = upload.read()
    upload.seek(0)
    if b"%%EOF" not in tail or b"startxref" not in tail:
        raise ValidationError(
            _("This PDF is incomplete or damaged (it has no end-of-file marker). Save or scan it again."),
            code="truncated",
        )


@transaction.atomic
def pairing_agreement_update(
    *, pairing, actor, signed_on, term_start, term_end, goals, agreement_file=None, renewing=None
):
    """Record the signed agreement of a pairing: its date, term and goals, whether its renewal is under way
    (``renewing``; None leaves it as it is) and, optionally, the signed scan (a PDF, stored under a random name;
    it is served only through the scope-checked view)."""
    if not can_edit_agreement(actor, pairing):
        raise ValidationError(_("Only the program's admins may change the agreement."))
    if term_end and term_start and term_end < term_start:
        raise ValidationError({"term_end": _("The term cannot end before it starts.")})
    if agreement_file is not None:
        validate_pdf(agreement_file)
    pairing.signed_on = signed_on
    pairing.term_start = term_start
    pairing.term_end = term_end
    pairing.goals = goals
    fields = ["signed_on", "term_start", "term_end", "goals"]
    if renewing is not None:
        pairing.renewing = renewing
        fields.append("renewing")
    if agreement_file is not None:
        pairing.agreement_file.save(f"agreement-{pairing.pk}-{uuid.uuid4().hex}.pdf", agreement_file, save=False)
        fields.append("agreement_file")
    pairing.save(update_fields=fields)
    return pairing


# --- joint plans ---------------------------------------------------------------------------------


def _check_plan_editor(pairing, actor):
    if not can_edit_plans(actor, pairing):
        raise ValidationError(_("Only the school's party committee and the program's admins may edit joint plans."))


@transaction.atomic
def plan_create(*, pairing, actor, year, title, summary=""):
    _check_plan_editor(pairing, actor)
    if JointPlan.objects.filter(pairing=pairing, year=year).exists():
        raise ValidationError({"year": _("This pairing already has a joint plan for %(year)s.") % {"year": year}})
    try:
        with transaction.atomic():
            return JointPlan.objects.create(pairing=pairing, year=year, title=title, summary=summary)
    except IntegrityError:  # created at the same moment by someone else
        raise ValidationError({"year": _("This pairing already has a joint plan for %(year)s.") % {"year": year}}) from None


@transaction.atomic
def plan_update(*, plan, actor, title, summary):
    _check_plan_editor(plan.pairing, actor)
    plan.title = title
    plan.summary = summary
    plan.save(update_fields=["title", "summary", "updated_at"])
    return plan


# The fields the village agrees to: changing any of them (or the targets) withdraws the agreement.
AGREED_FIELDS = ("title", "category", "description", "owner_branch_id", "village_counterpart", "due_date")
ITEM_FIELDS = AGREED_FIELDS + ("status", "progress", "order")


def _clean_targets(plan, targets):
    """targets: [(metric, value)]. Each metric of the pairing's program, at most once, value > 0."""
    seen = set()
    errors = []
    for metric, value in targets:
        if metric.program_id != plan.pairing.program_id:
            errors.append(
                _("The metric “%(metric)s” belongs to another program; targets may only use %(program)s's metrics.")
                % {"metric": metric.name, "program": plan.pairing.program.name}
            )
        if value is None or value <= 0:
            errors.append(_("The target for “%(metric)s” must be greater than zero.") % {"metric": metric.name})
        if metric.pk in seen:
            errors.append(_("“%(metric)s” has more than one target; give each metric one.") % {"metric": metric.name})
        seen.add(metric.pk)
    if errors:
        raise ValidationError(errors)


def _clean_item(plan, values):
    branch_id = values.get("owner_branch_id")
    if branch_id and not plan.pairing.pairing_branches.filter(branch_id=branch_id).exists():
        raise ValidationError({"owner_branch": _("The owner branch must be one of the pairing's branches.")})
    progress = values.get("progress") or 0
    if not 0 <= progress <= 100:
        raise ValidationError({"progress": _("Progress is a percentage between 0 and 100.")})


def _withdraw_agreement(plan, actor):
    """Withdraw the village's agreement to the plan, if given; the village is then asked again (the signal, in
    this transaction). True if it was withdrawn."""
    if plan.village_agreed_on:
        since = plan.village_agreed_on
        plan.village_agreed_on = None
        plan.village_agreed_by = None
        plan.save(update_fields=["village_agreed_on", "village_agreed_by", "updated_at"])
        plan_needs_agreement.send(sender=JointPlan, plan=plan, actor=actor, since=since)
        return True
    return False


def _set_targets(item, targets):
    """Replace the item's targets with `targets`; True if anything changed."""
    wanted = {metric.pk: value for metric, value in targets}
    current = {t.metric_id: t for t in item.targets.all()}
    changed = False
    for metric_id, target in current.items():
        if metric_id not in wanted:
            target.delete()
            changed = True
        elif target.value != wanted[metric_id]:
            target.value = wanted[metric_id]
            target.save(update_fields=["value"])
            changed = True
    for metric_id, value in wanted.items():
        if metric_id not in current:
            PlanTarget.objects.create(item=item, metric_id=metric_id, value=value)
            changed = True
    return changed


@transaction.atomic
def plan_item_create(*, plan, actor, values, targets=()):
    """Add an item (`values`: the ITEM_FIELDS) with its metric targets [(metric, value)]. Withdraws the
    village's agreement: they agreed to a plan without it."""
    _check_plan_editor(plan.pairing, actor)
    values = {k: v for k, v in values.items() if k in ITEM_FIELDS}
    _clean_item(plan, values)
    _clean_targets(plan, targets)
    item = PlanItem.objects.create(plan=plan, **values)
    _set_targets(item, targets)
    withdrawn = _withdraw_agreement(plan, actor)
    if not withdrawn and not plan.village_agreed_on:
        # a plan never agreed to now has something to agree to (the event's key keeps it to one notice)
        plan_needs_agreement.send(sender=JointPlan, plan=plan, actor=actor, since=None)
    return item, withdrawn


@transaction.atomic
def plan_item_update(*, item, actor, values, targets=()):
    """Change an item and replace its targets. Changing what the village agreed to (not status or progress)
    withdraws their agreement. Returns (item, agreement_withdrawn)."""
    plan = item.plan
    _check_plan_editor(plan.pairing, actor)
    values = {k: v for k, v in values.items() if k in ITEM_FIELDS}
    _clean_item(plan, values)
    _clean_targets(plan, targets)
    item = PlanItem.objects.select_for_update().get(pk=item.pk)
    substantive = any(getattr(item, k) != v for k, v in values.items() if k in AGREED_FIELDS)
    for key, value in values.items():
        setattr(item, key, value)
    item.save()
    substantive |= _set_targets(item, targets)
    withdrawn = _withdraw_agreement(plan, actor) if substantive else False
    return item, withdrawn


def _linked_elsewhere(obj):
    """Whether a live row of another app points at `obj` (an activity linked to a plan item, say). Found through
    the model's relations, whoever declares them, so this app names none of the apps to its right; each related
    model's default manager decides what is live (a deleted activity is not)."""
    for relation in obj._meta.related_objects:
        model = relation.related_model
        if model._meta.app_label != obj._meta.app_label and relation.field.concrete:
            if model._default_manager.filter(**{relation.field.name: obj}).exists():
                return True
    return False


@transaction.atomic
def plan_item_delete(*, item, actor):
    plan = item.plan
    _check_plan_editor(plan.pairing, actor)
    if _linked_elsewhere(item):
        raise ValidationError(
            _("Activities are linked to this item; cancel it (status “cancelled”) instead of deleting it.")
        )
    item.delete()
    return _withdraw_agreement(plan, actor)


@transaction.atomic
def plan_agree(*, plan, actor, today=None):
    """The village records its agreement to the plan as it stands (date and who)."""
    if not may_agree(actor, plan):
        raise ValidationError(_("Only the village committee of this pairing may agree to its plan."))
    plan = JointPlan.objects.select_for_update().get(pk=plan.pk)
    if plan.village_agreed_on:
        raise AlreadyDone(_("The village already agreed to this plan on %(date)s.") % {"date": plan.village_agreed_on})
    if not plan.items.exists():
        raise ValidationError(_("The plan has no items yet; there is nothing to agree to."))
    plan.village_agreed_on = today or timezone.localdate()
    plan.village_agreed_by = actor
    plan.save(update_fields=["village_agreed_on", "village_agreed_by", "updated_at"])
    return plan


# --- village statistics ----------------------------------------------------------------------------

STATISTIC_MAX = Decimal("999999999999.99")  # the field's 14 digits, 2 of them decimals


def _check_recorder(village, actor):
    if not can_record_statistics(actor, village):
        raise ValidationError(
            _("Only the village's committee and the admins of the programs pairing it may record its statistics.")
        )


@transaction.atomic
def village_statistic_record(*, village, indicator, as_at, value, source, actor, today=None):
    """Record the value of ``indicator`` for ``village`` as at ``as_at``. A value already recorded for that day is
    corrected (the history keeps the old one). Returns (statistic, previous value or None)."""
    _check_recorder(village, actor)
    today = today or timezone.localdate()
    errors = {}
    if village.kind not in Organization.SUPPORTED_KINDS:
        errors["village"] = _("Statistics are recorded for a village, community, sub-district or town.")
    if not indicator.is_active:
        errors["indicator"] = _("This indicator is no longer recorded.")
    if as_at is None:
        errors["as_at"] = _("Give the day the value stands at.")
    elif as_at > today:
        errors["as_at"] = _("The as-at day cannot lie in the future.")
    elif as_at.year < 2000:
        errors["as_at"] = _("The as-at day must be in 2000 or later.")
    if value is None:
        errors["value"] = _("Give the value. A figure that was not reported is not recorded at all (never as 0).")
    elif value < 0:
        errors["value"] = _("A statistic cannot be negative.")
    elif value > STATISTIC_MAX:
        errors["value"] = _("This value is too large.")
    elif indicator.unit in units.WHOLE_UNITS and value != value.to_integral_value():
        errors["value"] = _("“%(indicator)s” is counted in whole %(unit)s: enter a whole number.") % {
            "indicator": indicator.name, "unit": indicator.unit,
        }
    source = (source or "").strip()
    if not source:
        errors["source"] = _("Say where the figure comes from (e.g. the village's annual statistics report).")
    if errors:
        raise ValidationError(errors)
    statistic = (
        VillageStatistic.objects.select_for_update()
        .filter(village=village, indicator=indicator, as_at=as_at)
        .first()
    )
    previous = None
    if statistic is None:
        try:
            with transaction.atomic():
                statistic = VillageStatistic.objects.create(
                    village=village, indicator=indicator, as_at=as_at, value=value, source=source, recorded_by=actor
                )
        except IntegrityError:  # recorded at the same moment by someone else
            raise ValidationError(
                _("This value was recorded by someone else just now; reload the page to see it.")
            ) from None
    else:
        previous = statistic.value
        statistic.value, statistic.source, statistic.recorded_by = value, source, actor
        statistic.recorded_at = timezone.now()
        statistic.save(update_fields=["value", "source", "recorded_by", "recorded_at"])
    return statistic, previous


@transaction.atomic
def village_statistic_delete(*, statistic, actor):
    """Delete a recorded value (a mistaken entry); the history keeps it."""
    _check_recorder(statistic.village, actor)
    statistic.delete()


@transaction.atomic
def program_publishing_update(*, program, actor, publish_monthly, publish_quarterly):
    """The program's publishing policy: which reports go out as soon as they are built (its admins only)."""
    program = Program.objects.select_for_update().get(pk=program.pk)
    if not Program.objects.editable_by(actor).filter(pk=program.pk).exists():
        raise PermissionDenied
    program.publish_monthly, program.publish_quarterly = bool(publish_monthly), bool(publish_quarterly)
    program._change_reason = "publishing policy"
    program.save(update_fields=["publish_monthly", "publish_quarterly"])
    return program


# --- set-up: programs, metrics, pairings, branches, liaisons ------------------------------------------------------
#
# The set-up pages' writes. Each checks the actor with pairings.permissions (PermissionDenied: the view answers
# 403 before it gets here, so this is the last guard), validates everything first and raises one ValidationError
# keyed by field, and writes inside its transaction; the models' history records who changed what.

PROGRAM_FIELDS = ("name", "code", "description", "monthly_reports", "quarterly_reports", "is_active")
METRIC_FIELDS = ("code", "name", "unit", "aggregation", "description", "order", "default_target")
TARGET_MAX = Decimal("999999999999.99")


def _require(allowed):
    if not allowed:
        raise PermissionDenied


def _clean_program(values, *, program=None):
    errors = {}
    others = Program.objects.exclude(pk=program.pk) if program else Program.objects.all()
    name, code = (values.get("name") or "").strip(), (values.get("code") or "").strip()
    if not name:
        errors["name"] = _("Give the program a name.")
    elif others.filter(name=name).exists():
        errors["name"] = _("A program of this name already exists.")
    if not code:
        errors["code"] = _("Give the program a short code (letters, digits, hyphens).")
    elif others.filter(code=code).exists():
        errors["code"] = _("Another program already has this code.")
    if errors:
        raise ValidationError(errors)
    return {**values, "name": name, "code": code}


@transaction.atomic
def program_create(*, actor, office, **values):
    """A new program run by ``office`` (one of the actor's offices); ``values``: PROGRAM_FIELDS."""
    _require(program_offices(actor).exists())
    if office is None or not program_offices(actor).filter(pk=office.pk).exists():
        raise ValidationError({"office": _("Choose one of the offices you administer.")})
    values = _clean_program({k: v for k, v in values.items() if k in PROGRAM_FIELDS})
    return Program.objects.create(office=office, **values)


@transaction.atomic
def program_update(*, program, actor, **values):
    """Change a program's record (PROGRAM_FIELDS; its office and publishing policy have their own ways)."""
    _require(can_set_up_program(actor, program))
    values = _clean_program({k: v for k, v in values.items() if k in PROGRAM_FIELDS}, program=program)
    program = Program.objects.select_for_update().get(pk=program.pk)
    for key, value in values.items():
        setattr(program, key, value)
    program.save(update_fields=list(values))
    return program


def _clean_metric(program, values, *, metric=None):
    errors = {}
    others = Metric.objects.filter(program=program)
    if metric is not None:
        others = others.exclude(pk=metric.pk)
    code, name = (values.get("code") or "").strip(), (values.get("name") or "").strip()
    if not code:
        errors["code"] = _("Give the metric a short code (letters, digits, hyphens).")
    elif others.filter(code=code).exists():
        errors["code"] = _("The program already has a metric with this code.")
    if not name:
        errors["name"] = _("Give the metric a name.")
    elif others.filter(name=name).exists():
        errors["name"] = _("The program already has a metric of this name.")
    unit, aggregation = values.get("unit"), values.get("aggregation")
    if unit not in dict(units.Unit.choices):
        errors["unit"] = _("Choose one of the units in the list.")
    else:
        try:
            units.validate(unit, aggregation)
        except ValidationError as error:
            errors.update({k: v[0].messages[0] for k, v in error.error_dict.items()})
    target = values.get("default_target")
    if target is not None:
        if target <= 0:
            errors["default_target"] = _("A target must be greater than zero.")
        elif target > TARGET_MAX:
            errors["default_target"] = _("This value is too large.")
        elif unit in units.WHOLE_UNITS and target != target.to_integral_value():
            errors["default_target"] = _("This metric counts whole %(unit)s: enter a whole number.") % {"unit": unit}
    if errors:
        raise ValidationError(errors)
    return {**values, "code": code, "name": name}


def metric_in_use(metric):
    """Whether past figures rest on the metric's unit and aggregation: activities recorded a value of it (a row of
    another app points at it, found through the model's relations, so this app names none of them) or a plan
    item has a target in it."""
    return _linked_elsewhere(metric) or metric.targets.exists()


@transaction.atomic
def metric_create(*, program, actor, **values):
    _require(can_set_up_program(actor, program))
    values = _clean_metric(program, {k: v for k, v in values.items() if k in METRIC_FIELDS})
    return Metric.objects.create(program=program, **values)


@transaction.atomic
def metric_update(*, metric, actor, **values):
    """Change a metric. Its unit and aggregation stay as they are once values or targets use them: changing them
    would change the figures already reported."""
    _require(can_set_up_program(actor, metric.program))
    values = _clean_metric(metric.program, {k: v for k, v in values.items() if k in METRIC_FIELDS}, metric=metric)
    metric = Metric.objects.select_for_update().get(pk=metric.pk)
    changed = [k for k in ("unit", "aggregation") if k in values and values[k] != getattr(metric, k)]
    if changed and metric_in_use(metric):
        message = _(
            "Activities or plan targets already use this metric, so its unit and aggregation can no longer change "
            "(that would change figures already reported). Add a new metric instead."
        )
        raise ValidationError({name: message for name in changed})
    for key, value in values.items():
        setattr(metric, key, value)
    metric.save(update_fields=list(values))
    return metric


def _clean_term(errors, term_start, term_end):
    if term_start is None:
        errors["term_start"] = _("Give the day the pairing's term starts.")
    elif term_end is not None and term_end < term_start:
        errors["term_end"] = _("The term cannot end before it starts.")


@transaction.atomic
def pairing_create(*, actor, program, supporter, supported, term_start, term_end=None, signed_on=None, goals=""):
    """A new pairing of the actor's program between two organisations they set up; its branches and liaisons are
    added next (pairing_branches_set, liaison_add)."""
    errors = {}
    if program is None or not can_set_up_program(actor, program):
        errors["program"] = _("Choose one of the programs you administer.")
    if supporter is None or not supporter_choices(actor).filter(pk=supporter.pk).exists():
        errors["supporter"] = _(
            "Choose the supporting side from the organisations you set up (a school, college, organ or department)."
        )
    if supported is None or not supported_choices(actor).filter(pk=supported.pk).exists():
        errors["supported"] = _(
            "Choose the supported side from the villages, communities, sub-districts and towns you set up."
        )
    if supporter is not None and supported is not None and supporter.pk == supported.pk:
        errors["supported"] = _("An organisation cannot be paired with itself.")
    _clean_term(errors, term_start, term_end)
    if not errors and Pairing.objects.filter(program=program, supporter=supporter, supported=supported).exists():
        errors["supported"] = _(
            "These two organisations are already paired in this program: open that pairing and change its term or "
            "status instead."
        )
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            return Pairing.objects.create(
                program=program, supporter=supporter, supported=supported, term_start=term_start, term_end=term_end,
                signed_on=signed_on, goals=goals or "",
            )
    except IntegrityError:  # created at the same moment by someone else
        raise ValidationError({"supported": _("These two organisations are already paired in this program.")}) from None


PAIRING_FIELDS = ("status", "signed_on", "term_start", "term_end", "renewing", "goals")


@transaction.atomic
def pairing_update(*, pairing, actor, **values):
    """Change a pairing's term, status, renewal mark and goals (PAIRING_FIELDS)."""
    _require(can_set_up_pairing(actor, pairing))
    values = {k: v for k, v in values.items() if k in PAIRING_FIELDS}
    merged = {k: getattr(pairing, k) for k in PAIRING_FIELDS} | values
    errors = {}
    if merged["status"] not in dict(Pairing.Status.choices):
        errors["status"] = _("Choose one of the statuses in the list.")
    _clean_term(errors, merged["term_start"], merged["term_end"])
    if errors:
        raise ValidationError(errors)
    pairing = Pairing.objects.select_for_update().get(pk=pairing.pk)
    for key, value in values.items():
        setattr(pairing, key, value if key != "goals" else (value or ""))
    pairing.save(update_fields=list(values))
    return pairing


def _branch_in_use(pairing, branch):
    """Whether rows of other apps record work of ``branch`` in ``pairing`` (activities, say): found through the
    relations to Organization of the models that also point at a pairing, so this app names none of them."""
    for relation in Organization._meta.related_objects:
        model = relation.related_model
        if model._meta.app_label in ("pairings", "portal") or not relation.field.concrete:
            continue
        if any(f.name == "pairing" and f.is_relation for f in model._meta.fields):
            if model._default_manager.filter(**{relation.field.name: branch, "pairing": pairing}).exists():
                return True
    return False


@transaction.atomic
def pairing_branches_set(*, pairing, actor, branches):
    """Make ``branches`` (party branches under the supporting side) the pairing's participating branches. A branch
    that owns plan items or has recorded work in the pairing stays. Returns (added, removed) counts."""
    _require(can_set_up_pairing(actor, pairing))
    wanted = {branch.pk: branch for branch in branches}
    allowed = set(branch_choices(pairing).filter(pk__in=list(wanted)).values_list("pk", flat=True))
    foreign = [branch.name for pk, branch in wanted.items() if pk not in allowed]
    if foreign:
        raise ValidationError({"branches": _("Only party branches of the supporting side can take part: %(names)s.")
                               % {"names": "、".join(foreign)}})
    current = {pb.branch_id: pb for pb in PairingBranch.objects.filter(pairing=pairing).select_related("branch")}
    kept = []
    for branch_id, part in current.items():
        if branch_id in wanted:
            continue
        owns_items = PlanItem.objects.filter(plan__pairing=pairing, owner_branch_id=branch_id).exists()
        if owns_items or _branch_in_use(pairing, part.branch):
            kept.append(part.branch.name)
    if kept:
        raise ValidationError({"branches": _(
            "%(names)s already recorded work or own plan items in this pairing, so they stay among its branches."
        ) % {"names": "、".join(kept)}})
    removed = [part for branch_id, part in current.items() if branch_id not in wanted]
    for part in removed:
        part.delete()
    added = [PairingBranch(pairing=pairing, branch_id=pk, joined_on=timezone.localdate()) for pk in wanted if pk not in current]
    for part in added:
        part.save()  # one by one, so each gets its history row
    return len(added), len(removed)


LIAISON_FIELDS = ("side", "name", "title", "phone", "email", "user")


def _clean_liaison(pairing, values, *, liaison=None):
    errors = {}
    side = values.get("side")
    if side not in dict(Liaison.Side.choices):
        errors["side"] = _("Choose the side the liaison speaks for.")
    name = (values.get("name") or "").strip()
    if not name:
        errors["name"] = _("Give the liaison's name.")
    elif side in dict(Liaison.Side.choices):
        others = Liaison.objects.filter(pairing=pairing, side=side, name=name)
        if liaison is not None:
            others = others.exclude(pk=liaison.pk)
        if others.exists():
            errors["name"] = _("This side already has a liaison of this name.")
    user = values.get("user")
    if user is not None and side in dict(Liaison.Side.choices):
        ids = side_org_ids(pairing, side)
        if not Membership.objects.filter(user=user, organization_id__in=ids).exists():
            errors["user"] = _("The user account must belong to an organisation of that side.")
    if errors:
        raise ValidationError(errors)
    return {**values, "name": name}


@transaction.atomic
def liaison_add(*, pairing, actor, **values):
    _require(can_set_up_pairing(actor, pairing))
    values = _clean_liaison(pairing, {k: v for k, v in values.items() if k in LIAISON_FIELDS})
    return Liaison.objects.create(pairing=pairing, **values)


@transaction.atomic
def liaison_update(*, liaison, actor, **values):
    _require(can_set_up_pairing(actor, liaison.pairing))
    values = _clean_liaison(liaison.pairing, {k: v for k, v in values.items() if k in LIAISON_FIELDS}, liaison=liaison)
    for key, value in values.items():
        setattr(liaison, key, value)
    liaison.save()
    return liaison


@transaction.atomic
def liaison_remove(*, liaison, actor):
    """Remove a liaison (the history keeps them); their user account loses the pairing it gave them."""
    _require(can_set_up_pairing(actor, liaison.pairing))
    liaison.delete()
