"""Forms of the dashboards: the program dashboard's year and order, the completeness board's program and year
(the volunteer list's filters are a FilterSet: dashboards/filters.py)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from dashboards import board
from dashboards.program import SORTS
from pairings.models import Program
from reports.forms import year_choices
from reports.periods import MIN_YEAR


class BoardForm(forms.Form):
    """The board's program and year: a year from the program's first pairing or activity to this year
    (board.board_years; the program read for the form carries its first dates, so no query more)."""

    program = forms.ModelChoiceField(label=_("Program"), queryset=Program.objects.none())
    year = forms.TypedChoiceField(label=_("Year"), coerce=int, choices=())

    def __init__(self, *args, programs, today, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["program"].queryset = board.with_first_dates(programs).order_by("name")
        # until the program is known (clean), any year up to this one; the choices narrow to the program's then
        self.fields["year"].choices = [(year, str(year)) for year in range(today.year, MIN_YEAR - 1, -1)]

    def clean(self):
        cleaned = super().clean()
        program = cleaned.get("program")
        if program is not None:
            years = board.board_years(program, self.today)
            self.fields["year"].choices = [(year, str(year)) for year in years]
            year = cleaned.get("year")
            if year is not None and year not in years:
                self.add_error("year", _("Choose a year from %(first)s to %(last)s: the years of this program.") % {
                    "first": years[-1], "last": years[0],
                })
        else:
            self.fields["year"].choices = year_choices()
        return cleaned


class DashboardForm(forms.Form):
    year = forms.IntegerField(label=_("Year"), required=False, min_value=2000, max_value=2100)
    sort = forms.ChoiceField(label=_("Order"), required=False, choices=list(SORTS.items()))
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
