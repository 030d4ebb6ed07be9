"""Panels: how an app to the right puts its part on a page of an app to the left.

Imports and strings run one way (portal ← pairings, volunteers ← activities ← figures ← reports ← dashboards),
yet the pairing page shows figures and activities, and a volunteer's page the hours recorded on activities. So a
page names *slots* (``"pairings.pairing_detail.top"``), and the apps that know what goes there register panels
into them from their ``AppConfig.ready()``; the page renders whatever is registered, without knowing who. NetBox's
template extensions work the same way.

Two kinds:

* a **page panel** renders once per page: ``context(request, obj, **page)`` returns its template's context (or
  None to show nothing);
* a **row panel** adds to each row of a list: ``rows(request, objects, **page)`` returns ``{pk: context}`` for
  all rows at once, so a list's number of queries does not grow with its rows.

A view collects its panels with :func:`page_panels` / :func:`attach_row_panels`, and its template includes
each: ``{% for panel in panels %}{% include panel.template_name with panel=panel.context %}{% endfor %}``.
"""

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Callable

from django.template.loader import render_to_string


@dataclass(frozen=True)
class Panel:
    slot: str
    template_name: str
    build: Callable[..., Any]
    order: int = 100


@dataclass(frozen=True)
class Rendered:
    template_name: str
    context: Any


_page: dict[str, list[Panel]] = defaultdict(list)
_rows: dict[str, list[Panel]] = defaultdict(list)


def _register(registry, slot, template_name, order):
    def decorator(build):
        panels = [p for p in registry[slot] if p.template_name != template_name]  # a reload replaces, never doubles
        registry[slot] = sorted([*panels, Panel(slot, template_name, build, order)], key=lambda p: p.order)
        return build

    return decorator


def page_panel(slot, *, template_name, order=100):
    """Register ``build(request, obj, **page) -> context | None`` as a panel of the page slot."""
    return _register(_page, slot, template_name, order)


def row_panel(slot, *, template_name, order=100):
    """Register ``build(request, objects, **page) -> {pk: context}`` as a panel of each row of the list slot."""
    return _register(_rows, slot, template_name, order)


def page_panels(slot, request, obj, **page):
    """The slot's panels with their context, in order; those that return None are left out."""
    rendered = []
    for panel in _page.get(slot, ()):
        context = panel.build(request, obj, **page)
        if context is not None:
            rendered.append(Rendered(panel.template_name, context))
    return rendered


def attach_row_panels(slot, request, objects, **page):
    """Give each object a ``row_panels`` list (the slot's panels with that row's context, in order)."""
    objects = list(objects)
    for obj in objects:
        obj.row_panels = []
    for panel in _rows.get(slot, ()):
        contexts = panel.build(request, objects, **page)
        for obj in objects:
            if obj.pk in contexts:
                obj.row_panels.append(Rendered(panel.template_name, contexts[obj.pk]))
    return objects


def with_card_html(template_name, panel):
    """The panel's context with its card's HTML (its registered template's `{{ panel.html }}`), rendered once so
    that a cached panel keeps it: rendering a card's rows took longer than reading them."""
    return {**panel, "html": render_to_string(template_name, {"panel": panel})}
