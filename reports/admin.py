import json

from django.contrib import admin, messages
from django.db import models
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from reports.channels import delivery_retry
from reports.models import AnnualExport, Delivery, Notification, Preference, Report, Webhook


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
    """The in-portal messages; each is mailed in its reader's next daily digest (``delivery``)."""

    list_display = ("message", "kind", "user", "email", "created_at", "read_at", "emailed_at")
    list_filter = ("kind", ("emailed_at", admin.EmptyFieldListFilter), ("read_at", admin.EmptyFieldListFilter))
    search_fields = ("message", "email", "user__username", "user__full_name", "report__pairing__supported__name")
    date_hierarchy = "created_at"
    list_select_related = ("user",)
    autocomplete_fields = ("report", "user")
    raw_id_fields = ("delivery",)
    readonly_fields = ("created_at",)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The outbox, read only: what was sent, what waits for its retry, what was given up (the "retry" action
    puts it back)."""

    list_display = ("key", "channel", "email", "webhook", "status", "attempts", "next_attempt_at", "sent_at", "last_error")
    list_filter = ("status", "channel")
    search_fields = ("key", "email", "subject", "webhook__name", "last_error")
    date_hierarchy = "created_at"
    list_select_related = ("webhook",)
    actions = ["retry"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Send the selected given-up messages again"), permissions=["view"])
    def retry(self, request, queryset):
        count = sum(delivery_retry(delivery=delivery) for delivery in queryset.filter(status=Delivery.Status.FAILED))
        self.message_user(request, _("%(count)s messages are back in the outbox.") % {"count": count}, messages.SUCCESS)


@admin.register(Webhook)
class WebhookAdmin(SimpleHistoryAdmin):
    list_display = ("name", "kind", "program", "pairing", "is_active", "created_at")
    list_filter = ("kind", "is_active")
    search_fields = ("name", "program__name", "pairing__supported__name")
    list_select_related = ("program", "pairing__supporter", "pairing__supported")
    autocomplete_fields = ("program", "pairing", "created_by")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    exclude = ("secret",)  # never shown back: set on the group robots page


@admin.register(Preference)
class PreferenceAdmin(admin.ModelAdmin):
    list_display = ("user", "email_digest", "updated_at")
    list_filter = ("email_digest",)
    search_fields = ("user__username", "user__email")
    autocomplete_fields = ("user",)


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
