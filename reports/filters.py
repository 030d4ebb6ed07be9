"""FilterSets of the report lists."""

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _
from django_filters.widgets import BaseCSVWidget

from pairings.models import Pairing, Program
from portal.filtersets import FilterSet
from portal.widgets import PickerWidget
from reports.models import Report


def visible_pairings(request):
    if request is None:
        return Pairing.objects.none()
    return Pairing.objects.visible_to(request.user).select_related("program", "supporter", "supported")


def visible_programs(request):
    if request is None:
        return Program.objects.none()
    return Program.objects.visible_to(request.user).order_by("name")


class NumberInFilter(django_filters.BaseInFilter, django_filters.NumberFilter):
    pass


class HiddenCSVWidget(BaseCSVWidget, forms.HiddenInput):
    surrogate = forms.HiddenInput


class ReportFilter(FilterSet):
    """The report list's filter, also the bulk publish's ("publish all drafts shown by this filter")."""

    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=Report.Kind.choices)
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Report.Status.choices)
    program = django_filters.ModelChoiceFilter(label=_("Program"), queryset=visible_programs)
    # a picker (portal/widgets.py): a province admin reads a thousand pairings, each with its monthly reports
    pairing = django_filters.ModelChoiceFilter(
        label=_("Pairing"), queryset=visible_pairings,
        widget=PickerWidget("pairings:pairing_picker", placeholder=_("Type a side's name")),
    )
    period = django_filters.CharFilter(label=_("Period"), lookup_expr="startswith", help_text=_("e.g. 2024, 2024-03, 2024Q1"))

    # ?ids=3,4,5: the reports a notification of a bulk publish is about (set by a link, not typed)
    ids = NumberInFilter(label=_("Reports"), field_name="id", lookup_expr="in", widget=HiddenCSVWidget)

    class Meta:
        model = Report
        fields = ["kind", "status", "program", "pairing", "period", "ids"]
