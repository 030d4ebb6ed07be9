import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from volunteers.models import Volunteer


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


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


class VerifyForm(forms.Form):
    """The ids of the service records to verify (checked on the volunteer or team page)."""

    records = forms.TypedMultipleChoiceField(coerce=int, required=True, choices=(), error_messages={
        "required": _("Tick the hours to verify first."),
    })

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any integer may be posted; the service verifies only what the user may verify.
        self.fields["records"].valid_value = lambda value: str(value).isdigit()


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
