"""The Traditional Chinese catalogue (locale/zh_Hant) is made from the Simplified one (locale/zh_Hans), never edited
by hand: OpenCC's s2hk conversion, then the domain overrides of locale/zh_Hant/overrides.tsv.

s2hk, not s2twp: the readers are in Hong Kong and Macao (and readers of 繁體 seeds such as 002). s2hk changes glyphs
only and keeps the mainland vocabulary the portal's domain is written in; s2twp swaps in Taiwanese words that are
wrong here (项目 → 專案, 发布 → 釋出, 程序 → 程式, 文件 → 檔案, 用户 → 使用者).

Deterministic and idempotent: the output depends only on the zh_Hans file, the override table and the pinned OpenCC,
so the lead can rerun it after every merge (`make hant`) and get the same bytes for the same input. Only msgstr text
is converted; msgids, comments, flags and the line layout are copied, so a diff of zh_Hans and zh_Hant lines up.
The test tests/portal/test_hant.py fails when the committed catalogue is not what this makes."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
TARGET = ROOT / "locale" / "zh_Hant" / "LC_MESSAGES" / "django.po"
OVERRIDES = ROOT / "locale" / "zh_Hant" / "overrides.tsv"
OPENCC_CONFIG = "s2hk.json"

_STRING = re.compile(r'^(?P<head>(?:msgstr(?:\[\d+\])?\s+)?)"(?P<body>.*)"\s*$')


def read_overrides(path=OVERRIDES):
    """[(what OpenCC gives, what it should be)], longest first so a phrase wins over a word inside it.

    One entry a line, tab-separated: what OpenCC gives, the correction, and a note saying why; # starts a comment."""
    pairs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise ValueError(f"{path.name}:{number}: expected 'OpenCC gives<TAB>should be<TAB>why'")
        pairs.append((parts[0], parts[1]))
    pairs.sort(key=lambda pair: (-len(pair[0]), pair[0]))
    return pairs


def apply_overrides(text, overrides):
    """Replace in one pass (a regex alternation, longest first), so a correction is never corrected again."""
    if not overrides:
        return text
    table = dict(overrides)
    pattern = re.compile("|".join(re.escape(wrong) for wrong, _ in overrides))
    return pattern.sub(lambda match: table[match.group(0)], text)


def _converter():
    import opencc  # a dev dependency: only `make hant` and its test need it, not the running portal

    return opencc.OpenCC(OPENCC_CONFIG)


def _header(lines):
    """The header entry's fields that name the language."""
    replacements = {
        '"Language-Team: Simplified Chinese\\n"': '"Language-Team: Traditional Chinese\\n"',
        '"Language: zh_Hans\\n"': '"Language: zh_Hant\\n"',
    }
    return [replacements.get(line, line) for line in lines]


def convert_catalogue(text, *, convert=None, overrides=None):
    """The zh_Hant .po text made from the zh_Hans .po text."""
    convert = convert or _converter().convert
    overrides = read_overrides() if overrides is None else overrides
    lines = text.splitlines()
    out = []
    intro_prefix = "# Traditional Chinese (zh_Hant): MADE BY"
    if lines and lines[0].startswith(intro_prefix):  # given its own output: the same again
        lines = lines[2:]
    i = 0
    intro = [
        "# Traditional Chinese (zh_Hant): MADE BY `make hant` FROM locale/zh_Hans/LC_MESSAGES/django.po.",
        "# Do not edit: change the Simplified catalogue or locale/zh_Hant/overrides.tsv and run `make hant`.",
    ]
    out.extend(intro)
    while i < len(lines):
        line = lines[i]
        if line.startswith("msgstr"):
            # the msgstr and its continuation lines, converted as one text so a phrase split across lines is
            # still seen whole, then cut back at the same places (s2hk keeps the length) to keep the layout
            block = [line]
            i += 1
            while i < len(lines) and lines[i].startswith('"'):
                block.append(lines[i])
                i += 1
            heads, bodies = [], []
            for part in block:
                match = _STRING.match(part)
                heads.append(match.group("head"))
                bodies.append(match.group("body"))
            whole = "".join(bodies)
            converted = apply_overrides(convert(whole), overrides)
            if len(converted) == len(whole):
                pieces, start = [], 0
                for body in bodies:
                    pieces.append(converted[start:start + len(body)])
                    start += len(body)
            elif len(bodies) == 1:
                pieces = [converted]
            else:
                pieces = [""] + [converted]
                heads = [heads[0], ""]
            out.extend(f'{head}"{piece}"' for head, piece in zip(heads, pieces))
            continue
        out.append(line)
        i += 1
    # the header entry: the first msgstr "" block
    start = out.index('msgid ""')
    end = out.index("", start)
    out[start:end] = _header(out[start:end])
    return "\n".join(out) + "\n"


def parse_po(text):
    """{(msgctxt, msgid, msgid_plural): [msgstr, ...]} of a .po file's entries (the header left out)."""
    entries = {}
    current, key = {}, None

    def unquote(body):
        return body.encode("latin-1", "backslashreplace").decode("unicode_escape") if "\\" in body else body

    def flush():
        if "msgid" in current and current["msgid"]:
            entries[(current.get("msgctxt"), current["msgid"], current.get("msgid_plural"))] = [
                value for name, value in sorted(current.items()) if name.startswith("msgstr")
            ]

    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            current[key] += unquote(line.strip()[1:-1])
            continue
        if keyword in ("msgctxt", "msgid") and (keyword == "msgctxt" or "msgctxt" not in current or "msgid" in current):
            flush()
            current = {}
        key = keyword
        current[key] = unquote(rest.strip()[1:-1])
    flush()
    return entries


def write(*, source=SOURCE, target=TARGET):
    """Make the zh_Hant catalogue; True if the file changed."""
    text = convert_catalogue(source.read_text(encoding="utf-8"))
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() and target.read_text(encoding="utf-8") == text:
        return False
    target.write_text(text, encoding="utf-8")
    return True
