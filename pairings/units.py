"""The unit registry: for each unit a metric may have, how its values may add up over activities.

One table decides it, and everything follows from it: ``Metric.clean`` (so the admin and every form built on the
model), the database's check constraint on ``Metric`` (so no path stores a forbidden pair), and docs/figures.md.

- Counts of things done or events held (件, 场次, 株) and of persons counted per activity (人次) are **sum only**:
  each activity reports its own, and the period's figure is their total. A "latest value" of them would drop
  every activity but one.
- Distinct persons (人) are **snapshot only**: the number of different people (辅导员, 调解员, 走访的儿童) is a
  running total someone keeps, and the period's figure is its latest value. Persons counted per activity and
  added up are person-times: that metric's unit is 人次. (Distinct volunteers come from identified records, the
  service records, not from a metric.)
- Money (万元, 元) and areas (亩, 平方米) may be either: funds raised or an area cleaned add up over activities
  (sum); a coverage or a balance that each report restates (智慧灌溉覆盖面积) is a snapshot. A village's own
  statistics (人均纯收入, 集体经济收入) are not metrics at all: they are ``VillageStatistic`` records.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Unit(models.TextChoices):
    ITEMS = "件", _("items (件)")
    PERSON_TIMES = "人次", _("person-times (人次)")
    SESSIONS = "场次", _("sessions (场次)")
    PERSONS = "人", _("persons (人)")
    TEN_THOUSAND_YUAN = "万元", _("10,000 yuan (万元)")
    YUAN = "元", _("yuan (元)")
    MU = "亩", _("mu (亩)")
    SQUARE_METRES = "平方米", _("square metres (平方米)")
    PLANTS = "株", _("plants (株)")


# Units that count whole things or people: 3.5 件 or 1234.5 人 is a typing mistake (metric values and village
# statistics alike refuse it).
WHOLE_UNITS = frozenset({Unit.ITEMS, Unit.PERSON_TIMES, Unit.SESSIONS, Unit.PERSONS, Unit.PLANTS})


class Aggregation(models.TextChoices):
    SUM = "sum", _("sum over activities")
    SNAPSHOT = "snapshot", _("latest value in the period")


@dataclass(frozen=True)
class UnitRule:
    aggregations: tuple  # the Aggregation values allowed, the usual one first
    refusal: str  # why another one is refused, for the person at the form


SUM_ONLY = _("A metric counted in %(unit)s adds up over activities (each activity reports its own); it cannot be a latest value.")
RULES = {
    Unit.ITEMS: UnitRule((Aggregation.SUM,), SUM_ONLY),
    Unit.PERSON_TIMES: UnitRule((Aggregation.SUM,), SUM_ONLY),
    Unit.SESSIONS: UnitRule((Aggregation.SUM,), SUM_ONLY),
    Unit.PLANTS: UnitRule((Aggregation.SUM,), SUM_ONLY),
    Unit.PERSONS: UnitRule(
        (Aggregation.SNAPSHOT,),
        _(
            "Persons counted per activity and added up are person-times: choose the unit person-times (人次) to add "
            "them up. A metric in persons (人) can only be a latest value: the running total of different people."
        ),
    ),
    Unit.TEN_THOUSAND_YUAN: UnitRule((Aggregation.SUM, Aggregation.SNAPSHOT), ""),
    Unit.YUAN: UnitRule((Aggregation.SUM, Aggregation.SNAPSHOT), ""),
    Unit.MU: UnitRule((Aggregation.SUM, Aggregation.SNAPSHOT), ""),
    Unit.SQUARE_METRES: UnitRule((Aggregation.SUM, Aggregation.SNAPSHOT), ""),
}
assert set(RULES) == set(Unit), "every unit has its rule"


def allowed_aggregations(unit):
    """The Aggregation values a metric in ``unit`` may have (none for an unknown unit)."""
    rule = RULES.get(unit)
    return rule.aggregations if rule else ()


def default_aggregation(unit):
    allowed = allowed_aggregations(unit)
    return allowed[0] if allowed else Aggregation.SUM


def validate(unit, aggregation):
    """Raise ValidationError (on the ``aggregation`` field) when a metric in ``unit`` may not add up that way."""
    rule = RULES.get(unit)
    if rule is None or aggregation in rule.aggregations:
        return
    raise ValidationError({"aggregation": ValidationError(rule.refusal % {"unit": unit}, code="unit_aggregation")})


def allowed_q():
    """The registry as a condition over Metric rows (the database's check constraint)."""
    by_aggregations = {}
    for unit, rule in RULES.items():
        by_aggregations.setdefault(tuple(sorted(rule.aggregations)), []).append(unit.value)
    condition = Q()
    for aggregations, unit_values in sorted(by_aggregations.items()):
        condition |= Q(unit__in=sorted(unit_values), aggregation__in=list(aggregations))
    return condition
