"""Forms of the dashboards: the program dashboard's year and order, the completeness board's program and year
(the volunteer list's filters are a FilterSet: dashboards/filters.py)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from dashboards import board
from dashboards.program import SORTS
from reports.forms import year_choices
from reports.periods import MIN_YEAR


class BoardForm(forms.Form):
    """The board's program and year: a year from the program's first pairing or activity to this year
    (board.board_years). ``programs``: the user's, read once (board.board_program_list: with their first dates),
    so choosing and checking the program asks nothing more."""

    program = forms.TypedChoiceField(
        label=_("Program"), coerce=int, choices=(),
        error_messages={"invalid_choice": forms.ModelChoiceField.default_error_messages["invalid_choice"]},
    )
    year = forms.TypedChoiceField(label=_("Year"), coerce=int, choices=())

    def __init__(self, *args, programs, today, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.programs = {program.pk: program for program in programs}
        self.fields["program"].choices = [(program.pk, str(program)) for program in programs]
        # until the program is known (clean), any year up to this one; the choices narrow to the program's then
        self.fields["year"].choices = [(year, str(year)) for year in range(today.year, MIN_YEAR - 1, -1)]

    def clean_program(self):
        return self.programs[self.cleaned_data["program"]]

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
