"""Reading an export back as a user's spreadsheet would: the CSV (BOM checked) and the XLSX (openpyxl), and the
queries an export ran."""

import csv
import io

import openpyxl
from django.db import connection
from django.test.utils import CaptureQueriesContext


def download(client, url, params=None):
    """(response, body bytes, number of queries) of a GET of an export."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params or {})
        body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body, len(captured.captured_queries)


def csv_table(body):
    """(header, rows) of a CSV export; it starts with a UTF-8 byte-order mark."""
    text = body.decode("utf-8")
    assert text.startswith("\ufeff")
    header, *rows = csv.reader(io.StringIO(text[1:]))
    return header, rows


def xlsx_table(body):
    """(sheet names, header, rows of cell values) of an XLSX export's first sheet."""
    book = openpyxl.load_workbook(io.BytesIO(body))
    ws = book.worksheets[0]
    header, *rows = [list(row) for row in ws.iter_rows(values_only=True)]
    return book.sheetnames, header, rows
