from decimal import Decimal
from urllib.parse import urlencode

from django import template
from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.translation import get_language

from portal.permissions import shown_phone

register = template.Library()


@register.filter
def plain_number(value):
    """A decimal as written, without trailing zeros: 21500 for 21500.00, 1234.5 for 1234.50 (never 2.15E+4)."""
    if value is None or value == "":
        return ""
    return format(Decimal(value).normalize(), "f")


@register.simple_tag(takes_context=True)
def phone_of(context, person):
    """{% phone_of volunteer %}: the person's phone, masked unless the viewer manages their organisation."""
    return shown_phone(context["request"].user, person.phone, person.organization_id)


# An id no table reaches: reversed once in its place, then found and replaced by the real id.
_ID_SENTINEL = 918_273_645_546_372_819
_ID_URLS = {}  # (URLconf, script prefix, language, view name) -> (the URL before the id, the URL after it)


def id_urls(view_name):
    """A function pk -> the URL of ``view_name`` for that integer id, the view name's (URLconf, script prefix,
    language) looked up once: see id_url. For code that links many rows: asked once per page, not per row."""
    key = (get_urlconf(), get_script_prefix(), get_language(), view_name)
    parts = _ID_URLS.get(key)
    if parts is None:
        head, found, tail = reverse(view_name, args=[_ID_SENTINEL]).rpartition(str(_ID_SENTINEL))
        if not found:  # the id does not appear as itself in the URL: never cache a guess
            return lambda pk: reverse(view_name, args=[pk])
        parts = _ID_URLS[key] = (head, tail)
    head, tail = parts
    return lambda pk: f"{head}{pk}{tail}" if type(pk) is int else reverse(view_name, args=[pk])


_PLAIN_URLS = {}  # (URLconf, script prefix, language, view name) -> the URL


@register.simple_tag
def plain_url(view_name):
    """{% plain_url "app:name" %}: what {% url "app:name" %} gives for a URL without arguments, reversed once per
    view name, URLconf, script prefix and language (all it can depend on) rather than on every page: the menu and
    the page's frame name fifteen such URLs on every page (≈ 40 µs each through the resolver)."""
    key = (get_urlconf() or settings.ROOT_URLCONF, get_script_prefix(), get_language(), view_name)
    url = _PLAIN_URLS.get(key)
    if url is None:
        url = _PLAIN_URLS[key] = reverse(view_name)
    return url


@register.simple_tag
def id_url(view_name, pk):
    """{% id_url "app:name" obj.pk %}: what {% url "app:name" obj.pk %} gives, for a URL whose one argument is an
    integer id. {% url %} runs the resolver on every call (≈ 40 µs); a list's fifty rows link to two such URLs
    each, a tenth of the page. Here the URL is reversed once per view name (and URLconf, script prefix and
    language, all it can depend on) and the id put in its place."""
    if type(pk) is not int:  # anything else (a string, None): exactly what {% url %} would do
        return reverse(view_name, args=[pk])
    return id_urls(view_name)(pk)


@register.simple_tag(takes_context=True)
def may_set_up(context):
    """Whether the menu offers the set-up pages (program admins, party committees, superusers): read from the
    request's scope, which the page has usually computed already."""
    from portal.permissions import can_set_up

    request = context.get("request")
    return bool(request and request.user.is_authenticated and can_set_up(request.user))


@register.filter
def highlight(text, query):
    """{{ need.title|highlight:q }}: the text escaped, the search's terms in it wrapped in <mark>
    (portal.search.highlight)."""
    from portal.search import highlight as marked

    return marked(text, query)


@register.simple_tag(takes_context=True)
def nav_current(context, *urls):
    """{% nav_current url1 url2 … as current %}: the menu entry the page is in, for aria-current: the URL equal to
    the page's path, else the longest one its path starts with (so /activities/needs/ is Needs, not Activities);
    the home page's "/" only when it is the page."""
    request = context.get("request")
    path = request.path if request is not None else ""
    if path in urls:
        return path
    inside = [url for url in urls if url and url != "/" and path.startswith(url)]
    return max(inside, key=len) if inside else ""


@register.simple_tag(takes_context=True)
def page_href(context, number):
    """{% page_href n %}: "?…&page=n", the other parameters kept. A fragment rendered once for many requests (and
    cached) passes its own ``pager_params`` (a dict), so the link never carries one request's query string."""
    params = context.get("pager_params")
    if params is None:
        request = context.get("request")
        pairs = [(k, v) for k, values in request.GET.lists() if k != "page" for v in values] if request else []
    else:
        pairs = [(k, v) for k, v in params.items() if v is not None and v != ""]
    return "?" + urlencode([*pairs, ("page", number)])
