"""The Django admin of activities. Confirmed means confirmed here too: the admin does not change what the village
confirmed. On a confirmed activity the counted fields (activities.services.COUNTED_FIELDS, its figures, hours
and photos) and its confirmation are read-only, and no figure, hour or photo is added to or removed from it;
a correction goes through the portal's edit page (activities.services.activity_update), which asks for a reason
and sends the activity back to the village."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from activities.models import (
    ActionItem, Activity, ActivityMetricValue, ActivityPhoto, ActivityType, Meeting, MeetingAttachment, MeetingAttendee, Need,
    ServiceRecord,
)
from activities.services import COUNTED_FIELDS
from portal.admin import SelectRelatedInlineMixin, SoftDeleteAdminMixin

PAIRING_SIDES = ("pairing__supporter", "pairing__supported")
PHOTO_FILE_FIELDS = ("image", "thumbnail", "sha256", "width", "height", "uploaded_at")
CONFIRMATION_FIELDS = ("status", "submitted_at", "confirmed_at", "confirmed_by")
CORRECTION_FIELDS = ("correction_reason", "correction_summary", "corrected_at", "corrected_by")
CONFIRMED_LOCKED = _(
    "The village has confirmed this activity. Correct its date, people, figures, hours or photos on the "
    "portal's edit page: it asks for a reason and sends the activity back to the village."
)


def _confirmed(activity):
    return activity is not None and activity.status == Activity.Status.CONFIRMED


class ConfirmedLockInlineMixin:
    """An inline of an activity's counted parts: read-only (`locked_fields`), none added or removed, while the
    activity is confirmed."""

    locked_fields = ()

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return (*fields, *self.locked_fields) if _confirmed(obj) else fields

    def has_add_permission(self, request, obj=None):
        return not _confirmed(obj) and super().has_add_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not _confirmed(obj) and super().has_delete_permission(request, obj)


class NotIntoConfirmedForm(forms.ModelForm):
    """A metric value or service record added on its own page (or moved) to a confirmed activity is refused."""

    def clean(self):
        data = super().clean()
        if _confirmed(data.get("activity")):
            raise ValidationError(CONFIRMED_LOCKED)
        return data


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


class ActivityPhotoInline(ConfirmedLockInlineMixin, admin.TabularInline):
    """Photos are uploaded through the portal, which strips EXIF (GPS) and re-encodes them; here they are
    captioned and flagged, never added (nor removed from a confirmed activity)."""

    model = ActivityPhoto
    extra = 0
    fields = ("image", "caption", "shows_minors", "width", "height", "uploaded_at")
    readonly_fields = PHOTO_FILE_FIELDS

    def has_add_permission(self, request, obj=None):
        return False


class ActivityMetricValueInline(ConfirmedLockInlineMixin, SelectRelatedInlineMixin, admin.TabularInline):
    model = ActivityMetricValue
    locked_fields = ("metric", "value")
    extra = 0
    autocomplete_fields = ("metric",)
    select_related = ("metric",)


class ServiceRecordInline(ConfirmedLockInlineMixin, SelectRelatedInlineMixin, admin.TabularInline):
    model = ServiceRecord
    locked_fields = ("volunteer", "hours")
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
    readonly_fields = ("created_at", "updated_at", *CORRECTION_FIELDS)
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
        (_("Correction"), {"fields": (("corrected_at", "corrected_by"), "correction_reason", "correction_summary")}),
    )
    inlines = (ActivityMetricValueInline, ServiceRecordInline, ActivityPhotoInline)

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return (*fields, *COUNTED_FIELDS, *CONFIRMATION_FIELDS) if _confirmed(obj) else fields

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

    def has_delete_permission(self, request, obj=None):
        return not (obj is not None and _confirmed(obj.activity)) and super().has_delete_permission(request, obj)


@admin.register(ActivityMetricValue)
class ActivityMetricValueAdmin(SimpleHistoryAdmin):
    form = NotIntoConfirmedForm
    list_display = ("activity", "metric", "value")
    list_filter = ("metric__program", "metric")
    search_fields = ("activity__title", "metric__name")
    list_select_related = ("activity", "metric")
    autocomplete_fields = ("activity", "metric")

    def has_change_permission(self, request, obj=None):
        return not (obj is not None and _confirmed(obj.activity)) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not (obj is not None and _confirmed(obj.activity)) and super().has_delete_permission(request, obj)


@admin.register(ServiceRecord)
class ServiceRecordAdmin(SoftDeleteAdminMixin, SimpleHistoryAdmin):
    form = NotIntoConfirmedForm
    list_display = ("volunteer", "activity", "activity_date", "hours", "status", "verified_at")
    list_filter = ("status",)
    search_fields = ("volunteer__name", "activity__title", "content")
    date_hierarchy = "activity__date"
    list_select_related = ("volunteer", "activity")
    autocomplete_fields = ("activity", "volunteer", "recorded_by", "verified_by")
    readonly_fields = ("created_at",)

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return (*fields, "activity", "volunteer", "hours") if obj is not None and _confirmed(obj.activity) else fields

    def has_delete_permission(self, request, obj=None):
        return not (obj is not None and _confirmed(obj.activity)) and super().has_delete_permission(request, obj)

    @admin.display(description=Activity._meta.get_field("date").verbose_name, ordering="activity__date")
    def activity_date(self, record):
        return record.activity.date

    def save_model(self, request, obj, form, change):
        if not change and obj.recorded_by_id is None:
            obj.recorded_by = request.user
        super().save_model(request, obj, form, change)


# --- joint meetings (联席会议) and their decisions ---------------------------------------------------------


class MeetingAttendeeInline(SelectRelatedInlineMixin, admin.TabularInline):
    model = MeetingAttendee
    extra = 0
    fields = ("order", "side", "name", "organization", "organization_name", "title", "user")
    autocomplete_fields = ("organization", "user")
    select_related = ("organization", "user")


class ActionItemInline(SelectRelatedInlineMixin, admin.TabularInline):
    model = ActionItem
    extra = 0
    fields = ("order", "text", "owner_org", "owner_user", "due_date", "status", "closed_at")
    readonly_fields = ("status", "closed_at")
    autocomplete_fields = ("owner_org", "owner_user")
    select_related = ("owner_org", "owner_user")


class MeetingAttachmentInline(admin.TabularInline):
    """Files are uploaded through the portal's meeting form, which checks them (PDF only; photos re-encoded without
    metadata); here they are captioned or removed, never added."""

    model = MeetingAttachment
    extra = 0
    fields = ("kind", "caption", "file", "content_type", "size", "uploaded_at")
    readonly_fields = ("file", "content_type", "size", "uploaded_at")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Meeting)
class MeetingAdmin(SimpleHistoryAdmin):
    list_display = ("title", "date", "pairing", "program", "place")
    list_filter = ("program",)
    search_fields = ("title", "place", "minutes", "pairing__supporter__name", "pairing__supported__name")
    date_hierarchy = "date"
    list_select_related = ("program", *PAIRING_SIDES)
    autocomplete_fields = ("program", "pairing", "activity", "created_by")
    readonly_fields = ("created_at", "updated_at")
    inlines = (MeetingAttendeeInline, ActionItemInline, MeetingAttachmentInline)

    def save_model(self, request, obj, form, change):
        if not change and obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(ActionItem)
class ActionItemAdmin(SimpleHistoryAdmin):
    """Closing and reopening are the owner's, on the portal's pages (activities.services.action_item_close); the
    constraints hold here too (done needs the activity or a note, dropped a reason, closed a time)."""

    list_display = ("text", "meeting", "owner_org", "owner_user", "due_date", "status", "closed_at")
    list_filter = ("status", "meeting__program")
    search_fields = ("text", "note", "owner_org__name", "meeting__title")
    date_hierarchy = "due_date"
    list_select_related = ("meeting", "owner_org", "owner_user")
    autocomplete_fields = ("meeting", "owner_org", "owner_user", "done_by_activity", "closed_by")
    readonly_fields = ("created_at", "updated_at")


@admin.register(MeetingAttachment)
class MeetingAttachmentAdmin(SimpleHistoryAdmin):
    list_display = ("__str__", "meeting", "kind", "content_type", "size", "uploaded_at")
    list_filter = ("kind", "content_type")
    search_fields = ("caption", "meeting__title")
    list_select_related = ("meeting",)
    fields = ("meeting", "kind", "caption", "file", "thumbnail", "content_type", "size", "sha256", "uploaded_by", "uploaded_at")
    readonly_fields = ("meeting", "file", "thumbnail", "content_type", "size", "sha256", "uploaded_by", "uploaded_at")

    def has_add_permission(self, request):
        return False  # see MeetingAttachmentInline
