"""set_fonts: Chinese text in Word and WPS gets the East Asian font it is given, not a theme's."""

from docx import Document
from docx.oxml.ns import qn

from portal.docx import set_fonts


def fonts_of(element):
    rpr = element.get_or_add_rPr()
    return rpr.find(qn("w:rFonts")), rpr.find(qn("w:lang"))


def test_a_run_and_a_style_name_their_fonts_and_drop_the_theme_fonts():
    document = Document()
    normal = document.styles["Normal"]
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsiaTheme"), "minorEastAsia")
    run = document.add_paragraph().add_run("龙石村")
    for element in (normal.element, run._element):
        set_fonts(element, east_asia="SimSun", latin="Times New Roman")
        fonts, lang = fonts_of(element)
        assert fonts.get(qn("w:eastAsia")) == "SimSun" and fonts.get(qn("w:eastAsiaTheme")) is None
        assert {fonts.get(qn(a)) for a in ("w:ascii", "w:hAnsi", "w:cs")} == {"Times New Roman"}
        assert lang.get(qn("w:eastAsia")) == "zh-CN"
    assert run.font.name == "Times New Roman"


def test_setting_twice_changes_the_fonts_in_place():
    run = Document().add_paragraph().add_run("仿宋")
    set_fonts(run._element, east_asia="SimSun", latin="SimSun")
    set_fonts(run._element, east_asia="仿宋_GB2312", latin="FangSong")
    rpr = run._element.get_or_add_rPr()
    assert len(rpr.findall(qn("w:rFonts"))) == 1 and len(rpr.findall(qn("w:lang"))) == 1
    assert rpr.find(qn("w:rFonts")).get(qn("w:eastAsia")) == "仿宋_GB2312"
