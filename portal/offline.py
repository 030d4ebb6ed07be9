"""Pages that open without a connection. Each app names its own (in its AppConfig.ready), so the portal names
none of them; the service worker (portal.views.service_worker, at /sw.js) caches them with the static files
they load: network first, the cached copy when the network fails."""

from django.templatetags.static import static
from django.urls import reverse

# What every signed-in page loads (base.html).
BASE_STATIC = ("css/portal.css", "js/picker.js", "js/outbox.js")

_pages = {}


def offline_page(url_name, *, static_files=()):
    """Keep the page at `url_name` (no arguments) and its `static_files` (paths under static/) for offline use."""
    _pages[url_name] = tuple(static_files)


def offline_pages():
    """The pages' paths and the static files' URLs (as the static storage names them: fingerprinted in
    production), each once, in a stable order. A file the storage does not know is left out."""
    pages = sorted(reverse(name) for name in _pages)
    assets = []
    for path in BASE_STATIC + tuple(path for name in sorted(_pages) for path in _pages[name]):
        try:
            url = static(path)
        except ValueError:  # the manifest does not hold it
            continue
        if url not in assets:
            assets.append(url)
    return pages, assets
