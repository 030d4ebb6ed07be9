"""The markup of activities in lists, written once: an activity's status badge and rows of activities.

{% status_badge activity %} is the badge everywhere (the detail page's head, every row). {% activity_rows rows %}
draws the rows of the activity list, of a need's answers and of the home page's sections: it is the one
definition of an activity row (there is no template of a row beside it). It is Python rather than a template
loop because a row printed by the template engine costs ≈ 80 µs (a dozen variable lookups, three {% if %}s
and the badge), four milliseconds for the list's fifty rows; built here the fifty rows take a few tenths of a
millisecond."""

from html import escape

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext

from activities.models import Activity
from portal.search import highlight

register = template.Library()


def _text(value):
    """`value` as {{ value }} prints it in HTML: escaped, unless it is already HTML (marked safe). The standard
    library's escape (which Django's escape() calls) without Django's check of every argument for lazy
    text: a row prints six values, and that check would be the rows' largest cost."""
    html = getattr(value, "__html__", None)
    return html() if html is not None else escape(str(value))


@register.simple_tag
def status_badge(activity):
    """{% status_badge activity %}: <span class="status status-confirmed">已确认</span>, for a model Activity or
    a ListRow (anything with `status` and `status_label`)."""
    return format_html('<span class="status status-{}">{}</span>', activity.status, activity.status_label)


@register.simple_tag
def activity_rows(rows, thumb=False, show_comment=False, q=""):
    """{% activity_rows rows thumb=True show_comment=True %}: the rows (the <li>s; the page draws the <ul>) of
    `rows`, ListRows (activities.selectors: activity_page gives the list's, list_rows makes them of model
    activities). With `thumb`: the first photo's thumbnail and, past one photo, their number. With
    `show_comment`: the village's comment on a returned activity. With `q` (a search): its terms marked in the
    titles (portal.search.highlight: the title escaped first)."""
    says = _text(gettext("Village says:"))
    photos = _text(gettext("Photos"))
    badges = {}  # status -> its badge (the badge depends on the status alone)
    html = []
    for row in rows:
        badge = badges.get(row.status)
        if badge is None:
            badge = badges[row.status] = status_badge(row)
        picture = count = comment = ""
        if thumb and row.thumb_url:
            picture = (
                f'\n  <img class="act-thumb" src="{_text(row.thumb_url)}" alt="" loading="lazy" width="64" height="64">'
            )
        if thumb and row.photo_count > 1:
            count = f'\n    <span class="act-count" title="{photos}">▣ {row.photo_count}</span>'
        if show_comment and row.status == Activity.Status.RETURNED and row.return_comment:
            comment = f'\n    <div class="act-comment">{says} {_text(row.return_comment)}</div>'
        html.append(
            f'<li class="act-row">{picture}\n'
            '  <div class="act-main">\n'
            f'    <a class="act-title" href="{_text(row.url)}">{highlight(row.title, q) if q else _text(row.title)}</a>\n'
            '    <div class="act-meta">\n'
            f"      <span>{row.date.isoformat()}</span>\n"
            f"      <span>{_text(row.type_name)}</span>\n"
            f"      <span>{_text(row.branch_label)} → {_text(row.village_label)}</span>\n"
            f"    </div>{comment}\n"
            "  </div>\n"
            f'  <div class="act-side">{badge}{count}\n'
            "  </div>\n"
            "</li>\n"
        )
    return mark_safe("".join(html))
