"""CSV: UTF-8 with a byte-order mark (Excel and WPS then read Chinese correctly); any text cell starting
with = + - @ (or a tab or carriage return) is prefixed with an apostrophe so it is never run as a formula
(portal.csvsafe). Numbers stay numbers; a percentage is the plain number of percent (62.0 for 62 %), its column
headed "…(%)"."""

from __future__ import annotations

import csv
import io

from portal.csvsafe import BOM, neutralise
from reports.renderers.base import Percent, document


class CsvWriter:
    """csv.writer that neutralises every cell; writes to any text stream."""

    def __init__(self, stream):
        self._writer = csv.writer(stream, lineterminator="\r\n")

    def writerow(self, row):
        self._writer.writerow([_percent(cell) if isinstance(cell, Percent) else neutralise(cell) for cell in row])


def _percent(cell):
    return "" if cell.value is None else cell.value


def render_csv(report) -> bytes:
    """The whole report as one sheet: title lines, then each section's sentences and tables."""
    doc = document(report)
    stream = io.StringIO()
    stream.write(BOM)
    writer = CsvWriter(stream)
    writer.writerow([doc.title, doc.subtitle])
    for label, value in doc.meta:
        writer.writerow([label, value])
    for section in doc.sections:
        write_section(writer, section)
    for pairing_name, sections in doc.details:
        writer.writerow([])
        writer.writerow([pairing_name])
        for section in sections:
            write_section(writer, section)
    return stream.getvalue().encode("utf-8")


def write_section(writer, section):
    writer.writerow([])
    writer.writerow([section.title])
    for paragraph in section.paragraphs:
        writer.writerow([paragraph])
    for photo in section.photos:
        writer.writerow([photo["caption"]])
    for table in section.tables:
        writer.writerow([table.caption])
        percent = table.percent_columns
        writer.writerow([f"{column}(%)" if i in percent else column for i, column in enumerate(table.columns)])
        for row in table.rows:
            writer.writerow(row)
        if not table.rows and table.empty:
            writer.writerow([table.empty])
