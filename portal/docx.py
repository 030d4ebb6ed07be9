"""Word documents (python-docx) with Chinese text: Word and WPS use the East Asian font (w:eastAsia) for
Chinese characters, and fall back to one without them unless it is named explicitly. Every .docx the portal
writes (reports, annual summaries, volunteer certificates) names its fonts through `set_fonts`."""

from django.utils.translation import get_language
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

THEME_FONTS = ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme")
# Fonts that hold GB2312's characters only: a document in Traditional Chinese (zh-hant) would fall back to another
# font for 黨, 會, 與 … in mid-line, so it names the GBK font of the same style, which has them.
GB2312_ONLY = {"仿宋_GB2312": "FangSong", "方正小标宋简体": "SimSun"}


def east_asian_language():
    """The w:lang of East Asian text: Traditional Chinese (Hong Kong) when the page language is zh-hant."""
    return "zh-HK" if get_language() == "zh-hant" else "zh-CN"


def set_fonts(element, *, east_asia, latin):
    """Name the fonts of a run or style element (`run._element`, `style.element`) for Latin and East Asian
    text, dropping theme fonts that would win over them, and mark its East Asian text as Simplified Chinese (or
    Traditional, when the document is made in zh-hant)."""
    language = east_asian_language()
    if language != "zh-CN":
        east_asia = GB2312_ONLY.get(east_asia, east_asia)
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
    lang.set(qn("w:eastAsia"), language)
