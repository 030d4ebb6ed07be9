from django.conf import settings
from django.db import models
from django.db.models import Q
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
