"""Word (.docx, python-docx), laid out like an official 简报/调度材料 (after GB/T 9704): A4 with the
standard margins, a red masthead title, the issuing office and date above a red rule, headings 一、二、…
in 黑体, body text in 仿宋, tables in 宋体, page numbers in the footer, photos of the highlights (never
those flagged as showing minors) with captions."""

from __future__ import annotations

import io
import logging

from django.utils import timezone
from django.utils.translation import gettext as _
from docx import Document as new_document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from portal.docx import set_fonts
from reports.renderers.base import document

log = logging.getLogger(__name__)

RED = RGBColor(0xC0, 0x00, 0x00)
TITLE_FONT = ("SimSun", "方正小标宋简体")
HEADING_FONT = ("SimHei", "黑体")
BODY_FONT = ("FangSong", "仿宋_GB2312")
TABLE_FONT = ("SimSun", "宋体")


def _font(run, fonts, size, bold=False, colour=None):
    latin, east_asian = fonts
    run.font.size = Pt(size)
    run.font.bold = bold
    if colour is not None:
        run.font.color.rgb = colour
    set_fonts(run._element, east_asia=east_asian, latin=latin)


def _paragraph(doc_or_cell, text, fonts=BODY_FONT, size=14, bold=False, align=None, colour=None, indent=False, space_after=4):
    paragraph = doc_or_cell.add_paragraph()
    if align is not None:
        paragraph.alignment = align
    fmt = paragraph.paragraph_format
    fmt.space_after = Pt(space_after)
    fmt.space_before = Pt(0)
    if indent:
        fmt.first_line_indent = Pt(size * 2)  # two characters, as official documents indent
    _font(paragraph.add_run(text), fonts, size, bold=bold, colour=colour)
    return paragraph


def _red_rule(paragraph):
    p_pr = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "18"), ("w:space", "1"), ("w:color", "C00000")):
        bottom.set(qn(key), value)
    borders.append(bottom)
    p_pr.append(borders)


def _page_number_footer(section):
    paragraph = section.footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(paragraph.add_run("— "), TABLE_FONT, 12)
    run = paragraph.add_run()
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run._r.append(field)
    _font(paragraph.add_run(" —"), TABLE_FONT, 12)


def _shade(cell, fill="F2F2F2"):
    tc_pr = cell._tc.get_or_add_tcPr()
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), fill)
    tc_pr.append(shading)


def _cell_text(cell, text, bold=False, align=None):
    cell.text = ""
    paragraph = cell.paragraphs[0]
    if align is not None:
        paragraph.alignment = align
    paragraph.paragraph_format.space_after = Pt(0)
    _font(paragraph.add_run(text), TABLE_FONT, 10.5, bold=bold)


def _fmt_cell(value):
    from reports.renderers.base import fmt

    return fmt(value) if value is not None else "—"


def _table(doc, table):
    _paragraph(doc, table.caption, fonts=HEADING_FONT, size=12, space_after=2)
    if not table.rows:
        _paragraph(doc, table.empty or _("无"), size=12, indent=True)
        return
    grid = doc.add_table(rows=1, cols=len(table.columns))
    grid.style = "Table Grid"
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    numeric = table.numeric_columns
    for i, column in enumerate(table.columns):
        cell = grid.rows[0].cells[i]
        _cell_text(cell, column, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
        _shade(cell)
    header = grid.rows[0]._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")  # the header row repeats on every page
    repeat.set(qn("w:val"), "true")
    header.append(repeat)
    last = len(table.rows) - 1
    for n, row in enumerate(table.rows):
        cells = grid.add_row().cells
        bold = table.total_row and n == last
        for i, value in enumerate(row):
            align = WD_ALIGN_PARAGRAPH.RIGHT if i in numeric else None
            _cell_text(cells[i], _fmt_cell(value) if i in numeric or value is None else str(value), bold=bold, align=align)
    doc.add_paragraph().paragraph_format.space_after = Pt(2)


def _photos(doc, photos, images):
    for photo in photos:
        content = images.get(photo["id"])
        if content is None:
            continue
        try:
            doc.add_picture(io.BytesIO(content), width=Cm(8))
        except Exception:  # an unreadable image file: leave it out rather than fail the document
            log.warning("photo %s could not be placed in the report", photo["id"])
            continue
        doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
        _paragraph(doc, photo["caption"], fonts=TABLE_FONT, size=10.5, align=WD_ALIGN_PARAGRAPH.CENTER)


def _sections(doc, sections, images, heading_size=16):
    for section in sections:
        _paragraph(doc, section.title, fonts=HEADING_FONT, size=heading_size, space_after=6)
        for paragraph in section.paragraphs:
            _paragraph(doc, paragraph, indent=True)
        _photos(doc, section.photos, images)
        for table in section.tables:
            _table(doc, table)


def photo_contents(photo_ids):
    """The bytes of the given photos, re-checked: photos flagged as showing minors are never included."""
    from activities.models import ActivityPhoto

    contents = {}
    for photo in ActivityPhoto.objects.filter(pk__in=photo_ids, shows_minors=False).only("id", "image"):
        try:
            with photo.image.open("rb") as handle:
                contents[photo.id] = handle.read()
        except (OSError, ValueError):
            log.warning("photo %s has no readable file", photo.id)
    return contents


def write_docx(doc, stream, images=None, landscape=False):
    """Write a base.Document as .docx to ``stream``."""
    word = new_document()
    page = word.sections[0]
    page.page_height, page.page_width = Cm(29.7), Cm(21.0)
    if landscape:
        page.orientation = WD_ORIENT.LANDSCAPE
        page.page_height, page.page_width = page.page_width, page.page_height
    page.top_margin, page.bottom_margin = Cm(3.7), Cm(3.5)
    page.left_margin, page.right_margin = Cm(2.8), Cm(2.6)
    _page_number_footer(page)
    if doc.status != "published":
        header = page.header.paragraphs[0]
        header.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        _font(header.add_run(_("草稿 · 未发布")), HEADING_FONT, 12, colour=RED)

    _paragraph(word, doc.title, fonts=TITLE_FONT, size=30, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, colour=RED, space_after=6)
    _paragraph(word, f"({doc.period_label})", fonts=BODY_FONT, size=16, align=WD_ALIGN_PARAGRAPH.CENTER)
    issuing = word.add_paragraph()
    issuing.paragraph_format.tab_stops.add_tab_stop(page.page_width - page.left_margin - page.right_margin, WD_TAB_ALIGNMENT.RIGHT)
    day = doc.issued_on or timezone.localdate()
    _font(issuing.add_run(f"{doc.issuer}\t{day.year}年{day.month}月{day.day}日"), BODY_FONT, 14)
    _red_rule(issuing)
    _paragraph(word, doc.subtitle, fonts=TITLE_FONT, size=18, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, space_after=8)
    for label, value in doc.meta:
        _paragraph(word, f"{label}:{value}", size=12, space_after=0)
    word.add_paragraph()

    _sections(word, doc.sections, images or {})
    for pairing_name, sections in doc.details:
        word.add_page_break()
        _paragraph(word, pairing_name, fonts=TITLE_FONT, size=18, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, space_after=8)
        _sections(word, sections, images or {}, heading_size=14)

    closing = _paragraph(word, _("(本材料由结对共建平台根据已提交和已验单的活动记录生成)"), fonts=TABLE_FONT, size=10.5)
    closing.paragraph_format.space_before = Pt(12)
    word.save(stream)


def render_docx(report) -> bytes:
    doc = document(report)
    photo_ids = [photo["id"] for section in doc.sections for photo in section.photos]
    stream = io.BytesIO()
    write_docx(doc, stream, images=photo_contents(photo_ids) if photo_ids else {})
    return stream.getvalue()
