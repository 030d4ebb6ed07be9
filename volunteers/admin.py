from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from portal.admin import SelectRelatedInlineMixin
from volunteers.models import ServiceOffering, Team, Volunteer


@admin.register(Volunteer)
class VolunteerAdmin(SimpleHistoryAdmin):
    list_display = ("name", "organization", "kind", "is_party_member", "phone", "is_active", "created_at")
    list_filter = ("kind", "is_party_member", "is_active")
    search_fields = ("name", "phone", "note", "organization__name")
    list_select_related = ("organization",)
    autocomplete_fields = ("organization",)


class ServiceOfferingInline(SelectRelatedInlineMixin, admin.TabularInline):
    model = ServiceOffering
    extra = 0
    select_related = ("team",)  # its __str__


@admin.register(Team)
class TeamAdmin(SimpleHistoryAdmin):
    list_display = ("name", "organization", "leader", "founded_on", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "organization__name")
    list_select_related = ("organization", "leader")
    autocomplete_fields = ("organization", "leader", "members")
    inlines = (ServiceOfferingInline,)


@admin.register(ServiceOffering)
class ServiceOfferingAdmin(SimpleHistoryAdmin):
    list_display = ("name", "team", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "description", "team__name")
    list_select_related = ("team",)
    autocomplete_fields = ("team",)
