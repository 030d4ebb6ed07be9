"""Report periods as values: ``Month(2024, 3)``, ``Quarter(2024, 1)``, ``Year(2024)``.

Parsed from and printed as ``2024-03``, ``2024Q1`` and ``2024``. Everything here is pure: functions that
depend on "now" take ``today`` (a date in Asia/Shanghai) instead of reading the clock, and
:func:`local_today` turns an aware datetime into that date.
"""

from __future__ import annotations

import datetime
import re
import zoneinfo
from dataclasses import dataclass

from django.utils.translation import gettext as _

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
MIN_YEAR, MAX_YEAR = 2000, 2100


class PeriodError(ValueError):
    """A period string that is not 2024-03, 2024Q1 or 2024 (or out of range)."""


def _check_year(year):
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise PeriodError(_("The year must be between %(min)s and %(max)s.") % {"min": MIN_YEAR, "max": MAX_YEAR})


class _Period:
    """Shared behaviour: date range, aware datetime range, membership, the months it spans."""

    kind = ""

    @property
    def start(self) -> datetime.date:
        raise NotImplementedError

    @property
    def end(self) -> datetime.date:
        """The last day of the period (inclusive)."""
        raise NotImplementedError

    @property
    def start_at(self) -> datetime.datetime:
        """Midnight at the start of the period in Asia/Shanghai."""
        return datetime.datetime.combine(self.start, datetime.time.min, tzinfo=TZ)

    @property
    def end_at(self) -> datetime.datetime:
        """Midnight after the period's last day in Asia/Shanghai (exclusive bound)."""
        return datetime.datetime.combine(self.end + datetime.timedelta(days=1), datetime.time.min, tzinfo=TZ)

    def __contains__(self, day: datetime.date) -> bool:
        if isinstance(day, datetime.datetime):
            day = day.astimezone(TZ).date()
        return self.start <= day <= self.end

    def months(self) -> list[Month]:
        first = Month(self.start.year, self.start.month)
        return [first.shift(n) for n in range(self.month_count)]

    @property
    def month_count(self) -> int:
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1

    @property
    def year_start(self) -> datetime.date:
        """1 January of the period's year, where year-to-date figures begin."""
        return datetime.date(self.start.year, 1, 1)

    def __str__(self):
        return self.key


@dataclass(frozen=True, order=True)
class Month(_Period):
    year: int
    month: int
    kind = "month"

    def __post_init__(self):
        _check_year(self.year)
        if not 1 <= self.month <= 12:
            raise PeriodError(_("The month must be between 1 and 12."))

    @property
    def key(self):
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self):
        return _("%(year)s年%(month)s月") % {"year": self.year, "month": self.month}

    @property
    def short_label(self):
        return _("%(month)s月") % {"month": self.month}

    @property
    def start(self):
        return datetime.date(self.year, self.month, 1)

    @property
    def end(self):
        return self.shift(1).start - datetime.timedelta(days=1)

    def shift(self, months: int) -> Month:
        index = self.year * 12 + (self.month - 1) + months
        return Month(index // 12, index % 12 + 1)

    def next(self):
        return self.shift(1)

    def previous(self):
        return self.shift(-1)

    @property
    def quarter(self) -> Quarter:
        return Quarter(self.year, (self.month - 1) // 3 + 1)


@dataclass(frozen=True, order=True)
class Quarter(_Period):
    year: int
    quarter: int
    kind = "quarter"

    def __post_init__(self):
        _check_year(self.year)
        if not 1 <= self.quarter <= 4:
            raise PeriodError(_("The quarter must be between 1 and 4."))

    @property
    def key(self):
        return f"{self.year:04d}Q{self.quarter}"

    @property
    def label(self):
        return _("%(year)s年第%(quarter)s季度") % {"year": self.year, "quarter": self.quarter}

    @property
    def start(self):
        return datetime.date(self.year, 3 * self.quarter - 2, 1)

    @property
    def end(self):
        return Month(self.year, 3 * self.quarter).end

    def shift(self, quarters: int) -> Quarter:
        index = self.year * 4 + (self.quarter - 1) + quarters
        return Quarter(index // 4, index % 4 + 1)

    def next(self):
        return self.shift(1)

    def previous(self):
        return self.shift(-1)


@dataclass(frozen=True, order=True)
class Year(_Period):
    year: int
    kind = "year"

    def __post_init__(self):
        _check_year(self.year)

    @property
    def key(self):
        return f"{self.year:04d}"

    @property
    def label(self):
        return _("%(year)s年") % {"year": self.year}

    @property
    def start(self):
        return datetime.date(self.year, 1, 1)

    @property
    def end(self):
        return datetime.date(self.year, 12, 31)

    def shift(self, years: int) -> Year:
        return Year(self.year + years)

    def next(self):
        return self.shift(1)

    def previous(self):
        return self.shift(-1)


Period = Month | Quarter | Year

_PATTERNS = (
    (re.compile(r"^(\d{4})-(\d{1,2})$"), lambda m: Month(int(m[1]), int(m[2]))),
    (re.compile(r"^(\d{4})[Qq]([1-4])$"), lambda m: Quarter(int(m[1]), int(m[2]))),
    (re.compile(r"^(\d{4})$"), lambda m: Year(int(m[1]))),
)


def parse(text: str) -> Period:
    """``2024-03`` → Month, ``2024Q1`` → Quarter, ``2024`` → Year; anything else raises PeriodError."""
    value = (text or "").strip()
    for pattern, build in _PATTERNS:
        match = pattern.match(value)
        if match:
            return build(match)
    raise PeriodError(
        _("%(value)r is not a period: write 2024-03 for a month, 2024Q1 for a quarter or 2024 for a year.")
        % {"value": value}
    )


def local_today(now: datetime.datetime) -> datetime.date:
    """The calendar date in Asia/Shanghai at the aware instant ``now``."""
    if now.tzinfo is None:
        raise ValueError("local_today needs an aware datetime")
    return now.astimezone(TZ).date()


def month_of(today: datetime.date) -> Month:
    return Month(today.year, today.month)


def quarter_of(today: datetime.date) -> Quarter:
    return month_of(today).quarter


def previous_month(today: datetime.date) -> Month:
    """The month before the one ``today`` falls in (what the report of the 1st covers)."""
    return month_of(today).previous()


def previous_quarter(today: datetime.date) -> Quarter:
    """The quarter before the one ``today`` falls in."""
    return quarter_of(today).previous()
