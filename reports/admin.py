import json

from django.contrib import admin
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from reports.models import Report


@admin.register(Report)
class ReportAdmin(SimpleHistoryAdmin):
    list_display = ("__str__", "kind", "period", "program", "version", "status", "generated_at", "published_at")
    list_filter = ("kind", "status", "program")
    search_fields = ("period", "program__name", "pairing__supporter__name", "pairing__supported__name", "notes")
    date_hierarchy = "generated_at"
    list_select_related = ("program", "pairing__supporter", "pairing__supported")
    autocomplete_fields = ("program", "pairing", "published_by")
    fields = (
        ("kind", "period"), ("program", "pairing"), ("scope_key", "version"), "status", "notes",
        ("generated_at", "published_at", "published_by"), "data_snapshot",
    )
    readonly_fields = ("scope_key", "generated_at", "data_snapshot")

    def get_readonly_fields(self, request, obj=None):
        # A published report is frozen; a change means a new version (DESIGN.md, Reports).
        if obj is not None and obj.status == Report.Status.PUBLISHED:
            return [name for row in self.fields for name in (row if isinstance(row, tuple) else (row,))]
        return self.readonly_fields

    @admin.display(description=Report._meta.get_field("data").verbose_name)
    def data_snapshot(self, report):
        return format_html("<pre>{}</pre>", json.dumps(report.data, ensure_ascii=False, indent=2, sort_keys=True))
