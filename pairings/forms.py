from django import forms
from django.utils.translation import gettext_lazy as _

from pairings.models import JointPlan, Metric, Pairing, PlanItem, Program, VillageIndicator
from pairings.services import MAX_AGREEMENT_BYTES, validate_pdf
from portal.models import Organization


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class AgreementForm(forms.ModelForm):
    agreement_file = forms.FileField(
        label=_("Signed agreement (PDF)"),
        required=False,
        help_text=_("The scan of the signed agreement, as a PDF of at most %(mb)s MB. Leave empty to keep the current file.")
        % {"mb": MAX_AGREEMENT_BYTES // 1024 // 1024},
        widget=forms.FileInput(attrs={"accept": "application/pdf,.pdf"}),
    )

    class Meta:
        model = Pairing
        fields = ["signed_on", "term_start", "term_end", "renewing", "goals"]
        widgets = {"signed_on": DateInput(), "term_start": DateInput(), "term_end": DateInput()}

    def clean_agreement_file(self):
        upload = self.cleaned_data.get("agreement_file")
        if upload:
            validate_pdf(upload)
        return upload

    def clean(self):
        data = super().clean()
        if data.get("term_start") and data.get("term_end") and data["term_end"] < data["term_start"]:
            self.add_error("term_end", _("The term cannot end before it starts."))
        return data

    def _post_clean(self):
        # The pairing is written by the service, not by the form's instance.
        pass


class JointPlanForm(forms.ModelForm):
    class Meta:
        model = JointPlan
        fields = ["year", "title", "summary"]
        widgets = {"summary": forms.Textarea(attrs={"rows": 3})}

    def _post_clean(self):
        pass


class JointPlanEditForm(JointPlanForm):
    class Meta(JointPlanForm.Meta):
        fields = ["title", "summary"]


class PlanItemForm(forms.ModelForm):
    class Meta:
        model = PlanItem
        fields = [
            "title", "category", "description", "owner_branch", "village_counterpart", "due_date", "status",
            "progress", "order",
        ]
        widgets = {"due_date": DateInput(), "description": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "progress": _("Only for items without targets; an item with targets takes its progress from the activities linked to it."),
            "village_counterpart": _("Who in the village works on this item with the branch."),
        }

    def __init__(self, *args, pairing, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner_branch"].queryset = Organization.objects.filter(branch_pairings__pairing=pairing).order_by("name")
        self.fields["progress"].widget.attrs.update({"min": 0, "max": 100})

    def _post_clean(self):
        pass


class PlanTargetForm(forms.Form):
    metric = forms.ModelChoiceField(
        label=_("Metric"),
        queryset=Metric.objects.none(),
        error_messages={
            "invalid_choice": _("This metric is not one of the program's metrics; a target must use a metric (and so the unit) of this program."),
        },
    )
    value = forms.DecimalField(label=_("Target"), max_digits=14, decimal_places=2)

    def __init__(self, *args, program, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["metric"].queryset = Metric.objects.filter(program=program).order_by("order", "id")
        self.fields["value"].widget.attrs.update({"min": "0.01", "step": "any", "inputmode": "decimal"})

    def clean_value(self):
        value = self.cleaned_data["value"]
        if value is not None and value <= 0:
            raise forms.ValidationError(_("A target must be greater than zero."))
        return value


class BaseTargetFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        seen = set()
        for form in self.forms:
            if not form.cleaned_data or form.cleaned_data.get("DELETE"):
                continue
            metric = form.cleaned_data["metric"]
            if metric.pk in seen:
                raise forms.ValidationError(_("Each metric may have one target per item."))
            seen.add(metric.pk)

    def targets(self):
        return [
            (form.cleaned_data["metric"], form.cleaned_data["value"])
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]


TargetFormSet = forms.formset_factory(PlanTargetForm, formset=BaseTargetFormSet, extra=2, can_delete=True, max_num=20)


def target_formset(*, program, data=None, item=None):
    """The targets of an item: one row per metric target, plus two empty rows."""
    initial = None
    if item is not None and data is None:
        initial = [{"metric": t.metric_id, "value": t.value} for t in item.targets.all()]
    formset = TargetFormSet(data=data, initial=initial, prefix="targets", form_kwargs={"program": program})
    # The metric choices are read once and shared by every row, so the form's queries do not grow with them.
    choices = [("", "---------")] + [(m.pk, str(m)) for m in Metric.objects.filter(program=program).order_by("order", "id")]
    for form in formset.forms:
        form.fields["metric"].choices = choices
    return formset


class AgreeForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("The village committee agrees to this joint plan as it stands."), required=True
    )


class VillageStatisticForm(forms.Form):
    """A value of a village indicator as at a day. The service decides what is allowed; the form parses."""

    indicator = forms.ModelChoiceField(
        label=_("Indicator"),
        queryset=VillageIndicator.objects.filter(is_active=True).order_by("order", "id"),
        error_messages={"invalid_choice": _("Choose one of the indicators in the list.")},
    )
    as_at = forms.DateField(
        label=_("As at"),
        widget=DateInput(),
        help_text=_("The day the value stands at: for a yearly figure, the last day of that year."),
    )
    value = forms.DecimalField(
        label=_("Value"),
        max_digits=14,
        decimal_places=2,
        min_value=0,
        error_messages={
            "required": _("Give the value. A figure that was not reported is not recorded at all (never as 0)."),
        },
    )
    source = forms.CharField(
        label=_("Source"),
        max_length=200,
        help_text=_("Where the figure comes from, e.g. the village's annual statistics report."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # the choices are read once here, so the page's queries do not grow with the indicators
        self.fields["indicator"].choices = [("", "---------")] + [
            (indicator.pk, str(indicator)) for indicator in self.fields["indicator"].queryset
        ]
        self.fields["value"].widget.attrs.update({"min": "0", "step": "any", "inputmode": "decimal"})


class ProgramPublishingForm(forms.ModelForm):
    """The publishing policy of a program (also in the Django admin's program page)."""

    class Meta:
        model = Program
        fields = ["publish_monthly", "publish_quarterly"]
