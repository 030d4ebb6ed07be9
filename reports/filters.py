"""FilterSets of the report lists."""

import django_filters
from django.utils.translation import gettext_lazy as _

from pairings.models import Program
from reports.models import Report


def visible_programs(request):
    if request is None:
        return Program.objects.none()
    return Program.objects.visible_to(request.user).order_by("name")


class ReportFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=Report.Kind.choices)
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Report.Status.choices)
    program = django_filters.ModelChoiceFilter(label=_("Program"), queryset=visible_programs)
    period = django_filters.CharFilter(label=_("Period"), lookup_expr="startswith", help_text=_("e.g. 2024, 2024-03, 2024Q1"))

    class Meta:
        model = Report
        fields = ["kind", "status", "program", "period"]
