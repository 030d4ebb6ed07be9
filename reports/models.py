from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from pairings.models import Pairing, Program, pairing_visibility, program_admin_q


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
