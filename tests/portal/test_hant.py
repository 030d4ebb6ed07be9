"""Traditional Chinese (zh-hant): its catalogue is made from zh_Hans by `make hant` (portal/hant.py) and kept up to
date, its domain words are right, and the pages, dates and documents follow the language when it is chosen."""

import gettext
from datetime import date

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import formats, translation
from docx import Document
from docx.oxml.ns import qn

from portal import hant
from portal.docx import set_fonts
from tests.portal.test_translations import LOCALE, expected_catalog, messages, restore_language  # noqa: F401

REMAKE = "run `make hant` (manage.py hant) after changing locale/zh_Hans or locale/zh_Hant/overrides.tsv"


def keys(language):
    return {(e.get("msgctxt"), e["msgid"], e.get("msgid_plural")) for e in messages(language)}


def test_zh_hant_holds_every_msgid_of_zh_hans():
    missing = sorted(keys("zh_Hans") - keys("zh_Hant"), key=str)
    assert not missing, f"{len(missing)} msgids of zh_Hans are not in zh_Hant: {REMAKE}. First: {missing[:5]}"
    extra = sorted(keys("zh_Hant") - keys("zh_Hans"), key=str)
    assert not extra, f"zh_Hant has msgids zh_Hans no longer has: {REMAKE}. First: {extra[:5]}"


def test_zh_hant_is_what_make_hant_makes():
    """Hand edits are lost on the next run: corrections belong in the override table."""
    made = hant.convert_catalogue(hant.SOURCE.read_text(encoding="utf-8"))
    assert hant.TARGET.read_text(encoding="utf-8") == made, f"locale/zh_Hant is out of date: {REMAKE}"


def test_the_conversion_is_idempotent():
    source = hant.SOURCE.read_text(encoding="utf-8")
    once = hant.convert_catalogue(source)
    assert hant.convert_catalogue(source) == once
    # a correction is never corrected again, and converting Traditional text changes nothing more
    overrides = hant.read_overrides()
    for _wrong, right in overrides:
        assert hant.apply_overrides(right, overrides) == right, right
    assert hant.convert_catalogue(once) == once


def test_the_compiled_zh_hant_catalogue_matches_the_po():
    with open(LOCALE / "zh_Hant" / "LC_MESSAGES" / "django.mo", "rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    assert {k: v for k, v in compiled._catalog.items() if k != ""} == expected_catalog("zh_Hant"), REMAKE


def test_header_and_layout_follow_the_simplified_catalogue():
    text = hant.TARGET.read_text(encoding="utf-8")
    assert "Language: zh_Hant\\n" in text and "Plural-Forms: nplurals=1; plural=0;\\n" in text
    assert text.startswith("# Traditional Chinese (zh_Hant): MADE BY `make hant`")
    source_lines = hant.SOURCE.read_text(encoding="utf-8").splitlines()
    assert len(text.splitlines()) == len(source_lines) + 2  # the two lines saying where it comes from


def translated(language, msgid):
    with translation.override(language):
        return translation.gettext(msgid)


@pytest.mark.parametrize(
    "msgid, simplified, traditional",
    [
        ("Branch", "党支部", "黨支部"),
        ("Volunteer", "志愿者", "志願者"),
        ("village committee hall", "村委会议室", "村委會議室"),
        ("Activities", "活动", "活動"),
        ("Pairing portal", "结对共建平台", "結對共建平台"),
    ],
)
def test_domain_words(msgid, simplified, traditional, restore_language):
    assert translated("zh-hans", msgid) == simplified
    assert translated("zh-hant", msgid) == traditional


def test_the_override_table_fixes_what_opencc_gets_wrong():
    hant_entries = {e["msgid"]: e["msgstr"][0] for e in messages("zh_Hant")}
    text = "\n".join(hant_entries.values())
    for wrong in ("人蔘", "多隻能", "天后", "和麪", "併為", "羣", "發佈"):
        assert wrong not in text, wrong
    assert "無人參與" in text and "7 天後過期" in text and "發布" in text


def test_the_language_switch_offers_traditional_chinese(client, restore_language):
    page = client.get(reverse("account_login")).content.decode()
    assert 'value="zh-hant"' in page and "繁體中文" in page
    response = client.post(reverse("set_language"), {"language": "zh-hant", "next": "/"})
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hant"
    page = client.get(reverse("account_login")).content.decode()
    assert '<html lang="zh-hant">' in page
    assert "結對共建平台" in page and "结对共建平台" not in page
    assert 'value="zh-hans"' in page and 'value="en"' in page


@pytest.mark.django_db
def test_pages_in_zh_hant_show_traditional_characters(client, world, restore_language):
    client.force_login(world["users"]["secretary"])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hant"
    page = client.get(reverse("activities:list")).content.decode()
    assert '<html lang="zh-hant">' in page
    for word in ("活動", "結對", "志願者", "報告"):
        assert word in page, word
    for word in ("活动", "结对", "志愿者", "报告"):
        assert word not in page.split("<main", 1)[0], word  # the frame: nav and header, all from the catalogue


def test_dates_and_django_strings_in_zh_hant():
    """Django ships zh_Hant formats and messages: dates read as in Simplified, its own strings are Traditional."""
    with translation.override("zh-hant"):
        assert formats.date_format(date(2024, 3, 5)) == "2024年3月5日"
        assert translation.gettext("This field is required.") == "這個欄位是必須的。"


def test_word_documents_in_zh_hant_are_marked_traditional_and_use_fonts_that_have_its_characters():
    run = Document().add_paragraph().add_run("黨支部")
    with translation.override("zh-hant"):
        set_fonts(run._element, east_asia="仿宋_GB2312", latin="Times New Roman")
    rpr = run._element.get_or_add_rPr()
    assert rpr.find(qn("w:lang")).get(qn("w:eastAsia")) == "zh-HK"
    assert rpr.find(qn("w:rFonts")).get(qn("w:eastAsia")) == "FangSong"
    with translation.override("zh-hans"):
        set_fonts(run._element, east_asia="仿宋_GB2312", latin="Times New Roman")
    assert rpr.find(qn("w:lang")).get(qn("w:eastAsia")) == "zh-CN"
    assert rpr.find(qn("w:rFonts")).get(qn("w:eastAsia")) == "仿宋_GB2312"
