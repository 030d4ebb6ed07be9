from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from pairings import units
from portal.models import Organization
from portal.permissions import scope_for


# Always true, and unlike an empty Q() it survives being OR-ed with other conditions.
EVERYTHING = ~Q(pk__in=[])


def pairing_visibility(user, prefix=""):
    """A Q over pairings (reached through `prefix`, e.g. "pairing__") that the user may read."""
    scope = scope_for(user)
    if scope.is_superuser:
        return EVERYTHING
    if scope.is_anonymous:
        return Q(pk__in=[])
    # One `id IN (… UNION ALL …)` over the ways in, not an OR of them: PostgreSQL estimates a union of small
    # index scans well (a secretary's two pairings, not "75% of the table"), so it joins through the few
    # pairings it finds instead of scanning everything the OR might match.
    ways_in = []
    if scope.admin_orgs:
        ways_in.append(Pairing.objects.filter(program__office_id__in=scope.admin_orgs).values("id"))
    if scope.committee_orgs:
        ways_in.append(Pairing.objects.filter(supporter_id__in=scope.committee_orgs).values("id"))
    if scope.village_orgs:
        ways_in.append(Pairing.objects.filter(supported_id__in=scope.village_orgs).values("id"))
    if scope.supporter_orgs:
        ways_in.append(PairingBranch.objects.filter(branch_id__in=scope.supporter_orgs).values("pairing_id"))
    ways_in.append(Liaison.objects.filter(user_id=scope.user_id).values("pairing_id"))
    first, *others = [way.order_by() for way in ways_in]
    return Q(**{f"{prefix}id__in": first.union(*others, all=True) if others else first})


def program_admin_q(user, prefix=""):
    """A Q over programs (through `prefix`) that the user administers."""
    scope = scope_for(user)
    if scope.is_superuser:
        return EVERYTHING
    if not scope.admin_orgs:
        return Q(pk__in=[])
    return Q(**{f"{prefix}office_id__in": scope.admin_orgs})


class ProgramQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(program_admin_q(user) | Q(id__in=Pairing.objects.visible_to(user).values("program_id")))

    def editable_by(self, user):
        return self.filter(program_admin_q(user))

    def set_up_by(self, user):
        """The programs this user sets up (their metrics, activity types and pairings): those whose office they
        administer; a superuser, all. The same rule as `editable_by`, named for the set-up pages."""
        return self.editable_by(user)


class PairingQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(pairing_visibility(user))

    def editable_by(self, user):
        return self.filter(program_admin_q(user, "program__"))


class PlanQuerySet(models.QuerySet):
    """Joint plans and their items: read with the pairing; edited by the program admin or the school's
    party committee."""

    pairing_path = "pairing__"

    def visible_to(self, user):
        return self.filter(pairing_visibility(user, self.pairing_path))

    def editable_by(self, user):
        scope = scope_for(user)
        q = program_admin_q(user, f"{self.pairing_path}program__")
        if scope.committee_orgs:
            q |= Q(**{f"{self.pairing_path}supporter_id__in": scope.committee_orgs})
        return self.filter(q)


class PlanItemQuerySet(PlanQuerySet):
    pairing_path = "plan__pairing__"


class PlanTargetQuerySet(PlanQuerySet):
    pairing_path = "item__plan__pairing__"


class PairingPartQuerySet(models.QuerySet):
    """Branches and liaisons of a pairing: read with it, changed by its program admin."""

    def visible_to(self, user):
        return self.filter(pairing_visibility(user, "pairing__"))

    def editable_by(self, user):
        return self.filter(program_admin_q(user, "pairing__program__"))


class MetricQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(program__in=Program.objects.visible_to(user))

    def editable_by(self, user):
        return self.filter(program_admin_q(user, "program__"))


class Program(models.Model):
    """A pairing program such as 双联双助: groups pairings, owns the metric catalog and the report cadence."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    code = models.SlugField(_("code"), max_length=40, unique=True)
    description = models.TextField(_("description"), blank=True)
    office = models.ForeignKey(
        Organization,
        verbose_name=_("program office"),
        on_delete=models.PROTECT,
        related_name="programs_run",
        help_text=_("The organisation that runs the program; its admins administer it."),
    )
    monthly_reports = models.BooleanField(_("monthly reminder (一月一提示)"), default=True)
    quarterly_reports = models.BooleanField(_("quarterly coordination (一季一调度)"), default=True)
    # The publishing policy: a reminder is useful only while it is fresh, so it goes out as soon as it is built;
    # a quarterly report carries the admin's 调度意见 and waits for them. db_default: rows written outside the
    # ORM (bench.generate's COPY) get the policy too.
    publish_monthly = models.BooleanField(
        _("publish monthly reminders as soon as they are built"), default=True, db_default=True,
        help_text=_("Off: each monthly reminder waits as a draft until an admin publishes it."),
    )
    publish_quarterly = models.BooleanField(
        _("publish quarterly reports as soon as they are built"), default=False, db_default=False,
        help_text=_("Off (usual): each quarterly report waits as a draft for the admin's coordination notes (调度意见)."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    objects = ProgramQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("program")
        verbose_name_plural = _("programs")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Metric(models.Model):
    """An outcome figure of a program with its unit and how it adds up over activities."""

    # How each unit may add up is decided by the unit registry (pairings/units.py).
    Unit = units.Unit
    Aggregation = units.Aggregation

    program = models.ForeignKey(Program, verbose_name=_("program"), on_delete=models.CASCADE, related_name="metrics")
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=60)
    unit = models.CharField(_("unit"), max_length=8, choices=Unit.choices)
    aggregation = models.CharField(
        _("aggregation"),
        max_length=8,
        choices=Aggregation.choices,
        default="sum",
        help_text=_(
            "Items (件), person-times (人次), sessions (场次) and plants (株) add up over activities; persons (人) are "
            "a latest value, since persons counted per activity and added up are person-times; money and areas may "
            "be either."
        ),
    )
    description = models.CharField(_("description"), max_length=200, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    # Offered as the item's target for this metric when a plan item is created (the planner may change or drop it).
    default_target = models.DecimalField(
        _("default target"), max_digits=14, decimal_places=2, null=True, blank=True,
        help_text=_("Offered as this metric's target when a plan item is created; leave empty to offer none."),
    )

    objects = MetricQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("metric")
        verbose_name_plural = _("metrics")
        ordering = ["program", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["program", "code"], name="metric_unique_code"),
            models.UniqueConstraint(fields=["program", "name"], name="metric_unique_name"),
            models.CheckConstraint(
                condition=units.allowed_q(),
                name="metric_unit_aggregation",
                violation_error_message=_("This unit cannot add up that way (see the unit registry)."),
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.unit})"

    def clean(self):
        super().clean()
        units.validate(self.unit, self.aggregation)


class Pairing(models.Model):
    """One supporting organisation paired with one supported village or community under a program."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        SUSPENDED = "suspended", _("suspended")
        ENDED = "ended", _("ended")

    class State(models.TextChoices):
        """What a pairing is on a given day, shown on every page (one state everywhere): its status flag, except
        that a pairing still flagged active whose term has ended is 期满 (term ended), not 有效, or 续签中 (renewal
        under way) when a program admin has marked it being renewed."""

        ACTIVE = "active", _("active")
        EXPIRED = "expired", pgettext_lazy("pairing state", "term ended")
        RENEWING = "renewing", pgettext_lazy("pairing state", "renewal under way")
        SUSPENDED = "suspended", _("suspended")
        ENDED = "ended", _("ended")

    program = models.ForeignKey(Program, verbose_name=_("program"), on_delete=models.PROTECT, related_name="pairings")
    supporter = models.ForeignKey(
        Organization, verbose_name=_("supporting side"), on_delete=models.PROTECT, related_name="pairings_supporting"
    )
    supported = models.ForeignKey(
        Organization, verbose_name=_("supported side"), on_delete=models.PROTECT, related_name="pairings_supported"
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.ACTIVE)
    signed_on = models.DateField(_("agreement signed on"), null=True, blank=True)
    term_start = models.DateField(_("term start"))
    term_end = models.DateField(_("term end"), null=True, blank=True)
    goals = models.TextField(_("goals"), blank=True)
    # Marked by a program admin while the agreement is being renewed: once the term has ended, the pairing shows
    # 续签中 rather than 期满 (it changes nothing before the term ends, nor what a report covers).
    renewing = models.BooleanField(
        _("renewal under way"),
        default=False,
        help_text=_("Tick while the agreement is being renewed: once its term has ended, the pairing shows "
                    "\"renewal under way\" rather than \"term ended\". Enter the new term when it is signed."),
    )
    agreement_file = models.FileField(
        _("signed agreement (PDF)"), upload_to="agreements/%Y/", blank=True, max_length=200
    )
    branches = models.ManyToManyField(
        Organization,
        verbose_name=_("participating branches"),
        through="PairingBranch",
        related_name="pairings_as_branch",
        blank=True,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # The date of the last counted activity, any year: written only by the figures app's rollup (which knows what
    # counts), so the list, its "dormant" filter and the warnings read the pairing's own row.
    last_activity_on = models.DateField(_("last activity"), null=True, blank=True, editable=False)

    objects = PairingQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=["last_activity_on"])

    class Meta:
        verbose_name = _("pairing")
        verbose_name_plural = _("pairings")
        ordering = ["program", "supporter__name", "supported__name"]
        constraints = [
            models.UniqueConstraint(fields=["program", "supporter", "supported"], name="pairing_unique_sides"),
            models.CheckConstraint(condition=~Q(supporter=F("supported")), name="pairing_sides_differ"),
            models.CheckConstraint(
                condition=Q(term_end__isnull=True) | Q(term_end__gte=F("term_start")), name="pairing_term_end_after_start"
            ),
        ]
        indexes = [models.Index(fields=["program", "status"])]

    def __str__(self):
        return f"{self.supporter.short_name or self.supporter.name}–{self.supported.short_name or self.supported.name}"

    @classmethod
    def state_of(cls, status, term_end, day, renewing=False):
        """The State on `day` of a pairing with this status flag, term end and renewal mark (for rows read as
        values)."""
        if status == cls.Status.ACTIVE and term_end is not None and term_end < day:
            return cls.State.RENEWING if renewing else cls.State.EXPIRED
        return cls.State(status)

    def state_on(self, day):
        """The pairing's State on `day`: 期满 when flagged active but its term ended before that day, 续签中 if it
        is marked being renewed."""
        return self.state_of(self.status, self.term_end, day, self.renewing)

    @property
    def state(self):
        """The pairing's State today (the pages' badge; the flag itself is ``status``)."""
        return self.state_on(timezone.localdate())

    def get_state_display(self):
        return self.state.label


class PairingBranch(models.Model):
    """A party branch of the supporting side that takes part in a pairing."""

    pairing = models.ForeignKey(Pairing, verbose_name=_("pairing"), on_delete=models.CASCADE, related_name="pairing_branches")
    branch = models.ForeignKey(
        Organization, verbose_name=_("branch"), on_delete=models.PROTECT, related_name="branch_pairings"
    )
    joined_on = models.DateField(_("joined on"), null=True, blank=True)

    objects = PairingPartQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("participating branch")
        verbose_name_plural = _("participating branches")
        constraints = [models.UniqueConstraint(fields=["pairing", "branch"], name="pairingbranch_unique")]

    def __str__(self):
        return str(self.branch)


class Liaison(models.Model):
    """A contact person (联络员) named by one side of a pairing."""

    class Side(models.TextChoices):
        SUPPORTER = "supporter", _("supporting side")
        SUPPORTED = "supported", _("supported side")

    pairing = models.ForeignKey(Pairing, verbose_name=_("pairing"), on_delete=models.CASCADE, related_name="liaisons")
    side = models.CharField(_("side"), max_length=10, choices=Side.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="liaison_roles",
    )
    name = models.CharField(_("name"), max_length=60)
    title = models.CharField(_("title"), max_length=60, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)

    objects = PairingPartQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("liaison")
        verbose_name_plural = _("liaisons")
        ordering = ["pairing", "side", "name"]
        constraints = [models.UniqueConstraint(fields=["pairing", "side", "name"], name="liaison_unique_name")]

    def __str__(self):
        return f"{self.name} ({self.get_side_display()})"


class JointPlan(models.Model):
    """The yearly joint plan (年度共建计划) of one pairing."""

    pairing = models.ForeignKey(Pairing, verbose_name=_("pairing"), on_delete=models.CASCADE, related_name="plans")
    year = models.PositiveSmallIntegerField(
        _("year"), validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    title = models.CharField(_("title"), max_length=120)
    summary = models.TextField(_("summary"), blank=True)
    village_agreed_on = models.DateField(_("village agreed on"), null=True, blank=True)
    village_agreed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agreed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = PlanQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("joint plan")
        verbose_name_plural = _("joint plans")
        ordering = ["-year", "pairing"]
        constraints = [
            models.UniqueConstraint(fields=["pairing", "year"], name="jointplan_unique_year"),
            models.CheckConstraint(condition=Q(year__gte=2000, year__lte=2100), name="jointplan_year_range"),
        ]

    def __str__(self):
        return self.title


class PlanItem(models.Model):
    """One line of the project list (项目实施清单) of a joint plan."""

    class Category(models.TextChoices):
        PARTY_BUILDING = "party", _("party building (组织共建)")
        INDUSTRY = "industry", _("industry support (产业帮扶)")
        EDUCATION = "education", _("education and training (教育培训)")
        CULTURE = "culture", _("culture (文化共建)")
        ENVIRONMENT = "environment", _("environment (环境整治)")
        SERVICE = "service", _("services for residents (便民服务)")
        GOVERNANCE = "governance", _("governance (基层治理)")
        OTHER = "other", _("other")

    class Status(models.TextChoices):
        PLANNED = "planned", _("planned")
        IN_PROGRESS = "in_progress", _("in progress")
        DONE = "done", _("done")
        CANCELLED = "cancelled", _("cancelled")

    plan = models.ForeignKey(JointPlan, verbose_name=_("joint plan"), on_delete=models.CASCADE, related_name="items")
    title = models.CharField(_("title"), max_length=120)
    category = models.CharField(_("category"), max_length=16, choices=Category.choices, default=Category.OTHER)
    description = models.TextField(_("description"), blank=True)
    owner_branch = models.ForeignKey(
        Organization,
        verbose_name=_("owner branch"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="plan_items",
    )
    village_counterpart = models.CharField(_("village counterpart"), max_length=60, blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PLANNED)
    progress = models.PositiveSmallIntegerField(
        _("progress (%)"),
        default=0,
        validators=[MaxValueValidator(100)],
        help_text=_("Set by hand for items without targets; derived from activities for the others."),
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    objects = PlanItemQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("plan item")
        verbose_name_plural = _("plan items")
        ordering = ["plan", "order", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="planitem_progress_max_100"),
        ]
        indexes = [
            models.Index(fields=["owner_branch", "due_date"]),
            models.Index(fields=["status", "due_date"]),
        ]

    def __str__(self):
        return self.title


class PlanTarget(models.Model):
    """A metric target of a plan item, e.g. 100 件 of appliances repaired."""

    item = models.ForeignKey(PlanItem, verbose_name=_("plan item"), on_delete=models.CASCADE, related_name="targets")
    metric = models.ForeignKey(Metric, verbose_name=_("metric"), on_delete=models.PROTECT, related_name="targets")
    value = models.DecimalField(_("target value"), max_digits=14, decimal_places=2)

    objects = PlanTargetQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("plan target")
        verbose_name_plural = _("plan targets")
        constraints = [
            models.UniqueConstraint(fields=["item", "metric"], name="plantarget_unique_metric"),
            models.CheckConstraint(condition=Q(value__gt=0), name="plantarget_value_positive"),
        ]

    def __str__(self):
        return f"{self.metric.name} {self.value} {self.metric.unit}"


# --- village statistics ----------------------------------------------------------------------------


def village_statistics_readers_q(user):
    """A Q over organisations whose statistics the user reads: the supported side of a pairing they read, and the
    villages they speak for (their village committee or liaison role, with the subtree below it)."""
    scope = scope_for(user)
    if scope.is_superuser:
        return EVERYTHING
    if scope.is_anonymous:
        return Q(pk__in=[])
    return Q(pk__in=Pairing.objects.visible_to(user).values("supported_id")) | Q(pk__in=scope.village_orgs)


def village_statistics_recorders_q(user):
    """A Q over organisations whose statistics the user records: the villages they speak for, and the supported
    side of every pairing of the programs they administer. (pairings.permissions asks it about one village.)"""
    scope = scope_for(user)
    if scope.is_superuser:
        return EVERYTHING
    q = Q(pk__in=scope.village_orgs)
    if scope.admin_orgs:
        q |= Q(pk__in=Pairing.objects.filter(program__office_id__in=scope.admin_orgs).values("supported_id"))
    return q


class VillageStatisticQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(village__in=Organization.objects.filter(village_statistics_readers_q(user)))

    def editable_by(self, user):
        return self.filter(village__in=Organization.objects.filter(village_statistics_recorders_q(user)))


class VillageIndicator(models.Model):
    """A figure a village or community reports about itself (人均纯收入, 村集体经济收入 …), with its unit."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=60, unique=True)
    unit = models.CharField(_("unit"), max_length=8, choices=units.Unit.choices)
    description = models.CharField(_("description"), max_length=200, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True, help_text=_("Only active indicators can be recorded."))

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("village indicator")
        verbose_name_plural = _("village indicators")
        ordering = ["order", "id"]

    def __str__(self):
        return f"{self.name} ({self.unit})"


class VillageStatistic(models.Model):
    """One reported value of a village indicator as at a day, and where it comes from."""

    village = models.ForeignKey(
        Organization,
        verbose_name=_("village or community"),
        on_delete=models.PROTECT,
        related_name="village_statistics",
        limit_choices_to={"kind__in": Organization.SUPPORTED_KINDS},
    )
    indicator = models.ForeignKey(
        VillageIndicator, verbose_name=_("indicator"), on_delete=models.PROTECT, related_name="statistics"
    )
    as_at = models.DateField(_("as at"), help_text=_("The day the value stands at, e.g. the last day of the year it reports."))
    # Required: a figure not reported has no row, never a 0.
    value = models.DecimalField(_("value"), max_digits=14, decimal_places=2)
    source = models.CharField(_("source"), max_length=200, help_text=_("Where the figure comes from, e.g. the village's annual statistics report."))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    objects = VillageStatisticQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("village statistic")
        verbose_name_plural = _("village statistics")
        ordering = ["village", "indicator__order", "indicator_id", "-as_at"]
        constraints = [
            models.UniqueConstraint(fields=["village", "indicator", "as_at"], name="villagestatistic_unique_day"),
            models.CheckConstraint(
                condition=Q(value__gte=0),
                name="villagestatistic_value_not_negative",
                violation_error_message=_("A statistic cannot be negative."),
            ),
        ]

    def __str__(self):
        return f"{self.village} · {self.indicator.name} {self.value}{self.indicator.unit} ({self.as_at:%Y-%m-%d})"

    def clean(self):
        super().clean()
        if self.village_id and self.village.kind not in Organization.SUPPORTED_KINDS:
            raise ValidationError({"village": _("Statistics are recorded for a village, community, sub-district or town.")})
        if self.as_at and self.as_at > timezone.localdate():
            raise ValidationError({"as_at": _("The as-at day cannot lie in the future.")})
