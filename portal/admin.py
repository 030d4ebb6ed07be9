from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from simple_history.admin import SimpleHistoryAdmin

from portal.models import Membership, Organization, OutboxMessage, User
from portal.services import user_invite


class LoadedAutocompleteSelect(AutocompleteSelect):
    """An autocomplete that labels its selected object from the row already loaded, when it has one,
    instead of querying for it: so an inline's query count doesn't grow with its rows."""

    loaded = None

    def optgroups(self, name, value, attr=None):
        selected = [str(v) for v in value if str(v) not in self.choices.field.empty_values]
        if self.loaded is None or selected != [str(self.loaded.pk)]:
            return super().optgroups(name, value, attr)
        options = [] if self.is_required else [self.create_option(name, "", "", False, 0)]
        label = self.choices.field.label_from_instance(self.loaded)
        options.append(self.create_option(name, self.loaded.pk, label, True, len(options)))
        return [(None, options, 0)]


class SelectRelatedInlineMixin:
    """An inline whose rows come with `select_related` in one query: each row's __str__ and the labels
    of its autocomplete fields are printed from it (list the parent's foreign key too when __str__
    uses it: the formset sets only its id)."""

    select_related = ()

    def get_queryset(self, request):
        return super().get_queryset(request).select_related(*self.select_related)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name in self.get_autocomplete_fields(request) and db_field.name in self.select_related:
            kwargs["widget"] = LoadedAutocompleteSelect(db_field, self.admin_site, using=kwargs.get("using"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        loaded_fields = [name for name in self.select_related if "__" not in name]

        class LoadedFormSet(formset):
            def _construct_form(self, i, **kwargs):
                form = super()._construct_form(i, **kwargs)
                for name in loaded_fields:
                    widget = getattr(form.fields.get(name), "widget", None)
                    widget = getattr(widget, "widget", widget)  # inside RelatedFieldWidgetWrapper
                    if isinstance(widget, LoadedAutocompleteSelect) and form.instance.pk:
                        widget.loaded = getattr(form.instance, name)
                return form

        return LoadedFormSet


class SoftDeleteAdminMixin:
    """Admins see soft-deleted rows too (the default manager hides them), can filter and restore them."""

    def get_queryset(self, request):
        qs = self.model.all_objects.get_queryset()
        ordering = self.get_ordering(request)
        return qs.order_by(*ordering) if ordering else qs

    def get_list_filter(self, request):
        return (*super().get_list_filter(request), ("deleted_at", admin.EmptyFieldListFilter))

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "deleted_at")

    def delete_model(self, request, obj):
        """Deleting hides the row (soft delete), so an admin can restore it later."""
        obj.deleted_at = timezone.now()
        obj.save(update_fields=["deleted_at"])

    def delete_queryset(self, request, queryset):
        for obj in queryset.filter(deleted_at__isnull=True):
            self.delete_model(request, obj)

    @admin.action(description=_("Restore the selected deleted rows"))
    def restore(self, request, queryset):
        for obj in queryset.filter(deleted_at__isnull=False):
            obj.deleted_at = None
            obj.save(update_fields=["deleted_at"])  # saved one by one, so each restore enters the history

    actions = ("restore",)


class MembershipInline(SelectRelatedInlineMixin, admin.TabularInline):
    model = Membership
    extra = 0
    fields = ("organization", "user", "role", "title")
    autocomplete_fields = ("organization", "user")
    select_related = ("organization", "user")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Personal info"), {"fields": ("full_name", "email", "phone")}),
        *BaseUserAdmin.fieldsets[2:],
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        (_("Personal info"), {"fields": ("full_name", "email", "phone")}),
    )
    list_display = ("username", "full_name", "email", "phone", "is_staff", "is_active", "last_login")
    search_fields = ("username", "full_name", "email", "phone")
    inlines = (MembershipInline,)
    actions = ("invite",)

    @admin.action(description=_("Send the invitation e-mail (to set a password)"))
    def invite(self, request, queryset):
        sent = 0
        for user in queryset:
            try:
                user_invite(user=user, inviter=request.user)
            except ValidationError as exc:
                self.message_user(request, exc.messages[0], messages.WARNING)
            else:
                sent += 1
        if sent:
            self.message_user(request, ngettext("%d invitation sent.", "%d invitations sent.", sent) % sent)


@admin.register(Organization)
class OrganizationAdmin(SimpleHistoryAdmin):
    list_display = ("name", "short_name", "kind", "parent", "contact_name", "contact_phone", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("name", "short_name", "contact_name", "address")
    list_select_related = ("parent",)
    autocomplete_fields = ("parent",)
    inlines = (MembershipInline,)


@admin.register(Membership)
class MembershipAdmin(SimpleHistoryAdmin):
    list_display = ("user", "organization", "role", "title", "created_at")
    list_filter = ("role", "organization__kind")
    search_fields = ("user__username", "user__full_name", "organization__name", "title")
    list_select_related = ("user", "organization")
    autocomplete_fields = ("user", "organization")


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    """Tasks that pages kept while the broker was away; beat's task-outbox entry sends them (read-only here)."""

    list_display = ("task", "created", "attempts", "last_error")
    search_fields = ("task", "last_error")
    readonly_fields = ("task", "args", "kwargs", "created", "attempts", "last_error")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
