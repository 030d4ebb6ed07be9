"""The activity list's filters: one FilterSet for the page and its CSV export. Every drop-down lists only
what the viewer may see."""

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from activities.models import Activity, ActivityType, Need
from activities.selectors import branches_in_scope
from pairings.models import Pairing
from portal.permissions import scope_for


def _pairings(request):
    if request is None:
        return Pairing.objects.none()
    return Pairing.objects.visible_to(request.user).select_related("supporter", "supported", "program")


def _branches(request):
    if request is None:
        return Pairing.objects.none()
    return branches_in_scope(request.user)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class ActivityFilterForm(forms.Form):
    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("The end of the range is before its start."))
        return data


class ActivityFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Text"),
        method="search",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Title, place or description")}),
    )
    date_from = django_filters.DateFilter(field_name="date", lookup_expr="gte", label=_("From"), widget=DateInput())
    date_to = django_filters.DateFilter(field_name="date", lookup_expr="lte", label=_("To"), widget=DateInput())
    pairing = django_filters.ModelChoiceFilter(queryset=_pairings, label=_("Pairing"), empty_label=_("All pairings"))
    branch = django_filters.ModelChoiceFilter(queryset=_branches, label=_("Branch"), empty_label=_("All branches"))
    activity_type = django_filters.ModelChoiceFilter(
        queryset=ActivityType.objects.all(), label=_("Type"), empty_label=_("All types")
    )
    # several at once (?status=submitted&status=confirmed: what the figures count), as check boxes
    status = django_filters.MultipleChoiceFilter(
        choices=Activity.Status.choices, label=_("Status"), widget=forms.CheckboxSelectMultiple
    )
    sort = django_filters.ChoiceFilter(
        label=_("Order"),
        method="sort_by",
        choices=[("newest", _("Newest first")), ("oldest", _("Oldest first"))],
        empty_label=None,
    )

    class Meta:
        model = Activity
        fields = []
        form = ActivityFilterForm

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        scope = scope_for(self.request.user) if self.request else None
        sees_drafts = scope is not None and (scope.is_superuser or scope.admin_orgs or scope.supporter_orgs)
        if not sees_drafts:
            self.filters["status"].extra["choices"] = [
                choice for choice in Activity.Status.choices if choice[0] != Activity.Status.DRAFT
            ]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(title__icontains=value) | Q(place__icontains=value) | Q(description__icontains=value))

    def sort_by(self, queryset, name, value):
        if value == "oldest":
            return queryset.order_by("date", "id")
        return queryset.order_by("-date", "-id")


class NeedFilter(django_filters.FilterSet):
    """The needs list's filters: pairing, status, category, and only those waiting over 30 days."""

    pairing = django_filters.ModelChoiceFilter(queryset=_pairings, label=_("Pairing"), empty_label=_("All pairings"))
    status = django_filters.ChoiceFilter(choices=Need.Status.choices, label=_("Status"), empty_label=_("Any status"))
    category = django_filters.ChoiceFilter(
        choices=Need.Category.choices, label=_("Category"), empty_label=_("All categories")
    )
    overdue = django_filters.BooleanFilter(
        label=_("Waiting over 30 days"), method="only_overdue", widget=forms.CheckboxInput
    )

    class Meta:
        model = Need
        fields = []

    def only_overdue(self, queryset, name, value):
        return queryset.filter(is_overdue=True) if value else queryset
