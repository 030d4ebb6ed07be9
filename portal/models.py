from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords


class User(AbstractUser):
    """A person who signs in: staff of a school, a branch, a village or a program office."""

    full_name = models.CharField(_("full name"), max_length=60, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    # Who last switched the account on or off, and when (the set-up pages' audit of `is_active`; the
    # user's memberships and records are kept either way).
    active_changed_by = models.ForeignKey(
        "self", verbose_name=_("activation changed by"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    active_changed_at = models.DateTimeField(_("activation changed at"), null=True, blank=True)

    class Meta(AbstractUser.Meta):
        verbose_name = _("user")
        verbose_name_plural = _("users")
        swappable = "AUTH_USER_MODEL"

    def __str__(self):
        return self.full_name or self.username


class Organization(models.Model):
    """A node of the organisation tree: school, department, party branch, sub-district, village, office."""

    class Kind(models.TextChoices):
        SCHOOL = "school", _("school")
        COLLEGE = "college", _("college")
        GOVERNMENT = "government", _("government organ")
        DEPARTMENT = "department", _("department")
        PARTY_COMMITTEE = "committee", _("party committee")
        BRANCH = "branch", _("party branch")
        TOWN = "town", _("town")
        SUBDISTRICT = "subdistrict", _("sub-district")
        VILLAGE = "village", _("village")
        COMMUNITY = "community", _("community")
        OTHER = "other", _("other")

    SUPPORTED_KINDS = (Kind.VILLAGE, Kind.COMMUNITY, Kind.SUBDISTRICT, Kind.TOWN)

    name = models.CharField(_("name"), max_length=100)
    short_name = models.CharField(_("short name"), max_length=40, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    contact_name = models.CharField(_("contact person"), max_length=60, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=20, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    # The program office that keeps this organisation's record: set on a root that an office's admin
    # creates (before any pairing names it), so the set-up pages can scope it. A subtree follows its root.
    managed_by = models.ForeignKey(
        "self",
        verbose_name=_("managed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="managed_organizations",
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="organization_unique_name_in_parent"),
            models.UniqueConstraint(
                fields=["name"], condition=Q(parent__isnull=True), name="organization_unique_root_name"
            ),
            models.CheckConstraint(condition=~Q(parent=F("id")), name="organization_not_own_parent"),
        ]
        indexes = [models.Index(fields=["kind", "name"])]

    def __str__(self):
        return self.name

    def ancestors(self):
        """This organisation's parents, nearest first (one query per level; trees are shallow)."""
        node, chain = self.parent, []
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain


class Membership(models.Model):
    """A user's role in one organisation; roles reach the organisation's subtree where that makes sense."""

    class Role(models.TextChoices):
        ADMIN = "admin", _("program admin")
        COMMITTEE = "committee", _("party committee")
        SECRETARY = "secretary", _("branch secretary")
        MEMBER = "member", _("member")
        VILLAGE_COMMITTEE = "village_committee", _("village committee")
        LIAISON = "liaison", _("liaison")

    user = models.ForeignKey(User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(
        Organization, verbose_name=_("organisation"), on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    title = models.CharField(_("title"), max_length=60, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["organization__name", "role"]
        constraints = [
            models.UniqueConstraint(fields=["user", "organization", "role"], name="membership_unique_role"),
        ]

    def __str__(self):
        return f"{self.user} · {self.organization} · {self.get_role_display()}"


class SoftDeleteQuerySet(models.QuerySet):
    """Rows are hidden, not removed: an admin can restore them, and the audit trail keeps both steps."""

    def alive(self):
        return self.filter(deleted_at__isnull=True)

    def deleted(self):
        return self.filter(deleted_at__isnull=False)


class AliveManager(models.Manager):
    """The default manager of soft-deletable models: deleted rows are left out everywhere by default."""

    def get_queryset(self):
        return super().get_queryset().filter(deleted_at__isnull=True)


class Invitation(models.Model):
    """A one-time link that lets an invited person choose a user name and password; only its hash is kept."""

    VALID_DAYS = 7

    user = models.ForeignKey(User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="invitations")
    token_hash = models.CharField(_("token hash"), max_length=64, unique=True)
    created_by = models.ForeignKey(
        User, verbose_name=_("invited by"), null=True, on_delete=models.SET_NULL, related_name="invitations_sent"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.user} · {self.created_at:%Y-%m-%d}"

    def is_open(self, now):
        return self.used_at is None and self.revoked_at is None and self.expires_at > now


class ImportBatch(models.Model):
    """One uploaded ledger (台账) file: who, when, which file, of what kind, what each row did; undoable."""

    class Status(models.TextChoices):
        CHECKING = "checking", _("being checked")
        PREVIEW = "preview", _("preview")
        APPLYING = "applying", _("being saved")
        APPLIED = "applied", _("saved")
        UNDONE = "undone", _("undone")
        FAILED = "failed", _("failed")

    kind = models.CharField(_("kind"), max_length=20)
    # The program the ledger is for: a plain id, since the base app names no app to its right (the kind resolves it).
    program_id = models.PositiveIntegerField(_("program"), null=True, blank=True)
    program_name = models.CharField(_("program"), max_length=100, blank=True)
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/", max_length=200)
    file_name = models.CharField(_("file name"), max_length=200)
    file_sha256 = models.CharField(_("file hash"), max_length=64, db_index=True)
    encoding = models.CharField(_("encoding"), max_length=20, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.CHECKING)
    created_by = models.ForeignKey(User, verbose_name=_("imported by"), on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    applied_at = models.DateTimeField(_("saved at"), null=True, blank=True)
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)
    undone_by = models.ForeignKey(
        User, verbose_name=_("undone by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    new_rows = models.PositiveIntegerField(_("new"), default=0)
    unchanged_rows = models.PositiveIntegerField(_("unchanged"), default=0)
    updated_rows = models.PositiveIntegerField(_("updated"), default=0)
    error_rows = models.PositiveIntegerField(_("errors"), default=0)
    unknown_columns = models.JSONField(_("columns ignored"), default=list, blank=True)
    message = models.TextField(_("message"), blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("ledger import")
        verbose_name_plural = _("ledger imports")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.file_name} ({self.created_at:%Y-%m-%d %H:%M})" if self.created_at else self.file_name


class ImportRow(models.Model):
    """One row of an import: its cells, its outcome, and once saved the object it made or changed (with the
    values it had before, for undo)."""

    class Outcome(models.TextChoices):
        NEW = "new", pgettext_lazy("import row", "new")
        UNCHANGED = "unchanged", pgettext_lazy("import row", "unchanged")
        UPDATED = "updated", pgettext_lazy("import row", "updated")
        ERROR = "error", pgettext_lazy("import row", "error")

    batch = models.ForeignKey(ImportBatch, verbose_name=_("ledger import"), on_delete=models.CASCADE, related_name="rows")
    number = models.PositiveIntegerField(_("row"))
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    values = models.JSONField(_("cells"), default=dict)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    key = models.CharField(_("natural key"), max_length=400, blank=True)
    summary = models.CharField(_("summary"), max_length=400, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    object_id = models.PositiveIntegerField(_("object"), null=True, blank=True)
    previous = models.JSONField(_("values before"), null=True, blank=True)

    class Meta:
        verbose_name = _("import row")
        verbose_name_plural = _("import rows")
        ordering = ["batch", "number"]
        constraints = [models.UniqueConstraint(fields=["batch", "number"], name="importrow_unique_number")]


class OutboxMessage(models.Model):
    """A task that could not be handed to the broker when a page asked: beat's flush sends it once the broker is back."""

    task = models.CharField(_("task"), max_length=200)
    args = models.JSONField(_("arguments"), default=list, blank=True)
    kwargs = models.JSONField(_("keyword arguments"), default=dict, blank=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    # the page's request id (portal/logs.py): the task's log lines carry it once the flush has sent it
    request_id = models.CharField(_("request id"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("queued task")
        verbose_name_plural = _("queued tasks")
        ordering = ["id"]

    def __str__(self):
        return f"{self.task} #{self.pk}"


class UserSession(AbstractBaseSession):
    """A session as Django keeps it, plus the signed-in user's id in a column of its own, so that a request reads
    its session and its user in one query (portal/sessions.py) instead of one after the other. The database stays
    the only store of sessions: a sign-out deletes the row, and nothing else can answer for it."""

    # No foreign key constraint: a session names its user in its data first, and a user deleted meanwhile leaves
    # the row pointing at nobody (read as signed out), as Django's own sessions do.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), null=True, blank=True, on_delete=models.DO_NOTHING,
        db_constraint=False, related_name="+",
    )

    class Meta(AbstractBaseSession.Meta):
        verbose_name = _("session")
        verbose_name_plural = _("sessions")

    @classmethod
    def get_session_store_class(cls):
        # for encoding and decoding (get_decoded, the manager's encode): the format is Django's own
        from django.contrib.sessions.backends.db import SessionStore

        return SessionStore


class SetupToken(models.Model):
    """One row: a token replaced, in the writing transaction, by every change to the set-up (`versioned.setup_changed`:
    organisations, memberships, and the other models it watches). Each request reads it with its session
    (portal/sessions.py), and the user's reach is cached under it (permissions.scope_for): since the token lives in the
    database and changes with the data it stands for, a change lost by the cache (Redis hung or stopped) cannot
    leave a role taken away in reach, as a token kept in Redis could."""

    ROW = 1  # the only row's id

    token = models.CharField(_("token"), max_length=32)

    class Meta:
        verbose_name = _("set-up token")
        verbose_name_plural = _("set-up tokens")
