"""Renderers: one report's data as an HTML page, a Word document, an Excel workbook and a CSV file.

All four draw the same :class:`reports.renderers.base.Document`, so they show the same numbers.
"""
