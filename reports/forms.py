"""Forms of the report pages. Errors are shown on the form (translated), never as a 500."""

from __future__ import annotations

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from activities.filters import DateInput
from pairings.models import Program
from reports.builders import PERIOD_FOR_KIND
from reports.models import Report
from reports.periods import MIN_YEAR, PeriodError, parse


class ReportNotesForm(forms.ModelForm):
    class Meta:
        model = Report
        fields = ["notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 6})}
        help_texts = {"notes": _("The admin's coordination notes (调度意见), shown in the report once published.")}

    def clean_notes(self):
        notes = self.cleaned_data["notes"]
        if len(notes) > 5000:
            raise forms.ValidationError(_("Keep the notes under 5,000 characters."))
        return notes


class GenerateForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=Report.Kind.choices)
    period = forms.CharField(
        label=_("Period"), max_length=8, help_text=_("2024-03 for a month, 2024Q1 for a quarter, 2024 for a year.")
    )
    program = forms.ModelChoiceField(label=_("Program"), queryset=Program.objects.none())

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["program"].queryset = Program.objects.editable_by(user).order_by("name")

    def clean(self):
        cleaned = super().clean()
        kind, text = cleaned.get("kind"), cleaned.get("period")
        if kind and text:
            try:
                period = parse(text)
            except PeriodError as exc:
                self.add_error("period", str(exc))
                return cleaned
            expected = PERIOD_FOR_KIND[kind]
            if not isinstance(period, expected):
                examples = {"monthly": "2024-03", "quarterly": "2024Q1", "annual": "2024"}
                self.add_error(
                    "period",
                    _("A %(kind)s report needs a period like %(example)s.")
                    % {"kind": Report.Kind(kind).label, "example": examples[kind]},
                )
            elif period.start > timezone.localdate():
                self.add_error("period", _("That period has not begun yet."))
            else:
                cleaned["period"] = period.key
        return cleaned


def year_choices():
    this_year = timezone.localdate().year
    return [(year, str(year)) for year in range(this_year, max(MIN_YEAR, this_year - 10) - 1, -1)]


class ExportForm(forms.Form):
    program = forms.ModelChoiceField(label=_("Program"), queryset=Program.objects.none())
    year = forms.TypedChoiceField(label=_("Year"), coerce=int, choices=year_choices)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["program"].queryset = Program.objects.editable_by(user).order_by("name")


class CertificateForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=DateInput())
    end = forms.DateField(label=_("To"), widget=DateInput())

    def __init__(self, *args, last_service=None, **kwargs):
        """The period offered first: the year of the last verified service (this year when none)."""
        kwargs.setdefault("initial", {})
        today = timezone.localdate()
        year = (last_service or today).year
        kwargs["initial"].setdefault("start", datetime.date(year, 1, 1))
        kwargs["initial"].setdefault("end", min(today, datetime.date(year, 12, 31)))
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", _("The period ends before it starts."))
        return data
