"""Word documents (python-docx) with Chinese text: Word and WPS use the East Asian font (w:eastAsia) for
Chinese characters, and fall back to one without them unless it is named explicitly. Every .docx the portal
writes (reports, annual summaries, volunteer certificates) names its fonts through `set_fonts`."""

from docx.oxml import OxmlElement
from docx.oxml.ns import qn

THEME_FONTS = ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme")


def set_fonts(element, *, east_asia, latin):
    """Name the fonts of a run or style element (`run._element`, `style.element`) for Latin and East Asian
    text, dropping theme fonts that would win over them, and mark its East Asian text as Simplified Chinese."""
    rpr = element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in THEME_FONTS:
        fonts.attrib.pop(qn(attr), None)
    fonts.set(qn("w:ascii"), latin)
    fonts.set(qn("w:hAnsi"), latin)
    fonts.set(qn("w:cs"), latin)
    fonts.set(qn("w:eastAsia"), east_asia)
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:eastAsia"), "zh-CN")
