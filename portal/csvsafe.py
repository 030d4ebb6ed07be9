"""CSV for Excel and WPS: UTF-8 with a byte-order mark (so Chinese reads correctly), and a text cell that
starts with = + - @ (or a tab or carriage return, which can hide one) prefixed with an apostrophe, so a
spreadsheet shows it as text and never runs it as a formula. Every CSV the portal writes goes through here."""

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_text(value):
    """Text (or NULL) as a CSV cell that Excel and WPS show as text, never run as a formula."""
    if not value:
        return ""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def neutralise(cell):
    """Any cell as written to CSV: numbers as they are, None empty, text through `neutralise_text`."""
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return str(cell)
    if isinstance(cell, (int, float)):
        return cell
    return neutralise_text(str(cell))
