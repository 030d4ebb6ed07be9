"""Periods are values with pure functions that take `today` (Asia/Shanghai)."""

import datetime

import pytest

from reports.periods import (
    TZ,
    Month,
    PeriodError,
    Quarter,
    Year,
    local_today,
    month_of,
    parse,
    previous_month,
    previous_quarter,
)


@pytest.mark.parametrize(
    "text, value",
    [("2024-03", Month(2024, 3)), ("2024-3", Month(2024, 3)), ("2024Q1", Quarter(2024, 1)), ("2024q4", Quarter(2024, 4)), ("2024", Year(2024)), (" 2024-12 ", Month(2024, 12))],
)
def test_parse(text, value):
    assert parse(text) == value


@pytest.mark.parametrize("text", ["", "2024-13", "2024-00", "2024Q5", "2024Q0", "24", "1999", "2101", "2024/03", "2024-03-01", "abc", None])
def test_parse_rejects(text):
    with pytest.raises(PeriodError):
        parse(text)


def test_round_trip_and_order():
    for value in (Month(2024, 3), Quarter(2024, 1), Year(2024)):
        assert parse(str(value)) == value
        assert parse(value.key) == value
    assert str(Month(2024, 3)) == "2024-03" and str(Quarter(2024, 1)) == "2024Q1" and str(Year(2024)) == "2024"
    assert Month(2024, 1) < Month(2024, 2) < Month(2025, 1)
    assert hash(Month(2024, 3)) == hash(parse("2024-03"))


def test_dates():
    assert (Month(2024, 2).start, Month(2024, 2).end) == (datetime.date(2024, 2, 1), datetime.date(2024, 2, 29))
    assert Month(2023, 2).end == datetime.date(2023, 2, 28)
    assert Month(2024, 12).end == datetime.date(2024, 12, 31)
    assert (Quarter(2024, 2).start, Quarter(2024, 2).end) == (datetime.date(2024, 4, 1), datetime.date(2024, 6, 30))
    assert (Year(2024).start, Year(2024).end) == (datetime.date(2024, 1, 1), datetime.date(2024, 12, 31))
    assert Quarter(2024, 3).months() == [Month(2024, 7), Month(2024, 8), Month(2024, 9)]
    assert len(Year(2024).months()) == 12
    assert Month(2024, 5).year_start == Quarter(2024, 2).year_start == datetime.date(2024, 1, 1)


def test_aware_bounds_are_shanghai_midnights():
    month = Month(2024, 3)
    assert month.start_at == datetime.datetime(2024, 3, 1, tzinfo=TZ)
    assert month.end_at == datetime.datetime(2024, 4, 1, tzinfo=TZ)
    assert month.start_at.utcoffset() == datetime.timedelta(hours=8)
    # 2024-03-31 23:30 in Shanghai is 15:30 UTC: inside March.
    late = datetime.datetime(2024, 3, 31, 15, 30, tzinfo=datetime.timezone.utc)
    assert late in month and late not in Month(2024, 4)
    assert datetime.date(2024, 3, 31) in month and datetime.date(2024, 4, 1) not in month


def test_shift_across_years():
    assert Month(2024, 1).previous() == Month(2023, 12)
    assert Month(2023, 12).next() == Month(2024, 1)
    assert Month(2024, 3).shift(-15) == Month(2022, 12)
    assert Quarter(2024, 1).previous() == Quarter(2023, 4)
    assert Quarter(2023, 4).next() == Quarter(2024, 1)
    assert Year(2024).previous() == Year(2023)
    assert Month(2024, 11).quarter == Quarter(2024, 4)


@pytest.mark.parametrize(
    "today, month, quarter",
    [
        (datetime.date(2024, 1, 1), Month(2023, 12), Quarter(2023, 4)),
        (datetime.date(2024, 4, 1), Month(2024, 3), Quarter(2024, 1)),
        (datetime.date(2024, 3, 31), Month(2024, 2), Quarter(2023, 4)),
        (datetime.date(2024, 7, 15), Month(2024, 6), Quarter(2024, 2)),
    ],
)
def test_previous_periods(today, month, quarter):
    assert previous_month(today) == month
    assert previous_quarter(today) == quarter


def test_local_today_uses_shanghai():
    # 1 April 2024, 05:59 in Shanghai is still 31 March in UTC: the report of the 1st covers March.
    instant = datetime.datetime(2024, 3, 31, 21, 59, tzinfo=datetime.timezone.utc)
    assert local_today(instant) == datetime.date(2024, 4, 1)
    assert previous_month(local_today(instant)) == Month(2024, 3)
    assert month_of(local_today(instant)) == Month(2024, 4)
    with pytest.raises(ValueError):
        local_today(datetime.datetime(2024, 4, 1))


def test_labels():
    assert Month(2024, 3).label == "2024年3月"
    assert Quarter(2024, 1).label == "2024年第1季度"
    assert Year(2024).label == "2024年"
