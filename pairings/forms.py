from django import forms
from django.utils.translation import gettext_lazy as _

from pairings import permissions, units
from pairings.models import JointPlan, Liaison, Metric, Pairing, PlanItem, Program, VillageIndicator
from pairings.services import MAX_AGREEMENT_BYTES, validate_pdf
from portal.models import Organization, User


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
    metrics = list(Metric.objects.filter(program=program).order_by("order", "id"))
    if item is not None and data is None:
        initial = [{"metric": t.metric_id, "value": t.value} for t in item.targets.all()]
    elif data is None:
        # a new item is offered each metric's default target (the planner may change or remove it)
        initial = [{"metric": m.pk, "value": m.default_target} for m in metrics if m.default_target is not None] or None
    formset = TargetFormSet(data=data, initial=initial, prefix="targets", form_kwargs={"program": program})
    # The metric choices are read once and shared by every row, so the form's queries do not grow with them.
    choices = [("", "---------")] + [(m.pk, str(m)) for m in metrics]
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


# --- set-up --------------------------------------------------------------------------------------


def _read_choices(field, queryset, label=str):
    """Give a choice field its choices read once (so a formset's rows share them and cost no query each)."""
    field.queryset = queryset
    field.choices = ([("", field.empty_label)] if getattr(field, "empty_label", None) is not None else []) + [
        (obj.pk, label(obj)) for obj in queryset
    ]


class ProgramForm(forms.ModelForm):
    """A program's record; `office` only when it is created (one of the offices the user administers)."""

    class Meta:
        model = Program
        fields = ["office", "name", "code", "description", "monthly_reports", "quarterly_reports", "is_active"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        help_texts = {"code": _("Letters, digits and hyphens, e.g. slsz; used in file names and exports.")}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            del self.fields["office"]
        else:
            _read_choices(self.fields["office"], permissions.program_offices(user).order_by("name"))

    def _post_clean(self):
        pass  # the service validates and writes


class MetricForm(forms.ModelForm):
    class Meta:
        model = Metric
        fields = ["code", "name", "unit", "aggregation", "default_target", "description", "order"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        rules = "；".join(
            f"{unit}：{'、'.join(str(units.Aggregation(a).label) for a in rule.aggregations)}"
            for unit, rule in units.RULES.items()
        )
        self.fields["aggregation"].help_text = _("Allowed per unit: %(rules)s.") % {"rules": rules}
        self.fields["default_target"].widget.attrs.update({"min": "0.01", "step": "any", "inputmode": "decimal"})

    def _post_clean(self):
        pass


class PairingCreateForm(forms.Form):
    program = forms.ModelChoiceField(label=_("Program"), queryset=Program.objects.none())
    supporter = forms.ModelChoiceField(
        label=_("Supporting side"), queryset=Organization.objects.none(),
        help_text=_("The school, college, organ or department; its party branches are chosen next."),
    )
    supported = forms.ModelChoiceField(
        label=_("Supported side"), queryset=Organization.objects.none(),
        help_text=_("The village, community, sub-district or town."),
    )
    signed_on = forms.DateField(label=_("Agreement signed on"), required=False, widget=DateInput())
    term_start = forms.DateField(label=_("Term start"), widget=DateInput())
    term_end = forms.DateField(label=_("Term end"), required=False, widget=DateInput(),
                               help_text=_("Leave empty for an open-ended term."))
    goals = forms.CharField(label=_("Goals"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        _read_choices(self.fields["program"], Program.objects.set_up_by(user).filter(is_active=True).order_by("name"))
        _read_choices(self.fields["supporter"], permissions.supporter_choices(user).order_by("name"))
        _read_choices(self.fields["supported"], permissions.supported_choices(user).order_by("name"))

    def clean(self):
        data = super().clean()
        if data.get("term_start") and data.get("term_end") and data["term_end"] < data["term_start"]:
            self.add_error("term_end", _("The term cannot end before it starts."))
        return data


class PairingSetupForm(forms.ModelForm):
    branches = forms.ModelMultipleChoiceField(
        label=_("Participating branches"), queryset=Organization.objects.none(), required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The party branches of the supporting side that take part; their secretaries record activities."),
    )

    class Meta:
        model = Pairing
        fields = ["status", "signed_on", "term_start", "term_end", "renewing", "goals"]
        widgets = {
            "signed_on": DateInput(), "term_start": DateInput(), "term_end": DateInput(),
            "goals": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        pairing = self.instance
        _read_choices(self.fields["branches"], permissions.branch_choices(pairing).order_by("name"))
        if not self.is_bound:
            self.initial["branches"] = list(pairing.pairing_branches.values_list("branch_id", flat=True))

    def clean(self):
        data = super().clean()
        if data.get("term_start") and data.get("term_end") and data["term_end"] < data["term_start"]:
            self.add_error("term_end", _("The term cannot end before it starts."))
        return data

    def _post_clean(self):
        pass


class LiaisonForm(forms.Form):
    id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    name = forms.CharField(label=_("Full name"), max_length=60, required=False)
    title = forms.CharField(label=_("Position"), max_length=60, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    user = forms.ModelChoiceField(
        label=_("User account"), queryset=User.objects.none(), required=False, empty_label=_("none"),
        help_text=_("Optional: the liaison's account, which then reads this pairing."),
    )

    def clean(self):
        data = super().clean()
        if not data.get("DELETE") and not data.get("name") and self.has_changed():
            self.add_error("name", _("Give the liaison's name."))
        return data


class BaseLiaisonFormSet(forms.BaseFormSet):
    def __init__(self, *args, known_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.known_ids = set(known_ids)

    def clean(self):
        if any(self.errors):
            return
        for form in self.forms:
            liaison_id = form.cleaned_data.get("id")
            if liaison_id is not None and liaison_id not in self.known_ids:
                form.add_error(None, _("This liaison is not one of this pairing's; reload the page."))


LiaisonFormSet = forms.formset_factory(LiaisonForm, formset=BaseLiaisonFormSet, extra=1, can_delete=True, max_num=20)


def liaison_formset(*, pairing, side, data=None):
    """The liaisons of one side of a pairing, one row each and an empty one; the user accounts offered are the
    people of that side's organisations (read once for all rows)."""
    liaisons = [l for l in pairing.liaisons.all() if l.side == side]
    initial = [
        {"id": l.pk, "name": l.name, "title": l.title, "phone": l.phone, "email": l.email, "user": l.user_id}
        for l in liaisons
    ]
    formset = LiaisonFormSet(
        data=data, initial=initial, prefix=f"liaison-{side}", known_ids=[l.pk for l in liaisons]
    )
    people = User.objects.filter(
        memberships__organization_id__in=permissions.side_org_ids(pairing, side), is_active=True
    ).distinct().order_by("username")
    choices = [("", _("none"))] + [(u.pk, u.full_name or u.username) for u in people]
    # the empty row is what the page's "add a liaison" button copies (static/js/formset-rows.js)
    formset.empty_row = formset.empty_form
    for form in [*formset.forms, formset.empty_row]:
        form.fields["user"].queryset = people
        form.fields["user"].choices = choices
    formset.side = side
    formset.side_label = Liaison.Side(side).label
    formset.liaisons = {l.pk: l for l in liaisons}
    return formset
