"""The translation catalogues: Chinese complete and compiled, and the pages follow the chosen language."""

import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from activities.models import Activity

LOCALE = Path(settings.BASE_DIR) / "locale"
LANGUAGES = ["zh_Hans", "en"]
PLACEHOLDER = re.compile(r"%\(\w+\)[sdifr]|%[sdifr]|\{\w*\}")
CHINESE = re.compile(r"[\u3400-\u9fff]")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def _unquote(text):
    text = text.strip()
    assert text.startswith('"') and text.endswith('"'), text
    return re.sub(r"\\(.)", lambda m: _ESCAPES[m.group(1)], text[1:-1])


def parse_po(path):
    """The live entries of a .po file: dicts with flags, msgctxt, msgid, msgid_plural and msgstr {index: text}."""
    entries = []
    for block in path.read_text(encoding="utf-8").strip().split("\n\n"):
        entry = {"flags": set(), "msgstr": {}}
        current = None
        for line in block.splitlines():
            if line.startswith("#~"):  # obsolete entry
                entry = None
                break
            if line.startswith("#,"):
                entry["flags"] |= {flag.strip() for flag in line[2:].split(",") if flag.strip()}
            elif line.startswith("#"):
                continue
            elif line.startswith('"'):
                if isinstance(current, int):
                    entry["msgstr"][current] += _unquote(line)
                else:
                    entry[current] += _unquote(line)
            else:
                keyword, value = line.split(" ", 1)
                match = re.fullmatch(r"msgstr(?:\[(\d+)\])?", keyword)
                if match:
                    current = int(match.group(1) or 0)
                    entry["msgstr"][current] = _unquote(value)
                else:
                    assert keyword in {"msgctxt", "msgid", "msgid_plural"}, line
                    current = keyword
                    entry[keyword] = _unquote(value)
        if entry is not None:
            entries.append(entry)
    return entries


def po_path(language):
    return LOCALE / language / "LC_MESSAGES" / "django.po"


def messages(language):
    """The .po entries other than the header."""
    return [entry for entry in parse_po(po_path(language)) if entry["msgid"]]


def expected_catalog(language):
    """What msgfmt puts in the .mo: translated, non-fuzzy entries, keyed as gettext keys them."""
    catalog = {}
    for entry in messages(language):
        if "fuzzy" in entry["flags"] or not all(entry["msgstr"].values()):
            continue
        key = entry["msgid"] if "msgctxt" not in entry else f"{entry['msgctxt']}\x04{entry['msgid']}"
        if "msgid_plural" in entry:
            catalog.update({(key, index): text for index, text in entry["msgstr"].items()})
        else:
            catalog[key] = entry["msgstr"][0]
    return catalog


def label(entry):
    return repr(entry["msgid"])


def test_parser_reads_the_catalogue():
    entries = messages("zh_Hans")
    assert len(entries) > 100
    assert {"msgid": "activities", "msgstr": {0: "活动"}, "flags": set()} in [
        {k: e[k] for k in ("msgid", "msgstr", "flags")} for e in entries
    ]


def test_chinese_header_declares_language_and_plural_forms():
    header = parse_po(po_path("zh_Hans"))[0]
    assert header["msgid"] == ""
    assert "fuzzy" not in header["flags"]
    assert "Language: zh_Hans\n" in header["msgstr"][0]
    assert "Plural-Forms: nplurals=1; plural=0;\n" in header["msgstr"][0]


def test_every_chinese_entry_is_translated_and_none_is_fuzzy():
    entries = messages("zh_Hans")
    fuzzy = [label(e) for e in entries if "fuzzy" in e["flags"]]
    empty = [label(e) for e in entries if not e["msgstr"] or not all(e["msgstr"].values())]
    assert not fuzzy, f"fuzzy entries in zh_Hans: {fuzzy}"
    assert not empty, f"untranslated entries in zh_Hans: {empty}"
    # Chinese has one plural form: msgstr[0] only.
    assert all(set(e["msgstr"]) == {0} for e in entries if "msgid_plural" in e)


def test_chinese_translations_keep_the_placeholders():
    for entry in messages("zh_Hans"):
        wanted = sorted(PLACEHOLDER.findall(entry["msgid"]))
        for text in entry["msgstr"].values():
            assert sorted(PLACEHOLDER.findall(text)) == wanted, label(entry)
        # gettext wants a translation to start and end with a newline exactly where the source does.
        for text in entry["msgstr"].values():
            assert text.startswith("\n") == entry["msgid"].startswith("\n"), label(entry)
            assert text.endswith("\n") == entry["msgid"].endswith("\n"), label(entry)


def test_english_covers_the_source_strings_written_in_chinese():
    """An empty English msgstr falls back to the source, so a source in Chinese needs an English translation.

    Chinese in parentheses after the English, as in "items (件)", is the glossary term and may stay.
    """
    missing = [
        label(e)
        for e in messages("en")
        if CHINESE.search(re.sub(r"\([^)]*\)", "", e["msgid"])) and not all(e["msgstr"].values())
    ]
    assert not missing, f"source strings in Chinese without an English translation: {missing}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalogue_matches_the_po(language):
    """The committed .mo is compiled from the current .po (run compilemessages after editing it)."""
    with open(LOCALE / language / "LC_MESSAGES" / "django.mo", "rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    catalog = {key: text for key, text in compiled._catalog.items() if key != ""}
    assert catalog == expected_catalog(language)


@pytest.fixture
def restore_language():
    """The test client's requests activate a language in this thread: put back what was there."""
    saved = translation.get_language()
    yield
    translation.activate(saved) if saved else translation.deactivate_all()


def switch_to_english(client):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"


def test_login_page_is_chinese_by_default_and_english_when_chosen(client, restore_language):
    url = reverse("account_login")
    page = client.get(url).content.decode()
    assert '<html lang="zh-hans">' in page
    assert "结对共建平台" in page and "Pairing portal" not in page

    switch_to_english(client)
    page = client.get(url).content.decode()
    assert '<html lang="en">' in page
    assert "Pairing portal" in page and "结对共建平台" not in page


@pytest.mark.django_db
def test_admin_changelist_is_chinese_by_default_and_english_when_chosen(client, world, settings, restore_language):
    settings.REQUIRE_ADMIN_MFA = False
    client.force_login(world["users"]["superuser"])
    url = reverse("admin:activities_activity_changelist")
    with translation.override("zh-hans"):
        assert str(Activity._meta.verbose_name_plural) == "活动"
    with translation.override("en"):
        assert str(Activity._meta.verbose_name_plural) == "activities"

    page = client.get(url).content.decode()
    assert "活动与微心愿" in page  # the app's verbose name
    assert "选择 活动 来修改" in page  # Django's own catalogue with our verbose_name
    assert "Activities and needs" not in page

    switch_to_english(client)
    page = client.get(url).content.decode()
    assert "Activities and needs" in page
    assert "Select activity to change" in page
    assert "活动与微心愿" not in page


GETTEXT_CALLS = {"_", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy", "pgettext", "pgettext_lazy", "gettext_noop"}


def test_every_literal_msgid_in_the_code_has_a_chinese_entry():
    """Read with ast, so a call inside an f-string (which makemessages skips) is checked too."""
    import ast

    known = {e["msgid"] for e in messages("zh_Hans")}
    root = LOCALE.parent
    missing = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts
        if parts[0] in {".venv", "tests", "node_modules"} or "migrations" in parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in GETTEXT_CALLS:
                args = node.args[1:] if node.func.id.startswith("pgettext") else node.args
                if args and isinstance(args[0], ast.Constant) and isinstance(args[0].value, str):
                    if args[0].value not in known:
                        missing.append(f"{path.relative_to(root)}:{node.lineno} {args[0].value!r}")
    assert not missing, f"msgids without a zh_Hans entry: {missing}"
