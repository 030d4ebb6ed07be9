"""The figures on the pages of the apps to the left (portal/panels.py): the pairing page's figures panel, the
year's activity count on each row of the pairing list, and the progress of each plan item. The numbers come
from figures/selectors.py, their one definition."""

from django.utils.translation import get_language

from figures import selectors as figures
from figures.cache import cached_figures
from portal.panels import page_panel, row_panel, with_card_html


@page_panel("pairings.pairing_detail.top", template_name="dashboards/panels/pairing_figures.html")
def pairing_figures(request, pairing, *, year, years, **page):
    # the same for everyone who reads the pairing (the view checked that): cached until the rollup or set-up changes,
    # with its card's HTML (its template's `{{ panel.html }}`: rendering a dozen figures took longer than reading them)
    def build():
        panel = {"headline": figures.pairing_headline(pairing, year), "year": year, "years": years}
        return with_card_html("dashboards/panels/_pairing_figures_card.html", panel)

    return cached_figures("pairing_figures", build, pairing.pk, year, tuple(years), get_language())


@row_panel("pairings.pairing_list.row", template_name="dashboards/panels/pairing_row.html")
def pairing_row(request, pairings, *, year):
    counts = figures.activities_in_year([pairing.pk for pairing in pairings], year) if pairings else {}
    return {pairing.pk: {"activities": counts.get(pairing.pk, 0), "year": year} for pairing in pairings}


@row_panel("pairings.plan_detail.item", template_name="dashboards/panels/plan_item_progress.html")
def plan_item_progress(request, items, **page):
    figures.plan_progress(items)
    return {item.pk: {"item": item} for item in items}


@page_panel("reports.report_list.actions", template_name="dashboards/panels/program_dashboards_link.html")
def program_dashboards_link(request, obj, **page):
    return {}


@page_panel("reports.report_detail.actions", template_name="dashboards/panels/report_dashboard_link.html")
def report_dashboard_link(request, report, **page):
    """From a report to its program's dashboard, on the report's year (shown to those who may edit the report:
    the program's admins, who are the dashboard's readers)."""
    return {"program_id": report.program_id, "year": report.period[:4]}
