import datetime
import hashlib

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from activities.images import join_bands, split_bands
from pairings.models import (
    Liaison, Metric, Pairing, PairingBranch, PlanItem, Program, pairing_visibility, program_admin_q,
)
from portal.models import AliveManager, Organization, SoftDeleteQuerySet
from portal.permissions import scope_for
from volunteers.models import Volunteer


# Past this many pairings the scope goes to the database as a subquery rather than a list of ids.
LITERAL_IDS_CAP = 200


def _any(*terms):
    combined = Q(pk__in=[])
    for term in terms:
        combined |= term
    return combined


class ActivityQuerySet(SoftDeleteQuerySet):
    """Everyone who reads a pairing reads its activities, except drafts: those only the supporting side
    sees. A branch secretary writes their branch's drafts and returned activities; the village confirms."""

    path = ""

    def bulk_create(self, objs, *args, **kwargs):
        """As Activity.save: an activity of a pairing left without its program gets the pairing's (one query)."""
        objs = list(objs)
        if self.model is Activity:
            missing = {obj.pairing_id for obj in objs if obj.program_id is None and obj.pairing_id is not None}
            if missing:
                programs = dict(Pairing.objects.using(self.db).filter(pk__in=missing).values_list("pk", "program_id"))
                for obj in objs:
                    if obj.program_id is None and obj.pairing_id is not None:
                        obj.program_id = programs.get(obj.pairing_id)
        return super().bulk_create(objs, *args, **kwargs)

    def _supporter_side(self, scope, user):
        # only the terms that can hold for this user: each one more is built and compiled on every list page
        terms = []
        if scope.admin_orgs:
            terms.append(program_admin_q(user, f"{self.path}program__"))
        if scope.supporter_orgs:
            terms.append(Q(**{f"{self.path}branch_id__in": scope.supporter_orgs}))
        return _any(*terms)

    def _program_wide(self, scope, user):
        """The program-wide activities (no pairing) the user reads, drafts included: those of the branches they
        reach on the supporting side (the branch, its organisation's committee) and of the programs they
        administer. Never a village's: no village is served."""
        return Q(**{f"{self.path}pairing__isnull": True}) & self._supporter_side(scope, user)

    def visible_to(self, user, *, pairing_ids=None, administered_ids=(), part=None):
        """`pairing_ids`, when given, are the pairings the user reads, already read this request (with
        `administered_ids`, those of them whose program the user administers): the same rule then goes to the
        database as literal id lists, which PostgreSQL estimates well, so it walks the (pairing, date, id)
        index for a few pairings or the (date, id) index for many, and stops after a page, where the OR of
        subqueries below makes it guess and read far more.

        `part`, with at most LITERAL_IDS_CAP `pairing_ids`: "pairings" for the rule's activities of a pairing
        alone, "program_wide" for its activities of no pairing alone. The two are disjoint, and together they are
        the whole rule's rows. Each reads as one plain condition where the whole is an OR of the two, which
        PostgreSQL answers only through the table's pages: counted as two parts, a secretary's list is counted
        from the (pairing, …) index alone (selectors.activity_list_parts)."""
        if part is not None and (
            part not in ("pairings", "program_wide") or pairing_ids is None or len(set(pairing_ids)) > LITERAL_IDS_CAP
        ):
            raise ValueError(f"visible_to(part={part!r}) is for at most {LITERAL_IDS_CAP} literal pairing ids")
        scope = scope_for(user)
        if scope.is_superuser:
            if part is None:
                return self.all()
            return self.filter(**{f"{self.path}pairing_id__isnull": part == "program_wide"})
        not_draft = ~Q(**{f"{self.path}status": Activity.Status.DRAFT})
        program_wide = self._program_wide(scope, user)
        if pairing_ids is None:
            return self.filter(pairing_visibility(user, f"{self.path}pairing__") | program_wide).filter(
                not_draft | self._supporter_side(scope, user)
            )
        pairing_ids = sorted(set(pairing_ids))
        administered = sorted(set(administered_ids).intersection(pairing_ids))
        of_pairings = Q(**{f"{self.path}pairing_id__in": pairing_ids})
        if len(pairing_ids) <= LITERAL_IDS_CAP:
            terms = {None: of_pairings | program_wide, "pairings": of_pairings, "program_wide": program_wide}
            readable = self.filter(terms[part])
        elif administered == pairing_ids:
            # most pairings, all of them the admin's (a province's program admin): every activity of their programs,
            # of a pairing or program-wide (an activity's program is its pairing's), as one plain condition on the
            # activity's own column, which PostgreSQL checks while it walks the date (or the search) index
            readable = self.filter(
                **{f"{self.path}program_id__in": Program.objects.filter(program_admin_q(user)).values("id")}
            )
        else:
            # most pairings: the estimate no longer matters (the date index is walked anyway), a long list only
            # costs planning; the same pairings as a subquery
            readable = self.filter(pairing_visibility(user, f"{self.path}pairing__") | program_wide)
        if administered == pairing_ids:  # the program admin sees drafts in every one of them
            return readable
        drafts_seen = []
        if scope.supporter_orgs:
            drafts_seen.append(Q(**{f"{self.path}branch_id__in": sorted(scope.supporter_orgs)}))
        if scope.admin_orgs:  # the program-wide drafts of their programs (the branches' are in the term above)
            drafts_seen.append(program_wide)
        if len(administered) > LITERAL_IDS_CAP:
            drafts_seen.append(program_admin_q(user, f"{self.path}pairing__program__"))
        elif administered:
            drafts_seen.append(Q(**{f"{self.path}pairing_id__in": administered}))
        return readable.filter(_any(not_draft, *drafts_seen))

    def visible_in_pairing(self, user, pairing_id, *, administers):
        """`visible_to(user)` narrowed to the activities of one pairing the user reads (found through visible_to):
        with the pairing fixed, the rule's program-wide half drops out (such activities have no pairing) and what
        is left is one plain condition (its drafts for its program's admin and the branches the user reaches).
        Filtering visible_to by the pairing gives the same rows, but PostgreSQL multiplies the pairing's condition
        twice, expects three rows and reads all of the pairing's before its first page."""
        of_pairing = self.filter(**{f"{self.path}pairing_id": pairing_id})
        drafts_of = self.drafts_seen_in_pairing(user, administers=administers)
        if drafts_of is None:
            return of_pairing
        not_draft = ~Q(**{f"{self.path}status": Activity.Status.DRAFT})
        drafts_seen = Q(**{f"{self.path}branch_id__in": drafts_of}) if drafts_of else Q(pk__in=[])
        return of_pairing.filter(not_draft | drafts_seen)

    @staticmethod
    def drafts_seen_in_pairing(user, *, administers):
        """Whose drafts `visible_in_pairing` shows: None for all of them (a superuser, the program's admin), else
        the sorted ids of the branches whose drafts the user sees (the supporting side they reach). Everything
        else of the pairing is the same for all its readers, so this is what a cached list of it is kept per."""
        scope = scope_for(user)
        if scope.is_superuser or administers:
            return None
        return sorted(scope.supporter_orgs)

    def editable_by(self, user):
        scope = scope_for(user)
        if scope.is_superuser:
            return self.all()
        own_open = Q(
            **{
                f"{self.path}branch_id__in": scope.secretary_orgs,
                f"{self.path}status__in": OPEN_STATUSES,
            }
        )
        return self.filter(_any(own_open, program_admin_q(user, f"{self.path}program__")))

    def counted(self):
        """The rows that count in figures and plan progress: of an activity submitted or confirmed, not deleted
        (`counted_q`; docs/figures.md, "Which activities count")."""
        return self.filter(counted_q(self.path))

    def confirmable_by(self, user):
        """Submitted activities in a village whose committee the user sits on (验单); a program-wide one, which
        serves no village, is confirmed by the program's admins."""
        scope = scope_for(user)
        q = Q(**{f"{self.path}status": Activity.Status.SUBMITTED})
        if scope.is_superuser:
            return self.filter(q)
        program_wide = Q(**{f"{self.path}pairing__isnull": True}) & program_admin_q(user, f"{self.path}program__")
        return self.filter(q).filter(Q(**{f"{self.path}pairing__supported_id__in": scope.village_orgs}) | program_wide)


class ActivityPartQuerySet(ActivityQuerySet):
    """Photos, metric values and service records: seen with their activity, written by its branch."""

    path = "activity__"


class ServiceRecordQuerySet(ActivityPartQuerySet):
    def editable_by(self, user):
        """The organising side records and verifies hours (谁记录谁证明), whatever the activity's status."""
        scope = scope_for(user)
        if scope.is_superuser:
            return self.all()
        return self.filter(
            _any(
                Q(activity__branch_id__in=scope.secretary_orgs),
                program_admin_q(user, "activity__program__"),
            )
        )

    def awaiting_verification(self):
        """Recorded hours waiting for the organising side: not deleted, on an activity that is submitted or
        confirmed (`pending_q`, the pending hours of every figure). Hours on a draft or a returned activity wait
        for the activity first."""
        return self.filter(pending_q(""))


class NeedQuerySet(SoftDeleteQuerySet):
    """Needs are read with their pairing; the village raises, edits and rates them, a branch claims."""

    def visible_to(self, user):
        return self.filter(pairing_visibility(user, "pairing__"))

    def editable_by(self, user):
        scope = scope_for(user)
        if scope.is_superuser:
            return self.all()
        return self.filter(
            _any(Q(pairing__supported_id__in=scope.village_orgs), program_admin_q(user, "pairing__program__"))
        )

    def claimable_by(self, user):
        scope = scope_for(user)
        q = Q(status=Need.Status.OPEN)
        if scope.is_superuser:
            return self.filter(q)
        return self.filter(q, pairing__pairing_branches__branch_id__in=scope.secretary_orgs).distinct()


class ActivityTypeQuerySet(models.QuerySet):
    def offered_for(self, program_ids):
        """The active types a form offers for pairings of these programs: the shared ones and theirs."""
        return self.filter(Q(program__isnull=True) | Q(program_id__in=list(program_ids)), is_active=True)

    def set_up_by(self, user):
        """The types this user may change: their programs' own; the shared ones only for a superuser."""
        if scope_for(user).is_superuser:
            return self.all()
        return self.filter(program__in=Program.objects.set_up_by(user))


class ActivityType(models.Model):
    """A kind of activity from the catalog: 主题党日, 联席会议, 志愿服务, 技能培训 … Shared by every program (no
    program) or a program's own."""

    program = models.ForeignKey(
        Program,
        verbose_name=_("program"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="activity_types",
        help_text=_("Empty: shared by every program."),
    )
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=40)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    objects = ActivityTypeQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("activity type")
        verbose_name_plural = _("activity types")
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["code"], condition=Q(program__isnull=True), name="activitytype_unique_shared_code"
            ),
            models.UniqueConstraint(
                fields=["name"], condition=Q(program__isnull=True), name="activitytype_unique_shared_name"
            ),
            models.UniqueConstraint(fields=["program", "code"], name="activitytype_unique_program_code"),
            models.UniqueConstraint(fields=["program", "name"], name="activitytype_unique_program_name"),
        ]

    def __str__(self):
        return self.name


class Need(models.Model):
    """A need or small wish (微心愿) raised by the village and answered by a branch: 需求—响应—反馈."""

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        CLAIMED = "claimed", _("claimed")
        FULFILLED = "fulfilled", _("fulfilled")
        CLOSED = "closed", _("closed")

    class Category(models.TextChoices):
        REPAIR = "repair", _("repairs (维修)")
        HEALTH = "health", _("health (健康)")
        EDUCATION = "education", _("education (教育)")
        ELDERLY = "elderly", _("elderly care (助老)")
        CHILDREN = "children", _("children (关爱儿童)")
        INDUSTRY = "industry", _("industry (产业)")
        ENVIRONMENT = "environment", _("environment (环境)")
        CULTURE = "culture", _("culture (文化)")
        OTHER = "other", _("other")

    pairing = models.ForeignKey(Pairing, verbose_name=_("pairing"), on_delete=models.PROTECT, related_name="needs")
    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    category = models.CharField(_("category"), max_length=16, choices=Category.choices, default=Category.OTHER)
    wanted_by = models.CharField(_("wanted by"), max_length=60, blank=True)
    mask_wanted_by = models.BooleanField(_("mask the person's name"), default=False)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("raised by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    raised_at = models.DateTimeField(_("raised at"))
    claimed_by_branch = models.ForeignKey(
        Organization, verbose_name=_("claimed by"), null=True, blank=True, on_delete=models.PROTECT, related_name="claimed_needs"
    )
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    fulfilled_at = models.DateTimeField(_("fulfilled at"), null=True, blank=True)
    rating = models.PositiveSmallIntegerField(_("rating"), null=True, blank=True)
    rating_comment = models.CharField(_("rating comment"), max_length=300, blank=True)
    rated_at = models.DateTimeField(_("rated at"), null=True, blank=True)
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True, editable=False)

    objects = AliveManager.from_queryset(NeedQuerySet)()
    all_objects = NeedQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("need")
        verbose_name_plural = _("needs")
        ordering = ["-raised_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5), name="need_rating_1_to_5"
            ),
            models.CheckConstraint(
                condition=Q(claimed_at__isnull=True) | Q(claimed_at__gte=F("raised_at")), name="need_claimed_after_raised"
            ),
            models.CheckConstraint(
                condition=Q(status="open") | Q(claimed_by_branch__isnull=False) | Q(status="closed"),
                name="need_claimed_has_branch",
            ),
        ]
        indexes = [models.Index(fields=["pairing", "status"]), models.Index(fields=["status", "raised_at"])]

    def __str__(self):
        return self.title


KEPT_FIELDS = (
    "kept_verified_hours", "kept_pending_hours", "kept_verified_until", "kept_co_host_ids", "kept_figures", "kept_photos",
)


class Activity(models.Model):
    """Something a branch did in a pairing, with its people, figures, photos and volunteer hours."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        SUBMITTED = "submitted", _("submitted")
        CONFIRMED = "confirmed", _("confirmed")
        RETURNED = "returned", _("returned")

    program = models.ForeignKey(Program, verbose_name=_("program"), on_delete=models.PROTECT, related_name="activities")
    # Empty for a program-wide activity of the branch that serves no paired village (a service day in a town): it
    # counts for the branch and the program, in no pairing (docs/figures.md). When set, its program is `program`.
    pairing = models.ForeignKey(
        Pairing, verbose_name=_("pairing"), null=True, blank=True, on_delete=models.PROTECT, related_name="activities",
        help_text=_("Empty for an activity of the program that serves no paired village."),
    )
    branch = models.ForeignKey(
        Organization, verbose_name=_("branch"), on_delete=models.PROTECT, related_name="activities"
    )
    co_branches = models.ManyToManyField(
        Organization, verbose_name=_("co-hosting branches"), related_name="cohosted_activities", blank=True
    )
    activity_type = models.ForeignKey(
        ActivityType, verbose_name=_("type"), on_delete=models.PROTECT, related_name="activities"
    )
    title = models.CharField(_("title"), max_length=120)
    date = models.DateField(_("date"))
    start_time = models.TimeField(_("start time"), null=True, blank=True)
    end_time = models.TimeField(_("end time"), null=True, blank=True)
    place = models.CharField(_("place"), max_length=120, blank=True)
    description = models.TextField(_("description"), blank=True)
    plan_item = models.ForeignKey(
        PlanItem, verbose_name=_("plan item"), null=True, blank=True, on_delete=models.SET_NULL, related_name="activities"
    )
    need = models.ForeignKey(
        Need, verbose_name=_("need answered"), null=True, blank=True, on_delete=models.SET_NULL, related_name="activities"
    )
    party_members = models.PositiveIntegerField(_("party members taking part"), default=0)
    teachers = models.PositiveIntegerField(_("teachers taking part"), default=0)
    students = models.PositiveIntegerField(_("students taking part"), default=0)
    residents_served = models.PositiveIntegerField(_("residents served (人次)"), default=0)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("confirmed by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    return_comment = models.CharField(_("reason for return"), max_length=300, blank=True)
    # The last correction of its counted figures after the village confirmed it (activities.services.activity_update):
    # kept as history; the village is asked again while `correction_pending`.
    correction_reason = models.CharField(_("reason for the correction"), max_length=300, blank=True)
    correction_summary = models.TextField(_("what was corrected"), blank=True)
    corrected_at = models.DateTimeField(_("corrected at"), null=True, blank=True)
    corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("corrected by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True, editable=False)
    # What the exports print of the activity's parts, kept on its row by activities.kept (refreshed in the
    # transaction that writes a service record, a metric value, a photo or a co-host), so an export of a million
    # activities reads one row each, with no lookup per row. Not the figures' definition: verified_q/pending_q
    # are; the tests compare the two (and the rollup, which adds up the kept verified hours of counted
    # activities, with verified_q's sum). Left out of the history (derived, and refreshed by QuerySet.update).
    kept_verified_hours = models.DecimalField(max_digits=8, decimal_places=1, default=0, editable=False)
    kept_pending_hours = models.DecimalField(max_digits=8, decimal_places=1, default=0, editable=False)
    # the last verification among the verified hours: a past year's export reads them as they are when it is
    # before the year's end, and from the records otherwise
    kept_verified_until = models.DateTimeField(null=True, blank=True, editable=False)
    kept_co_host_ids = models.TextField(blank=True, default="", editable=False)  # "12,40": by id
    kept_figures = models.TextField(blank=True, default="", editable=False)  # "3:12;7:2.5": by metric id
    kept_photos = models.PositiveIntegerField(default=0, editable=False)

    objects = AliveManager.from_queryset(ActivityQuerySet)()
    all_objects = ActivityQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=KEPT_FIELDS)

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        ordering = ["-date", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start_time__isnull=True) | Q(end_time__isnull=True) | Q(end_time__gte=F("start_time")),
                name="activity_end_after_start",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "returned"]) | Q(submitted_at__isnull=False),
                name="activity_submitted_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status="confirmed") | Q(confirmed_at__isnull=False), name="activity_confirmed_has_time"
            ),
        ]
        # The list's orders and filters, chosen from EXPLAIN ANALYZE at 1,000,000 activities (see
        # activities/migrations/0004). Partial on the rows the default manager shows. The columns after (date, id)
        # never change the order (id is unique); they let PostgreSQL check the scope (pairing, and for drafts
        # branch and status) and the other filters in the index alone (an index-only scan), so a page or a capped
        # count reads no table row it does not show. The type index is plain (a type's rows are mostly visible
        # to whoever filters by it); the status index covers only the rarer statuses (confirmed is most rows,
        # walked through the date index instead).
        indexes = [
            models.Index(
                fields=["date", "id", "pairing", "branch", "status", "activity_type"],
                condition=Q(deleted_at__isnull=True),
                name="activity_alive_date_idx",
            ),
            models.Index(
                fields=["pairing", "date", "id", "branch", "status", "activity_type"],
                condition=Q(deleted_at__isnull=True),
                name="activity_alive_pairing_idx",
            ),
            models.Index(
                fields=["branch", "date", "id", "pairing", "status", "activity_type"],
                condition=Q(deleted_at__isnull=True),
                name="activity_alive_branch_idx",
            ),
            models.Index(
                fields=["activity_type", "date", "id"], condition=Q(deleted_at__isnull=True), name="activity_alive_type_idx"
            ),
            models.Index(
                fields=["status", "date", "id", "pairing", "branch", "activity_type"],
                condition=Q(deleted_at__isnull=True) & ~Q(status="confirmed"),
                name="activity_open_status_idx",
            ),
            # the few program-wide activities, read by the program's rollup and the program's admins
            models.Index(
                fields=["program", "date", "id"],
                condition=Q(pairing__isnull=True, deleted_at__isnull=True),
                name="activity_program_wide_idx",
            ),
            # a past period's report asks which of its pairings' activities of the year were saved or stamped
            # since its as-at day (activities.selectors.changed_since): answered from the index alone (the 87,000
            # activities of a program's first five months: 370 ms reading them, 50 ms reading this, once vacuumed)
            models.Index(
                fields=["pairing", "date"],
                include=["status", "updated_at", "submitted_at", "confirmed_at"],
                condition=Q(deleted_at__isnull=True),
                name="activity_alive_stamps_idx",
            ),
            # plan progress (figures.achieved_by_item) reads its items' counted activities, with their status then
            # for a past period's report, from the index alone (a 551-pairing program's 1,653 plan items as at
            # 2025-06-30: 15,679 activities, 283 ms and 38,000 buffers read from the table, cold; 9–11 ms and
            # 5,300 buffers from this)
            models.Index(
                fields=["plan_item", "date"],
                include=["id", "status", "updated_at", "submitted_at", "confirmed_at"],
                condition=Q(deleted_at__isnull=True, plan_item__isnull=False),
                name="activity_plan_item_stamps_idx",
            ),
            # the queue of submitted activities waiting for their village, the oldest first (the home page of the
            # admins and committees, the village's 待验单): walked in its order and stopped after a page, the scope
            # checked from the index alone. Through the status index a province's 29,850 waiting activities were
            # all read from the table and sorted (160 ms) and counted (80 ms)
            models.Index(
                fields=["submitted_at", "id"],
                include=["pairing", "program", "branch", "status"],
                condition=Q(deleted_at__isnull=True, status="submitted"),
                name="activity_waiting_idx",
            ),
            # the deleted activities (回收站), the latest deleted first: a few thousand of a province's million, which
            # the list and its count found by reading the whole table (330 and 230 ms)
            models.Index(
                fields=["deleted_at", "id"],
                include=["pairing", "program", "branch"],
                condition=Q(deleted_at__isnull=False),
                name="activity_deleted_idx",
            ),
        ]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        # the program follows the pairing (the services set both; this covers every other writer)
        if self.program_id is None and self.pairing_id is not None:
            self.program_id = self.pairing.program_id
        super().save(*args, **kwargs)

    @property
    def is_program_wide(self):
        """An activity of the program that serves no paired village (no pairing)."""
        return self.pairing_id is None

    @property
    def correction_pending(self):
        """Whether the activity waits for the village again since a correction of its confirmed figures: it is
        submitted, and was last submitted by that correction (a return and a new submission since end the notice,
        and so does confirming it)."""
        return (
            self.status == Activity.Status.SUBMITTED
            and self.corrected_at is not None
            and self.submitted_at is not None
            and self.submitted_at <= self.corrected_at
        )

    @property
    def status_label(self):
        """get_status_display() without building the choices into a dict on every call (a list shows fifty)."""
        return self.label_of_status(self.status)

    @classmethod
    def label_of_status(cls, status):
        """The label of a status value (the value itself if it is none of the statuses)."""
        try:
            return cls.Status(status).label
        except ValueError:
            return status


# The statuses in which the branch may still change an activity (and submit it).
OPEN_STATUSES = (Activity.Status.DRAFT, Activity.Status.RETURNED)
# The statuses in which an activity counts in figures and progress: the one definition, which figures.selectors
# and the plausibility warnings read (drafts and returned activities never count).
COUNTED_STATUSES = (Activity.Status.SUBMITTED, Activity.Status.CONFIRMED)


def counted_q(prefix=""):
    """A Q over activities (reached through `prefix`) that count: submitted or confirmed, not deleted."""
    return Q(**{f"{prefix}status__in": COUNTED_STATUSES, f"{prefix}deleted_at__isnull": True})



class ActivityPhoto(models.Model):
    """A photo of an activity, re-encoded without metadata, with a thumbnail for lists."""

    activity = models.ForeignKey(Activity, verbose_name=_("activity"), on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(_("image"), upload_to="photos/%Y/%m/", max_length=200)
    thumbnail = models.ImageField(_("thumbnail"), upload_to="photos/thumbs/%Y/%m/", max_length=200, blank=True)
    caption = models.CharField(_("caption"), max_length=120, blank=True)
    shows_minors = models.BooleanField(
        _("shows minors"), default=False, help_text=_("Photos that show children are kept out of exported reports.")
    )
    sha256 = models.CharField(_("content hash"), max_length=64, blank=True, db_index=True)
    # The picture's 64-bit difference hash (activities.images.dhash), in four 16-bit bands, each indexed: two
    # copies of a picture (resized, re-compressed) differ in a few bits, so the near copies of a photo are found
    # by its bands (activities.plausibility) without reading every photo. Empty where the file could not be read.
    dhash_0 = models.PositiveIntegerField(_("picture hash, bits 63–48"), null=True, blank=True, db_index=True, editable=False)
    dhash_1 = models.PositiveIntegerField(_("picture hash, bits 47–32"), null=True, blank=True, db_index=True, editable=False)
    dhash_2 = models.PositiveIntegerField(_("picture hash, bits 31–16"), null=True, blank=True, db_index=True, editable=False)
    dhash_3 = models.PositiveIntegerField(_("picture hash, bits 15–0"), null=True, blank=True, db_index=True, editable=False)
    width = models.PositiveIntegerField(_("width"), default=0)
    height = models.PositiveIntegerField(_("height"), default=0)
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    objects = ActivityPartQuerySet.as_manager()
    # the hash follows from the image, whose history is kept
    history = HistoricalRecords(excluded_fields=["dhash_0", "dhash_1", "dhash_2", "dhash_3"])

    class Meta:
        verbose_name = _("photo")
        verbose_name_plural = _("photos")
        ordering = ["activity", "id"]

    def __str__(self):
        return self.caption or self.image.name

    @property
    def dhash(self):
        """The picture hash as one 64-bit number, or None (activities.images.join_bands)."""
        return join_bands((self.dhash_0, self.dhash_1, self.dhash_2, self.dhash_3))

    @dhash.setter
    def dhash(self, value):
        self.dhash_0, self.dhash_1, self.dhash_2, self.dhash_3 = split_bands(value)


class ActivityMetricValue(models.Model):
    """The value an activity achieved for one of its program's metrics."""

    activity = models.ForeignKey(
        Activity, verbose_name=_("activity"), on_delete=models.CASCADE, related_name="metric_values"
    )
    metric = models.ForeignKey(Metric, verbose_name=_("metric"), on_delete=models.PROTECT, related_name="values")
    value = models.DecimalField(_("value"), max_digits=14, decimal_places=2)

    objects = ActivityPartQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("metric value")
        verbose_name_plural = _("metric values")
        constraints = [
            models.UniqueConstraint(fields=["activity", "metric"], name="metricvalue_unique_metric"),
            models.CheckConstraint(condition=Q(value__gte=0), name="metricvalue_not_negative"),
        ]

    def __str__(self):
        return f"{self.metric.name}: {self.value} {self.metric.unit}"


class ServiceRecord(models.Model):
    """Hours a volunteer served in an activity: recorded by the organising side, counted once verified."""

    class Status(models.TextChoices):
        RECORDED = "recorded", _("recorded")
        VERIFIED = "verified", _("verified")

    activity = models.ForeignKey(
        Activity, verbose_name=_("activity"), on_delete=models.CASCADE, related_name="service_records"
    )
    volunteer = models.ForeignKey(
        Volunteer, verbose_name=_("volunteer"), on_delete=models.PROTECT, related_name="service_records"
    )
    hours = models.DecimalField(
        _("hours"), max_digits=4, decimal_places=1, help_text=_("Actual service time, not travel.")
    )
    content = models.CharField(_("service content"), max_length=120, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RECORDED)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("verified by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True, editable=False)

    objects = AliveManager.from_queryset(ServiceRecordQuerySet)()
    all_objects = ServiceRecordQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("service record")
        verbose_name_plural = _("service records")
        ordering = ["activity", "volunteer"]
        constraints = [
            # a soft-deleted record does not stop the volunteer being recorded again
            models.UniqueConstraint(
                fields=["activity", "volunteer"],
                condition=Q(deleted_at__isnull=True),
                name="servicerecord_unique_volunteer",
            ),
            models.CheckConstraint(condition=Q(hours__gt=0, hours__lte=24), name="servicerecord_hours_0_to_24"),
            models.CheckConstraint(
                condition=~Q(status="verified") | Q(verified_at__isnull=False), name="servicerecord_verified_has_time"
            ),
        ]
        indexes = [models.Index(fields=["volunteer", "status"])]

    def __str__(self):
        return f"{self.volunteer} · {self.hours} h"


# ---------------------------------------------------------------------------------------------------------
# What counts: the hours' Q builders behind every figure (which activities count is `counted_q`, above). Here, because the
# activity list's export shows verified and pending hours and activities may not import figures (the apps'
# one-way rule); figures.selectors re-exports them, and the apps to its right read them from there.
# docs/figures.md states the rules.
# ---------------------------------------------------------------------------------------------------------


def verified_q(prefix="service_records__"):
    """Service records (through `prefix`; "" on ServiceRecord itself) whose hours count: verified, not deleted,
    on a counted activity (submitted or confirmed, not deleted). Hours on a draft or a returned activity never
    count, verified or not: the one definition of verified hours, read by the volunteer and team pages, the
    service certificate, the rollup (so the pairing page, dashboards and reports) and the activity export."""
    return Q(**{f"{prefix}status": ServiceRecord.Status.VERIFIED, f"{prefix}deleted_at__isnull": True}) & counted_q(
        f"{prefix}activity__"
    )


def pending_q(prefix="service_records__"):
    """Service records (through `prefix`) recorded and waiting for the organising side's verification: not
    deleted, on a counted activity. A record on a draft or a returned activity is not waiting for anyone yet
    (the activity itself is not submitted), so it is not pending; it becomes pending when the activity is
    submitted."""
    return Q(**{f"{prefix}status": ServiceRecord.Status.RECORDED, f"{prefix}deleted_at__isnull": True}) & counted_q(
        f"{prefix}activity__"
    )


# ---------------------------------------------------------------------------------------------------------
# Joint meetings (联席会议, 一季一调度): who came, the minutes, and the decisions, each an action item followed up
# at the next meeting. Here, beside Activity: a meeting may be recorded by an activity of the 联席会议 type, and
# an activity may show a decision carried out.
# ---------------------------------------------------------------------------------------------------------

# The catalog's type of an activity that records a joint meeting: by its code, or its name where the catalog was
# seeded under another code (the demo loader reuses a type of the same name).
MEETING_TYPE_CODE = "joint-meeting"
MEETING_TYPE_NAME = "联席会议"


def meeting_type_q(prefix=""):
    """A Q over activities (through `prefix`) of the joint-meeting type."""
    return Q(**{f"{prefix}activity_type__code": MEETING_TYPE_CODE}) | Q(**{f"{prefix}activity_type__name": MEETING_TYPE_NAME})


def meeting_activity_types():
    """The catalog's type(s) of an activity that records a joint meeting."""
    return ActivityType.objects.filter(Q(code=MEETING_TYPE_CODE) | Q(name=MEETING_TYPE_NAME)).order_by("order", "id")


def meeting_recorders_q(user, prefix=""):
    """A Q over pairings (through `prefix`) whose joint meetings the user records and edits: the program's admins,
    and on either side those who speak for it: the supporting school's (or organ's) party committee, the
    secretaries of its participating branches, the village committee of the supported side, and the pairing's
    named liaisons (联络员) with a portal account."""
    scope = scope_for(user)
    if scope.is_superuser:
        return ~Q(pk__in=[])
    if scope.is_anonymous:
        return Q(pk__in=[])
    terms = [
        program_admin_q(user, f"{prefix}program__"),
        Q(**{f"{prefix}id__in": Liaison.objects.filter(user_id=scope.user_id).values("pairing_id")}),
    ]
    if scope.committee_orgs:
        terms.append(Q(**{f"{prefix}supporter_id__in": scope.committee_orgs}))
    if scope.village_orgs:
        terms.append(Q(**{f"{prefix}supported_id__in": scope.village_orgs}))
    if scope.secretary_orgs:
        terms.append(
            Q(**{f"{prefix}id__in": PairingBranch.objects.filter(branch_id__in=scope.secretary_orgs).values("pairing_id")})
        )
    return _any(*terms)


def action_item_managers(scope):
    """The organisations (with their subtrees) whose action items the user carries out and closes: those where the
    user holds a role that acts for the organisation (a plain member only reads)."""
    return scope.admin_orgs | scope.committee_orgs | scope.secretary_orgs | scope.village_orgs


class MeetingQuerySet(models.QuerySet):
    """A pairing's meeting is read with the pairing; a program-wide one by whoever reads the program. Recorded and
    edited by the program's admins and, for a pairing's meeting, by those who speak for either side
    (meeting_recorders_q). Its attendees, attachments and action items follow it (`path`)."""

    path = ""

    def visible_to(self, user):
        scope = scope_for(user)
        if scope.is_superuser:
            return self.all()
        if scope.is_anonymous:
            return self.none()
        p = self.path
        programs = Program.objects.visible_to(user).values("id")
        program_wide = Q(**{f"{p}pairing__isnull": True, f"{p}program_id__in": programs})
        return self.filter(pairing_visibility(user, f"{p}pairing__") | program_wide)

    def editable_by(self, user):
        scope = scope_for(user)
        if scope.is_superuser:
            return self.all()
        p = self.path
        recorders = Pairing.objects.filter(meeting_recorders_q(user)).values("id")
        return self.filter(_any(program_admin_q(user, f"{p}program__"), Q(**{f"{p}pairing_id__in": recorders})))


class MeetingPartQuerySet(MeetingQuerySet):
    path = "meeting__"


class ActionItemQuerySet(MeetingPartQuerySet):
    def closable_by(self, user):
        """Items the user may close and reopen: those of the organisations they act for (action_item_managers),
        those named theirs, and every item of the programs they administer."""
        scope = scope_for(user)
        if scope.is_superuser:
            return self.all()
        if scope.is_anonymous:
            return self.none()
        terms = [program_admin_q(user, "meeting__program__"), Q(owner_user_id=scope.user_id)]
        managed = action_item_managers(scope)
        if managed:
            terms.append(Q(owner_org_id__in=managed))
        return self.filter(_any(*terms))

    def owned_by(self, user):
        """Items the user is an owner of: of an organisation they act for, or named theirs."""
        scope = scope_for(user)
        if scope.is_anonymous:
            return self.none()
        terms = [Q(owner_user_id=scope.user_id)]
        managed = action_item_managers(scope)
        if managed:
            terms.append(Q(owner_org_id__in=managed))
        return self.filter(_any(*terms))


class Meeting(models.Model):
    """A joint meeting (联席会议) of a pairing, or of a whole program: attendees, minutes, attachments, decisions."""

    program = models.ForeignKey(Program, verbose_name=_("program"), on_delete=models.PROTECT, related_name="meetings")
    pairing = models.ForeignKey(
        Pairing, verbose_name=_("pairing"), null=True, blank=True, on_delete=models.PROTECT, related_name="meetings",
        help_text=_("Empty for a meeting of the whole program."),
    )
    title = models.CharField(_("title"), max_length=120)
    date = models.DateField(_("date"))
    place = models.CharField(_("place"), max_length=120, blank=True)
    minutes = models.TextField(_("minutes"), blank=True)
    activity = models.OneToOneField(
        Activity, verbose_name=_("recorded as the activity"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="meeting",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = MeetingQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("joint meeting")
        verbose_name_plural = _("joint meetings")
        ordering = ["-date", "-id"]
        indexes = [
            models.Index(fields=["pairing", "date", "id"], name="meeting_pairing_date_idx"),
            models.Index(fields=["program", "date", "id"], name="meeting_program_date_idx"),
        ]

    def __str__(self):
        return f"{self.date:%Y-%m-%d} {self.title}"


def meeting_owner_orgs_q(program, pairing):
    """A Q over organisations that may own a decision of a meeting of `pairing` (or, None, of the whole `program`):
    either side of the pairing, its participating branches, and the program's office; for a program-wide meeting,
    those of every pairing of the program."""
    pairings = Pairing.objects.filter(pk=pairing.pk) if pairing is not None else Pairing.objects.filter(program=program)
    return (
        Q(pk=program.office_id)
        | Q(pk__in=pairings.values("supporter_id"))
        | Q(pk__in=pairings.values("supported_id"))
        | Q(pk__in=PairingBranch.objects.filter(pairing__in=pairings).values("branch_id"))
    )


class MeetingAttendee(models.Model):
    """Someone who attended a meeting: a portal user or a name typed in, with their side and organisation."""

    class Side(models.TextChoices):
        SUPPORTER = "supporter", _("supporting side")
        SUPPORTED = "supported", _("supported side")
        OTHER = "other", _("other (program office, guests)")

    meeting = models.ForeignKey(Meeting, verbose_name=_("meeting"), on_delete=models.CASCADE, related_name="attendees")
    side = models.CharField(_("side"), max_length=10, choices=Side.choices)
    name = models.CharField(_("name"), max_length=60)
    organization = models.ForeignKey(
        Organization, verbose_name=_("organisation"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    organization_name = models.CharField(_("organisation (typed in)"), max_length=100, blank=True)
    title = models.CharField(_("title"), max_length=60, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user account"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="meetings_attended",
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    objects = MeetingPartQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("attendee")
        verbose_name_plural = _("attendees")
        ordering = ["meeting", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "name", "side"], name="meetingattendee_unique_name"),
            models.CheckConstraint(condition=~Q(name=""), name="meetingattendee_has_name"),
        ]

    def __str__(self):
        return self.name

    @property
    def organization_label(self):
        if self.organization_id:
            return self.organization.short_name or self.organization.name
        return self.organization_name


class MeetingAttachment(models.Model):
    """A file of a meeting: the sign-in sheet (签到表), a photo, or a document; a PDF, or a photo re-encoded
    without metadata (activities.images). Served only through the scope-checked view."""

    class Kind(models.TextChoices):
        SIGN_IN_SHEET = "sign_in", _("sign-in sheet (签到表)")
        PHOTO = "photo", _("photo")
        DOCUMENT = "document", _("document")

    meeting = models.ForeignKey(Meeting, verbose_name=_("meeting"), on_delete=models.CASCADE, related_name="attachments")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    file = models.FileField(_("file"), upload_to="meetings/%Y/%m/", max_length=200)
    thumbnail = models.ImageField(_("thumbnail"), upload_to="meetings/thumbs/%Y/%m/", max_length=200, blank=True)
    content_type = models.CharField(_("content type"), max_length=40)
    caption = models.CharField(_("caption"), max_length=120, blank=True)
    size = models.PositiveIntegerField(_("size (bytes)"), default=0)
    sha256 = models.CharField(_("content hash"), max_length=64, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    objects = MeetingPartQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("meeting attachment")
        verbose_name_plural = _("meeting attachments")
        ordering = ["meeting", "kind", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(content_type__in=["application/pdf", "image/jpeg"]), name="meetingattachment_pdf_or_jpeg"
            ),
        ]

    def __str__(self):
        return self.caption or self.get_kind_display()

    @property
    def is_image(self):
        return self.content_type == "image/jpeg"


class ActionItem(models.Model):
    """A decision of a meeting (决定事项) to carry out: its owner, its due date, and what became of it."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("action item", "open")
        DONE = "done", pgettext_lazy("action item", "done")
        DROPPED = "dropped", pgettext_lazy("action item", "dropped")

    meeting = models.ForeignKey(Meeting, verbose_name=_("meeting"), on_delete=models.CASCADE, related_name="action_items")
    text = models.CharField(_("decision"), max_length=300)
    owner_org = models.ForeignKey(
        Organization, verbose_name=_("owner organisation"), on_delete=models.PROTECT, related_name="action_items"
    )
    owner_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner person"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="action_items",
    )
    due_date = models.DateField(_("due date"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    done_by_activity = models.ForeignKey(
        Activity, verbose_name=_("done by the activity"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="action_items",
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("closed by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = ActionItemQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("action item")
        verbose_name_plural = _("action items")
        ordering = ["meeting", "order", "id"]
        constraints = [
            # closed_at says when it stopped being open: a report as at a day before that still shows it open
            models.CheckConstraint(
                condition=Q(status="open", closed_at__isnull=True) | (~Q(status="open") & Q(closed_at__isnull=False)),
                name="actionitem_closed_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status="done") | Q(done_by_activity__isnull=False) | ~Q(note=""),
                name="actionitem_done_has_evidence",
            ),
            models.CheckConstraint(condition=~Q(status="dropped") | ~Q(note=""), name="actionitem_dropped_has_reason"),
            models.CheckConstraint(condition=Q(status__in=["open", "done", "dropped"]), name="actionitem_status_valid"),
            models.CheckConstraint(condition=~Q(text=""), name="actionitem_has_text"),
        ]
        indexes = [
            models.Index(fields=["owner_org", "status", "due_date"], name="actionitem_owner_idx"),
            models.Index(fields=["status", "due_date"], name="actionitem_status_due_idx"),
        ]

    def __str__(self):
        return self.text

    def overdue_on(self, today):
        """Open, and due before `today` (an item due today is not overdue yet)."""
        return self.status == ActionItem.Status.OPEN and self.due_date < today


class SubmitKey(models.Model):
    """A form's idempotency key (submit_key): the activity its first save made or changed, so a retry saves nothing twice."""

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+")
    key = models.UUIDField(_("submit key"))
    # empty only inside the transaction that claims the key: the save fills it before it commits
    activity = models.ForeignKey(
        Activity, verbose_name=_("activity"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("submit key")
        verbose_name_plural = _("submit keys")
        constraints = [
            models.UniqueConstraint(fields=["created_by", "key"], name="submitkey_unique_per_user"),
        ]
# ---------------------------------------------------------------------------------------------------------
# Photos uploaded as soon as they are picked, held for the form by a token until the activity is saved
# ---------------------------------------------------------------------------------------------------------

# How long a held photo waits for its activity: after that its token no longer attaches it, and
# activities.tasks.purge_photo_uploads removes it, files included.
PHOTO_UPLOAD_TTL = datetime.timedelta(days=1)

# How long a submit key is remembered: longer than any form waits in a phone's outbox (a village without signal for
# weeks), short enough that the table does not grow for ever. activities.tasks.purge_submit_keys removes older ones.
SUBMIT_KEY_TTL = datetime.timedelta(days=90)


class PhotoUploadQuerySet(models.QuerySet):
    def held(self, *, now=None):
        """Not attached to an activity yet, and not expired."""
        now = now or timezone.now()
        return self.filter(attached_at__isnull=True, created_at__gt=now - PHOTO_UPLOAD_TTL)

    def visible_to(self, user):
        """A held photo is its uploader's alone, until it becomes an activity's photo."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.held().filter(owner=user)


class PhotoUpload(models.Model):
    """A photo checked and re-encoded on upload, held for its uploader's activity form by a token."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.CASCADE, related_name="photo_uploads"
    )
    # the SHA-256 of the token the uploader's form holds: a database leak gives no usable token
    token_hash = models.CharField(_("token hash"), max_length=64, unique=True, editable=False)
    # where an activity's photos are kept: attaching hands the files over, it does not copy them
    image = models.ImageField(_("image"), upload_to="photos/%Y/%m/", max_length=200)
    thumbnail = models.ImageField(_("thumbnail"), upload_to="photos/thumbs/%Y/%m/", max_length=200)
    name = models.CharField(_("file name"), max_length=120, blank=True)
    size = models.PositiveIntegerField(_("stored size (bytes)"), default=0)
    width = models.PositiveIntegerField(_("width"), default=0)
    height = models.PositiveIntegerField(_("height"), default=0)
    sha256 = models.CharField(_("content hash"), max_length=64, blank=True)
    dhash = models.CharField(_("picture hash"), max_length=16, blank=True)  # hex of images.dhash, empty for none
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True, db_index=True)
    attached_at = models.DateTimeField(_("attached at"), null=True, blank=True)
    attached_to = models.OneToOneField(
        ActivityPhoto, verbose_name=_("photo"), null=True, blank=True, on_delete=models.SET_NULL, related_name="upload"
    )

    objects = PhotoUploadQuerySet.as_manager()

    class Meta:
        verbose_name = _("held photo")
        verbose_name_plural = _("held photos")
        ordering = ["created_at", "id"]
        constraints = [
            # once attached it stays attached: its files are the activity photo's, never purged with the upload
            models.CheckConstraint(
                condition=Q(attached_to__isnull=True) | Q(attached_at__isnull=False), name="photoupload_attached_has_time"
            ),
        ]

    def __str__(self):
        return self.name or self.image.name

    @staticmethod
    def hash_token(token):
        """What is stored of a token: its SHA-256 (a token is 32 random characters, so no salt is needed)."""
        return hashlib.sha256(token.encode()).hexdigest()
