"""Forms of the dashboards: the program dashboard's year and order, the completeness board's program and year,
the volunteer list's filters."""

from django import forms
from django.utils.translation import gettext_lazy as _

from dashboards.program import SORTS

from pairings.models import Program
from reports.forms import year_choices
from volunteers.models import Volunteer


class BoardForm(forms.Form):
    program = forms.ModelChoiceField(label=_("Program"), queryset=Program.objects.none())
    year = forms.TypedChoiceField(label=_("Year"), coerce=int, choices=year_choices)

    def __init__(self, *args, programs, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["program"].queryset = programs.order_by("name")


class VolunteerFilterForm(forms.Form):
    q = forms.CharField(label=_("Name"), required=False, max_length=60)
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("all"))] + list(Volunteer.Kind.choices))
    pending = forms.BooleanField(label=_("With hours to verify"), required=False)

    def filter(self, queryset):
        if not self.is_valid():
            return queryset
        data = self.cleaned_data
        if data.get("q"):
            queryset = queryset.filter(name__icontains=data["q"])
        if data.get("kind"):
            queryset = queryset.filter(kind=data["kind"])
        if data.get("pending"):
            queryset = queryset.filter(pending_records__gt=0)
        return queryset


class DashboardForm(forms.Form):
    year = forms.IntegerField(label=_("Year"), required=False, min_value=2000, max_value=2100)
    sort = forms.ChoiceField(label=_("Order"), required=False, choices=list(SORTS.items()))
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
