from django import forms
from django.contrib import admin
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from pairings.models import (
    JointPlan, Liaison, Metric, Pairing, PairingBranch, PlanItem, PlanTarget, Program, VillageIndicator, VillageStatistic,
)
from portal.admin import SelectRelatedInlineMixin

# A pairing's __str__ names both sides.
PAIRING_SIDES = ("pairing__supporter", "pairing__supported")


class MetricInline(admin.TabularInline):
    model = Metric
    extra = 0
    fields = ("order", "code", "name", "unit", "aggregation", "description")


@admin.register(Program)
class ProgramAdmin(SimpleHistoryAdmin):
    list_display = ("name", "code", "office", "monthly_reports", "quarterly_reports", "publish_monthly",
                    "publish_quarterly", "is_active")
    list_filter = ("is_active", "monthly_reports", "quarterly_reports", "publish_monthly", "publish_quarterly")
    search_fields = ("name", "code", "office__name")
    list_select_related = ("office",)
    autocomplete_fields = ("office",)
    inlines = (MetricInline,)


@admin.register(Metric)
class MetricAdmin(SimpleHistoryAdmin):
    list_display = ("name", "code", "program", "unit", "aggregation", "order")
    list_filter = ("program", "unit", "aggregation")
    search_fields = ("name", "code", "program__name")
    list_select_related = ("program",)
    autocomplete_fields = ("program",)


class PairingBranchInline(SelectRelatedInlineMixin, admin.TabularInline):
    model = PairingBranch
    extra = 0
    autocomplete_fields = ("branch",)
    select_related = ("branch",)


class LiaisonInline(SelectRelatedInlineMixin, admin.TabularInline):
    model = Liaison
    extra = 0
    fields = ("side", "name", "title", "phone", "email", "user")
    autocomplete_fields = ("user",)
    select_related = ("user",)


class PairingForm(forms.ModelForm):
    def clean_agreement_file(self):
        # Uploads of documents are PDF only (DESIGN.md); the admin must not be the way around that.
        upload = self.cleaned_data.get("agreement_file")
        if isinstance(upload, UploadedFile):
            head = upload.read(5)
            upload.seek(0)
            if not upload.name.lower().endswith(".pdf") or head != b"%PDF-":
                raise forms.ValidationError(_("Upload the signed agreement as a PDF file."))
        return upload


@admin.register(Pairing)
class PairingAdmin(SimpleHistoryAdmin):
    form = PairingForm
    list_display = ("supporter", "supported", "program", "status", "term_start", "term_end")
    list_filter = ("program", "status")
    search_fields = (
        "supporter__name", "supporter__short_name", "supported__name", "supported__short_name", "program__name",
    )
    date_hierarchy = "term_start"
    autocomplete_fields = ("program", "supporter", "supported")
    readonly_fields = ("created_at",)
    inlines = (PairingBranchInline, LiaisonInline)

    def get_queryset(self, request):
        # Also serves the autocomplete of every foreign key to a pairing, which prints __str__.
        return super().get_queryset(request).select_related("program", "supporter", "supported")


@admin.register(PairingBranch)
class PairingBranchAdmin(SimpleHistoryAdmin):
    list_display = ("branch", "pairing", "joined_on")
    list_filter = ("pairing__program",)
    search_fields = ("branch__name", "pairing__supporter__name", "pairing__supported__name")
    list_select_related = ("branch", *PAIRING_SIDES)
    autocomplete_fields = ("pairing", "branch")


@admin.register(Liaison)
class LiaisonAdmin(SimpleHistoryAdmin):
    list_display = ("name", "side", "pairing", "title", "phone", "email", "user")
    list_filter = ("side", "pairing__program")
    search_fields = ("name", "title", "phone", "pairing__supporter__name", "pairing__supported__name")
    list_select_related = ("user", *PAIRING_SIDES)
    autocomplete_fields = ("pairing", "user")


class PlanItemInline(SelectRelatedInlineMixin, admin.TabularInline):
    model = PlanItem
    extra = 0
    fields = ("order", "title", "category", "owner_branch", "village_counterpart", "due_date", "status", "progress")
    autocomplete_fields = ("owner_branch",)
    select_related = ("owner_branch",)
    show_change_link = True  # the item's page holds its description and targets


@admin.register(JointPlan)
class JointPlanAdmin(SimpleHistoryAdmin):
    list_display = ("title", "pairing", "year", "village_agreed_on", "updated_at")
    list_filter = ("year", "pairing__program")
    search_fields = ("title", "pairing__supporter__name", "pairing__supported__name")
    list_select_related = PAIRING_SIDES
    autocomplete_fields = ("pairing", "village_agreed_by")
    readonly_fields = ("created_at", "updated_at")
    inlines = (PlanItemInline,)


class PlanTargetInline(SelectRelatedInlineMixin, admin.TabularInline):
    model = PlanTarget
    extra = 0
    autocomplete_fields = ("metric",)
    select_related = ("metric",)


@admin.register(PlanItem)
class PlanItemAdmin(SimpleHistoryAdmin):
    list_display = ("title", "plan", "category", "owner_branch", "due_date", "status", "progress")
    list_filter = ("status", "category", "plan__year", "plan__pairing__program")
    search_fields = (
        "title", "village_counterpart", "owner_branch__name", "plan__title", "plan__pairing__supported__name",
    )
    date_hierarchy = "due_date"
    list_select_related = ("plan", "owner_branch")
    autocomplete_fields = ("plan", "owner_branch")
    inlines = (PlanTargetInline,)


@admin.register(PlanTarget)
class PlanTargetAdmin(SimpleHistoryAdmin):
    list_display = ("item", "metric", "value")
    list_filter = ("metric__program",)
    search_fields = ("item__title", "metric__name")
    list_select_related = ("item", "metric")
    autocomplete_fields = ("item", "metric")


@admin.register(VillageIndicator)
class VillageIndicatorAdmin(SimpleHistoryAdmin):
    list_display = ("name", "code", "unit", "order", "is_active")
    list_filter = ("is_active", "unit")
    search_fields = ("name", "code")


@admin.register(VillageStatistic)
class VillageStatisticAdmin(SimpleHistoryAdmin):
    list_display = ("village", "indicator", "as_at", "value", "source", "recorded_by", "recorded_at")
    list_filter = ("indicator",)
    search_fields = ("village__name", "indicator__name", "source")
    date_hierarchy = "as_at"
    list_select_related = ("village", "indicator", "recorded_by")
    autocomplete_fields = ("village", "recorded_by")

    def save_model(self, request, obj, form, change):
        if not change and obj.recorded_by_id is None:
            obj.recorded_by = request.user
        super().save_model(request, obj, form, change)
