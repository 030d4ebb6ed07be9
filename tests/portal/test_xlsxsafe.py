"""portal.xlsxsafe.inline_string: the text cell's XML as XlsxWriter would escape it, its quick path (a text with
nothing to escape written as it is) included."""

import io

import pytest
import xlsxwriter

from portal.xlsxsafe import inline_string

TEXTS = [
    "第三党支部", "plain text", "=1+1", "<r>markup</r>", "a & b", "x > y < z", 'say "hi"', "two\nlines", "tab\there",
    "bell\x07", "nul\x00", "esc\x1b[0m", "_x0041_", "_x not hex", "not\ufffe", "end\uffff", " leading", "trailing ",
    "", "中文、标点", "&amp;",
]


@pytest.mark.parametrize("text", TEXTS)
def test_inline_string_escapes_as_xlsxwriter_does(text):
    ws = xlsxwriter.Workbook(io.BytesIO()).add_worksheet()
    escaped = ws._escape_data(ws._escape_control_characters(text))
    space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
    assert inline_string(ws, text) == f' t="inlineStr"><is><t{space}>{escaped}</t></is></c>'
