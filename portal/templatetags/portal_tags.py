from html import escape as _html_escape

from django import template
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext

from portal.permissions import shown_phone

register = template.Library()


@register.simple_tag(takes_context=True)
def phone_of(context, person):
    """{% phone_of volunteer %}: the person's phone, masked unless the viewer manages their organisation."""
    return shown_phone(context["request"].user, person.phone, person.organization_id)


# An id no table reaches: reversed once in its place, then found and replaced by the real id.
_ID_SENTINEL = 918_273_645_546_372_819
_ID_URLS = {}  # (URLconf, script prefix, language, view name) -> (the URL before the id, the URL after it)


def _id_url_maker(view_name):
    """A function pk -> the URL of ``view_name`` for that integer id, the view name's (URLconf, script prefix,
    language) looked up once: see id_url."""
    key = (get_urlconf(), get_script_prefix(), get_language(), view_name)
    parts = _ID_URLS.get(key)
    if parts is None:
        head, found, tail = reverse(view_name, args=[_ID_SENTINEL]).rpartition(str(_ID_SENTINEL))
        if not found:  # the id does not appear as itself in the URL: never cache a guess
            return lambda pk: reverse(view_name, args=[pk])
        parts = _ID_URLS[key] = (head, tail)
    head, tail = parts
    return lambda pk: f"{head}{pk}{tail}" if type(pk) is int else reverse(view_name, args=[pk])


@register.simple_tag
def id_url(view_name, pk):
    """{% id_url "app:name" obj.pk %}: what {% url "app:name" obj.pk %} gives, for a URL whose one argument is an
    integer id. {% url %} runs the resolver on every call (≈ 40 µs); a list's fifty rows link to two such URLs
    each, a tenth of the page. Here the URL is reversed once per view name (and URLconf, script prefix and
    language, all it can depend on) and the id put in its place."""
    if type(pk) is not int:  # anything else (a string, None): exactly what {% url %} would do
        return reverse(view_name, args=[pk])
    return _id_url_maker(view_name)(pk)


@register.simple_tag
def activity_rows(rows, thumb=False, show_comment=False):
    """{% activity_rows page.object_list thumb=True show_comment=True %}: what including
    templates/activities/_row.html once per row gives, character for character (the tests compare the two),
    built in Python. The template costs the activity list ≈ 50 µs a row, a fifth of the page; here the fifty
    rows take a tenth of that. _row.html stays the row's one description for the other pages (a need's answers,
    the home page's sections), where a handful of rows does not matter; change both together.

    Reads of a row what _row.html reads: pk, title, date, type_name, branch (short_name, name), village_label,
    status, status_label, return_comment and, with `thumb`, first_photo_id and photo_count (the list's ListRow)."""
    # The standard library's escape, as Django's escape() is underneath, without Django's check of every
    # argument for lazy text: eight calls a row, the tag's largest cost.
    def escape(value):
        return _html_escape(str(value))

    says, photos = escape(gettext("Village says:")), escape(gettext("Photos"))
    detail_url, thumb_url = _id_url_maker("activities:detail"), _id_url_maker("activities:photo_thumb")
    labels = {}  # status -> its label, escaped (the label depends on the status alone)
    parts = []
    for row in rows:
        branch = row.branch
        html = ['\n<li class="act-row">\n  ']
        if thumb:
            html.append("\n    ")
            if row.first_photo_id:
                html.append(
                    f'<img class="act-thumb" src="{escape(thumb_url(row.first_photo_id))}" '
                    'alt="" loading="lazy" width="64" height="64">'
                )
            html.append("\n  ")
        html.append(
            f'\n  <div class="act-main">\n    <a class="act-title" href="{escape(detail_url(row.pk))}">'
            f"{escape(row.title)}</a>\n"
            f'    <div class="act-meta">\n      <span>{row.date.isoformat()}</span>\n'
            f"      <span>{escape(row.type_name)}</span>\n"
            f"      <span>{escape(branch.short_name or branch.name)} → {escape(row.village_label)}</span>\n"
            "    </div>\n    "
        )
        if row.status == "returned" and row.return_comment and show_comment:
            html.append(f'\n      <div class="act-comment">{says} {escape(row.return_comment)}</div>\n    ')
        html.append(
            f'\n  </div>\n  <div class="act-side"><span class="status status-{escape(row.status)}">'
            f"{labels.get(row.status) or labels.setdefault(row.status, escape(row.status_label))}</span>\n\n    "
        )
        if thumb and row.photo_count > 1:
            html.append(f'<span class="act-count" title="{photos}">▣ {row.photo_count}</span>')
        html.append("\n  </div>\n</li>\n")
        parts.append("".join(html))
    return mark_safe("".join(parts))
