"""The volunteer list's filters (one FilterSet, shared by the page and its exports): name, kind, and only those
with hours waiting for verification."""

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from volunteers.models import Volunteer


class VolunteerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label=_("Name"), max_length=60)
    kind = django_filters.ChoiceFilter(choices=Volunteer.Kind.choices, label=_("Kind"), empty_label=_("all"))
    pending = django_filters.BooleanFilter(
        label=_("With hours to verify"), method="only_pending", widget=forms.CheckboxInput
    )

    class Meta:
        model = Volunteer
        fields = []

    def only_pending(self, queryset, name, value):
        """Those with records waiting for verification (``pending_records``: figures.selectors.with_hours)."""
        return queryset.filter(pending_records__gt=0) if value else queryset
