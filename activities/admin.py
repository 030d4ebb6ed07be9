from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from activities.models import Activity, ActivityMetricValue, ActivityPhoto, ActivityType, Need, ServiceRecord
from portal.admin import SelectRelatedInlineMixin, SoftDeleteAdminMixin

PAIRING_SIDES = ("pairing__supporter", "pairing__supported")
PHOTO_FILE_FIELDS = ("image", "thumbnail", "sha256", "width", "height", "uploaded_at")


@admin.register(ActivityType)
class ActivityTypeAdmin(SimpleHistoryAdmin):
    list_display = ("name", "code", "order", "is_active")
    list_editable = ("order", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "code")


@admin.register(Need)
class NeedAdmin(SoftDeleteAdminMixin, SimpleHistoryAdmin):
    list_display = ("title", "pairing", "category", "status", "wanted_by", "raised_at", "claimed_by_branch", "rating")
    list_filter = ("status", "category", "pairing__program")
    search_fields = ("title", "description", "wanted_by", "pairing__supported__name", "claimed_by_branch__name")
    date_hierarchy = "raised_at"
    list_select_related = ("claimed_by_branch", *PAIRING_SIDES)
    autocomplete_fields = ("pairing", "raised_by", "claimed_by_branch")


class ActivityPhotoInline(admin.TabularInline):
    """Photos are uploaded through the portal, which strips EXIF (GPS) and re-encodes them; here they are
    captioned and flagged, never added."""

    model = ActivityPhoto
    extra = 0
    fields = ("image", "caption", "shows_minors", "width", "height", "uploaded_at")
    readonly_fields = PHOTO_FILE_FIELDS

    def has_add_permission(self, request, obj=None):
        return False


class ActivityMetricValueInline(SelectRelatedInlineMixin, admin.TabularInline):
    model = ActivityMetricValue
    extra = 0
    autocomplete_fields = ("metric",)
    select_related = ("metric",)


class ServiceRecordInline(SelectRelatedInlineMixin, admin.TabularInline):
    model = ServiceRecord
    extra = 0
    fields = ("volunteer", "hours", "content", "status", "verified_by", "verified_at", "recorded_by")
    autocomplete_fields = ("volunteer", "verified_by")
    readonly_fields = ("recorded_by",)
    select_related = ("volunteer", "verified_by", "recorded_by")


@admin.register(Activity)
class ActivityAdmin(SoftDeleteAdminMixin, SimpleHistoryAdmin):
    list_display = ("title", "date", "pairing", "branch", "activity_type", "status", "residents_served")
    list_filter = ("status", "activity_type", "pairing__program")
    search_fields = ("title", "place", "branch__name", "pairing__supporter__name", "pairing__supported__name")
    date_hierarchy = "date"
    list_select_related = ("branch", "activity_type", *PAIRING_SIDES)
    autocomplete_fields = (
        "pairing", "branch", "co_branches", "plan_item", "need", "confirmed_by", "created_by",
    )
    readonly_fields = ("created_at", "updated_at")
    fieldsets = (
        (None, {"fields": (
            "pairing", "branch", "co_branches", "activity_type", "title", ("date", "start_time", "end_time"),
            "place", "description", "plan_item", "need",
        )}),
        (_("Participants"), {"fields": (("party_members", "teachers", "students", "residents_served"),)}),
        (_("Confirmation"), {"fields": (
            "status", "submitted_at", ("confirmed_at", "confirmed_by"), "return_comment",
            "created_by", ("created_at", "updated_at", "deleted_at"),
        )}),
    )
    inlines = (ActivityMetricValueInline, ServiceRecordInline, ActivityPhotoInline)

    def save_model(self, request, obj, form, change):
        if not change and obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        for record in formset.save(commit=False):
            if isinstance(record, ServiceRecord) and record.recorded_by_id is None:
                record.recorded_by = request.user
            record.save()
        for record in formset.deleted_objects:
            record.delete()
        formset.save_m2m()


@admin.register(ActivityPhoto)
class ActivityPhotoAdmin(SimpleHistoryAdmin):
    list_display = ("__str__", "activity", "shows_minors", "width", "height", "uploaded_at")
    list_filter = ("shows_minors",)
    search_fields = ("caption", "activity__title")
    date_hierarchy = "uploaded_at"
    list_select_related = ("activity",)
    fields = ("activity", *PHOTO_FILE_FIELDS, "caption", "shows_minors")
    readonly_fields = ("activity", *PHOTO_FILE_FIELDS)

    def has_add_permission(self, request):
        return False  # see ActivityPhotoInline


@admin.register(ActivityMetricValue)
class ActivityMetricValueAdmin(SimpleHistoryAdmin):
    list_display = ("activity", "metric", "value")
    list_filter = ("metric__program", "metric")
    search_fields = ("activity__title", "metric__name")
    list_select_related = ("activity", "metric")
    autocomplete_fields = ("activity", "metric")


@admin.register(ServiceRecord)
class ServiceRecordAdmin(SoftDeleteAdminMixin, SimpleHistoryAdmin):
    list_display = ("volunteer", "activity", "activity_date", "hours", "status", "verified_at")
    list_filter = ("status",)
    search_fields = ("volunteer__name", "activity__title", "content")
    date_hierarchy = "activity__date"
    list_select_related = ("volunteer", "activity")
    autocomplete_fields = ("activity", "volunteer", "recorded_by", "verified_by")
    readonly_fields = ("created_at",)

    @admin.display(description=Activity._meta.get_field("date").verbose_name, ordering="activity__date")
    def activity_date(self, record):
        return record.activity.date

    def save_model(self, request, obj, form, change):
        if not change and obj.recorded_by_id is None:
            obj.recorded_by = request.user
        super().save_model(request, obj, form, change)
