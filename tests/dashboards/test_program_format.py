"""The dashboard's pairing table shows its numbers pre-formatted (dashboards.program._shown, Row.hours_text,
metric_cells, last_month): exactly what the floatformat and date filters gave, in both languages."""

import datetime
import random
from decimal import Decimal

import pytest
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import floatformat
from django.utils import translation

from dashboards.program import Row, _exact, _shown


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("places, argument", [("0.1", "-1"), ("0.01", "-2")])
def test_shown_equals_floatformat(language, places, argument):
    rng = random.Random(7)
    values = [0, 1, 0.1, 0.01, 5.5, 12.05, 100, 99.99, 1234567.89, 10**9 + 0.5, "3.10", "7.00"]
    values += [rng.random() * 10 ** rng.randint(0, 8) for _ in range(500)]
    with translation.override(language):
        for value in values:
            exact = _exact(value, places)
            assert _shown(exact) == floatformat(exact, argument), (value, places)


def test_last_month_equals_the_date_filter():
    for day in (datetime.date(2024, 1, 31), datetime.date(2025, 12, 1), datetime.date(999, 5, 5)):
        row = Row(pk=1, supporter="", supported="", activities=0, confirmed=0, people=0, hours=Decimal(0),
                  last_activity_on=day, dormant=False)
        assert row.last_month == date_filter(day, "Y-m")


def test_shown_keeps_every_place_of_a_fraction():
    assert _shown(Decimal("12.50")) == "12.50"
    assert _shown(Decimal("12.0")) == "12"
