from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from portal.db import ids_in_q
from portal.models import Organization
from portal.permissions import admin_party_orgs, scope_for


class OrgOwnedQuerySet(models.QuerySet):
    """Volunteers and teams belong to an organisation: its people (and those above it in the tree) see
    and manage them; a program admin reads those of every organisation in the program's pairings."""

    org_path = "organization_id"

    def visible_to(self, user):
        org_ids = self.visible_org_ids(user)
        if org_ids is None:
            return self
        # a province admin's scope holds thousands of organisations: as one array (portal.db.IdsIn)
        return self.filter(ids_in_q(self.org_path, org_ids))

    @staticmethod
    def visible_org_ids(user):
        """The organisations whose volunteers and teams the user reads (visible_to's rule), None for every one."""
        scope = scope_for(user)
        return None if scope.is_superuser else scope.own_orgs | admin_party_orgs(user)

    def editable_by(self, user):
        scope = scope_for(user)
        if scope.is_superuser:
            return self
        return self.filter(**{f"{self.org_path}__in": scope.committee_orgs | scope.secretary_orgs})


class OfferingQuerySet(OrgOwnedQuerySet):
    org_path = "team__organization_id"


class Volunteer(models.Model):
    """A person who serves: party member, teacher, student or resident, registered with one organisation."""

    class Kind(models.TextChoices):
        PARTY_MEMBER = "party_member", _("party member")
        TEACHER = "teacher", _("teacher")
        STUDENT = "student", _("student")
        RESIDENT = "resident", _("resident")
        OTHER = "other", _("other")

    organization = models.ForeignKey(
        Organization, verbose_name=_("organisation"), on_delete=models.PROTECT, related_name="volunteers"
    )
    name = models.CharField(_("name"), max_length=60)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    is_party_member = models.BooleanField(_("party member"), default=False)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = OrgOwnedQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("volunteer")
        verbose_name_plural = _("volunteers")
        ordering = ["organization", "name"]
        indexes = [models.Index(fields=["organization", "name"])]

    def __str__(self):
        return self.name


class Team(models.Model):
    """A volunteer service team such as 小电匠家电维修队."""

    organization = models.ForeignKey(
        Organization, verbose_name=_("organisation"), on_delete=models.PROTECT, related_name="teams"
    )
    name = models.CharField(_("name"), max_length=80)
    description = models.TextField(_("description"), blank=True)
    leader = models.ForeignKey(
        Volunteer, verbose_name=_("leader"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    members = models.ManyToManyField(Volunteer, verbose_name=_("members"), related_name="teams", blank=True)
    founded_on = models.DateField(_("founded on"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    objects = OrgOwnedQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="team_unique_name")]

    def __str__(self):
        return self.name


class ServiceOffering(models.Model):
    """A service on a team's menu (点单式服务), e.g. 家电维修 or 血压检测."""

    team = models.ForeignKey(Team, verbose_name=_("team"), on_delete=models.CASCADE, related_name="offerings")
    name = models.CharField(_("name"), max_length=60)
    description = models.CharField(_("description"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    objects = OfferingQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("service offering")
        verbose_name_plural = _("service offerings")
        ordering = ["team", "name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="serviceoffering_unique_name"),
            models.CheckConstraint(condition=~Q(name=""), name="serviceoffering_name_not_empty"),
        ]

    def __str__(self):
        return f"{self.team.name} · {self.name}"


class CertificateQuerySet(OrgOwnedQuerySet):
    org_path = "volunteer__organization_id"


class Certificate(models.Model):
    """A numbered volunteer service certificate (志愿服务记录证明), kept as issued: the same volunteer,
    period and verified services always get the same number back."""

    PREFIX = "ZYFW"

    volunteer = models.ForeignKey(
        Volunteer, verbose_name=_("volunteer"), on_delete=models.PROTECT, related_name="certificates"
    )
    number = models.CharField(_("number"), max_length=24, unique=True)
    year = models.PositiveSmallIntegerField(_("year of issue"))
    serial = models.PositiveIntegerField(_("serial"))
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    total_hours = models.DecimalField(_("total hours"), max_digits=8, decimal_places=1)
    lines = models.JSONField(_("services certified"), default=list)
    digest = models.CharField(_("content digest"), max_length=64)
    issuer_name = models.CharField(_("issuing organisation"), max_length=100)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("issued by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    issued_at = models.DateTimeField(_("issued at"), auto_now_add=True)

    objects = CertificateQuerySet.as_manager()

    class Meta:
        verbose_name = _("service certificate")
        verbose_name_plural = _("service certificates")
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["year", "serial"], name="certificate_unique_serial"),
            models.UniqueConstraint(
                fields=["volunteer", "period_start", "period_end", "digest"], name="certificate_unique_content"
            ),
            models.CheckConstraint(condition=Q(period_end__gte=F("period_start")), name="certificate_period_in_order"),
            models.CheckConstraint(condition=Q(total_hours__gt=0), name="certificate_hours_positive"),
        ]

    def __str__(self):
        return self.number
