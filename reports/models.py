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
    """A message to one person about something to do or to know, with a link to where it is done."""

    # Who is told of what, and why, is decided in reports/notifications.py (one place).
    class Kind(models.TextChoices):
        REPORT_PUBLISHED = "report_published", _("report published")
        REPORTS_PUBLISHED = "reports_published", _("reports published")
        DRAFTS_WAITING = "drafts_waiting", _("draft reports waiting")
        ACTIVITY_TO_CONFIRM = "activity_to_confirm", _("activity waiting for confirmation")
        ACTIVITY_RETURNED = "activity_returned", _("activity returned")
        PLAN_TO_AGREE = "plan_to_agree", _("plan waiting for agreement")
        NEED_CLAIMED = "need_claimed", _("need claimed")
        NEED_FULFILLED = "need_fulfilled", _("need fulfilled")
        HOURS_TO_VERIFY = "hours_to_verify", _("hours waiting for verification")
        ITEM_DUE = "item_due", _("plan item coming due")
        PAIRING_DORMANT = "pairing_dormant", _("dormant pairing")
        AGREEMENT_EXPIRING = "agreement_expiring", _("agreement expiring")
        ACTION_ITEM = "action_item", _("action item")

    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices, default=Kind.REPORT_PUBLISHED)
    report = models.ForeignKey(
        Report, verbose_name=_("report"), null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
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
    url = models.CharField(_("link"), max_length=300, blank=True, help_text=_("Where it is done: a path in the portal."))
    # The event's identity: the same event announced twice (a retried task, a double click) gives one row.
    key = models.CharField(_("event key"), max_length=120, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("e-mailed at"), null=True, blank=True)
    delivery = models.ForeignKey(
        "Delivery",
        verbose_name=_("digest"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="notifications",
    )

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(user__isnull=True, email=""), name="notification_has_recipient"),
            models.UniqueConstraint(
                fields=["user", "key"], condition=Q(user__isnull=False) & ~Q(key=""), name="notification_once_per_user"
            ),
            models.UniqueConstraint(
                fields=["email", "key"], condition=Q(user__isnull=True) & ~Q(key=""), name="notification_once_per_email"
            ),
        ]
        indexes = [models.Index(fields=["user", "read_at"]), models.Index(fields=["emailed_at"])]

    def __str__(self):
        return self.message


class Preference(models.Model):
    """The channels one person chooses for their notifications (the portal's own list is always on)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="notice_preference"
    )
    email_digest = models.BooleanField(
        _("daily e-mail digest"), default=True, help_text=_("At most one e-mail a day, with everything new.")
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")

    def __str__(self):
        return str(self.user)


class WebhookQuerySet(models.QuerySet):
    def visible_to(self, user):
        """A program's admins manage the group robots of the program and of its pairings."""
        return self.filter(program_admin_q(user, "program__") | program_admin_q(user, "pairing__program__"))

    editable_by = visible_to


class Webhook(models.Model):
    """A group robot (企业微信 or 钉钉) that receives the messages of a program or of one pairing."""

    class Kind(models.TextChoices):
        WECOM = "wecom", _("WeCom group robot (企业微信)")
        DINGTALK = "dingtalk", _("DingTalk group robot (钉钉)")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=60, help_text=_("The group it posts to, e.g. 龙石村结对工作群."))
    program = models.ForeignKey(
        Program, verbose_name=_("program"), null=True, blank=True, on_delete=models.CASCADE, related_name="webhooks"
    )
    pairing = models.ForeignKey(
        Pairing, verbose_name=_("pairing"), null=True, blank=True, on_delete=models.CASCADE, related_name="webhooks"
    )
    url = models.URLField(_("webhook address"), max_length=400)
    secret = models.CharField(
        _("signing secret"), max_length=100, blank=True, help_text=_("钉钉 only: the robot's 加签 secret (SEC…).")
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = WebhookQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("group robot")
        verbose_name_plural = _("group robots")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(program__isnull=False, pairing__isnull=True) | Q(program__isnull=True, pairing__isnull=False),
                name="webhook_program_or_pairing",
            ),
        ]

    def __str__(self):
        return self.name


class Delivery(models.Model):
    """The outbox: one message to send on one channel (a digest e-mail, a group robot's post), sent by Celery."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("e-mail")
        WECOM = "wecom", _("WeCom (企业微信)")
        DINGTALK = "dingtalk", _("DingTalk (钉钉)")

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting to be sent")
        SENT = "sent", _("sent")
        FAILED = "failed", _("given up")

    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    # Unique: building the same message twice (a digest of the same day, a robot's post of the same event) adds nothing.
    key = models.CharField(_("key"), max_length=160, unique=True)
    email = models.EmailField(_("e-mail"), blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), null=True, blank=True, on_delete=models.CASCADE,
        related_name="+",
    )
    webhook = models.ForeignKey(
        Webhook, verbose_name=_("group robot"), null=True, blank=True, on_delete=models.CASCADE,
        related_name="deliveries",
    )
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"), blank=True)
    # An e-mail's HTML alternative (the digest); the plain text in ``body`` is what every reader gets.
    html = models.TextField(_("HTML"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(channel="email") & ~Q(email="")) | (~Q(channel="email") & Q(webhook__isnull=False)),
                name="delivery_has_target",
            ),
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False), name="delivery_sent_has_time"
            ),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self):
        return f"{self.get_channel_display()} {self.key}"


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
