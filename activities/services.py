"""Writes on activities: record, change, submit, confirm (验单) and return; and on needs (微心愿): raise, claim,
fulfil, rate.

Every function is keyword-only and atomic, checks the actor's permission with the rules of
activities.permissions (their QuerySet forms where the row is read under a lock) and validates what it is
given, whatever the form already checked: a tampered id or a crafted POST meets the same rules as the form.
Errors are ValidationErrors keyed by the form field they belong to, so a view can show them where the user
looks.
"""

import datetime
import hashlib
import secrets
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext
from simple_history.utils import bulk_update_with_history

from activities.images import MAX_PHOTOS_PER_ACTIVITY, CleanPhoto, PixelBudget, clean_photo, dhash_of_file
from activities.models import (
    COUNTED_STATUSES, OPEN_STATUSES, ActionItem, Activity, ActivityMetricValue, ActivityPhoto, ActivityType, Meeting, MeetingAttachment,
    MeetingAttendee, Need, ServiceRecord, SubmitKey, meeting_owner_orgs_q, meeting_type_q,
)
from activities.models import PHOTO_UPLOAD_TTL, SUBMIT_KEY_TTL, PhotoUpload
from activities.permissions import (
    cohosting_branches, may_delete, restorable_activities, can_edit_meeting, claiming_branches, may_close, may_confirm, may_fulfil, may_rate, meeting_pairings, meeting_programs,
    importable_pairing_branches, may_import_confirmed, raisable_pairings, recordable_pairings, serving_volunteers,
)
from pairings import units
from pairings.models import Liaison, Metric, Pairing, PairingBranch, PlanItem, Program
from pairings.permissions import can_set_up_program
from pairings.selectors import end_of_day
from pairings.services import MAX_AGREEMENT_BYTES, validate_pdf
from portal.models import Membership, Organization, User
from activities.signals import (
    activities_saved_in_bulk, activities_submitted_in_bulk, activity_returned, activity_submitted, hours_recorded,
    hours_recorded_in_bulk,
    need_claimed, need_fulfilled, service_records_changed,
)
from portal.errors import AlreadyDone
from portal.permissions import scope_for, subtree_ids
from volunteers.models import Volunteer

Status = Activity.Status
CoHost = Activity.co_branches.through

EARLIEST_DATE = datetime.date(2000, 1, 1)
MAX_PEOPLE = 5_000  # party members, teachers or students taking part in one activity
MAX_SERVED = 50_000  # residents served (人次) by one activity
MAX_METRIC_VALUE = Decimal("100000000")
MAX_DAY_HOURS = Decimal("24")
WHOLE_UNITS = units.WHOLE_UNITS  # 3.5 件 or 2.5 人次 is a typing mistake
PEOPLE_FIELDS = ("party_members", "teachers", "students", "residents_served")


@dataclass(frozen=True)
class MetricEntry:
    """An outcome figure: this much of one metric."""

    metric: Metric
    value: Decimal


@dataclass(frozen=True)
class HoursEntry:
    """Hours one volunteer served: a volunteer of the branch, or a new one by name and kind."""

    hours: Decimal
    volunteer: Volunteer | None = None
    new_name: str = ""
    new_kind: str = Volunteer.Kind.PARTY_MEMBER
    content: str = ""


@dataclass(frozen=True)
class NewPhoto:
    photo: CleanPhoto
    caption: str = ""
    shows_minors: bool = False


@dataclass(frozen=True)
class PhotoChange:
    photo_id: int
    caption: str = ""
    shows_minors: bool = False
    delete: bool = False


@dataclass
class ActivityFields:
    """What the form says about the activity itself (everything but its people's hours and photos). `pairing` is
    None for a program-wide activity (serving no paired village) of `program`; with a pairing, `program` may be left
    None (it is the pairing's). `co_branches` None leaves the co-hosts as they are (the ledger import)."""

    pairing: Pairing | None
    activity_type: ActivityType
    title: str
    date: datetime.date
    start_time: datetime.time | None = None
    end_time: datetime.time | None = None
    place: str = ""
    description: str = ""
    plan_item: PlanItem | None = None
    need: Need | None = None
    party_members: int = 0
    teachers: int = 0
    students: int = 0
    residents_served: int = 0
    program: Program | None = None
    co_branches: list | None = None

    @property
    def program_id(self):
        """The activity's program: the pairing's, or for a program-wide activity its own."""
        if self.pairing is not None:
            return self.pairing.program_id
        return self.program.pk if self.program is not None else None


@dataclass
class SaveResult:
    activity: Activity
    duplicate_photos: list = field(default_factory=list)  # (new photo, [activities holding the same file])


# ---------------------------------------------------------------------------------------------------------
# Which branch records (who may record: activities.permissions.recordable_pairings)
# ---------------------------------------------------------------------------------------------------------


def branch_for(user, pairing, *, program=None):
    """The user's branch that takes part in the pairing (the first by name if they lead several); for a
    program-wide activity (pairing None), the one that takes part in an active pairing of the program."""
    scope = scope_for(user)
    links = PairingBranch.objects.filter(branch_id__in=scope.secretary_orgs)
    if pairing is not None:
        links = links.filter(pairing=pairing)
    else:
        links = links.filter(pairing__program=program, pairing__status=Pairing.Status.ACTIVE)
    link = links.select_related("branch").order_by("branch__name", "branch_id").first()
    return link.branch if link else None


# ---------------------------------------------------------------------------------------------------------
# Validation shared by create and update
# ---------------------------------------------------------------------------------------------------------


def plan_year_error(item, date):
    """The message refusing a plan item of another year than the activity's date, or None: a plan belongs to its
    year, and only the activities dated in that year count toward its items."""
    if item is None or date is None or item.plan.year == date.year:
        return None
    return _("This plan item is part of the %(plan_year)s plan: an activity dated in %(year)s can only serve "
             "a plan item of %(year)s.") % {"plan_year": item.plan.year, "year": date.year}


def _validate_fields(fields, *, branch, today, link_known=False):
    errors = {}
    if fields.pairing is None:
        if fields.program is None:
            errors["pairing"] = _("Choose the pairing, or the program for an activity that serves no paired village.")
            return errors
        if not link_known and not PairingBranch.objects.filter(pairing__program=fields.program, branch=branch).exists():
            errors["pairing"] = _("The branch takes part in no pairing of this program.")
    elif fields.program is not None and fields.program.pk != fields.pairing.program_id:
        # the rule the database cannot check across tables: a pairing's activity is of the pairing's program
        errors["pairing"] = _("This pairing belongs to another program.")
    elif not link_known and not PairingBranch.objects.filter(pairing=fields.pairing, branch=branch).exists():
        errors["pairing"] = _("The branch does not take part in this pairing.")
    pairing_id = fields.pairing.id if fields.pairing is not None else None
    if not fields.activity_type.is_active:
        errors["activity_type"] = _("This type is no longer in use.")
    elif fields.activity_type.program_id not in (None, fields.program_id):
        errors["activity_type"] = _("This type belongs to another program; choose a shared type or one of this program's.")
    if fields.date > today:
        errors["date"] = _("The date is in the future. Record an activity once it has taken place.")
    elif fields.date < EARLIEST_DATE:
        errors["date"] = _("The date is too far in the past.")
    if fields.start_time and fields.end_time and fields.end_time < fields.start_time:
        errors["end_time"] = _("The end is before the start.")
    if fields.plan_item is not None and fields.plan_item.plan.pairing_id != pairing_id:
        errors["plan_item"] = _("This plan item belongs to another pairing.")
    elif plan_year_error(fields.plan_item, fields.date):
        errors["plan_item"] = plan_year_error(fields.plan_item, fields.date)
    if fields.need is not None and fields.need.pairing_id != pairing_id:
        errors["need"] = _("This need was raised in another pairing.")
    for name in PEOPLE_FIELDS:
        value = getattr(fields, name)
        limit = MAX_SERVED if name == "residents_served" else MAX_PEOPLE
        if value is None or value < 0:
            errors[name] = _("Enter zero or more.")
        elif value > limit:
            errors[name] = _("At most %(limit)d. Please check the number.") % {"limit": limit}
    if not (fields.title or "").strip():
        errors["title"] = _("Give the activity a title.")
    return errors


def _validate_co_branches(fields, *, branch):
    """Co-hosts of the activity's supporting side (cohosting_branches), never its own branch."""
    if not fields.co_branches:
        return []
    allowed = set(
        cohosting_branches(branch_id=branch.pk, pairing=fields.pairing, program=fields.program)
        .filter(pk__in=[org.pk for org in fields.co_branches]).values_list("pk", flat=True)
    )
    return [
        _("“%(branch)s” cannot co-host this activity: choose branches of the same supporting side taking part in the "
          "pairing (or, for an activity of the program, in the program).") % {"branch": org.name}
        for org in fields.co_branches if org.pk not in allowed
    ]


def _validate_metrics(entries, *, program_id):
    errors = []
    seen = set()
    for entry in entries:
        metric = entry.metric
        if metric.program_id != program_id:
            errors.append(_("“%(metric)s” is not a metric of this pairing's program.") % {"metric": metric.name})
        elif metric.id in seen:
            errors.append(_("“%(metric)s” is given twice.") % {"metric": metric.name})
        elif entry.value < 0:
            errors.append(_("“%(metric)s” cannot be negative.") % {"metric": metric.name})
        elif entry.value > MAX_METRIC_VALUE:
            errors.append(_("“%(metric)s” is too large. Please check the number.") % {"metric": metric.name})
        elif metric.unit in WHOLE_UNITS and entry.value != entry.value.to_integral_value():
            errors.append(
                _("“%(metric)s” counts whole %(unit)s.") % {"metric": metric.name, "unit": metric.unit}
            )
        seen.add(metric.id)
    return errors


def _validate_hours(entries, *, branch, date, activity_id):
    errors = []
    seen = set()
    picked = [entry.volunteer.id for entry in entries if entry.volunteer is not None]
    serving = set(
        serving_volunteers([branch.id], activity_id=activity_id).filter(id__in=picked).values_list("id", flat=True)
    ) if picked else set()
    for entry in entries:
        if entry.volunteer is None and not entry.new_name.strip():
            errors.append(_("Pick a volunteer or type a new one's name."))
            continue
        if entry.volunteer is None and entry.new_kind not in Volunteer.Kind.values:
            errors.append(_("Choose what kind of volunteer “%(name)s” is.") % {"name": entry.new_name.strip()})
            continue
        if entry.volunteer is not None and entry.volunteer.id not in serving:
            errors.append(_("“%(name)s” cannot serve on this branch's activities: pick a volunteer of the branch "
                            "or of a village it is paired with, or a member of their teams.") % {"name": entry.volunteer.name})
            continue
        if entry.hours is None or entry.hours <= 0:
            errors.append(_("Hours must be more than zero."))
            continue
        if entry.hours > MAX_DAY_HOURS:
            errors.append(_("No one serves more than 24 hours a day."))
            continue
        key = entry.volunteer.id if entry.volunteer else ("new", entry.new_name.strip())
        if key in seen:
            errors.append(_("“%(name)s” is listed twice.") % {"name": _entry_name(entry)})
        seen.add(key)
    if errors:
        return errors
    # Hours on the same day in other activities count toward the 24 as well; hours already on the activity
    # on that day and left as they are stand (saving other fields is no time to dispute them).
    standing = {
        volunteer_id: hours
        for volunteer_id, hours, day in ServiceRecord.objects.filter(activity_id=activity_id)
        .values_list("volunteer_id", "hours", "activity__date")
        if day == date
    } if activity_id is not None else {}
    known = [
        entry for entry in entries
        if entry.volunteer is not None and standing.get(entry.volunteer.id) != entry.hours
    ]
    if known:
        elsewhere = dict(
            ServiceRecord.objects.filter(volunteer__in=[e.volunteer for e in known], activity__date=date)
            .exclude(activity_id=activity_id)
            .filter(activity__deleted_at__isnull=True)
            .values("volunteer_id")
            .annotate(total=Sum("hours"))
            .values_list("volunteer_id", "total")
        )
        for entry in known:
            total = entry.hours + (elsewhere.get(entry.volunteer.id) or 0)
            if total > MAX_DAY_HOURS:
                errors.append(
                    _("“%(name)s” would have %(total)s hours on %(date)s in all. A day has 24.")
                    % {"name": entry.volunteer.name, "total": total.normalize(), "date": date.isoformat()}
                )
    return errors


def _entry_name(entry):
    return entry.volunteer.name if entry.volunteer else entry.new_name.strip()


def _raise_if(errors):
    if errors:
        raise ValidationError(errors)


# ---------------------------------------------------------------------------------------------------------
# Writing the parts
# ---------------------------------------------------------------------------------------------------------


def _history_note(activity, actor, reason):
    activity._history_user = actor
    activity._change_reason = reason


def _save_metrics(activity, entries):
    existing = {value.metric_id: value for value in activity.metric_values.all()}
    wanted = {entry.metric.id: entry for entry in entries}
    for metric_id, value in existing.items():
        if metric_id not in wanted:
            value.delete()
    for metric_id, entry in wanted.items():
        current = existing.get(metric_id)
        if current is None:
            ActivityMetricValue.objects.create(activity=activity, metric=entry.metric, value=entry.value)
        elif current.value != entry.value:
            current.value = entry.value
            current.save(update_fields=["value"])


def _volunteer_for(entry, *, branch):
    if entry.volunteer is not None:
        return entry.volunteer
    name = entry.new_name.strip()
    found = Volunteer.objects.filter(organization=branch, name=name).order_by("-is_active", "id").first()
    if found is not None:
        return found
    kind = entry.new_kind or Volunteer.Kind.OTHER
    return Volunteer.objects.create(
        organization=branch, name=name, kind=kind, is_party_member=kind == Volunteer.Kind.PARTY_MEMBER
    )


def _save_hours(activity, entries, *, actor, branch):
    existing = {record.volunteer_id: record for record in ServiceRecord.objects.filter(activity=activity)}
    wanted = {}
    for entry in entries:
        volunteer = _volunteer_for(entry, branch=branch)
        if volunteer.id in wanted:
            raise ValidationError({"service_records": _("“%(name)s” is listed twice.") % {"name": volunteer.name}})
        wanted[volunteer.id] = (volunteer, entry)
    errors = []
    for volunteer_id, record in existing.items():
        if volunteer_id in wanted:
            continue
        if record.status == ServiceRecord.Status.VERIFIED:
            errors.append(_("The verified hours of “%(name)s” cannot be removed.") % {"name": record.volunteer.name})
            continue
        record.deleted_at = timezone.now()
        record._history_user = actor
        record.save(update_fields=["deleted_at"])
    for volunteer_id, (volunteer, entry) in wanted.items():
        record = existing.get(volunteer_id)
        content = entry.content.strip()
        if record is None:
            ServiceRecord.objects.create(
                activity=activity, volunteer=volunteer, hours=entry.hours, content=content, recorded_by=actor
            )
        elif (record.hours, record.content) != (entry.hours, content):
            if record.status == ServiceRecord.Status.VERIFIED:
                errors.append(_("The verified hours of “%(name)s” cannot be changed.") % {"name": volunteer.name})
                continue
            record.hours, record.content = entry.hours, content
            record._history_user = actor
            record.save(update_fields=["hours", "content"])
    _raise_if({"service_records": errors} if errors else {})


def _apply_photo_changes(activity, changes, *, actor):
    photos = {photo.id: photo for photo in activity.photos.all()}
    removed_files = []
    for change in changes:
        photo = photos.get(change.photo_id)
        if photo is None:
            raise ValidationError({"photos": _("That photo belongs to another activity.")})
        if change.delete:
            removed_files += [photo.image.name, photo.thumbnail.name]
            photo._history_user = actor
            photo.delete()
        elif (photo.caption, photo.shows_minors) != (change.caption.strip(), change.shows_minors):
            photo.caption, photo.shows_minors = change.caption.strip(), change.shows_minors
            photo._history_user = actor
            photo.save(update_fields=["caption", "shows_minors"])
    if removed_files:
        storage = ActivityPhoto._meta.get_field("image").storage
        transaction.on_commit(lambda: [storage.delete(name) for name in removed_files if name])


class _PhotoFiles:
    """Files written during one service call, removed again if the call fails (their rows roll back)."""

    def __init__(self):
        self.names = []
        self.storage = ActivityPhoto._meta.get_field("image").storage

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            for name in self.names:
                self.storage.delete(name)
        return False


def _add_photos(activity, new_photos, *, actor, files):
    if not new_photos:
        return []
    if activity.photos.count() + len(new_photos) > MAX_PHOTOS_PER_ACTIVITY:
        raise ValidationError(
            {"new_photos": _("An activity has at most %(limit)d photos.") % {"limit": MAX_PHOTOS_PER_ACTIVITY}}
        )
    held = _held_for_attaching(actor, [item.token for item in new_photos if isinstance(item, HeldPhoto)])
    created = []
    for item in new_photos:
        if isinstance(item, HeldPhoto):
            created.append(_attach_held(activity, held[item.token], item, actor=actor))
            continue
        photo = ActivityPhoto(
            activity=activity,
            caption=item.caption.strip(),
            shows_minors=item.shows_minors,
            sha256=item.photo.sha256,
            dhash=item.photo.dhash,
            width=item.photo.width,
            height=item.photo.height,
        )
        item.photo.image.seek(0)
        item.photo.thumbnail.seek(0)
        photo.image.save(item.photo.image.name, item.photo.image, save=False)
        files.names.append(photo.image.name)
        photo.thumbnail.save(item.photo.thumbnail.name, item.photo.thumbnail, save=False)
        files.names.append(photo.thumbnail.name)
        photo._history_user = actor
        photo.save()
        created.append(photo)
    return created


def _duplicates(activity, photos):
    """For each new photo, the other activities that hold a file with the same content."""
    hashes = {photo.sha256 for photo in photos if photo.sha256}
    if not hashes:
        return []
    others = {}
    for twin in (
        ActivityPhoto.objects.filter(sha256__in=hashes, activity__deleted_at__isnull=True)
        .exclude(activity_id=activity.id)
        .select_related("activity")
        .order_by("id")
    ):
        others.setdefault(twin.sha256, {})[twin.activity_id] = twin.activity
    return [(photo, list(others[photo.sha256].values())) for photo in photos if photo.sha256 in others]


PHOTO_HASH_BATCH = 200


def photo_hashes_fill(*, batch=PHOTO_HASH_BATCH):
    """Give every photo without a picture hash its hash, read from its stored file (manage.py fill_photo_hashes:
    the photos stored before hashes were kept). A file missing from storage, unreadable, or a flat picture is
    skipped. One transaction per batch, so a long run holds no lock for long. Returns (hashed, skipped)."""
    hashed = skipped = 0
    after = 0
    while True:
        with transaction.atomic():
            photos = list(
                ActivityPhoto.objects.filter(dhash_0__isnull=True, pk__gt=after).order_by("pk").only("pk", "image")[:batch]
            )
            if not photos:
                return hashed, skipped
            after = photos[-1].pk
            done = []
            for photo in photos:
                value = None
                if photo.image:
                    try:
                        with photo.image.open("rb") as file:
                            value = dhash_of_file(file)
                    except OSError:  # not in storage
                        value = None
                if value is None:
                    skipped += 1
                    continue
                photo.dhash = value
                done.append(photo)
            # the hash follows from the file and has no history of its own (ActivityPhoto.history excludes it)
            ActivityPhoto.objects.bulk_update(done, ["dhash_0", "dhash_1", "dhash_2", "dhash_3"])
            hashed += len(done)


def _locked(activity):
    """The activity's row, read again under a lock so two clicks cannot both change its status."""
    return Activity.objects.select_for_update().get(pk=activity.pk)


# ---------------------------------------------------------------------------------------------------------
# The services
# ---------------------------------------------------------------------------------------------------------


@transaction.atomic
def activity_create(
    *, actor, fields, metric_values=(), service_records=(), new_photos=(), submit=False
):
    """Record a new activity as a draft of the actor's branch in the pairing (and submit it at once if asked)."""
    if fields.pairing is None:
        if fields.program is None or not recordable_pairings(actor).filter(program=fields.program).exists():
            raise PermissionDenied(_("You do not record activities in this program."))
    elif not recordable_pairings(actor).filter(pk=fields.pairing.pk).exists():
        raise PermissionDenied(_("You do not record activities in this pairing."))
    branch = branch_for(actor, fields.pairing, program=fields.program)
    today = timezone.localdate()
    errors = _validate_fields(fields, branch=branch, today=today)
    co_errors = _validate_co_branches(fields, branch=branch)
    if co_errors:
        errors["co_branches"] = co_errors
    metric_errors = _validate_metrics(metric_values, program_id=fields.program_id)
    hour_errors = _validate_hours(service_records, branch=branch, date=fields.date, activity_id=None)
    if metric_errors:
        errors["metric_values"] = metric_errors
    if hour_errors:
        errors["service_records"] = hour_errors
    _raise_if(errors)

    activity = Activity(branch=branch, created_by=actor, status=Status.DRAFT, **_field_values(fields))
    _history_note(activity, actor, "created")
    activity.save()
    if fields.co_branches:
        activity.co_branches.set(fields.co_branches)
    with _PhotoFiles() as files:
        _save_metrics(activity, metric_values)
        _save_hours(activity, service_records, actor=actor, branch=branch)
        photos = _add_photos(activity, new_photos, actor=actor, files=files)
        if submit:
            _submit(activity, actor)
    _announce_hours(activity, actor)
    return SaveResult(activity=activity, duplicate_photos=_duplicates(activity, photos))


# ---------------------------------------------------------------------------------------------------------
# Confirmed means confirmed: a correction of a confirmed activity's counted fields goes back to the village
# ---------------------------------------------------------------------------------------------------------

CORRECTION_REASON_MAX = Activity._meta.get_field("correction_reason").max_length
# The activity's own counted fields, with the label the change summary gives each.
COUNTED_FIELDS = ("date", "pairing", "program", "co_branches", "party_members", "teachers", "students", "residents_served")


def _counted_labels():
    return {
        "date": _("Date"),
        "pairing": _("Pairing"),
        "program": _("Program"),
        "co_branches": _("Co-hosting branches"),
        "party_members": _("Party members"),
        "teachers": _("Teachers"),
        "students": _("Students"),
        "residents_served": _("Residents served (人次)"),
    }


@dataclass
class _Counted:
    """What the village confirmed of an activity: its counted fields, figures, hours and photos."""

    fields: dict
    figures: dict  # metric id -> (order, name, value)
    hours: dict  # volunteer id -> (name, hours)
    photos: set  # photo ids


def _counted(activity):
    figures = {
        value.metric_id: (value.metric.order, value.metric.name, value.value)
        for value in ActivityMetricValue.objects.filter(activity=activity).select_related("metric")
    }
    hours = {
        record.volunteer_id: (record.volunteer.name, record.hours)
        for record in ServiceRecord.objects.filter(activity=activity).select_related("volunteer")
    }
    photos = set(ActivityPhoto.objects.filter(activity=activity).values_list("id", flat=True))
    fields = {
        name: getattr(activity, f"{name}_id" if name in ("pairing", "program") else name)
        for name in COUNTED_FIELDS if name != "co_branches"
    }
    # co-hosts are credited in the branches' figures: changing them is a correction too
    fields["co_branches"] = frozenset(activity.co_branches.values_list("pk", flat=True))
    return _Counted(
        fields=fields,
        figures=figures,
        hours=hours,
        photos=photos,
    )


def _number(value):
    """12 for Decimal("12.00"), 2.5 for Decimal("2.50"), "—" for nothing."""
    if value is None:
        return "—"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def _change_summary(before, after):
    """The changes between two _Counted states, as a human list: 日期 2026-11-02 → 2026-11-03；服务群众 40 → 45 …
    (in the actor's language; empty when no counted field changed)."""
    parts = []
    labels = _counted_labels()
    for name in COUNTED_FIELDS:
        old, new = before.fields[name], after.fields[name]
        if old == new:
            continue
        if name == "pairing":
            names = dict((p.pk, str(p)) for p in Pairing.objects.filter(pk__in=[old, new]))
            nowhere = _("no paired village")
            old, new = names.get(old, old or nowhere), names.get(new, new or nowhere)
        elif name == "program":
            names = dict(Program.objects.filter(pk__in=[old, new]).values_list("pk", "name"))
            old, new = names.get(old, old), names.get(new, new)
        elif name == "co_branches":
            names = dict(Organization.objects.filter(pk__in=old | new).values_list("pk", "name"))
            old, new = ("、".join(sorted(names[pk] for pk in ids)) or "—" for ids in (old, new))
        elif name == "date":
            old, new = old.isoformat(), new.isoformat()
        parts.append(f"{labels[name]} {_number(old)} → {_number(new)}")
    for metric_id in sorted(before.figures.keys() | after.figures.keys(),
                            key=lambda m: (before.figures.get(m) or after.figures.get(m))[:2] + (m,)):
        old, new = before.figures.get(metric_id), after.figures.get(metric_id)
        if old is None or new is None or old[2] != new[2]:
            name = (old or new)[1]
            parts.append(f"{name} {_number(old and old[2])} → {_number(new and new[2])}")
    for volunteer_id in sorted(before.hours.keys() | after.hours.keys(),
                               key=lambda v: ((before.hours.get(v) or after.hours.get(v))[0], v)):
        old, new = before.hours.get(volunteer_id), after.hours.get(volunteer_id)
        if old is None or new is None or old[1] != new[1]:
            label = _("Hours of %(name)s") % {"name": (old or new)[0]}
            parts.append(f"{label} {_number(old and old[1])} → {_number(new and new[1])}")
    added, removed = len(after.photos - before.photos), len(before.photos - after.photos)
    if added:
        parts.append(ngettext("%(count)d photo added", "%(count)d photos added", added) % {"count": added})
    if removed:
        parts.append(ngettext("%(count)d photo removed", "%(count)d photos removed", removed) % {"count": removed})
    return pgettext("between the changes of a correction", "; ").join(parts)


def _send_back(activity, actor, summary, reason, *, now):
    """The corrected activity goes back to the village: submitted, no longer confirmed, with what changed and why.
    A second correction before the village has answered adds to the first."""
    separator = pgettext("between the changes of a correction", "; ")
    if activity.correction_pending:
        summary = separator.join(part for part in (activity.correction_summary, summary) if part)
        if reason != activity.correction_reason:
            reason = separator.join(part for part in (activity.correction_reason, reason) if part)[-CORRECTION_REASON_MAX:]
    activity.status = Status.SUBMITTED
    activity.submitted_at = now
    activity.confirmed_at = None
    activity.confirmed_by = None
    activity.correction_summary = summary
    activity.correction_reason = reason
    activity.corrected_at = now
    activity.corrected_by = actor


@transaction.atomic
def activity_update(
    *, activity, actor, fields, metric_values=(), service_records=(), new_photos=(), photo_changes=(), submit=False,
    correction_reason="",
):
    """Change an activity the actor may edit (a draft or returned one of their branch; any, for its admin).

    Confirmed means confirmed, for everyone (program admins and superusers included): a change to a *counted*
    field of a confirmed activity sends it back to the village (status submitted, confirmed_at and confirmed_by
    cleared) with `correction_reason` (required: without it nothing is saved, the error is keyed
    "correction_reason") and a summary of what changed, both kept on the activity (correction_* fields) and
    shown at 验单 while `Activity.correction_pending`. The counted fields are what the figures count: the
    date, the pairing, the people (party members, teachers, students, residents served), the outcome figures
    (metric values), the volunteers' hours (added, removed or changed) and the photos (added or removed).
    Everything else — title, type, times, place, description, plan item, need, captions, the "shows minors"
    flag, what a volunteer did — is not counted: changing only that keeps the activity confirmed. A second
    correction while the village has not yet answered the first adds to its summary (and reason)."""
    activity = _editable(activity, actor)
    branch = activity.branch
    errors = _validate_fields(fields, branch=branch, today=timezone.localdate())
    if "activity_type" in errors and fields.activity_type.id == activity.activity_type_id:
        del errors["activity_type"]  # a type retired since the activity was recorded may stay
    co_errors = _validate_co_branches(fields, branch=branch)
    if co_errors:
        errors["co_branches"] = co_errors
    metric_errors = _validate_metrics(metric_values, program_id=fields.program_id)
    hour_errors = _validate_hours(service_records, branch=branch, date=fields.date, activity_id=activity.id)
    if metric_errors:
        errors["metric_values"] = metric_errors
    if hour_errors:
        errors["service_records"] = hour_errors
    correction_reason = (correction_reason or "").strip()
    if len(correction_reason) > CORRECTION_REASON_MAX:
        errors["correction_reason"] = _("At most %(limit)d characters.") % {"limit": CORRECTION_REASON_MAX}
    _raise_if(errors)

    reconfirm = activity.status == Status.CONFIRMED or activity.correction_pending
    before = _counted(activity) if reconfirm else None
    with _PhotoFiles() as files:
        # the parts first, the activity's row last: one history row, with its final status
        _save_metrics(activity, metric_values)
        _save_hours(activity, service_records, actor=actor, branch=branch)
        _apply_photo_changes(activity, photo_changes, actor=actor)
        photos = _add_photos(activity, new_photos, actor=actor, files=files)
        if fields.co_branches is not None:
            activity.co_branches.set(fields.co_branches)
        for name, value in _field_values(fields).items():
            setattr(activity, name, value)
        note = "changed"
        summary = _change_summary(before, _counted(activity)) if reconfirm else ""
        if summary:
            if not correction_reason:
                raise ValidationError({"correction_reason": _(
                    "The village has confirmed this activity. Say why its date, people, figures, hours or photos "
                    "are corrected: it goes back to the village for confirmation."
                )})
            _send_back(activity, actor, summary, correction_reason, now=timezone.now())
            note = "corrected"
        _history_note(activity, actor, note)
        activity.save()
        if note == "corrected":
            activity_submitted.send(sender=Activity, activity=activity, actor=actor, corrected=True)
        if submit:
            _submit(activity, actor)
    _announce_hours(activity, actor)
    return SaveResult(activity=activity, duplicate_photos=_duplicates(activity, photos))


@transaction.atomic
def activity_photos_add(*, activity, actor, new_photos):
    """Add photos (each cleaned by activities.images.clean_photo, as an upload is) to an activity whatever its
    status, for the organising side's imports and the demo; the forms add theirs through activity_create/update,
    which check who may edit. Returns the new ActivityPhoto rows."""
    with _PhotoFiles() as files:
        return _add_photos(activity, new_photos, actor=actor, files=files)


def _field_values(fields):
    values = {name: getattr(fields, name) for name in ActivityFields.__dataclass_fields__ if name != "co_branches"}
    if fields.pairing is not None:
        values["program"] = fields.pairing.program
    values["title"] = values["title"].strip()
    values["place"] = (values["place"] or "").strip()
    return values


def _editable(activity, actor):
    if not Activity.objects.visible_to(actor).filter(pk=activity.pk).exists():
        raise Activity.DoesNotExist
    locked = _locked(activity)
    if not Activity.objects.editable_by(actor).filter(pk=activity.pk).exists():
        raise PermissionDenied(_("You cannot change this activity now."))
    return locked


def _submit(activity, actor):
    if activity.status not in OPEN_STATUSES:
        raise ValidationError(_("Only a draft or a returned activity can be submitted."))
    if activity.date > timezone.localdate():
        raise ValidationError({"date": _("The date is in the future. Record an activity once it has taken place.")})
    activity.status = Status.SUBMITTED
    activity.submitted_at = timezone.now()
    _history_note(activity, actor, "submitted")
    activity.save(update_fields=["status", "submitted_at", "updated_at"])
    activity_submitted.send(sender=Activity, activity=activity, actor=actor, corrected=False)


def _announce_hours(activity, actor):
    """A counted activity may hold hours waiting for verification: say so (the listener finds which, and
    announces each batch once)."""
    if activity.status in COUNTED_STATUSES:
        hours_recorded.send(sender=Activity, activity=activity, actor=actor)


@transaction.atomic
def activity_submit(*, activity, actor):
    """Send a draft (or a corrected returned activity) to the village for confirmation."""
    if not Activity.objects.visible_to(actor).filter(pk=activity.pk).exists():
        raise Activity.DoesNotExist
    current = _locked(activity)
    if current.status in (Status.SUBMITTED, Status.CONFIRMED) and current.deleted_at is None and (
        current.branch_id in scope_for(actor).secretary_orgs or Activity.objects.editable_by(actor).filter(pk=current.pk).exists()
    ):
        raise AlreadyDone(_("This activity is already submitted. Nothing was changed."))
    activity = _editable(activity, actor)
    _submit(activity, actor)
    _announce_hours(activity, actor)
    return activity


@transaction.atomic
def activity_delete(*, activity, actor):
    """Delete a draft or returned activity of the actor's branch: hidden (deleted_at), not removed, so a program
    admin can restore it (activity_restore); its history keeps both steps. Never counted, so no figure changes."""
    if not Activity.objects.visible_to(actor).filter(pk=activity.pk).exists():
        raise Activity.DoesNotExist
    locked = _locked(activity)
    if not may_delete(actor, locked):
        raise PermissionDenied(_("Only the secretary of its branch deletes this activity."))
    if locked.status not in OPEN_STATUSES:
        raise ValidationError(_("Only a draft or a returned activity can be deleted. Correct a submitted or confirmed one instead."))
    locked.deleted_at = timezone.now()
    _history_note(locked, actor, "deleted")
    locked.save(update_fields=["deleted_at", "updated_at"])
    return locked


@transaction.atomic
def activity_restore(*, activity, actor):
    """Bring a deleted activity back as it was (a program admin of its program, or a superuser)."""
    try:
        locked = restorable_activities(actor).select_for_update().get(pk=activity.pk)
    except Activity.DoesNotExist:
        if Activity.all_objects.filter(pk=activity.pk, deleted_at__isnull=True).exists():
            raise ValidationError(_("This activity is not deleted.")) from None
        raise PermissionDenied(_("Only an admin of its program restores this activity.")) from None
    locked.deleted_at = None
    _history_note(locked, actor, "restored")
    locked.save(update_fields=["deleted_at", "updated_at"])
    return locked


def _confirmable(activity, actor):
    if not Activity.objects.visible_to(actor).filter(pk=activity.pk).exists():
        raise Activity.DoesNotExist
    locked = _locked(activity)
    if not Activity.objects.confirmable_by(actor).filter(pk=activity.pk).exists():
        if not may_confirm(actor, locked):
            raise PermissionDenied(_("Only the village committee confirms this activity."))
        if locked.status == Status.CONFIRMED:
            raise AlreadyDone(_("This activity is already confirmed. Nothing was changed."))
        raise ValidationError(_("This activity is not waiting for confirmation."))
    return locked


@transaction.atomic
def activity_confirm(*, activity, actor):
    """The village committee confirms (验单) a submitted activity."""
    activity = _confirmable(activity, actor)
    activity.status = Status.CONFIRMED
    activity.confirmed_at = timezone.now()
    activity.confirmed_by = actor
    _history_note(activity, actor, "confirmed")
    activity.save(update_fields=["status", "confirmed_at", "confirmed_by", "updated_at"])
    return activity


RETURN_COMMENT_MAX = Activity._meta.get_field("return_comment").max_length


@transaction.atomic
def activity_return(*, activity, actor, comment):
    """The village committee returns a submitted activity to the branch with what needs correcting."""
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError({"comment": _("Say what should be corrected.")})
    if len(comment) > RETURN_COMMENT_MAX:
        raise ValidationError({"comment": _("At most %(limit)d characters.") % {"limit": RETURN_COMMENT_MAX}})
    activity = _confirmable(activity, actor)
    activity.status = Status.RETURNED
    activity.return_comment = comment
    _history_note(activity, actor, "returned")
    activity.save(update_fields=["status", "return_comment", "updated_at"])
    activity_returned.send(sender=Activity, activity=activity, actor=actor)
    return activity


# ---------------------------------------------------------------------------------------------------------
# Needs (微心愿): raised by the village, claimed by a branch, fulfilled by an activity, rated by the village
# ---------------------------------------------------------------------------------------------------------

NeedStatus = Need.Status
RATING_COMMENT_MAX = Need._meta.get_field("rating_comment").max_length
NEED_TITLE_MAX = Need._meta.get_field("title").max_length
NEED_WANTED_BY_MAX = Need._meta.get_field("wanted_by").max_length
# Activities that can answer a need: the village sees them (not drafts) and they took place.
ANSWERING_STATUSES = (Status.SUBMITTED, Status.CONFIRMED)


def mask_name(name):
    """王** for 王小明: the family name, and a star for each other character (at least one)."""
    name = (name or "").strip()
    if not name:
        return ""
    return name[0] + "*" * max(len(name) - 1, 1)


def _need_history(need, actor, reason):
    need._history_user = actor
    need._change_reason = reason


def _visible_need(need, actor):
    if not Need.objects.visible_to(actor).filter(pk=need.pk).exists():
        raise Need.DoesNotExist
    return Need.objects.select_for_update().get(pk=need.pk)


@transaction.atomic
def need_raise(*, actor, pairing, title, description="", category=Need.Category.OTHER, wanted_by="", mask_wanted_by=False):
    """The village committee (or the program admin) raises a need in its pairing; it opens at once."""
    if not raisable_pairings(actor).filter(pk=pairing.pk).exists():
        raise PermissionDenied(_("You do not raise needs in this pairing."))
    errors = {}
    title = (title or "").strip()
    wanted_by = (wanted_by or "").strip()
    if not title:
        errors["title"] = _("Say what is needed.")
    elif len(title) > NEED_TITLE_MAX:
        errors["title"] = _("At most %(limit)d characters.") % {"limit": NEED_TITLE_MAX}
    if category not in Need.Category.values:
        errors["category"] = _("Choose a category.")
    if len(wanted_by) > NEED_WANTED_BY_MAX:
        errors["wanted_by"] = _("At most %(limit)d characters.") % {"limit": NEED_WANTED_BY_MAX}
    _raise_if(errors)
    need = Need(
        pairing=pairing,
        title=title,
        description=(description or "").strip(),
        category=category,
        wanted_by=wanted_by,
        mask_wanted_by=bool(mask_wanted_by and wanted_by),
        status=NeedStatus.OPEN,
        raised_by=actor,
        raised_at=timezone.now(),
    )
    _need_history(need, actor, "raised")
    need.save()
    return need


@transaction.atomic
def need_claim(*, need, actor, branch=None):
    """A secretary claims an open need for their branch. Two people claiming at once: the first wins, the
    other is told who has it and nothing changes (a conditional UPDATE … WHERE status = 'open')."""
    if not Need.objects.visible_to(actor).filter(pk=need.pk).exists():
        raise Need.DoesNotExist
    branches = claiming_branches(actor, need.pairing)
    if branch is None:
        branch = branches.first()
    elif not branches.filter(pk=branch.pk).exists():
        branch = None
    if branch is None:
        raise PermissionDenied(_("Only a branch of this pairing claims its needs."))
    now = timezone.now()
    won = (
        Need.objects.filter(pk=need.pk, status=NeedStatus.OPEN)
        .filter(pk__in=Need.objects.claimable_by(actor).values("pk"))
        .update(status=NeedStatus.CLAIMED, claimed_by_branch=branch, claimed_at=now)
    )
    if not won:
        current = Need.all_objects.select_related("claimed_by_branch").get(pk=need.pk)
        if current.claimed_by_branch_id == branch.pk and current.status != NeedStatus.OPEN:
            raise AlreadyDone(_("Your branch has already claimed this need. Nothing was changed."))
        if current.claimed_by_branch is not None:
            raise ValidationError(
                _("Already claimed by %(branch)s. Nothing was changed.") % {"branch": current.claimed_by_branch.name}
            )
        raise ValidationError(_("This need is no longer open. Nothing was changed."))
    need = Need.objects.get(pk=need.pk)
    _need_history(need, actor, "claimed")
    need.save(update_fields=["status", "claimed_by_branch", "claimed_at"])  # the same values: a history row
    need_claimed.send(sender=Need, need=need, actor=actor)
    return need


def answering_activities(user, need):
    """The activities the user may mark the need fulfilled with: submitted or confirmed activities of the
    claiming branch in the need's pairing, not answering another need."""
    if need.claimed_by_branch_id is None:
        return Activity.objects.none()
    return (
        Activity.objects.visible_to(user)
        .filter(pairing_id=need.pairing_id, status__in=ANSWERING_STATUSES)
        .filter(Q(branch_id=need.claimed_by_branch_id) | Q(co_branches=need.claimed_by_branch_id))
        .filter(Q(need__isnull=True) | Q(need_id=need.pk))
        .distinct()
        .order_by("-date", "-id")
    )


@transaction.atomic
def need_fulfil(*, need, actor, activity):
    """The claiming branch marks its need fulfilled with the activity that answered it (and links the two)."""
    need = _visible_need(need, actor)
    if not may_fulfil(actor, need):
        raise PermissionDenied(_("Only the branch that claimed this need marks it fulfilled."))
    if need.status in (NeedStatus.FULFILLED, NeedStatus.CLOSED) and activity is not None and activity.need_id == need.pk:
        raise AlreadyDone(_("This need is already marked fulfilled. Nothing was changed."))
    if need.status != NeedStatus.CLAIMED:
        raise ValidationError(_("Only a claimed need can be marked fulfilled."))
    if activity is None or not answering_activities(actor, need).filter(pk=activity.pk).exists():
        raise ValidationError(
            {"activity": _("Choose a submitted or confirmed activity of your branch in this pairing.")}
        )
    activity = _locked(activity)
    if activity.need_id != need.pk:
        activity.need = need
        _history_note(activity, actor, "answers a need")
        activity.save(update_fields=["need", "updated_at"])
    need.status = NeedStatus.FULFILLED
    need.fulfilled_at = max(timezone.now(), need.claimed_at or need.raised_at)
    _need_history(need, actor, "fulfilled")
    need.save(update_fields=["status", "fulfilled_at"])
    need_fulfilled.send(sender=Need, need=need, actor=actor)
    return need


@transaction.atomic
def need_rate(*, need, actor, rating, comment=""):
    """The village rates how its fulfilled need was answered (1–5, with a comment); the need then closes."""
    need = _visible_need(need, actor)
    if not may_rate(actor, need):
        raise PermissionDenied(_("Only the village committee rates the response to its need."))
    if need.status == NeedStatus.CLOSED and need.rated_at is not None:
        raise AlreadyDone(_("This need is already rated. Nothing was changed."))
    if need.status != NeedStatus.FULFILLED:
        raise ValidationError(_("Only a fulfilled need can be rated."))
    comment = (comment or "").strip()
    errors = {}
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        errors["rating"] = _("Give a rating from 1 to 5.")
    if len(comment) > RATING_COMMENT_MAX:
        errors["comment"] = _("At most %(limit)d characters.") % {"limit": RATING_COMMENT_MAX}
    _raise_if(errors)
    need.rating = rating
    need.rating_comment = comment
    need.rated_at = timezone.now()
    need.status = NeedStatus.CLOSED
    _need_history(need, actor, "rated")
    need.save(update_fields=["rating", "rating_comment", "rated_at", "status"])
    return need


# --- service hours ---------------------------------------------------------------------------------


@transaction.atomic
def service_records_verify(*, records, actor):
    """Verify the recorded hours among `records` (a QuerySet of service records) that the actor may verify:
    the organising side, 谁记录谁证明. Returns the number verified. Records already verified, deleted, on a
    draft or returned activity (not yet submitted: nobody is asked to verify them), or outside the actor's
    reach are left as they are."""
    now = timezone.now()
    chosen = list(
        records.editable_by(actor)
        .awaiting_verification()
        .select_for_update(of=("self",))
        .order_by("pk")
    )
    if not chosen:
        return 0
    for record in chosen:
        record.status = ServiceRecord.Status.VERIFIED
        record.verified_by = actor
        record.verified_at = now
    bulk_update_with_history(
        chosen, ServiceRecord, ["status", "verified_by", "verified_at"], default_user=actor, default_date=now
    )
    # bulk_update sends no post_save: tell the listeners (the figures app's rollup)
    service_records_changed.send(
        sender=ServiceRecord, activity_ids={record.activity_id for record in chosen}, using=records.db
    )
    return len(chosen)


# ---------------------------------------------------------------------------------------------------------
# Joint meetings (联席会议) and their decisions (action items)
# ---------------------------------------------------------------------------------------------------------

MEETING_TITLE_MAX = Meeting._meta.get_field("title").max_length
MEETING_PLACE_MAX = Meeting._meta.get_field("place").max_length
ATTENDEE_NAME_MAX = MeetingAttendee._meta.get_field("name").max_length
ATTENDEE_ORG_MAX = MeetingAttendee._meta.get_field("organization_name").max_length
ATTENDEE_TITLE_MAX = MeetingAttendee._meta.get_field("title").max_length
DECISION_TEXT_MAX = ActionItem._meta.get_field("text").max_length
ACTION_NOTE_MAX = ActionItem._meta.get_field("note").max_length
ATTACHMENT_CAPTION_MAX = MeetingAttachment._meta.get_field("caption").max_length
MAX_ATTENDEES = 200
MAX_DECISIONS = 50
MAX_ATTACHMENTS_PER_MEETING = 20
MAX_DOCUMENT_BYTES = MAX_AGREEMENT_BYTES  # a scanned PDF: the same limit as a signed agreement
ActionStatus = ActionItem.Status
Side = MeetingAttendee.Side


def default_meeting_title():
    return _("Joint meeting of the pairing")


@dataclass
class MeetingFields:
    """What the meeting form says of the meeting itself."""

    date: datetime.date | None
    title: str = ""
    place: str = ""
    minutes: str = ""
    activity: Activity | None = None


@dataclass(frozen=True)
class AttendeeEntry:
    """One attendee: a portal user, or a name typed in; their side, organisation (chosen, or typed) and title."""

    side: str
    name: str = ""
    user: object = None
    organization: Organization | None = None
    organization_name: str = ""
    title: str = ""


@dataclass(frozen=True)
class DecisionEntry:
    """One decision: new (item_id None) or an open one changed; `delete` removes an open one."""

    text: str
    owner_org: Organization | None
    due_date: datetime.date | None
    owner_user: object = None
    item_id: int | None = None
    delete: bool = False


@dataclass(frozen=True)
class NewAttachment:
    """A cleaned upload (clean_meeting_upload): a CleanPhoto, or a checked PDF upload."""

    file: object
    kind: str = MeetingAttachment.Kind.DOCUMENT
    caption: str = ""


def clean_meeting_upload(upload):
    """Check one uploaded attachment: a PDF (activities' rules for documents: pairings.services.validate_pdf), or a
    photo, re-encoded without metadata (activities.images.clean_photo). Returns the PDF upload or a CleanPhoto;
    raises ValidationError with a message for the form."""
    upload.seek(0)
    head = upload.read(5)
    upload.seek(0)
    if head == b"%PDF-":
        try:
            validate_pdf(upload, max_bytes=MAX_DOCUMENT_BYTES)
        except ValidationError as error:
            raise ValidationError(
                _("“%(name)s”: %(problem)s") % {"name": _upload_name(upload), "problem": " ".join(error.messages)},
                code=getattr(error, "code", None),
            ) from None
        return upload
    try:
        return clean_photo(upload)
    except ValidationError as error:
        if error.code == "not_image":
            raise ValidationError(
                _("“%(name)s” is neither a PDF nor a JPEG, PNG or WebP photo."),
                code="not_pdf_or_image",
                params={"name": _upload_name(upload)},
            ) from None
        raise


def _upload_name(upload):
    name = str(getattr(upload, "name", "") or "")
    return name if len(name) <= 40 else name[:37] + "…"


def meeting_people(*, program, pairing):
    """The portal users a meeting may name (as attendees and owners of decisions): the members of the organisations
    that may own its decisions (with the organisations below them) and the pairing's named liaisons."""
    orgs = Organization.objects.filter(meeting_owner_orgs_q(program, pairing)).values_list("id", flat=True)
    q = Q(memberships__organization_id__in=subtree_ids(orgs))
    if pairing is not None:
        q |= Q(liaison_roles__pairing=pairing)
    return User.objects.filter(q, is_active=True).distinct()


def meeting_owner_orgs(*, program, pairing):
    """The organisations that may own a decision of a meeting of `pairing` (None: of the whole `program`)."""
    return Organization.objects.filter(meeting_owner_orgs_q(program, pairing))


def meeting_activities(*, program, pairing, actor, meeting=None):
    """The activities that may record the meeting: of the joint-meeting type, in its pairing, not deleted, read by
    the actor, and not recording another meeting. None for a program-wide meeting (it has no pairing)."""
    if pairing is None:
        return Activity.objects.none()
    taken = Meeting.objects.filter(activity__isnull=False)
    if meeting is not None:
        taken = taken.exclude(pk=meeting.pk)
    return (
        Activity.objects.filter(pairing=pairing)
        .filter(meeting_type_q())
        .exclude(pk__in=taken.values("activity_id"))
        .visible_to(actor)
        .order_by("-date", "-id")
    )


def _check_meeting_fields(fields, *, program, pairing, actor, meeting, today):
    errors = {}
    fields.title = (fields.title or "").strip() or default_meeting_title()
    fields.place = (fields.place or "").strip()
    fields.minutes = (fields.minutes or "").strip()
    if fields.date is None:
        errors["date"] = _("Enter the day of the meeting.")
    elif fields.date > today:
        errors["date"] = _("Record a meeting once it has taken place: its day cannot lie in the future.")
    elif fields.date < EARLIEST_DATE:
        errors["date"] = _("Check the year of the meeting.")
    if len(fields.title) > MEETING_TITLE_MAX:
        errors["title"] = _("At most %(limit)d characters.") % {"limit": MEETING_TITLE_MAX}
    if len(fields.place) > MEETING_PLACE_MAX:
        errors["place"] = _("At most %(limit)d characters.") % {"limit": MEETING_PLACE_MAX}
    if fields.activity is not None:
        allowed = meeting_activities(program=program, pairing=pairing, actor=actor, meeting=meeting)
        if not allowed.filter(pk=fields.activity.pk).exists():
            errors["activity"] = _("Choose a joint-meeting activity of this pairing that records no other meeting.")
        elif fields.date is not None and fields.activity.date != fields.date:
            errors["activity"] = _("The activity that records the meeting must be dated the day of the meeting (%(date)s).") % {
                "date": fields.date.isoformat()
            }
    return errors


def _check_attendees(entries, *, program, pairing):
    """Clean attendee rows (names filled in from the user chosen) and their errors."""
    errors, rows, seen = [], [], set()
    if len(entries) > MAX_ATTENDEES:
        return [_("At most %(limit)d attendees.") % {"limit": MAX_ATTENDEES}], []
    users = {u.pk for u in meeting_people(program=program, pairing=pairing).filter(pk__in=[e.user.pk for e in entries if e.user])}
    orgs = {o.pk for o in meeting_owner_orgs(program=program, pairing=pairing).filter(pk__in=[e.organization.pk for e in entries if e.organization])}
    for entry in entries:
        name = (entry.name or "").strip() or (str(entry.user) if entry.user else "")
        if not name:
            errors.append(_("Every attendee needs a name (or a portal user)."))
            continue
        if entry.side not in Side.values:
            errors.append(_("Choose the side “%(name)s” came for.") % {"name": name})
            continue
        if entry.user is not None and entry.user.pk not in users:
            errors.append(_("“%(name)s” is not one of the people of this pairing: type the name instead.") % {"name": name})
            continue
        if entry.organization is not None and entry.organization.pk not in orgs:
            errors.append(_("Choose an organisation of this pairing for “%(name)s”, or type its name.") % {"name": name})
            continue
        org_name, title = (entry.organization_name or "").strip(), (entry.title or "").strip()
        if len(name) > ATTENDEE_NAME_MAX or len(org_name) > ATTENDEE_ORG_MAX or len(title) > ATTENDEE_TITLE_MAX:
            errors.append(_("“%(name)s”: a name, organisation or title is too long.") % {"name": name[:20]})
            continue
        if (name, entry.side) in seen:
            errors.append(_("“%(name)s” is listed twice.") % {"name": name})
            continue
        seen.add((name, entry.side))
        rows.append(
            {"side": entry.side, "name": name, "user": entry.user, "organization": entry.organization,
             "organization_name": "" if entry.organization else org_name, "title": title}
        )
    if not errors:
        sides = {row["side"] for row in rows}
        if pairing is not None and not {Side.SUPPORTER, Side.SUPPORTED} <= sides:
            errors.append(_("A joint meeting has attendees from both sides: list at least one of each."))
        elif not rows:
            errors.append(_("List who attended."))
    return errors, rows


def _check_decisions(entries, *, program, pairing, date, existing):
    """Clean decision rows; `existing` are the meeting's items by id (only its open ones may change)."""
    errors, rows = [], []
    kept = [e for e in entries if not e.delete]
    if len(kept) > MAX_DECISIONS:
        return [_("At most %(limit)d decisions.") % {"limit": MAX_DECISIONS}], []
    owner_ids = {o.pk for o in meeting_owner_orgs(program=program, pairing=pairing).filter(pk__in=[e.owner_org.pk for e in entries if e.owner_org])}
    people = meeting_people(program=program, pairing=pairing).filter(pk__in=[e.owner_user.pk for e in entries if e.owner_user])
    person_orgs = defaultdict(set)
    for user_id, org_id in Membership.objects.filter(user__in=people).values_list("user_id", "organization_id"):
        person_orgs[user_id].add(org_id)
    liaisons = set(Liaison.objects.filter(pairing=pairing, user__in=people).values_list("user_id", flat=True)) if pairing else set()
    for n, entry in enumerate(entries, 1):
        item = existing.get(entry.item_id) if entry.item_id else None
        if entry.item_id and item is None:
            errors.append(_("Decision %(n)d belongs to another meeting.") % {"n": n})
            continue
        if item is not None and item.status != ActionStatus.OPEN:
            errors.append(_("Decision %(n)d is closed: reopen it before changing it.") % {"n": n})
            continue
        if entry.delete:
            rows.append({"item": item, "delete": True})
            continue
        text = (entry.text or "").strip()
        if not text:
            errors.append(_("Decision %(n)d: say what was decided.") % {"n": n})
            continue
        if len(text) > DECISION_TEXT_MAX:
            errors.append(_("Decision %(n)d: at most %(limit)d characters.") % {"n": n, "limit": DECISION_TEXT_MAX})
            continue
        if entry.owner_org is None or entry.owner_org.pk not in owner_ids:
            # an organisation outside the meeting's scope is refused as if it did not exist
            errors.append(_("Decision %(n)d: choose the organisation that carries it out.") % {"n": n})
            continue
        if entry.due_date is None:
            errors.append(_("Decision %(n)d: give it a due date.") % {"n": n})
            continue
        if date is not None and entry.due_date < date:
            errors.append(_("Decision %(n)d: the due date cannot lie before the meeting.") % {"n": n})
            continue
        if entry.owner_user is not None:
            reach = subtree_ids(person_orgs.get(entry.owner_user.pk, ()))
            if entry.owner_org.pk not in reach and entry.owner_user.pk not in liaisons:
                errors.append(
                    _("Decision %(n)d: %(person)s does not act for %(org)s.")
                    % {"n": n, "person": entry.owner_user, "org": entry.owner_org.name}
                )
                continue
        rows.append({"item": item, "delete": False, "text": text, "owner_org": entry.owner_org,
                     "owner_user": entry.owner_user, "due_date": entry.due_date})
    return errors, rows


class _MeetingFiles:
    """Files written during one meeting write, removed again if it fails (their rows roll back)."""

    def __init__(self):
        self.names = []
        self.storage = MeetingAttachment._meta.get_field("file").storage

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            for name in self.names:
                self.storage.delete(name)
        return False


def _save_attachments(meeting, new, *, actor, files):
    for item in new:
        kind = item.kind if item.kind in MeetingAttachment.Kind.values else MeetingAttachment.Kind.DOCUMENT
        caption = (item.caption or "").strip()[:ATTACHMENT_CAPTION_MAX]
        attachment = MeetingAttachment(meeting=meeting, kind=kind, caption=caption, uploaded_by=actor)
        if isinstance(item.file, CleanPhoto):
            item.file.image.seek(0)
            item.file.thumbnail.seek(0)
            attachment.content_type = "image/jpeg"
            attachment.size = item.file.image.size
            attachment.sha256 = item.file.sha256
            attachment.file.save(item.file.image.name, item.file.image, save=False)
            files.names.append(attachment.file.name)
            attachment.thumbnail.save(item.file.thumbnail.name, item.file.thumbnail, save=False)
            files.names.append(attachment.thumbnail.name)
            if kind == MeetingAttachment.Kind.DOCUMENT:
                attachment.kind = MeetingAttachment.Kind.PHOTO
        else:
            validate_pdf(item.file, max_bytes=MAX_DOCUMENT_BYTES)  # a PDF never skips the check, whoever calls
            digest = hashlib.sha256()
            item.file.seek(0)
            for chunk in iter(lambda: item.file.read(65536), b""):
                digest.update(chunk)
            item.file.seek(0)
            attachment.content_type = "application/pdf"
            attachment.size = item.file.size
            attachment.sha256 = digest.hexdigest()
            attachment.file.save(f"{uuid.uuid4().hex}.pdf", item.file, save=False)
            files.names.append(attachment.file.name)
            if kind == MeetingAttachment.Kind.PHOTO:
                attachment.kind = MeetingAttachment.Kind.DOCUMENT
        attachment._history_user = actor
        attachment.save()


def _write_meeting_parts(meeting, *, actor, attendees, decisions, new_attachments, removed_attachment_ids, files):
    removed = list(meeting.attachments.filter(pk__in=removed_attachment_ids)) if removed_attachment_ids else []
    if len(removed) != len(set(removed_attachment_ids or ())):
        raise ValidationError({"attachments": _("That file belongs to another meeting.")})
    if meeting.attachments.count() - len(removed) + len(new_attachments) > MAX_ATTACHMENTS_PER_MEETING:
        raise ValidationError(
            {"attachments": _("A meeting has at most %(limit)d files.") % {"limit": MAX_ATTACHMENTS_PER_MEETING}}
        )
    # attendees are the list as given: the old rows go (their history keeps them), the new ones come in order
    for old in meeting.attendees.all():
        old._history_user = actor
        old.delete()
    for order, row in enumerate(attendees, 1):
        attendee = MeetingAttendee(meeting=meeting, order=order, **row)
        attendee._history_user = actor
        attendee.save()
    for order, row in enumerate(decisions, 1):
        item = row["item"]
        if row["delete"]:
            item._history_user = actor
            item.delete()
            continue
        if item is None:
            item = ActionItem(meeting=meeting)
        item.text, item.owner_org, item.owner_user, item.due_date = row["text"], row["owner_org"], row["owner_user"], row["due_date"]
        item.order = order
        item._history_user = actor
        item.save()
    for attachment in removed:
        names = [attachment.file.name, attachment.thumbnail.name]
        attachment._history_user = actor
        attachment.delete()
        storage = MeetingAttachment._meta.get_field("file").storage
        transaction.on_commit(lambda names=names: [storage.delete(name) for name in names if name])
    _save_attachments(meeting, new_attachments, actor=actor, files=files)


def _meeting_write(*, meeting, program, pairing, actor, fields, attendees, decisions, new_attachments,
                   removed_attachment_ids):
    today = timezone.localdate()
    errors = _check_meeting_fields(fields, program=program, pairing=pairing, actor=actor, meeting=meeting, today=today)
    existing = {item.pk: item for item in meeting.action_items.all()} if meeting is not None else {}
    attendee_errors, attendee_rows = _check_attendees(list(attendees), program=program, pairing=pairing)
    decision_errors, decision_rows = _check_decisions(
        list(decisions), program=program, pairing=pairing, date=fields.date, existing=existing
    )
    if attendee_errors:
        errors["attendees"] = attendee_errors
    if decision_errors:
        errors["decisions"] = decision_errors
    _raise_if(errors)
    if meeting is None:
        meeting = Meeting(program=program, pairing=pairing, created_by=actor)
    meeting.title, meeting.date, meeting.place, meeting.minutes = fields.title, fields.date, fields.place, fields.minutes
    meeting.activity = fields.activity
    meeting._history_user = actor
    meeting.save()
    with _MeetingFiles() as files:
        _write_meeting_parts(
            meeting, actor=actor, attendees=attendee_rows, decisions=decision_rows,
            new_attachments=list(new_attachments), removed_attachment_ids=list(removed_attachment_ids), files=files,
        )
    return meeting


@transaction.atomic
def meeting_create(*, actor, program, pairing=None, fields, attendees, decisions=(), new_attachments=()):
    """Record a joint meeting with its attendees, decisions (each an open action item) and files, in one write.
    A pairing's meeting is recorded by those who speak for either side and the program's admins, a program-wide
    one (pairing None) by the program's admins (activities.permissions)."""
    if pairing is not None:
        if pairing.program_id != program.pk or not meeting_pairings(actor).filter(pk=pairing.pk).exists():
            raise PermissionDenied(_("You do not record the meetings of this pairing."))
    elif not meeting_programs(actor).filter(pk=program.pk).exists():
        raise PermissionDenied(_("Only the program's admins record a meeting of the whole program."))
    return _meeting_write(
        meeting=None, program=program, pairing=pairing, actor=actor, fields=fields, attendees=attendees,
        decisions=decisions, new_attachments=new_attachments, removed_attachment_ids=(),
    )


@transaction.atomic
def meeting_update(*, meeting, actor, fields, attendees, decisions=(), new_attachments=(), removed_attachment_ids=()):
    """Change a meeting: its fields, its list of attendees (replaced by the one given), its open decisions (changed,
    removed, added; a closed one is reopened first) and its files, in one write."""
    if not Meeting.objects.visible_to(actor).filter(pk=meeting.pk).exists():
        raise Meeting.DoesNotExist
    meeting = Meeting.objects.select_for_update(of=("self",)).select_related("program", "pairing").get(pk=meeting.pk)
    if not can_edit_meeting(actor, meeting):
        raise PermissionDenied(_("You do not edit the meetings of this pairing."))
    return _meeting_write(
        meeting=meeting, program=meeting.program, pairing=meeting.pairing, actor=actor, fields=fields,
        attendees=attendees, decisions=decisions, new_attachments=new_attachments,
        removed_attachment_ids=removed_attachment_ids,
    )


@transaction.atomic
def meeting_activity_link(*, meeting, activity, actor):
    """Record that `activity` records `meeting` (the activity form opened from the meeting's page): a joint-meeting
    activity of its pairing on its day, while the meeting has none, by one of those who edit the meeting."""
    if not Meeting.objects.visible_to(actor).filter(pk=meeting.pk).exists():
        raise Meeting.DoesNotExist
    meeting = Meeting.objects.select_for_update(of=("self",)).select_related("program", "pairing").get(pk=meeting.pk)
    if not can_edit_meeting(actor, meeting):
        raise PermissionDenied(_("You do not edit the meetings of this pairing."))
    if meeting.activity_id is not None:
        raise ValidationError(_("The meeting is recorded by another activity already."))
    allowed = meeting_activities(program=meeting.program, pairing=meeting.pairing, actor=actor, meeting=meeting)
    if activity.date != meeting.date or not allowed.filter(pk=activity.pk).exists():
        raise ValidationError(
            _("The activity was saved, but it is not linked to the meeting: a joint-meeting activity of the pairing on "
              "the meeting's day records it.")
        )
    meeting.activity = activity
    meeting._history_user = actor
    meeting.save(update_fields=["activity", "updated_at"])
    return meeting


def closing_activities(item, actor):
    """The activities that may show a decision done: counted (submitted or confirmed), dated on or after its
    meeting, read by the actor; in the meeting's pairing, or for a program-wide meeting, those of the owner
    organisation's pairings in the program."""
    meeting = item.meeting
    activities = Activity.objects.filter(status__in=ANSWERING_STATUSES, date__gte=meeting.date)
    if meeting.pairing_id is not None:
        activities = activities.filter(pairing_id=meeting.pairing_id)
    else:
        owner = subtree_ids([item.owner_org_id])
        activities = activities.filter(pairing__program_id=meeting.program_id).filter(
            Q(branch_id__in=owner) | Q(pairing__supporter_id__in=owner) | Q(pairing__supported_id__in=owner)
        )
    return activities.visible_to(actor).select_related("activity_type").order_by("-date", "-id")


def _closable(item, actor):
    if not ActionItem.objects.visible_to(actor).filter(pk=item.pk).exists():
        raise ActionItem.DoesNotExist
    item = ActionItem.objects.select_for_update(of=("self",)).select_related("meeting__program").get(pk=item.pk)
    if not may_close(actor, item):
        raise PermissionDenied(_("Only the owner of this decision and the program's admins close it."))
    return item


@transaction.atomic
def action_item_close(*, item, status, actor, activity=None, note=""):
    """Mark a decision done (shown by an activity, or a note saying how) or dropped (with the reason). Two people
    closing at once: the first wins, the other is told (the row is read again under a lock)."""
    item = _closable(item, actor)
    if item.status != ActionStatus.OPEN and item.status == status:
        raise AlreadyDone(_("This decision is already closed. Nothing was changed."))
    if item.status != ActionStatus.OPEN:
        raise ValidationError(_("This decision is already closed. Nothing was changed."))
    note = (note or "").strip()
    errors = {}
    if status not in (ActionStatus.DONE, ActionStatus.DROPPED):
        errors["status"] = _("Choose done or dropped.")
    if len(note) > ACTION_NOTE_MAX:
        errors["note"] = _("At most %(limit)d characters.") % {"limit": ACTION_NOTE_MAX}
    if activity is not None and not closing_activities(item, actor).filter(pk=activity.pk).exists():
        errors["activity"] = _("Choose a submitted or confirmed activity of this pairing, dated after the meeting.")
    if status == ActionStatus.DONE and activity is None and not note and "activity" not in errors:
        errors["note"] = _("Say how it was done, or choose the activity that shows it.")
    if status == ActionStatus.DROPPED and not note:
        errors["note"] = _("Say why it was dropped.")
    _raise_if(errors)
    item.status = status
    item.done_by_activity = activity if status == ActionStatus.DONE else None
    item.note = note
    item.closed_at = timezone.now()
    item.closed_by = actor
    item._history_user = actor
    item._change_reason = "closed"
    item.save(update_fields=["status", "done_by_activity", "note", "closed_at", "closed_by", "updated_at"])
    return item


@transaction.atomic
def action_item_reopen(*, item, actor):
    """Open a closed decision again (it was not done after all). What it said when closed stays in its history."""
    item = _closable(item, actor)
    if item.status == ActionStatus.OPEN:
        raise AlreadyDone(_("This decision is open already. Nothing was changed."))
    item.status = ActionStatus.OPEN
    item.done_by_activity = None
    item.note = ""
    item.closed_at = None
    item.closed_by = None
    item._history_user = actor
    item._change_reason = "reopened"
    item.save(update_fields=["status", "done_by_activity", "note", "closed_at", "closed_by", "updated_at"])
    return item


# --- the activity type catalog ---------------------------------------------------------------------


ACTIVITY_TYPE_FIELDS = ("name", "code", "order", "is_active")


def _check_type_editor(actor, program):
    """A program's own types: its admins; the shared ones: superusers only."""
    if program is None:
        allowed = actor.is_active and actor.is_superuser
    else:
        allowed = can_set_up_program(actor, program)
    if not allowed:
        raise PermissionDenied


def _clean_activity_type(program, values, *, activity_type=None):
    errors = {}
    name, code = (values.get("name") or "").strip(), (values.get("code") or "").strip()
    # a program's type may not share a name or code with a shared one, nor with another of the program's:
    # the forms list both together
    clash = ActivityType.objects.filter(Q(program__isnull=True) | Q(program=program)) if program else ActivityType.objects.all()
    if activity_type is not None:
        clash = clash.exclude(pk=activity_type.pk)
    if not name:
        errors["name"] = _("Give the type a name.")
    elif clash.filter(name=name).exists():
        errors["name"] = _("A type of this name is already offered to this program (shared or its own).")
    if not code:
        errors["code"] = _("Give the type a short code (letters, digits, hyphens).")
    elif clash.filter(code=code).exists():
        errors["code"] = _("A type with this code is already offered to this program (shared or its own).")
    _raise_if(errors)
    return {**values, "name": name, "code": code}


@transaction.atomic
def activity_type_create(*, actor, program, **values):
    """A program's own type (``program``), or a shared one (None, superusers only)."""
    _check_type_editor(actor, program)
    # a shared type's name is checked against every program's types too: it is listed beside each of them
    values = _clean_activity_type(program, {k: v for k, v in values.items() if k in ACTIVITY_TYPE_FIELDS})
    return ActivityType.objects.create(program=program, **values)


@transaction.atomic
def activity_type_update(*, activity_type, actor, **values):
    """Rename, reorder or switch off a type (switched off: no longer offered; activities keep it)."""
    _check_type_editor(actor, activity_type.program)
    values = _clean_activity_type(
        activity_type.program, {k: v for k, v in values.items() if k in ACTIVITY_TYPE_FIELDS}, activity_type=activity_type
    )
    activity_type = ActivityType.objects.select_for_update().get(pk=activity_type.pk)
    for key, value in values.items():
        setattr(activity_type, key, value)
    activity_type.save(update_fields=list(values))
    return activity_type
# ---------------------------------------------------------------------------------------------------------
# Ledger import (台账导入): activities and hours from a spreadsheet, through the same validation and status
# flow as typed ones (activities/ledger.py reads the rows; portal.services runs the batch)
# ---------------------------------------------------------------------------------------------------------

LEDGER_CONFIRMED_REASON = "confirmed by ledger import"


def activity_import_errors(*, fields, branch, metric_values, link_known=False):
    """What `activities_import` would refuse, by field (the metric errors under "metric_values"). `link_known`:
    the caller read the branch from the pairing's own links (the ledger's batch context), so it is not asked
    again."""
    errors = _validate_fields(fields, branch=branch, today=timezone.localdate(), link_known=link_known)
    metric_errors = _validate_metrics(metric_values, program_id=fields.program_id)
    if metric_errors:
        errors["metric_values"] = metric_errors
    return errors


@dataclass(frozen=True)
class ImportEntry:
    """One activity of a ledger: what it says, the branch that held it, its figures and the status it enters in;
    `row` names it in error messages (the row of the file)."""

    fields: ActivityFields
    branch: Organization
    metric_values: tuple = ()
    status: str = Status.DRAFT
    row: object = None


IMPORT_CHUNK = 500


def _import_co_host_errors(entries):
    """The ledger's co-hosts outside the rule of `_validate_co_branches` (permissions.cohosting_branches: in a
    pairing, the branches taking part in it; program-wide, those of the host's supporting side(s) taking part in the
    program; never the host), read for every entry at once."""
    named = [entry for entry in entries if entry.fields.co_branches]
    if not named:
        return []
    taking_part, sides = set(), defaultdict(set)  # (pairing, branch); (program, branch) -> its supporting sides
    for pairing_id, program_id, supporter_id, branch_id in PairingBranch.objects.filter(
        pairing__program_id__in={entry.fields.program_id for entry in named}
    ).values_list("pairing_id", "pairing__program_id", "pairing__supporter_id", "branch_id"):
        taking_part.add((pairing_id, branch_id))
        sides[(program_id, branch_id)].add(supporter_id)

    def allowed(entry, org):
        if org.pk == entry.branch.pk:
            return False
        if entry.fields.pairing is not None:
            return (entry.fields.pairing.pk, org.pk) in taking_part
        program_id = entry.fields.program_id
        return bool(sides[(program_id, org.pk)] & sides[(program_id, entry.branch.pk)])

    errors = []
    for entry in named:
        for org in entry.fields.co_branches:
            if not allowed(entry, org):
                message = _("“%(branch)s” cannot co-host this activity: choose branches of the same supporting side "
                            "taking part in the pairing (or, for an activity of the program, in the program).") % {
                    "branch": org.name}
                errors.append(_("Row %(row)s: %(reason)s") % {"row": entry.row, "reason": message}
                              if entry.row is not None else message)
    return errors


def ledger_moment(day):
    """When a ledger's activity of ``day`` counts as reported: the last second of its day (Asia/Shanghai), or now
    for an activity of today."""
    return end_of_day(day) - datetime.timedelta(seconds=1)


@transaction.atomic
def activities_import(*, actor, entries, batch_label=""):
    """Record the activities of a ledger, all or nothing, through the same rules as a typed one: the actor
    records in that pairing and branch (activities.permissions.importable_pairing_branches), the fields and
    figures pass the form's validation, and each enters the status flow as a draft, submitted (the village is
    asked to confirm once for the lot, `activities_submitted_in_bulk`) or — only when a program admin of the program
    imports a ledger's past activities — confirmed by that admin. A submitted or confirmed one is so as of the
    last second of its own day (`ledger_moment`): a ledger is the past, and a past period's report built after
    the import counts it. The audit trail holds one row per activity, dated when it entered the portal:
    "created by ledger import #n", or "confirmed by ledger import #n".

    Written per chunk with bulk inserts (activities, metric values and their history); the figures rollup is
    told once, with every activity (`activities_saved_in_bulk`), and refreshes each touched (pairing, month) once
    when the transaction commits. Returns the activities' ids, in the order of `entries`."""
    entries = list(entries)
    program_ids = {entry.fields.program_id for entry in entries}
    links, confirmers = set(), set()
    for program_id in program_ids:
        for pairing_id, branch_id in importable_pairing_branches(actor, program_id).values_list("pairing_id", "branch_id"):
            # a program-wide activity (no pairing) is recorded by a branch the actor imports for in the program
            links.update({(pairing_id, branch_id), ((None, program_id), branch_id)})
        if may_import_confirmed(actor, program_id):
            confirmers.add(program_id)
    today, errors = timezone.localdate(), []
    for entry in entries:
        fields = entry.fields
        where = fields.pairing.pk if fields.pairing is not None else (None, fields.program_id)
        if (where, entry.branch.pk) not in links:
            raise PermissionDenied(_("You do not record activities in this pairing."))
        if entry.status not in (Status.DRAFT, Status.SUBMITTED, Status.CONFIRMED):
            raise ValidationError({"status": _("An activity is imported as a draft, submitted or confirmed.")})
        if entry.status == Status.CONFIRMED and fields.program_id not in confirmers:
            raise PermissionDenied(_("Only the program admin may import activities as confirmed."))
        found = _validate_fields(fields, branch=entry.branch, today=today, link_known=True)
        metric_errors = _validate_metrics(entry.metric_values, program_id=fields.program_id)
        for message in [*found.values(), *metric_errors]:
            errors.append(_("Row %(row)s: %(reason)s") % {"row": entry.row, "reason": message}
                          if entry.row is not None else str(message))
    errors.extend(_import_co_host_errors(entries))
    if errors:
        raise ValidationError(errors)
    created_reason = f"created by ledger import {batch_label}".strip()
    confirmed_reason = f"{LEDGER_CONFIRMED_REASON} {batch_label}".strip()
    saved, submitted = [], []
    for start in range(0, len(entries), IMPORT_CHUNK):
        chunk = entries[start:start + IMPORT_CHUNK]
        now = timezone.now()
        activities = []
        for entry in chunk:
            activity = Activity(branch=entry.branch, created_by=actor, status=entry.status,
                                **_field_values(entry.fields))
            activity._change_reason = created_reason
            if entry.status in (Status.SUBMITTED, Status.CONFIRMED):
                # A ledger records the past: the activity was reported (and, for the admin's import, confirmed)
                # on its own day, so a past period's report built after the import counts it as the ledger
                # says. The audit trail keeps when it really entered the portal (the history row below).
                activity.submitted_at = min(ledger_moment(entry.fields.date), now)
            if entry.status == Status.CONFIRMED:
                activity.confirmed_at, activity.confirmed_by = activity.submitted_at, actor
                activity._change_reason = confirmed_reason
            activities.append(activity)
        Activity.objects.bulk_create(activities)
        # the audit trail: one row per activity, as it entered the portal ("created by ledger import #n", or
        # "confirmed by ledger import #n"), dated now
        Activity.history.bulk_history_create(activities, default_user=actor, default_date=now)
        values = [
            ActivityMetricValue(activity=activity, metric=metric_entry.metric, value=metric_entry.value)
            for activity, entry in zip(activities, chunk) for metric_entry in entry.metric_values
        ]
        co_hosts = [
            CoHost(activity_id=activity.pk, organization_id=org.pk)
            for activity, entry in zip(activities, chunk) for org in entry.fields.co_branches or ()
        ]
        if co_hosts:  # before the bulk signal below: the kept co-host ids are read from these rows
            CoHost.objects.bulk_create(co_hosts)
        if values:
            ActivityMetricValue.objects.bulk_create(values)
            ActivityMetricValue.history.bulk_history_create(values, default_user=actor,
                                                            default_change_reason=created_reason, default_date=now)
        saved.extend(activity.pk for activity in activities)
        submitted.extend(activity.pk for activity in activities if activity.status == Status.SUBMITTED)
    # bulk inserts send no post_save: tell the listeners (the figures app's rollup) once
    activities_saved_in_bulk.send(sender=Activity, activity_ids=saved, using=Activity.objects.db)
    if submitted:  # the villages are asked to confirm once for the lot (one notice per pairing), not per activity
        activities_submitted_in_bulk.send(sender=Activity, activity_ids=submitted, actor=actor, batch_label=batch_label)
    return saved


def activity_import(*, actor, fields, branch, metric_values=(), status=Status.DRAFT, batch_label=""):
    """One activity of a ledger (`activities_import` with one entry)."""
    entry = ImportEntry(fields=fields, branch=branch, metric_values=tuple(metric_values), status=status)
    (activity_id,) = activities_import(actor=actor, entries=[entry], batch_label=batch_label)
    return Activity.objects.get(pk=activity_id)


@transaction.atomic
def activities_import_undo(*, actor, activity_ids, since):
    """Delete the activities a ledger import created, unless something was built on them since `since` (the
    import's time): then nothing is deleted and the reasons are raised."""
    activities = list(Activity.all_objects.filter(pk__in=activity_ids).select_related("pairing"))
    blockers = activities_import_undo_blockers(activity_ids=activity_ids, since=since)
    if blockers:
        raise ValidationError(blockers)
    for activity in activities:
        _history_note(activity, actor, "deleted: ledger import undone")
        activity.delete()


def activities_import_undo_blockers(*, activity_ids, since):
    """Why the activities created by an import cannot be taken back: changed since (confirmed or returned by
    the village, edited), photos or volunteer hours added, a need answered with them."""
    reasons = []
    changed = Activity.all_objects.filter(pk__in=activity_ids).filter(
        Q(updated_at__gt=since) | Q(photos__isnull=False) | Q(service_records__isnull=False) | Q(deleted_at__isnull=False)
        | Q(need__isnull=False)
    ).distinct().order_by("date", "id")[:20]
    for activity in changed:
        reasons.append(_("“%(title)s” (%(date)s) has changed or gained photos or hours since the import.")
                       % {"title": activity.title, "date": activity.date.isoformat()})
    return reasons


# ---------------------------------------------------------------------------------------------------------
# The service-hours ledger: hours of many activities at once, with the rules of typed ones (_validate_hours)
# ---------------------------------------------------------------------------------------------------------

HOURS_PLACES = Decimal("0.1")  # ServiceRecord.hours keeps one decimal place


@dataclass(frozen=True)
class HoursImportEntry:
    """One row of an hours ledger: this volunteer served this long in this activity; `row` names it in errors."""

    activity: Activity
    volunteer: Volunteer
    hours: Decimal
    content: str = ""
    row: object = None


def hours_import_errors(*, hours):
    """What is wrong with a number of hours whatever the activity (the form's rules): None when it is fine."""
    if hours is None or hours <= 0:
        return _("Hours must be more than zero.")
    if hours > MAX_DAY_HOURS:
        return _("No one serves more than 24 hours a day.")
    if hours != hours.quantize(HOURS_PLACES):
        return _("Hours are recorded to one decimal place (e.g. 2.5).")
    return None


@transaction.atomic
def service_records_import(*, actor, entries, batch_label=""):
    """Record the hours of a ledger, all or nothing, with the rules of typed hours: the actor imports for the
    activity's pairing and branch (activities.permissions.importable_pairing_branches), the volunteer may serve on
    that branch's activities (`serving_volunteers`), hours are more than 0 and at most 24 with one decimal, and a
    volunteer's hours on one day, in all activities, stay within 24. Hours enter as recorded (谁记录谁证明: the
    organising side verifies them afterwards), never verified. A volunteer already recorded on the activity gets
    the file's hours and content when they differ, unless those hours are verified (then: an error).

    Returns, per entry: (outcome "new" / "updated" / "unchanged", record id, previous {"hours", "content"} or None)."""
    entries = list(entries)
    if not entries:
        return []

    def say(entry, message):
        return (_("Row %(row)s: %(reason)s") % {"row": entry.row, "reason": message}) if entry.row is not None \
            else str(message)

    activity_ids = {entry.activity.pk for entry in entries}
    activities = Activity.objects.select_for_update(of=("self",)).in_bulk(activity_ids)  # alive ones only
    links = set()
    for program_id in {activity.program_id for activity in activities.values()}:
        for pairing_id, branch_id in importable_pairing_branches(actor, program_id).values_list("pairing_id", "branch_id"):
            # a program-wide activity's hours: a branch the actor imports for in the program
            links.update({(pairing_id, branch_id), ((None, program_id), branch_id)})
    serving = {}
    for branch_id in {activity.branch_id for activity in activities.values()}:
        picked = {entry.volunteer.pk for entry in entries if entry.activity.branch_id == branch_id}
        serving[branch_id] = set(serving_volunteers([branch_id]).filter(id__in=picked).values_list("id", flat=True))
    existing = {
        (record.activity_id, record.volunteer_id): record
        for record in ServiceRecord.objects.select_for_update(of=("self",)).filter(activity_id__in=activity_ids)
    }
    errors, seen, plan = [], set(), []
    for entry in entries:
        activity = activities.get(entry.activity.pk)
        where = activity.pairing_id if activity is not None and activity.pairing_id is not None else (
            None, activity.program_id if activity is not None else None)
        if activity is None or (where, activity.branch_id) not in links:
            raise PermissionDenied(_("You do not record activities in this pairing."))
        volunteer = entry.volunteer
        key = (activity.pk, volunteer.pk)
        if volunteer.pk not in serving[activity.branch_id] and key not in existing:
            errors.append(say(entry, _("“%(name)s” cannot serve on this branch's activities: pick a volunteer of the "
                                       "branch or of a village it is paired with, or a member of their teams.")
                              % {"name": volunteer.name}))
            continue
        problem = hours_import_errors(hours=entry.hours)
        if problem:
            errors.append(say(entry, problem))
            continue
        if key in seen:
            errors.append(say(entry, _("“%(name)s” is listed twice.") % {"name": volunteer.name}))
            continue
        seen.add(key)
        content = entry.content.strip()[:120]
        record = existing.get(key)
        if record is None:
            plan.append(("new", entry, activity, content, None))
        elif (record.hours, record.content) == (entry.hours, content):
            plan.append(("unchanged", entry, activity, content, record))
        elif record.status == ServiceRecord.Status.VERIFIED:
            errors.append(say(entry, _("The verified hours of “%(name)s” cannot be changed.") % {"name": volunteer.name}))
        else:
            plan.append(("updated", entry, activity, content, record))
    if errors:
        raise ValidationError(errors)
    # a day has 24 hours: what each volunteer has on each of the file's days elsewhere, plus the file's hours
    replaced = {record.pk for outcome, _e, _a, _c, record in plan if record is not None}
    days = {(entry.volunteer.pk, activity.date) for _o, entry, activity, _c, _r in plan}
    totals = defaultdict(Decimal)
    volunteer_ids = {volunteer_id for volunteer_id, _day in days}
    for start_at in range(0, len(volunteer_ids), 1000):
        chunk = sorted(volunteer_ids)[start_at:start_at + 1000]
        for volunteer_id, day, hours in (
            ServiceRecord.objects.filter(volunteer_id__in=chunk, activity__date__in={d for _v, d in days},
                                         activity__deleted_at__isnull=True)
            .exclude(pk__in=replaced)
            .values_list("volunteer_id", "activity__date", "hours")
        ):
            if (volunteer_id, day) in days:
                totals[(volunteer_id, day)] += hours
    for _outcome, entry, activity, _content, _record in plan:
        totals[(entry.volunteer.pk, activity.date)] += entry.hours
    told = set()
    for _outcome, entry, activity, _content, _record in plan:
        day_key = (entry.volunteer.pk, activity.date)
        if totals[day_key] > MAX_DAY_HOURS and day_key not in told:
            told.add(day_key)
            errors.append(say(entry, _("“%(name)s” would have %(total)s hours on %(date)s in all. A day has 24.")
                              % {"name": entry.volunteer.name, "total": totals[day_key].normalize(),
                                 "date": activity.date.isoformat()}))
    if errors:
        raise ValidationError(errors)

    reason = f"recorded by ledger import {batch_label}".strip()
    now = timezone.now()
    created = [
        ServiceRecord(activity=activity, volunteer=entry.volunteer, hours=entry.hours, content=content,
                      recorded_by=actor, status=ServiceRecord.Status.RECORDED)
        for outcome, entry, activity, content, _record in plan if outcome == "new"
    ]
    ServiceRecord.objects.bulk_create(created, batch_size=IMPORT_CHUNK)
    if created:
        ServiceRecord.history.bulk_history_create(created, default_user=actor, default_change_reason=reason,
                                                  default_date=now)
    updated, results, made = [], [], iter(created)
    for outcome, entry, activity, content, record in plan:
        if outcome == "new":
            results.append(("new", next(made).pk, None))
        elif outcome == "updated":
            previous = {"hours": str(record.hours), "content": record.content}
            record.hours, record.content = entry.hours, content
            updated.append(record)
            results.append(("updated", record.pk, previous))
        else:
            results.append(("unchanged", record.pk, None))
    if updated:
        bulk_update_with_history(updated, ServiceRecord, ["hours", "content"], batch_size=IMPORT_CHUNK,
                                 default_user=actor, default_change_reason=reason, default_date=now)
    touched = {activity.pk: activity for outcome, _e, activity, _c, _r in plan if outcome != "unchanged"}
    if touched:
        # bulk writes send no post_save: tell the listeners (the figures app's rollup) once
        service_records_changed.send(sender=ServiceRecord, activity_ids=set(touched), using=ServiceRecord.objects.db)
        # counted activities: their branch verifies the hours (谁记录谁证明); one announcement for the lot
        counted = [pk for pk, activity in touched.items() if activity.status in COUNTED_STATUSES]
        if counted:
            hours_recorded_in_bulk.send(sender=Activity, activity_ids=counted, actor=actor, batch_label=batch_label)
    return results


def service_records_import_undo_blockers(*, record_ids):
    """Why hours a ledger import recorded cannot be taken back: verified (or removed) since."""
    records = ServiceRecord.all_objects.filter(pk__in=record_ids).filter(
        Q(status=ServiceRecord.Status.VERIFIED) | Q(deleted_at__isnull=False)
    ).select_related("volunteer", "activity").order_by("activity__date", "id")[:20]
    return [_("The hours of “%(name)s” in “%(title)s” have been verified or removed since the import.")
            % {"name": record.volunteer.name, "title": record.activity.title} for record in records]


@transaction.atomic
def service_records_import_undo(*, actor, created_ids, previous):
    """Take back what a ledger import of hours did: the records it created are deleted, those it changed get
    their hours and content back (`previous`: {record id: {"hours", "content"}}). Refused, nothing changed, when
    any of them has been verified or removed since."""
    blockers = service_records_import_undo_blockers(record_ids=[*created_ids, *previous])
    if blockers:
        raise ValidationError(blockers)
    records = ServiceRecord.all_objects.select_for_update(of=("self",)).in_bulk([*created_ids, *previous])
    activity_ids = {record.activity_id for record in records.values()}
    for record_id in created_ids:
        record = records.get(record_id)
        if record is not None:
            record._history_user = actor
            record._change_reason = "deleted: ledger import undone"
            record.delete()
    for record_id, values in previous.items():
        record = records.get(int(record_id))
        if record is not None:
            record.hours, record.content = Decimal(values["hours"]), values["content"]
            record._history_user = actor
            record._change_reason = "ledger import undone"
            record.save(update_fields=["hours", "content"])
    if activity_ids:
        service_records_changed.send(sender=ServiceRecord, activity_ids=activity_ids, using=ServiceRecord.objects.db)


# ---------------------------------------------------------------------------------------------------------
# Never twice: a form's submit_key saves once
# ---------------------------------------------------------------------------------------------------------


class AlreadySaved(Exception):
    """The form's submit_key was used before by the same user: `activity` is what that save made (None if gone)."""

    def __init__(self, activity):
        super().__init__("already saved")
        self.activity = activity


@transaction.atomic
def activity_save_once(*, actor, submit_key, save):
    """Run `save` (a call of activity_create or activity_update, returning its SaveResult) at most once per
    (actor, submit_key); without a key, just run it.

    The key's row is inserted before anything else, in the save's transaction: a second request with the same
    key (a double tap, a retry after a dropped answer, the offline queue sending again) waits on the unique
    index until the first commits, then finds its activity and raises AlreadySaved. If the first fails, its
    row rolls back with it and the key is free for the corrected form."""
    if submit_key is None:
        return save()
    try:
        with transaction.atomic():
            claim = SubmitKey.objects.create(created_by=actor, key=submit_key)
    except IntegrityError:
        earlier = SubmitKey.objects.filter(created_by=actor, key=submit_key).select_related("activity").first()
        raise AlreadySaved(earlier.activity if earlier is not None else None) from None
    result = save()
    claim.activity = result.activity
    claim.save(update_fields=["activity"])
    return result


# ---------------------------------------------------------------------------------------------------------
# Photos uploaded as soon as they are picked: held for the uploader's form by a token, attached when the
# activity is saved (activity_create / activity_update, as HeldPhoto items of `new_photos`), purged unattached
# ---------------------------------------------------------------------------------------------------------

# Photos one person may hold at once: two activities' worth (a form may be abandoned, then filled again).
MAX_HELD_PHOTOS = 2 * MAX_PHOTOS_PER_ACTIVITY
PURGE_BATCH = 200


@dataclass(frozen=True)
class HeldPhoto:
    """A photo uploaded on pick, to become the activity's: its token as the form sent it, caption, minors flag."""

    token: str
    caption: str = ""
    shows_minors: bool = False


def _held_for_attaching(actor, tokens):
    """The actor's own held photos for these tokens, locked so a photo is attached once; a token that is not the
    actor's, expired, or attached already is an error for the form."""
    if not tokens:
        return {}
    hashes = {PhotoUpload.hash_token(token): token for token in tokens}
    found = {
        hashes[upload.token_hash]: upload
        for upload in PhotoUpload.objects.select_for_update().held().filter(owner=actor, token_hash__in=hashes)
    }
    if len(found) < len(hashes):
        raise ValidationError({"new_photos": _(
            "Some photos you added have expired or cannot be used here: remove them and add them again."
        )})
    return found


def _attach_held(activity, upload, item, *, actor):
    photo = ActivityPhoto(
        activity=activity,
        caption=item.caption.strip()[:120],
        shows_minors=item.shows_minors,
        sha256=upload.sha256,
        dhash=int(upload.dhash, 16) if upload.dhash else None,
        width=upload.width,
        height=upload.height,
    )
    # the held files become the photo's (same storage, same folders): nothing is copied
    photo.image.name = upload.image.name
    photo.thumbnail.name = upload.thumbnail.name
    photo._history_user = actor
    photo.save()
    upload.attached_to = photo
    upload.attached_at = timezone.now()
    upload.save(update_fields=["attached_to", "attached_at"])
    return photo


@transaction.atomic
def photo_upload_hold(*, owner, photo, name=""):
    """Hold a cleaned photo (activities.images.CleanPhoto) for `owner`'s activity form. Returns (upload, token):
    the token is given once, to the uploader; only its hash is kept."""
    if PhotoUpload.objects.held().filter(owner=owner).count() >= MAX_HELD_PHOTOS:
        raise ValidationError(
            _("You have %(limit)d photos waiting for an activity. Save the activity first, then add more.")
            % {"limit": MAX_HELD_PHOTOS},
            code="too_many_held",
        )
    token = secrets.token_urlsafe(24)
    upload = PhotoUpload(
        owner=owner,
        token_hash=PhotoUpload.hash_token(token),
        name=str(name or "")[:120],
        sha256=photo.sha256,
        dhash=format(photo.dhash, "016x") if photo.dhash is not None else "",
        width=photo.width,
        height=photo.height,
    )
    with _PhotoFiles() as files:
        photo.image.seek(0)
        photo.thumbnail.seek(0)
        upload.image.save(photo.image.name, photo.image, save=False)
        files.names.append(upload.image.name)
        upload.thumbnail.save(photo.thumbnail.name, photo.thumbnail, save=False)
        files.names.append(upload.thumbnail.name)
        upload.size = upload.image.size
        upload.save()
    return upload, token


def photo_upload_create(*, owner, file, budget=None):
    """Check and re-encode an uploaded file as the activity form does (activities.images.clean_photo), then hold
    it for `owner` (photo_upload_hold). Raises ValidationError with the form's message."""
    photo = clean_photo(file, budget=budget if budget is not None else PixelBudget())
    return photo_upload_hold(owner=owner, photo=photo, name=getattr(file, "name", ""))


def photo_uploads_purge(*, now=None, batch=PURGE_BATCH):
    """Remove the photos held longer than PHOTO_UPLOAD_TTL and never attached: their rows, then (once that is
    committed) their files. One transaction per batch; rows being attached meanwhile are skipped (locked).
    Returns how many were removed."""
    cutoff = (now or timezone.now()) - PHOTO_UPLOAD_TTL
    storage = PhotoUpload._meta.get_field("image").storage
    removed = 0
    while True:
        with transaction.atomic():
            stale = list(
                PhotoUpload.objects.select_for_update(skip_locked=True)
                .filter(attached_at__isnull=True, created_at__lte=cutoff)
                .order_by("pk")
                .only("pk", "image", "thumbnail")[:batch]
            )
            if not stale:
                return removed
            names = [name for upload in stale for name in (upload.image.name, upload.thumbnail.name) if name]
            PhotoUpload.objects.filter(pk__in=[upload.pk for upload in stale]).delete()
            transaction.on_commit(lambda names=names: [storage.delete(name) for name in names])
            removed += len(stale)


def submit_keys_purge(*, now=None, batch=PURGE_BATCH):
    """Forget the submit keys older than SUBMIT_KEY_TTL, one batch per transaction. Returns how many went."""
    cutoff = (now or timezone.now()) - SUBMIT_KEY_TTL
    removed = 0
    while True:
        with transaction.atomic():
            ids = list(SubmitKey.objects.filter(created_at__lte=cutoff).order_by("pk").values_list("pk", flat=True)[:batch])
            if not ids:
                return removed
            SubmitKey.objects.filter(pk__in=ids).delete()
            removed += len(ids)
