"""Small server-side SVG charts for the report pages: no JavaScript, no inline style (CSP), Chinese labels.

Every function returns an SVG string built from the report data (the same numbers the tables and the
workbook show). Text is escaped; only presentation attributes (fill, stroke, font-size …) are used, which
the Content-Security-Policy allows. The workbook draws the same charts natively (renderers.xlsx).
"""

from __future__ import annotations

import math
from html import escape

from django.utils.translation import gettext as _

FONT = "Noto Sans CJK SC, Source Han Sans SC, PingFang SC, Microsoft YaHei, sans-serif"
RED = "#b71c1c"
PINK = "#ef9a9a"
GREY = "#667085"
LINE = "#e4e7ec"
GREEN = "#1a7f37"


def _fmt(value):
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{int(value):,}"


def nice_max(value):
    """A round upper bound for an axis (1, 2, 5 × 10^n) at or above ``value``."""
    if value <= 0:
        return 1
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        bound = step * 10**exponent
        if bound >= value:
            return bound
    return 10 ** (exponent + 1)


def integer_axis(value, ticks=4):
    """An upper bound for a count axis whose ``ticks`` steps are whole, round numbers."""
    step = max(1, math.ceil(value / ticks))
    magnitude = 10 ** math.floor(math.log10(step))
    for factor in (1, 2, 3, 4, 5, 6, 8, 10):
        if factor * magnitude >= step:
            return factor * magnitude * ticks
    return 10 * magnitude * ticks


def _svg(width, height, title, body):
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}" class="chart" font-family="{FONT}">'
        f"<title>{escape(title)}</title>{body}</svg>"
    )


def _text(x, y, text, size=12, anchor="start", fill="#1f2328", weight=None):
    extra = f' font-weight="{weight}"' if weight else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}"{extra}>'
        f"{escape(str(text))}</text>"
    )


def _legend(items, x, y):
    parts = []
    for name, colour in items:
        parts.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{colour}"/>')
        parts.append(_text(x + 14, y, name, size=11))
        x += 14 + 13 * len(name) + 16
    return "".join(parts)


def column_chart(categories, series, title, unit=""):
    """Vertical bars side by side per category. ``series``: [(name, values, colour)]."""
    width, height = 640, 260
    left, right, top, bottom = 44, 12, 34, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v or 0 for _n, series_values, _c in series for v in series_values]
    top_value = max(values or [0])
    whole = all(float(v).is_integer() for v in values)
    peak = integer_axis(top_value) if whole else nice_max(top_value)
    parts = [_text(left, 16, title, size=14, weight="600")]
    parts.append(_legend([(name, colour) for name, _v, colour in series], width - 12 - 90 * len(series), 16))
    for i in range(5):
        value = peak * i / 4
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{LINE}"/>')
        parts.append(_text(left - 6, y + 4, _fmt(value), size=10, anchor="end", fill=GREY))
    if unit:
        parts.append(_text(4, top - 8, unit, size=10, fill=GREY))
    n = max(len(categories), 1)
    slot = plot_w / n
    bar = min(28, slot * 0.8 / max(len(series), 1))
    for i, category in enumerate(categories):
        x0 = left + slot * i + (slot - bar * len(series)) / 2
        for j, (name, values, colour) in enumerate(series):
            value = values[i] or 0
            h = plot_h * value / peak
            x = x0 + j * bar
            parts.append(
                f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar - 1:.1f}" height="{h:.1f}" fill="{colour}">'
                f"<title>{escape(f'{category} {name}: {_fmt(value)}{unit}')}</title></rect>"
            )
        parts.append(_text(left + slot * i + slot / 2, height - bottom + 16, category, size=11, anchor="middle"))
    return _svg(width, height, title, "".join(parts))


def hbar_chart(rows, title, unit="", colour=RED):
    """Horizontal bars, one per (label, value): long Chinese branch names fit on the left."""
    row_h, top, label_w, right = 26, 34, 180, 70
    width = 640
    height = top + row_h * max(len(rows), 1) + 10
    peak = nice_max(max([value or 0 for _label, value in rows] or [0]))
    plot_w = width - label_w - right
    parts = [_text(8, 16, title, size=14, weight="600")]
    if not rows:
        parts.append(_text(8, top + 16, _("无数据"), size=12, fill=GREY))
    for i, (label, value) in enumerate(rows):
        y = top + i * row_h
        w = plot_w * (value or 0) / peak
        parts.append(_text(label_w - 8, y + 16, label, size=12, anchor="end"))
        parts.append(f'<rect x="{label_w}" y="{y + 4}" width="{plot_w}" height="{row_h - 8}" fill="{LINE}"/>')
        parts.append(f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" fill="{colour}"/>')
        parts.append(_text(label_w + w + 6, y + 16, f"{_fmt(value)}{unit}", size=11, fill=GREY))
    return _svg(width, height, title, "".join(parts))


def progress_chart(rows, title):
    """Metric progress against target: (label, value, target, unit) per row; bars show the percentage,
    a line marks 100 %. Rows without a target are listed with their value only."""
    row_h, top, label_w, right = 28, 34, 200, 150
    width = 640
    height = top + row_h * max(len(rows), 1) + 10
    plot_w = width - label_w - right
    scale = max([100] + [min(200, 100 * (v or 0) / t) for _l, v, t, _u in rows if t]) or 100
    parts = [_text(8, 16, title, size=14, weight="600")]
    if not rows:
        parts.append(_text(8, top + 16, _("无数据"), size=12, fill=GREY))
    goal_x = label_w + plot_w * 100 / scale
    for i, (label, value, target, unit) in enumerate(rows):
        y = top + i * row_h
        parts.append(_text(label_w - 8, y + 17, label, size=12, anchor="end"))
        parts.append(f'<rect x="{label_w}" y="{y + 5}" width="{plot_w}" height="{row_h - 10}" fill="{LINE}"/>')
        if target:
            percent = 100 * (value or 0) / target
            w = plot_w * min(percent, scale) / scale
            colour = GREEN if percent >= 100 else RED
            parts.append(f'<rect x="{label_w}" y="{y + 5}" width="{w:.1f}" height="{row_h - 10}" fill="{colour}"/>')
            note = f"{_fmt(value)}/{_fmt(target)}{unit} · {percent:.0f}%"
        else:
            note = _("%(value)s%(unit)s(无目标)") % {"value": _fmt(value), "unit": unit}
        parts.append(_text(label_w + plot_w + 6, y + 17, note, size=11, fill=GREY))
    if rows:
        parts.append(
            f'<line x1="{goal_x:.1f}" y1="{top}" x2="{goal_x:.1f}" y2="{top + row_h * len(rows)}" '
            f'stroke="{GREY}" stroke-dasharray="4 3"/>'
        )
    return _svg(width, height, title, "".join(parts))


def report_charts(data):
    """The three charts of a report, from its data: activities per month, metric progress, hours per branch."""
    months = data["activities"]["by_month"]
    charts = {
        "activities": column_chart(
            [m["label"] for m in months],
            [
                (_("活动数"), [m["total"] for m in months], PINK),
                (_("其中已验单"), [m["confirmed"] for m in months], RED),
            ],
            _("各月活动数"),
            unit=_("次"),
        ),
        "metrics": progress_chart(
            [
                (m["name"], m["ytd_value"], m["target"], m["unit"])
                for m in data["metrics"]
                if m["ytd_value"] is not None or m["target"] is not None
            ],
            _("成效指标完成进度(年度累计/目标)"),
        ),
        "hours": hbar_chart(
            [(row["branch"], row["verified_hours"]) for row in data["volunteers"]["by_branch"]],
            _("各支部已核验志愿服务时长"),
            unit=_("小时"),
        ),
    }
    return charts
