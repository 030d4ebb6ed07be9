from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from activities.models import Activity
from pairings.models import Metric, Pairing, Program, pairing_visibility, program_admin_q


class ReportQuerySet(models.QuerySet):
    """Program admins see every report of their programs, drafts included; others see the published
    reports of the pairings they read. Program-wide reports carry every pairing's data: admins only."""

    def visible_to(self, user):
        admin = program_admin_q(user, "program__")
        readers = Q(status=Report.Status.PUBLISHED, pairing__isnull=False) & pairing_visibility(user, "pairing__")
        return self.filter(admin | readers)

    def editable_by(self, user):
        return self.filter(program_admin_q(user, "program__"))


class Report(models.Model):
    """A frozen, versioned snapshot of one scope (a program or one pairing) for one period."""

    class Kind(models.TextChoices):
        MONTHLY = "monthly", _("monthly reminder (一月一提示)")
        QUARTERLY = "quarterly", _("quarterly coordination (一季一调度)")
        ANNUAL = "annual", _("annual summary (年度总结)")

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        PUBLISHED = "published", _("published")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    period = models.CharField(_("period"), max_length=8, help_text=_("2024-03, 2024Q1 or 2024"))
    program = models.ForeignKey(Program, verbose_name=_("program"), on_delete=models.PROTECT, related_name="reports")
    pairing = models.ForeignKey(
        Pairing, verbose_name=_("pairing"), null=True, blank=True, on_delete=models.PROTECT, related_name="reports"
    )
    # "program" or "pairing:<id>": one value for the unique key, since NULLs never collide in it.
    scope_key = models.CharField(_("scope"), max_length=32, editable=False)
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    data = models.JSONField(_("data"), default=dict, blank=True)
    notes = models.TextField(_("coordination notes (调度意见)"), blank=True)
    generated_at = models.DateTimeField(_("generated at"), auto_now_add=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("published by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ReportQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=["data"])

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        ordering = ["-period", "kind", "scope_key", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "period", "program", "scope_key", "version"], name="report_unique_version"
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="report_version_positive"),
            models.CheckConstraint(
                condition=~Q(status="published") | Q(published_at__isnull=False), name="report_published_has_time"
            ),
        ]

    def __str__(self):
        scope = self.pairing or self.program
        return f"{scope} · {self.get_kind_display()} · {self.period} · v{self.version}"

    def save(self, *args, **kwargs):
        self.scope_key = f"pairing:{self.pairing_id}" if self.pairing_id else "program"
        super().save(*args, **kwargs)


class NotificationQuerySet(models.QuerySet):
    def for_user(self, user):
        if not user.is_authenticated:
            return self.none()
        return self.filter(user=user)

    def unread(self):
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    """A message to one person about a report (in the portal when they have an account, by e-mail when
    an address is known). Rows are the e-mail outbox too: ``emailed_at`` is set once the mail is sent."""

    report = models.ForeignKey(Report, verbose_name=_("report"), on_delete=models.CASCADE, related_name="notifications")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="report_notifications",
    )
    email = models.EmailField(_("e-mail"), blank=True)
    message = models.CharField(_("message"), max_length=300)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("e-mailed at"), null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(user__isnull=True, email=""), name="notification_has_recipient"),
        ]
        indexes = [models.Index(fields=["user", "read_at"]), models.Index(fields=["emailed_at"])]

    def __str__(self):
        return self.message


class ExportQuerySet(models.QuerySet):
    """Annual exports carry every pairing of a program: its admins only."""

    def visible_to(self, user):
        return self.filter(program_admin_q(user, "program__"))

    def editable_by(self, user):
        return self.filter(program_admin_q(user, "program__"))


class AnnualExport(models.Model):
    """The annual export of one program (workbook, CSV ledger and Word summary), produced by a Celery task."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    program = models.ForeignKey(Program, verbose_name=_("program"), on_delete=models.PROTECT, related_name="exports")
    year = models.PositiveSmallIntegerField(_("year"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    rows_total = models.PositiveIntegerField(_("rows to write"), default=0)
    rows_done = models.PositiveIntegerField(_("rows written"), default=0)
    xlsx = models.FileField(_("workbook"), upload_to="exports/%Y/", blank=True, max_length=200)
    csv = models.FileField(_("CSV ledger"), upload_to="exports/%Y/", blank=True, max_length=200)
    docx = models.FileField(_("Word summary"), upload_to="exports/%Y/", blank=True, max_length=200)
    error = models.CharField(_("error"), max_length=300, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    objects = ExportQuerySet.as_manager()

    class Meta:
        verbose_name = _("annual export")
        verbose_name_plural = _("annual exports")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(year__gte=2000, year__lte=2100), name="annualexport_year_range"),
        ]

    def __str__(self):
        return f"{self.program} · {self.year}"

    @property
    def percent(self):
        if self.status == self.Status.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(99, self.rows_done * 100 // self.rows_total)


@receiver(post_delete, sender=AnnualExport)
def _delete_export_files(sender, instance, **kwargs):
    """An export's files go with its row, once the deletion is committed."""
    files = [getattr(instance, name) for name in ("xlsx", "csv", "docx")]

    def delete():
        for stored in files:
            if stored:
                stored.storage.delete(stored.name)

    transaction.on_commit(delete)


# --------------------------------------------------------------------------------------------------------
# Rollups: what the pairing page and the dashboards read (kept current by reports/rollups.py)
# --------------------------------------------------------------------------------------------------------


class PairingMonth(models.Model):
    """One pairing's counted activities, people served and verified hours in one month (a rollup row)."""

    pairing = models.ForeignKey(
        Pairing, verbose_name=_("pairing"), on_delete=models.CASCADE, related_name="month_rollups", db_index=False
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    activities = models.PositiveIntegerField(_("activities"))
    confirmed = models.PositiveIntegerField(_("of which confirmed"))
    residents_served = models.PositiveIntegerField(_("residents served (人次)"))
    party_members = models.PositiveIntegerField(_("party members taking part"))
    teachers = models.PositiveIntegerField(_("teachers taking part"))
    students = models.PositiveIntegerField(_("students taking part"))
    verified_hours = models.DecimalField(_("verified volunteer hours"), max_digits=12, decimal_places=1)
    last_activity_on = models.DateField(_("last activity"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("pairing month")
        verbose_name_plural = _("pairing months")
        ordering = ["pairing", "month"]
        constraints = [
            models.UniqueConstraint(fields=["pairing", "month"], name="pairingmonth_unique_month"),
            # a row exists only for a month with at least one counted activity
            models.CheckConstraint(condition=Q(activities__gte=1), name="pairingmonth_has_activities"),
            models.CheckConstraint(condition=Q(confirmed__lte=models.F("activities")), name="pairingmonth_confirmed_within"),
            models.CheckConstraint(condition=Q(verified_hours__gte=0), name="pairingmonth_hours_not_negative"),
            models.CheckConstraint(
                condition=Q(last_activity_on__gte=models.F("month")), name="pairingmonth_last_activity_in_month"
            ),
        ]
        indexes = [models.Index(fields=["month"])]

    def __str__(self):
        return f"{self.pairing_id} · {self.month:%Y-%m}"


class PairingMonthMetric(models.Model):
    """One pairing's figure for one metric in one month: the sum of its values and the latest value
    (with its date and activity), whichever way the metric adds up (a rollup row)."""

    pairing = models.ForeignKey(
        Pairing, verbose_name=_("pairing"), on_delete=models.CASCADE, related_name="metric_month_rollups", db_index=False
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    metric = models.ForeignKey(
        Metric, verbose_name=_("metric"), on_delete=models.CASCADE, related_name="month_rollups", db_index=False
    )
    total = models.DecimalField(_("total"), max_digits=18, decimal_places=2)
    latest_value = models.DecimalField(_("latest value"), max_digits=14, decimal_places=2)
    latest_on = models.DateField(_("date of the latest value"))
    latest_activity = models.ForeignKey(
        Activity,
        verbose_name=_("activity of the latest value"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("pairing month metric")
        verbose_name_plural = _("pairing month metrics")
        ordering = ["pairing", "metric", "month"]
        constraints = [
            models.UniqueConstraint(fields=["pairing", "metric", "month"], name="pairingmonthmetric_unique"),
            models.CheckConstraint(condition=Q(total__gte=0), name="pairingmonthmetric_total_not_negative"),
            models.CheckConstraint(condition=Q(latest_value__gte=0), name="pairingmonthmetric_latest_not_negative"),
            models.CheckConstraint(
                condition=Q(latest_on__gte=models.F("month")), name="pairingmonthmetric_latest_in_month"
            ),
        ]
        indexes = [models.Index(fields=["month", "metric"])]

    def __str__(self):
        return f"{self.pairing_id} · {self.metric_id} · {self.month:%Y-%m}"


class PairingYear(models.Model):
    """One pairing's figures in one year, added up from its months (a rollup row: the dashboards' tables)."""

    pairing = models.ForeignKey(
        Pairing, verbose_name=_("pairing"), on_delete=models.CASCADE, related_name="year_rollups", db_index=False
    )
    year = models.PositiveSmallIntegerField(_("year"))
    activities = models.PositiveIntegerField(_("activities"))
    confirmed = models.PositiveIntegerField(_("of which confirmed"))
    residents_served = models.PositiveIntegerField(_("residents served (人次)"))
    party_members = models.PositiveIntegerField(_("party members taking part"))
    teachers = models.PositiveIntegerField(_("teachers taking part"))
    students = models.PositiveIntegerField(_("students taking part"))
    verified_hours = models.DecimalField(_("verified volunteer hours"), max_digits=12, decimal_places=1)
    last_activity_on = models.DateField(_("last activity"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("pairing year")
        verbose_name_plural = _("pairing years")
        ordering = ["pairing", "year"]
        constraints = [
            models.UniqueConstraint(fields=["pairing", "year"], name="pairingyear_unique_year"),
            models.CheckConstraint(condition=Q(activities__gte=1), name="pairingyear_has_activities"),
            models.CheckConstraint(condition=Q(confirmed__lte=models.F("activities")), name="pairingyear_confirmed_within"),
            models.CheckConstraint(condition=Q(verified_hours__gte=0), name="pairingyear_hours_not_negative"),
        ]
        indexes = [models.Index(fields=["year", "pairing"])]

    def __str__(self):
        return f"{self.pairing_id} · {self.year}"


class ProgramMonth(models.Model):
    """One program's figures in one month, added up from its pairings' months (a rollup row: the dashboard)."""

    program = models.ForeignKey(
        Program, verbose_name=_("program"), on_delete=models.CASCADE, related_name="month_rollups", db_index=False
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    pairings = models.PositiveIntegerField(_("pairings with activities"))
    activities = models.PositiveIntegerField(_("activities"))
    confirmed = models.PositiveIntegerField(_("of which confirmed"))
    residents_served = models.PositiveBigIntegerField(_("residents served (人次)"))
    party_members = models.PositiveBigIntegerField(_("party members taking part"))
    teachers = models.PositiveBigIntegerField(_("teachers taking part"))
    students = models.PositiveBigIntegerField(_("students taking part"))
    verified_hours = models.DecimalField(_("verified volunteer hours"), max_digits=14, decimal_places=1)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("program month")
        verbose_name_plural = _("program months")
        ordering = ["program", "month"]
        constraints = [
            models.UniqueConstraint(fields=["program", "month"], name="programmonth_unique_month"),
            models.CheckConstraint(condition=Q(pairings__gte=1), name="programmonth_has_pairings"),
            models.CheckConstraint(condition=Q(activities__gte=models.F("pairings")), name="programmonth_activities_cover_pairings"),
            models.CheckConstraint(condition=Q(confirmed__lte=models.F("activities")), name="programmonth_confirmed_within"),
            models.CheckConstraint(condition=Q(verified_hours__gte=0), name="programmonth_hours_not_negative"),
        ]

    def __str__(self):
        return f"{self.program_id} · {self.month:%Y-%m}"


class ProgramMonthMetric(models.Model):
    """One program's total of one metric in one month, added up from its pairings' months (a rollup row)."""

    program = models.ForeignKey(
        Program, verbose_name=_("program"), on_delete=models.CASCADE, related_name="metric_month_rollups", db_index=False
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    metric = models.ForeignKey(
        Metric, verbose_name=_("metric"), on_delete=models.CASCADE, related_name="program_month_rollups", db_index=False
    )
    total = models.DecimalField(_("total"), max_digits=20, decimal_places=2)
    pairings = models.PositiveIntegerField(_("pairings reporting it"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("program month metric")
        verbose_name_plural = _("program month metrics")
        ordering = ["program", "metric", "month"]
        constraints = [
            models.UniqueConstraint(fields=["program", "metric", "month"], name="programmonthmetric_unique"),
            models.CheckConstraint(condition=Q(total__gte=0), name="programmonthmetric_total_not_negative"),
            models.CheckConstraint(condition=Q(pairings__gte=1), name="programmonthmetric_has_pairings"),
        ]
        indexes = [models.Index(fields=["metric", "month"])]

    def __str__(self):
        return f"{self.program_id} · {self.metric_id} · {self.month:%Y-%m}"
