"""HTML: the report page's body (templates/reports/_document.html) with the server-drawn SVG charts.
The page's print styles (static/css/reports.css, @media print) turn it into an A4 handout."""

from __future__ import annotations

from django.utils.safestring import mark_safe

from reports.charts import report_charts
from reports.renderers.base import document


def html_context(report):
    """What templates/reports/_document.html needs: the laid-out document and its charts (SVG, escaped
    by the chart code itself, so marked safe here)."""
    charts = {key: mark_safe(svg) for key, svg in report_charts(report.data).items()}  # noqa: S308 (built by reports.charts, text escaped)
    return {"doc": document(report), "charts": charts, "report": report}
