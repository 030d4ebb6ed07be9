"""Forms of the report pages. Errors are shown on the form (translated), never as a 500."""

from __future__ import annotations

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from activities.filters import DateInput
from pairings.models import Pairing, Program
from reports.builders import PERIOD_FOR_KIND
from reports.channels import webhook_url_problem
from reports.models import Preference, Report, Webhook
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


class PreferenceForm(forms.ModelForm):
    class Meta:
        model = Preference
        fields = ["email_digest"]


class WebhookForm(forms.ModelForm):
    """A group robot of one program or one pairing the user administers. The signing secret is never shown back:
    left empty on an edit, the stored one is kept."""

    url = forms.URLField(
        label=_("webhook address"), max_length=400, assume_scheme="https",
        help_text=_("The robot's webhook address from the group's settings, e.g. https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…"),
    )
    secret = forms.CharField(
        label=_("signing secret"), max_length=100, required=False, strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_("DingTalk (钉钉) only: the robot's signing secret (加签, SEC…). Leave empty to keep the one saved."),
    )

    class Meta:
        model = Webhook
        fields = ["kind", "name", "program", "pairing", "url", "secret"]
        help_texts = {
            "program": _("Either a program (every pairing's events) or one pairing."),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        programs = Program.objects.editable_by(user).order_by("name")
        self.fields["program"].queryset = programs
        self.fields["pairing"].queryset = (
            Pairing.objects.editable_by(user).select_related("supporter", "supported").order_by("program_id", "id")
        )
        self.fields["program"].required = self.fields["pairing"].required = False
        self.old_secret = self.instance.secret if self.instance.pk else ""

    def clean_url(self):
        url = self.cleaned_data["url"].strip()
        problem = webhook_url_problem(url)
        if problem:
            raise forms.ValidationError(problem)
        return url

    def clean(self):
        cleaned = super().clean()
        program, pairing = cleaned.get("program"), cleaned.get("pairing")
        if bool(program) == bool(pairing):
            raise forms.ValidationError(_("Choose either a program or a pairing (one of the two)."))
        kind, url, secret = cleaned.get("kind"), cleaned.get("url") or "", cleaned.get("secret") or self.old_secret
        if kind == Webhook.Kind.WECOM and secret:
            self.add_error("secret", _("WeCom (企业微信) robots have no signing secret: leave it empty."))
        if kind == Webhook.Kind.WECOM and url and "key=" not in url:
            self.add_error("url", _("A WeCom (企业微信) robot's address ends with ?key=… (copy it from the group's robot settings)."))
        if kind == Webhook.Kind.DINGTALK and url and "access_token=" not in url:
            self.add_error("url", _("A DingTalk (钉钉) robot's address ends with ?access_token=… (copy it from the group's robot settings)."))
        if secret and not secret.isprintable():
            self.add_error("secret", _("The secret contains characters that cannot be part of it."))
        cleaned["secret"] = secret if kind == Webhook.Kind.DINGTALK else ""
        return cleaned
