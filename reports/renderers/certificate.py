"""The volunteer service certificate (志愿服务记录证明) as a Word document, laid out like the official form the
organisation prints, stamps and hands over: title, number, body text, a table of the verified services with
their total, the issuing organisation and date, and room for the stamp.

Chinese text needs an East Asian font set explicitly (w:eastAsia), or Word and WPS fall back to a font
without the characters: the body is in 宋体 (SimSun), the title in 黑体 (SimHei).
"""

import io
from decimal import Decimal

from django.utils import formats, timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from portal.docx import set_fonts

BODY_FONT = "SimSun"  # 宋体
TITLE_FONT = "SimHei"  # 黑体
LATIN_FONT = "Times New Roman"


def _run(paragraph, text, *, size=None, bold=False, east_asia=BODY_FONT):
    run = paragraph.add_run(text)
    run.bold = bold
    if size:
        run.font.size = Pt(size)
    set_fonts(run._element, east_asia=east_asia, latin=LATIN_FONT)
    return run


def _paragraph(document, text="", *, align=None, size=None, bold=False, space_after=6, indent_chars=0, east_asia=BODY_FONT):
    paragraph = document.add_paragraph()
    if align is not None:
        paragraph.alignment = align
    paragraph.paragraph_format.space_after = Pt(space_after)
    if indent_chars:
        paragraph.paragraph_format.first_line_indent = Pt((size or 12) * indent_chars)
    if text:
        _run(paragraph, text, size=size, bold=bold, east_asia=east_asia)
    return paragraph


def _cell(cell, text, *, bold=False, align=WD_ALIGN_PARAGRAPH.LEFT, size=10.5):
    cell.text = ""
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    paragraph = cell.paragraphs[0]
    paragraph.alignment = align
    paragraph.paragraph_format.space_before = Pt(3)
    paragraph.paragraph_format.space_after = Pt(3)
    _run(paragraph, text, size=size, bold=bold)


def _repeat_header(row):
    properties = row._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    properties.append(header)


def _long_date(value):
    return formats.date_format(value, "DATE_FORMAT")


def _hours(value):
    value = Decimal(value)
    return f"{value:.1f}"


def certificate_docx(certificate, *, volunteer_kind=""):
    """The certificate as .docx bytes, rendered from what was certified when it was issued."""
    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin = section.bottom_margin = Cm(2.54)
    section.left_margin = section.right_margin = Cm(2.8)

    normal = document.styles["Normal"]
    normal.font.size = Pt(12)
    set_fonts(normal.element, east_asia=BODY_FONT, latin=LATIN_FONT)
    for name in ("Table Grid",):
        set_fonts(document.styles[name].element, east_asia=BODY_FONT, latin=LATIN_FONT)

    volunteer = certificate.volunteer
    start, end = certificate.period_start, certificate.period_end
    lines = certificate.lines
    issued_on = timezone.localtime(certificate.issued_at).date() if certificate.issued_at else None

    _paragraph(
        document,
        pgettext("certificate", "Volunteer Service Record Certificate"),
        align=WD_ALIGN_PARAGRAPH.CENTER,
        size=22,
        bold=True,
        space_after=6,
        east_asia=TITLE_FONT,
    )
    _paragraph(
        document,
        pgettext("certificate", "No. %(number)s") % {"number": certificate.number},
        align=WD_ALIGN_PARAGRAPH.RIGHT,
        size=10.5,
        space_after=12,
    )

    body = pgettext(
        "certificate",
        "This is to certify that %(name)s%(kind)s, a volunteer of %(organisation)s, took part in the volunteer "
        "services listed below between %(start)s and %(end)s: %(count)s services with %(hours)s hours of "
        "service in total. The hours are actual service time (travel excluded), recorded and verified by the "
        "organising side.",
    ) % {
        "name": volunteer.name,
        "kind": pgettext("certificate", " (%(kind)s)") % {"kind": volunteer_kind} if volunteer_kind else "",
        "organisation": certificate.issuer_name,
        "start": _long_date(start),
        "end": _long_date(end),
        "count": len(lines),
        "hours": _hours(certificate.total_hours),
    }
    _paragraph(document, body, indent_chars=2, space_after=12)

    headers = [
        pgettext("certificate", "No."),
        pgettext("certificate", "Date"),
        pgettext("certificate", "Service content"),
        pgettext("certificate", "Organised by"),
        pgettext("certificate", "Hours"),
    ]
    table = document.add_table(rows=1, cols=len(headers))
    table.style = document.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    widths = [Cm(1.2), Cm(2.6), Cm(5.2), Cm(4.0), Cm(2.4)]  # 15.4 cm: the text width
    for column, width in zip(table.columns, widths):  # the grid, which WPS and LibreOffice follow
        column.width = width
    for cell, text, width in zip(table.rows[0].cells, headers, widths):
        _cell(cell, text, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
        cell.width = width
    _repeat_header(table.rows[0])
    for index, line in enumerate(lines, start=1):
        cells = table.add_row().cells
        day = parse_date(line["date"])
        values = [str(index), day.isoformat() if day else line["date"], line["content"], line["organiser"], _hours(line["hours"])]
        aligns = [WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.LEFT, WD_ALIGN_PARAGRAPH.LEFT, WD_ALIGN_PARAGRAPH.RIGHT]
        for cell, value, align, width in zip(cells, values, aligns, widths):
            _cell(cell, value, align=align)
            cell.width = width
    total = table.add_row().cells
    label = total[0].merge(total[3])
    _cell(label, pgettext("certificate", "Total"), bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    _cell(total[4], _hours(certificate.total_hours), bold=True, align=WD_ALIGN_PARAGRAPH.RIGHT)

    _paragraph(document, "", space_after=6)
    _paragraph(
        document,
        pgettext(
            "certificate",
            "Recorded and certified in accordance with the Measures for Recording and Certifying Volunteer "
            "Service (Trial) of the Ministry of Civil Affairs.",
        ),
        size=10.5,
        indent_chars=2,
        space_after=36,
    )
    # Room for the stamp over the issuing organisation's name, as on a printed form.
    for _ in range(3):
        _paragraph(document, "", space_after=12)
    _paragraph(
        document,
        pgettext("certificate", "Issuing organisation (stamp): %(organisation)s") % {"organisation": certificate.issuer_name},
        align=WD_ALIGN_PARAGRAPH.RIGHT,
        space_after=6,
    )
    _paragraph(
        document,
        pgettext("certificate", "Date: %(date)s") % {"date": _long_date(issued_on) if issued_on else ""},
        align=WD_ALIGN_PARAGRAPH.RIGHT,
        space_after=6,
    )

    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(
        footer,
        pgettext("certificate", "Certificate %(number)s · issued through the pairing portal (结对共建)")
        % {"number": certificate.number},
        size=9,
    )

    document.core_properties.title = pgettext("certificate", "Volunteer Service Record Certificate")
    document.core_properties.subject = certificate.number
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
