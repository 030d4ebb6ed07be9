"""The set-up lists' filters: organisations (kind, name, active) and people (organisation, role, active, search)."""

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from portal.filtersets import FilterSet
from portal.models import Membership, Organization, User
from portal.permissions import manageable_orgs
from portal.widgets import PickerWidget

ACTIVE_CHOICES = [("1", _("active")), ("0", _("deactivated"))]


class OrganizationFilter(FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Name"), widget=forms.TextInput(attrs={"type": "search"}))
    kind = django_filters.ChoiceFilter(choices=Organization.Kind.choices, label=_("Kind"))
    active = django_filters.ChoiceFilter(choices=ACTIVE_CHOICES, method="filter_active", label=_("Status"))

    class Meta:
        model = Organization
        fields = []

    def filter_q(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(name__icontains=value) | Q(short_name__icontains=value)) if value else queryset

    def filter_active(self, queryset, name, value):
        return queryset.filter(is_active=value == "1")


def _orgs(request):
    return manageable_orgs(request.user).order_by("name") if request else Organization.objects.none()


class PersonFilter(FilterSet):
    q = django_filters.CharFilter(
        method="filter_q", label=_("Name, user name or phone"), widget=forms.TextInput(attrs={"type": "search"})
    )
    # a picker (portal/widgets.py): a province admin sets up thousands of organisations
    organization = django_filters.ModelChoiceFilter(
        queryset=_orgs, method="filter_org", label=_("Organisation"),
        widget=PickerWidget("setup:org_picker", placeholder=_("Type the name")),
    )
    role = django_filters.ChoiceFilter(choices=Membership.Role.choices, method="filter_role", label=_("Role"))
    active = django_filters.ChoiceFilter(choices=ACTIVE_CHOICES, method="filter_active", label=_("Status"))

    class Meta:
        model = User
        fields = []

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(full_name__icontains=value) | Q(username__icontains=value) | Q(phone__icontains=value)
        )

    def filter_org(self, queryset, name, value):
        return queryset.filter(memberships__organization=value).distinct()

    def filter_role(self, queryset, name, value):
        return queryset.filter(memberships__role=value).distinct()

    def filter_active(self, queryset, name, value):
        return queryset.filter(is_active=value == "1")
