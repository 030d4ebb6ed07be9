"""The activity list's CSV export, for Excel and WPS: UTF-8 with a byte-order mark, text that a
spreadsheet would run as a formula neutralised, the list's rows under the list's filters.

One query reads every row (``selectors.activity_export``: the figures, hours and photo count are computed
by the database), streamed (``portal.db.stream_rows``: psycopg's chunked results on PostgreSQL, so the
database computes the next rows while these are written); rows are written into blocks of about 64 KB, and
each block is one chunk of the HTTP response.
"""

from __future__ import annotations

import csv
import io

from django.utils.translation import gettext as _

from activities.models import Activity
from portal.csvsafe import BOM, neutralise_text
from portal.db import stream_rows

BLOCK_BYTES = 64 * 1024
FETCH_ROWS = 2000  # rows per chunk read from the database

# What the query returns, in the order of the columns (see selectors.activity_export for the annotations).
FIELDS = (
    "date", "start_text", "end_text", "program_name", "pairing_label", "branch__name", "activity_type__name", "title",
    "place", "status", "party_members", "teachers", "students", "residents_served", "hours_text", "photo_count",
    "figures", "description",
)


def header():
    return [
        _("Date"), _("Start"), _("End"), _("Program"), _("Pairing"), _("Branch"), _("Type"), _("Title"),
        _("Place"), _("Status"), _("Party members"), _("Teachers"), _("Students"), _("Residents served (人次)"),
        _("Volunteer hours"), _("Photos"), _("Outcome figures"), _("Description"),
    ]


def csv_blocks(queryset, *, block_bytes=BLOCK_BYTES, fetch_rows=FETCH_ROWS):
    """The CSV file of ``queryset`` (from ``selectors.activity_export``, filtered and ordered), as text blocks
    of about ``block_bytes``. Runs one query however many rows there are."""
    statuses = dict(Activity.Status.choices)  # the labels in the request's language, looked up once
    text = neutralise_text
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write(BOM)
    writer.writerow(header())
    rows = stream_rows(queryset.values_list(*FIELDS), chunk_size=fetch_rows)
    try:
        for (
            date, start_text, end_text, program, pairing, branch, kind, title, place, status, party_members, teachers,
            students, residents, hours, photos, figures, description,
        ) in rows:
            writer.writerow(
                (
                    date.isoformat(), start_text or "", end_text or "", text(program), text(pairing), text(branch),
                    text(kind), text(title), text(place), statuses.get(status, status), party_members, teachers, students,
                    residents, hours, photos, text(figures), text(description),
                )
            )
            if buffer.tell() >= block_bytes:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    finally:
        rows.close()  # on PostgreSQL the connection stays busy until the stream is closed (e.g. a client hung up)
    yield buffer.getvalue()
