"""Template helpers of the report pages."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from reports.renderers.base import Percent, fmt

register = template.Library()


@register.simple_tag
def cell(value, url=None):
    """{% cell value url %}: a table cell, numbers right-aligned and grouped, missing values as a dash; a figure
    with a `url` links to the activities it counted."""
    if value is None:
        return mark_safe('<td class="num muted">—</td>')
    if isinstance(value, (int, float, Percent)) and not isinstance(value, bool):
        if url:
            return format_html('<td class="num"><a href="{}">{}</a></td>', url, fmt(value))
        return format_html('<td class="num">{}</td>', fmt(value))
    if len(str(value)) <= 10:  # dates, statuses, short names: keep on one line
        return format_html('<td class="nowrap">{}</td>', value)
    return format_html("<td>{}</td>", value)
