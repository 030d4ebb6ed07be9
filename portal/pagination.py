"""Keyset pagination and capped counts, for long lists ordered by (a date, id).

A page is "the rows after (or before) a row" in the list's order, found through an index on (date, id) that
PostgreSQL walks from that row and leaves after PAGE_SIZE + 1 rows: page 10,000 costs what page 1 costs,
where OFFSET would read and throw away every row before it.

The URL names the row: `?cursor=2024-03-01_1234` is "the rows after the row (2024-03-01, id 1234) in the
list's current order" (newest first: (date, id) < (2024-03-01, 1234); oldest first: >). `?before=…` is the
rows before it, nearest first, for the link back. Anything else in those parameters is refused with
`BadCursor`, which the view turns into the first page and a message.

A count of a million rows would read them all; `capped_count` stops at the cap and says "1,000+".
"""

import datetime
import re
from dataclasses import dataclass, field

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Q

PAGE_SIZE = 50
COUNT_CAP = 1000

_CURSOR = re.compile(r"(?:(\d{1,2})~)?(\d{4}-\d{2}-\d{2})_(\d{1,18})")


class BadCursor(ValueError):
    """A cursor parameter that is not `YYYY-MM-DD_<id>` (or names no possible date)."""


@dataclass(frozen=True, order=True)
class Cursor:
    """A row's place in the order: its date and its id (and, in a list read in segments, its segment's number:
    `1~2024-03-01_1234`)."""

    date: datetime.date
    id: int
    segment: int = 0

    @classmethod
    def parse(cls, text):
        match = _CURSOR.fullmatch(text or "")
        if not match:
            raise BadCursor(text)
        try:
            return cls(datetime.date.fromisoformat(match[2]), int(match[3]), int(match[1] or 0))
        except ValueError:  # 2024-02-30
            raise BadCursor(text) from None

    @classmethod
    def of(cls, row, date_field="date", segment=0):
        return cls(getattr(row, date_field), row.pk, segment)

    def __str__(self):
        place = f"{self.date.isoformat()}_{self.id}"
        return f"{self.segment}~{place}" if self.segment else place


def beyond(cursor, *, ascending, date_field="date"):
    """The rows strictly after `cursor` in the order (date, id) ascending, or descending. Written as
    `date <= d AND (date < d OR id < i)` (not an OR alone) so the database starts the index walk at d."""
    if ascending:
        return Q(**{f"{date_field}__gte": cursor.date}) & (
            Q(**{f"{date_field}__gt": cursor.date}) | Q(id__gt=cursor.id)
        )
    return Q(**{f"{date_field}__lte": cursor.date}) & (Q(**{f"{date_field}__lt": cursor.date}) | Q(id__lt=cursor.id))


def ordering(*, ascending, date_field="date"):
    return (date_field, "id") if ascending else (f"-{date_field}", "-id")


@dataclass
class KeysetPage:
    """One page of rows and where its links lead (cursors as strings, None where there is nothing)."""

    object_list: list = field(default_factory=list)
    next_cursor: str | None = None  # ?cursor=  the rows after this page
    previous_cursor: str | None = None  # ?before= the rows before this page
    is_first: bool = True

    @property
    def has_next(self):
        return self.next_cursor is not None

    @property
    def has_previous(self):
        return self.previous_cursor is not None

    @property
    def has_other_pages(self):
        return self.has_next or self.has_previous or not self.is_first

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self):
        return len(self.object_list)


def page_bounds(*, after=None, before=None):
    """Parse the two parameters (raises BadCursor). `after` wins when both are given."""
    if after:
        return Cursor.parse(after), None
    if before:
        return None, Cursor.parse(before)
    return None, None


def keyset_page(fetch, *, ascending=False, after=None, before=None, size=PAGE_SIZE, date_field="date", segments=None):
    """Read one page. `fetch(condition, order, limit)` returns at most `limit` rows (a list) matching the
    Q `condition` in the `order` given; the page asks it for size + 1 rows, the extra one only telling whether
    there is more. `after`/`before` are Cursors (at most one).

    `segments`: Q conditions that split the list into parts read one after the other, each in the (date, id)
    order (a searched list's best matches first, then the rest): a page that reaches the end of one part goes on
    at the start of the next (one fetch per part it touches), and its cursors name their part."""
    parts = list(segments) if segments else [Q()]
    for cursor in (after, before):
        if cursor is not None and cursor.segment >= len(parts):  # a link that names no part: the first page
            after = before = None
    forward = ordering(ascending=ascending, date_field=date_field)
    backward = ordering(ascending=not ascending, date_field=date_field)

    def read(cursor, *, step, order, reverse):
        """size + 1 rows at most, as (part, row): from the cursor's part (past the cursor), then the parts after it
        (step 1) or before it, read from their ends (step -1)."""
        found = []
        part = cursor.segment if cursor is not None else 0
        while 0 <= part < len(parts) and len(found) <= size:
            condition = parts[part]
            if cursor is not None and part == cursor.segment:
                condition = condition & beyond(cursor, ascending=reverse, date_field=date_field)
            found += [(part, row) for row in fetch(condition, order, size + 1 - len(found))]
            part += step
        return found

    def place(found):
        part, row = found
        return str(Cursor.of(row, date_field, part))

    if before is not None:
        rows = read(before, step=-1, order=backward, reverse=not ascending)
        if rows:
            more_before = len(rows) > size
            rows = rows[:size][::-1]  # the nearest `size` rows before the cursor, back in the list's order
            return KeysetPage(
                object_list=[row for _, row in rows],
                next_cursor=place(rows[-1]),
                previous_cursor=place(rows[0]) if more_before else None,
                is_first=not more_before,
            )
        # nothing before that row (it was the first, or rows came in since): the first page
        after = None
    rows = read(after, step=1, order=forward, reverse=ascending)
    more_after = len(rows) > size
    rows = rows[:size]
    return KeysetPage(
        object_list=[row for _, row in rows],
        next_cursor=place(rows[-1]) if more_after else None,
        previous_cursor=place(rows[0]) if after is not None and rows else None,
        is_first=after is None,
    )


@dataclass(frozen=True)
class CappedCount:
    """How many rows, up to a cap: `exact` is False when there are more than `cap`."""

    value: int
    exact: bool
    cap: int = COUNT_CAP

    @property
    def shown(self):
        """The figure as the page shows it: "987", or "1,000" when there are more (the page adds the "+")."""
        return f"{self.value:,}"


def capped_count(queryset, cap=COUNT_CAP, *, parts=None):
    """COUNT over `SELECT id … LIMIT cap + 1`: reads at most cap + 1 index entries, never the whole table.

    The COUNT is written around the compiled SELECT, as `QuerySet.count()` would send it: count() gets there by
    cloning the query into a subquery of an aggregation, a quarter of a millisecond of each list page.

    `parts`: querysets of the same model that hold each of `queryset`'s rows exactly once between them (the caller
    vouches for it), counted instead of it as one `SELECT id … UNION ALL SELECT id … LIMIT cap + 1`, which stops as
    early: for a condition that is an OR of parts each of which an index answers alone."""
    selects = []
    for part in parts if parts is not None else [queryset]:
        ids = part.order_by().values("id")
        try:
            selects.append(ids.query.get_compiler(using=ids.db).as_sql())
        except EmptyResultSet:  # a condition that matches nothing (`id IN ()`): nothing to read
            continue
    if not selects:
        return CappedCount(value=0, exact=True, cap=cap)
    sql = " UNION ALL ".join(select for select, _params in selects)  # no parentheses: SQLite takes none
    params = [param for _select, select_params in selects for param in select_params]
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM ({sql} LIMIT {int(cap) + 1}) capped", params)
        found = cursor.fetchone()[0]
    return CappedCount(value=min(found, cap), exact=found <= cap, cap=cap)
