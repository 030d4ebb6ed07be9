"""Template helpers of the report pages."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from reports.renderers.base import Percent, fmt

register = template.Library()


@register.simple_tag
def cell(value):
    """{% cell value %}: a table cell, numbers right-aligned and grouped, missing values as a dash."""
    if value is None:
        return mark_safe('<td class="num muted">—</td>')
    if isinstance(value, (int, float, Percent)) and not isinstance(value, bool):
        return format_html('<td class="num">{}</td>', fmt(value))
    if len(str(value)) <= 10:  # dates, statuses, short names: keep on one line
        return format_html('<td class="nowrap">{}</td>', value)
    return format_html("<td>{}</td>", value)
