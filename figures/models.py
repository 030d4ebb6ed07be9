"""The rollup: per pairing-month, pairing-year and program-month figures, kept current by figures/rollups.py.

Pages and reports read these few rows instead of scanning activities. Every row is derived: ``rebuild_rollups``
recomputes them all from the activities.
"""

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from activities.models import Activity
from pairings.models import Metric, Pairing, Program


class PairingFigures(models.Model):
    """The figures a pairing's month and year share (an abstract base of the rollup rows)."""

    pairing = models.ForeignKey(Pairing, verbose_name=_("pairing"), on_delete=models.CASCADE, db_index=False)
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
        abstract = True


class PairingMonth(PairingFigures):
    """One pairing's counted activities, people served and verified hours in one month (a rollup row)."""

    pairing = models.ForeignKey(
        Pairing, verbose_name=_("pairing"), on_delete=models.CASCADE, related_name="month_rollups", db_index=False
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month."))

    class Meta:
        verbose_name = _("pairing month")
        verbose_name_plural = _("pairing months")
        ordering = ["pairing", "month"]
        constraints = [
            models.UniqueConstraint(fields=["pairing", "month"], name="pairingmonth_unique_month"),
            # a row exists only for a month with at least one counted activity
            models.CheckConstraint(condition=Q(activities__gte=1), name="pairingmonth_has_activities"),
            models.CheckConstraint(condition=Q(confirmed__lte=F("activities")), name="pairingmonth_confirmed_within"),
            models.CheckConstraint(condition=Q(verified_hours__gte=0), name="pairingmonth_hours_not_negative"),
            models.CheckConstraint(condition=Q(last_activity_on__gte=F("month")), name="pairingmonth_last_activity_in_month"),
        ]
        indexes = [models.Index(fields=["month"], name="pairingmonth_month")]

    def __str__(self):
        return f"{self.pairing_id} · {self.month:%Y-%m}"


class PairingMonthMetric(models.Model):
    """One pairing's figure for one metric in one month: the sum of its values and the latest value (a rollup row)."""

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
        Activity, verbose_name=_("activity of the latest value"), null=True, on_delete=models.SET_NULL, related_name="+"
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
            models.CheckConstraint(condition=Q(latest_on__gte=F("month")), name="pairingmonthmetric_latest_in_month"),
        ]
        indexes = [models.Index(fields=["month", "metric"], name="pairingmonthmetric_month")]

    def __str__(self):
        return f"{self.pairing_id} · {self.metric_id} · {self.month:%Y-%m}"


class PairingYear(PairingFigures):
    """One pairing's figures in one year, added up from its months (a rollup row: the dashboards' tables)."""

    pairing = models.ForeignKey(
        Pairing, verbose_name=_("pairing"), on_delete=models.CASCADE, related_name="year_rollups", db_index=False
    )
    year = models.PositiveSmallIntegerField(_("year"))

    class Meta:
        verbose_name = _("pairing year")
        verbose_name_plural = _("pairing years")
        ordering = ["pairing", "year"]
        constraints = [
            models.UniqueConstraint(fields=["pairing", "year"], name="pairingyear_unique_year"),
            models.CheckConstraint(condition=Q(activities__gte=1), name="pairingyear_has_activities"),
            models.CheckConstraint(condition=Q(confirmed__lte=F("activities")), name="pairingyear_confirmed_within"),
            models.CheckConstraint(condition=Q(verified_hours__gte=0), name="pairingyear_hours_not_negative"),
        ]
        indexes = [models.Index(fields=["year", "pairing"], name="pairingyear_year_pairing")]

    def __str__(self):
        return f"{self.pairing_id} · {self.year}"


class ProgramMonth(models.Model):
    """One program's figures in one month: its pairings' months and its program-wide activities (a rollup row)."""

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
            # a row exists only for a month with at least one counted activity: of its pairings, or program-wide
            models.CheckConstraint(condition=Q(activities__gte=1), name="programmonth_has_activities"),
            models.CheckConstraint(condition=Q(activities__gte=F("pairings")), name="programmonth_activities_cover_pairings"),
            models.CheckConstraint(condition=Q(confirmed__lte=F("activities")), name="programmonth_confirmed_within"),
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
    # 0 when only the program's activities outside any pairing report it
    pairings = models.PositiveIntegerField(_("pairings reporting it"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("program month metric")
        verbose_name_plural = _("program month metrics")
        ordering = ["program", "metric", "month"]
        constraints = [
            models.UniqueConstraint(fields=["program", "metric", "month"], name="programmonthmetric_unique"),
            models.CheckConstraint(condition=Q(total__gte=0), name="programmonthmetric_total_not_negative"),
        ]
        indexes = [models.Index(fields=["metric", "month"], name="programmonthmetric_metric")]

    def __str__(self):
        return f"{self.program_id} · {self.metric_id} · {self.month:%Y-%m}"
