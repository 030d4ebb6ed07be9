import json

from django.contrib import admin
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from reports.models import AnnualExport, Notification, Report


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


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """The in-portal messages and the e-mail outbox: a row with an address and no e-mailed time is still
    to be sent (beat's sweep sends it)."""

    list_display = ("message", "user", "email", "created_at", "read_at", "emailed_at")
    list_filter = (("emailed_at", admin.EmptyFieldListFilter), ("read_at", admin.EmptyFieldListFilter))
    search_fields = ("message", "email", "user__username", "user__full_name", "report__pairing__supported__name")
    date_hierarchy = "created_at"
    list_select_related = ("user",)
    autocomplete_fields = ("report", "user")
    readonly_fields = ("created_at",)


@admin.register(AnnualExport)
class AnnualExportAdmin(admin.ModelAdmin):
    """Annual exports and their files (deleting a row deletes its files)."""

    list_display = ("__str__", "status", "rows_done", "rows_total", "requested_by", "created_at", "finished_at")
    list_filter = ("status", "year", "program")
    search_fields = ("program__name", "program__code", "requested_by__username", "error")
    date_hierarchy = "created_at"
    list_select_related = ("program", "requested_by")
    autocomplete_fields = ("program", "requested_by")
    readonly_fields = ("rows_done", "rows_total", "xlsx", "csv", "docx", "error", "created_at", "started_at", "finished_at")
