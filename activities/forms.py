"""The activity form (with formsets for outcome figures, volunteer hours and photos) and the return form.

Forms parse and give quick feedback; the services in activities/services.py decide (permission, pairing,
program, branch), so their errors are mapped back onto these forms by the views."""

from dataclasses import dataclass
from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from activities import images, selectors
from activities.models import ActionItem, Activity, ActivityType, MeetingAttachment, MeetingAttendee, Need
from activities.services import (
    ACTION_NOTE_MAX,
    ATTENDEE_NAME_MAX,
    ATTENDEE_ORG_MAX,
    ATTENDEE_TITLE_MAX,
    CORRECTION_REASON_MAX,
    DECISION_TEXT_MAX,
    MAX_ATTACHMENTS_PER_MEETING,
    MAX_ATTENDEES,
    MAX_DECISIONS,
    MAX_DOCUMENT_BYTES,
    MEETING_PLACE_MAX,
    MEETING_TITLE_MAX,
    AttendeeEntry,
    DecisionEntry,
    NewAttachment,
    clean_meeting_upload,
    MAX_METRIC_VALUE,
    MAX_PEOPLE,
    MAX_SERVED,
    NEED_TITLE_MAX,
    NEED_WANTED_BY_MAX,
    RATING_COMMENT_MAX,
    RETURN_COMMENT_MAX,
    plan_year_error,
)
from pairings.models import Metric, PlanItem, Program
from portal.models import Organization
from volunteers.models import Volunteer


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%H:%M")


def _count_field(label, limit):
    return forms.IntegerField(
        label=label,
        min_value=0,
        max_value=limit,
        initial=0,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 0, "max": limit}),
        error_messages={
            "min_value": _("Enter zero or more."),
            "max_value": _("At most %(limit_value)s. Please check the number."),
            "invalid": _("Enter a whole number."),
        },
    )


class PairingChoiceIterator(forms.models.ModelChoiceIterator):
    """The pairings, then one choice per program for an activity that serves no paired village."""

    def __iter__(self):
        yield from super().__iter__()
        for program in self.field.programs:
            yield (PairingChoiceField.program_value(program), self.field.program_label(program))

    def __len__(self):
        return super().__len__() + len(self.field.programs)


class PairingChoiceField(forms.ModelChoiceField):
    """A pairing; where `programs` are given, also "<program> · 不针对结对村" (value "program-<id>"), cleaned to the
    Program: an activity of the program that serves no paired village."""

    iterator = PairingChoiceIterator
    programs = ()

    @staticmethod
    def program_value(program):
        return f"program-{program.pk}"

    @staticmethod
    def program_label(program):
        return _("%(program)s · not for a paired village") % {"program": program.name}

    def label_from_instance(self, obj):
        return f"{obj} · {obj.program.name}" if getattr(self, "show_program", False) else str(obj)

    def prepare_value(self, value):
        if isinstance(value, Program):
            return self.program_value(value)
        return super().prepare_value(value)

    def to_python(self, value):
        if isinstance(value, str) and value.startswith("program-"):
            for program in self.programs:
                if value == self.program_value(program):
                    return program
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)

    def has_changed(self, initial, data):
        return str(self.prepare_value(initial) or "") != str(data or "")


class ScopedChoiceField(forms.ModelChoiceField):
    """A plan item or need; its label names its pairing when the form offers more than one pairing."""

    pairing_labels = None  # {pairing id: label}, set by the form when it offers several pairings
    pairing_of = None

    def label_from_instance(self, obj):
        if self.pairing_labels:
            return f"{self.pairing_labels.get(self.pairing_of(obj), '')} · {obj}"
        return str(obj)


class PlanItemChoiceField(ScopedChoiceField):
    """The plan items of the activity's year. An item of another year sent anyway (the date changed after the
    item was chosen) is read from `any_year` so the form can say why it is refused, rather than "not a valid
    choice" (one query, on that path only)."""

    any_year = None

    def to_python(self, value):
        try:
            return super().to_python(value)
        except forms.ValidationError:
            if self.any_year is None or value in self.empty_values:
                raise
            try:
                return self.any_year.get(pk=value)
            except (ValueError, TypeError, PlanItem.DoesNotExist):
                raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice") from None


class ActivityForm(forms.Form):
    pairing = PairingChoiceField(queryset=None, label=_("Pairing"), empty_label=None)
    activity_type = forms.ModelChoiceField(queryset=None, label=_("Type"), empty_label=_("Choose a type"))
    title = forms.CharField(label=_("Title"), max_length=120)
    date = forms.DateField(label=_("Date"), widget=DateInput())
    start_time = forms.TimeField(label=_("Start"), required=False, widget=TimeInput())
    end_time = forms.TimeField(label=_("End"), required=False, widget=TimeInput())
    place = forms.CharField(label=_("Place"), max_length=120, required=False)
    description = forms.CharField(
        label=_("What was done"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    plan_item = PlanItemChoiceField(
        queryset=None, label=_("Plan item it serves"), required=False, empty_label=_("None")
    )
    need = ScopedChoiceField(queryset=None, label=_("Need it answers"), required=False, empty_label=_("None"))
    party_members = _count_field(_("Party members"), MAX_PEOPLE)
    teachers = _count_field(_("Teachers"), MAX_PEOPLE)
    students = _count_field(_("Students"), MAX_PEOPLE)
    residents_served = _count_field(_("Residents served (人次)"), MAX_SERVED)
    co_branches = forms.ModelMultipleChoiceField(
        queryset=Organization.objects.none(), label=_("Co-hosting branches"), required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Other branches of your side that held the activity with yours: it counts once, and for each of them."),
        error_messages={"invalid_choice": _("Select a valid choice. That choice is not one of the available choices.")},
    )

    def __init__(self, *args, pairings, activity=None, programs=None, co_branches=None, **kwargs):
        super().__init__(*args, **kwargs)
        pairings = pairings.select_related("supporter", "supported", "program")
        pairing_list = list(pairings)
        self.fields["pairing"].queryset = pairings
        self.fields["pairing"].show_program = len({p.program_id for p in pairing_list}) > 1
        # the programs whose activities outside any paired village the branch records (activities.services checks)
        self.fields["pairing"].programs = list(programs) if programs is not None else []
        if co_branches is not None:
            self.fields["co_branches"].queryset = co_branches.order_by("name", "id")
        else:
            del self.fields["co_branches"]
        # the shared types and those of the offered pairings' programs (the service checks the chosen pairing's)
        types = ActivityType.objects.offered_for(
            {p.program_id for p in pairing_list} | {p.pk for p in self.fields["pairing"].programs}
        )
        if activity is not None:
            types = ActivityType.objects.filter(pk=activity.activity_type_id) | types
        self.fields["activity_type"].queryset = types.order_by("order", "id")
        labels = {p.id: str(p) for p in pairing_list}

        # a plan belongs to its year: only the plan items of the activity's year are offered
        items = PlanItem.objects.filter(plan__pairing__in=pairings).exclude(status=PlanItem.Status.CANCELLED)
        self.fields["plan_item"].any_year = items.select_related("plan")
        items = items.filter(plan__year=self.activity_year(activity))
        needs = Need.objects.filter(pairing__in=pairings, status__in=[Need.Status.OPEN, Need.Status.CLAIMED])
        if activity is not None:
            if activity.plan_item_id:
                items = items | PlanItem.objects.filter(pk=activity.plan_item_id)
            if activity.need_id:
                needs = needs | Need.objects.filter(pk=activity.need_id)
        items = items.select_related("plan").order_by("plan__pairing", "-plan__year", "order", "id")
        needs = needs.order_by("pairing", "-raised_at")
        for name, queryset, pairing_of in (
            ("plan_item", items, lambda obj: obj.plan.pairing_id),
            ("need", needs, lambda obj: obj.pairing_id),
        ):
            field = self.fields[name]
            field.queryset = queryset
            if len(labels) > 1:
                field.pairing_labels, field.pairing_of = labels, pairing_of
        self.fields["date"].widget.attrs["max"] = timezone.localdate().isoformat()
        if activity is not None and (activity.status == activity.Status.CONFIRMED or activity.correction_pending):
            # required by the service only if a counted field changes (activities.services.activity_update)
            self.fields["correction_reason"] = forms.CharField(
                label=_("Reason for the correction"),
                max_length=CORRECTION_REASON_MAX,
                required=False,
                widget=forms.Textarea(attrs={"rows": 2}),
                help_text=_(
                    "The village has confirmed this activity. Changing its date, pairing, people, figures, hours or "
                    "photos sends it back to the village for confirmation, with what changed and this reason. Title, "
                    "place, description and captions can be changed without."
                ),
            )
        for name in ("title", "place"):
            self.fields[name].widget.attrs["autocomplete"] = "off"

    def activity_year(self, activity):
        """The year of the date being entered (bound: as sent, if it reads as a date), else of the initial date
        or the activity's, else this year."""
        if self.is_bound:
            try:
                sent = self.fields["date"].to_python(self.data.get(self.add_prefix("date")))
            except forms.ValidationError:
                sent = None
            if sent:
                return sent.year
        initial = self.initial.get("date") or (activity.date if activity is not None else None)
        if isinstance(initial, str):
            try:
                initial = self.fields["date"].to_python(initial)
            except forms.ValidationError:
                initial = None
        return (initial or timezone.localdate()).year

    def clean_date(self):
        date = self.cleaned_data["date"]
        if date > timezone.localdate():
            raise forms.ValidationError(_("The date is in the future. Record an activity once it has taken place."))
        return date

    def clean(self):
        data = super().clean()
        start, end = data.get("start_time"), data.get("end_time")
        if start and end and end < start:
            self.add_error("end_time", _("The end is before the start."))
        message = plan_year_error(data.get("plan_item"), data.get("date"))
        if message:
            self.add_error("plan_item", message)
        for name in ("party_members", "teachers", "students", "residents_served"):
            if name in data and data[name] is None:
                data[name] = 0
        chosen = data.get("pairing")
        if isinstance(chosen, Program):  # program-wide: no pairing, and so no plan item or need of a pairing
            data["program"], data["pairing"] = chosen, None
        else:
            data["program"] = chosen.program if chosen is not None else None
        if "co_branches" in data:
            data["co_branches"] = list(data["co_branches"])
        return data


class SharedChoicesMixin:
    """A formset whose rows share one drop-down: its choices are read from the database once, not per row.

    The queryset the drop-down offers comes in as the keyword `choices_kwarg` (e.g. metrics=…), is kept on the
    formset under that name and passed on to every row, the empty template row included."""

    shared_field = None
    choices_kwarg = None

    def __init__(self, *args, **kwargs):
        setattr(self, self.choices_kwarg, kwargs.pop(self.choices_kwarg))
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), self.choices_kwarg: getattr(self, self.choices_kwarg)}

    @property
    def empty_form(self):
        form = self.form(
            auto_id=self.auto_id, prefix=self.add_prefix("__prefix__"), empty_permitted=True,
            use_required_attribute=False, renderer=self.renderer,
            **{self.choices_kwarg: getattr(self, self.choices_kwarg)},
        )
        self.add_fields(form, None)
        return self._share_choices(form)

    def _share_choices(self, form):
        field = form.fields[self.shared_field]
        if getattr(self, "_shared_choices", None) is None:
            self._shared_choices = list(field.choices)
        field.choices = self._shared_choices
        return form

    def _construct_form(self, i, **kwargs):
        return self._share_choices(super()._construct_form(i, **kwargs))


class MetricChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name}（{obj.unit}）"


class MetricValueForm(forms.Form):
    metric = MetricChoiceField(queryset=Metric.objects.none(), label=_("Figure"), required=False,
                               empty_label=_("Choose a figure"))
    value = forms.DecimalField(
        label=_("Value"),
        required=False,
        min_value=0,
        max_value=MAX_METRIC_VALUE,
        max_digits=14,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "any", "min": 0}),
        error_messages={
            "min_value": _("Cannot be negative."),
            "max_value": _("Too large. Please check the number."),
            "invalid": _("Enter a number."),
        },
    )

    def __init__(self, *args, metrics, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["metric"].queryset = metrics

    def clean(self):
        data = super().clean()
        if data.get("value") is not None and not data.get("metric") and "metric" not in self.errors:
            self.add_error("metric", _("Choose which figure this number is."))
        return data

    @property
    def entry(self):
        data = getattr(self, "cleaned_data", {})
        if data.get("metric") and data.get("value") is not None:
            return data["metric"], data["value"]
        return None


class BaseMetricFormSet(SharedChoicesMixin, forms.BaseFormSet):
    shared_field = "metric"
    choices_kwarg = "metrics"

    def clean(self):
        seen = set()
        for form in self.forms:
            entry = getattr(form, "entry", None)
            if entry is None:
                continue
            if entry[0].id in seen:
                raise forms.ValidationError(_("“%(metric)s” is given twice.") % {"metric": entry[0].name})
            seen.add(entry[0].id)

    def entries(self):
        return [form.entry for form in self.forms if form.entry is not None]


def metric_formset(*, metrics, initial, data=None, extra=1):
    cls = forms.formset_factory(
        MetricValueForm, formset=BaseMetricFormSet, extra=extra, max_num=60, validate_max=True, absolute_max=60
    )
    return cls(data, prefix="metrics", initial=initial, metrics=metrics)


class VolunteerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name}（{obj.get_kind_display()}）"


class ServiceRecordForm(forms.Form):
    volunteer = VolunteerChoiceField(
        queryset=Volunteer.objects.none(), label=_("Volunteer"), required=False, empty_label=_("Pick a volunteer")
    )
    new_name = forms.CharField(
        label=_("or a new volunteer"), max_length=60, required=False,
        widget=forms.TextInput(attrs={"placeholder": _("Name"), "autocomplete": "off"}),
    )
    # no default: a name typed in was once silently a 党员; the kind is chosen (clean() asks for it)
    new_kind = forms.ChoiceField(label=_("Person's kind"), choices=[("", _("Choose…"))] + Volunteer.Kind.choices,
                                 required=False)
    hours = forms.DecimalField(
        label=_("Hours"),
        required=False,
        max_digits=4,
        decimal_places=1,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.5", "min": "0.5", "max": "24"}),
        error_messages={"invalid": _("Enter hours as a number, e.g. 2.5."),
                        "max_decimal_places": _("At most one decimal place, e.g. 2.5.")},
    )
    content = forms.CharField(label=_("What they did"), max_length=120, required=False)

    def __init__(self, *args, volunteers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["volunteer"].queryset = volunteers

    def clean(self):
        data = super().clean()
        volunteer, name, hours = data.get("volunteer"), (data.get("new_name") or "").strip(), data.get("hours")
        if not volunteer and not name and hours is None and not data.get("content") and not self.errors:
            return data  # an empty row
        if volunteer and name:
            self.add_error("new_name", _("Pick a volunteer or type a new name, not both."))
        elif not volunteer and not name and "volunteer" not in self.errors:
            self.add_error("volunteer", _("Pick a volunteer or type a new one's name."))
        if hours is None:
            if "hours" not in self.errors:
                self.add_error("hours", _("How many hours?"))
        elif hours <= 0:
            self.add_error("hours", _("Hours must be more than zero."))
        elif hours > 24:
            self.add_error("hours", _("No one serves more than 24 hours a day."))
        if name and not volunteer and not data.get("new_kind") and "new_kind" not in self.errors:
            self.add_error("new_kind", _("Choose the person's kind (party member, teacher, student …)."))
        return data

    @property
    def entry(self):
        data = getattr(self, "cleaned_data", {})
        volunteer, name, hours = data.get("volunteer"), (data.get("new_name") or "").strip(), data.get("hours")
        if hours is None or not (volunteer or name):
            return None
        return {
            "volunteer": volunteer,
            "new_name": "" if volunteer else name,
            "new_kind": data.get("new_kind") or "",
            "hours": Decimal(hours),
            "content": data.get("content") or "",
        }


class BaseServiceRecordFormSet(SharedChoicesMixin, forms.BaseFormSet):
    shared_field = "volunteer"
    choices_kwarg = "volunteers"

    def clean(self):
        seen = set()
        for form in self.forms:
            entry = getattr(form, "entry", None)
            if entry is None:
                continue
            key = entry["volunteer"].id if entry["volunteer"] else entry["new_name"]
            if key in seen:
                name = entry["volunteer"].name if entry["volunteer"] else entry["new_name"]
                raise forms.ValidationError(_("“%(name)s” is listed twice.") % {"name": name})
            seen.add(key)

    def entries(self):
        return [form.entry for form in self.forms if form.entry is not None]


def service_record_formset(*, volunteers, initial, data=None, extra=2):
    cls = forms.formset_factory(
        ServiceRecordForm, formset=BaseServiceRecordFormSet, extra=extra, max_num=200, validate_max=True,
        absolute_max=200,
    )
    return cls(data, prefix="hours", initial=initial, volunteers=volunteers)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultiplePhotoField(forms.FileField):
    """Several photos in one <input type=file multiple>; each is checked and re-encoded by activities.images."""

    widget = MultipleFileInput(attrs={"accept": images.ACCEPTED_CONTENT_TYPES})

    def clean(self, data, initial=None):
        files = [item for item in (data if isinstance(data, (list, tuple)) else [data]) if item]
        if len(files) > MAX_PHOTOS_PER_UPLOAD:
            raise forms.ValidationError(
                _("Choose at most %(limit)d photos at a time.") % {"limit": MAX_PHOTOS_PER_UPLOAD}
            )
        cleaned, errors = [], []
        budget = images.PixelBudget()  # the pixels this request decodes, all photos together
        for upload in files:
            try:
                cleaned.append(images.clean_photo(upload, budget=budget))
            except forms.ValidationError as exc:
                errors.extend(exc.messages)
        if errors:
            raise forms.ValidationError(errors)
        return cleaned


MAX_PHOTOS_PER_UPLOAD = 12


class PhotoUploadForm(forms.Form):
    new_photos = MultiplePhotoField(label=_("Add photos"), required=False,
                                    help_text=_("JPEG, PNG or WebP. Location and other hidden data are removed."))
    new_photos_show_minors = forms.BooleanField(label=_("These photos show minors"), required=False)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.held = []  # HeldRow: the photos uploaded on pick that this form carries (photo_token inputs)

    def clean(self):
        cleaned = super().clean()
        self.held, missing = held_rows(self.data, self.user)
        if missing:
            self.add_error("new_photos", _(
                "Some photos you added have expired or cannot be used here: remove them and add them again."
            ))
        cleaned["held"] = self.held
        return cleaned


@dataclass(frozen=True)
class HeldRow:
    """A held photo as the form shows it again: its token, the upload (for its thumbnail), caption and flag."""

    token: str
    upload: object
    caption: str = ""
    shows_minors: bool = False


MAX_HELD_TOKENS = images.MAX_PHOTOS_PER_ACTIVITY * 2


def held_rows(data, user):
    """The held photos a submitted form carries: one `photo_token` per photo (its caption `photo_caption_<token>`,
    `photo_token_minors` = token when it shows minors, `photo_token_remove` = token to drop it), in the form's
    order. Returns (rows, how many tokens are not the user's held photos)."""
    if not data or user is None:
        return [], 0
    removed = set(data.getlist("photo_token_remove"))
    tokens = [t for t in dict.fromkeys(data.getlist("photo_token")) if t and t not in removed][:MAX_HELD_TOKENS]
    found = selectors.held_photos(user, tokens)
    minors = set(data.getlist("photo_token_minors"))
    rows = [
        HeldRow(
            token=token, upload=found[token], caption=(data.get(f"photo_caption_{token}") or "").strip()[:120],
            shows_minors=token in minors,
        )
        for token in tokens
        if token in found
    ]
    return rows, len(tokens) - len(rows)


class PhotoEditForm(forms.Form):
    photo_id = forms.IntegerField(widget=forms.HiddenInput)
    caption = forms.CharField(label=_("Caption"), max_length=120, required=False)
    shows_minors = forms.BooleanField(label=_("Shows minors"), required=False)
    delete = forms.BooleanField(label=_("Remove"), required=False)


def photo_formset(*, photos, data=None):
    cls = forms.formset_factory(PhotoEditForm, extra=0, max_num=images.MAX_PHOTOS_PER_ACTIVITY, absolute_max=60)
    initial = [
        {"photo_id": photo.id, "caption": photo.caption, "shows_minors": photo.shows_minors} for photo in photos
    ]
    formset = cls(data, prefix="photos", initial=initial)
    by_id = {photo.id: photo for photo in photos}
    for form, row in zip(formset.forms, initial):
        form.photo = by_id.get(row["photo_id"])
    return formset


class ReturnForm(forms.Form):
    comment = forms.CharField(
        label=_("What should be corrected"),
        max_length=RETURN_COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Say what should be corrected.")},
    )



# ---------------------------------------------------------------------------------------------------------
# Needs (微心愿)
# ---------------------------------------------------------------------------------------------------------


class NeedForm(forms.Form):
    """The village raises a need: what, of which kind, and for whom (whose name may be masked)."""

    pairing = PairingChoiceField(queryset=None, label=_("Pairing"), empty_label=None)
    title = forms.CharField(label=_("What is needed"), max_length=NEED_TITLE_MAX)
    category = forms.ChoiceField(label=_("Category"), choices=Need.Category.choices, initial=Need.Category.OTHER)
    description = forms.CharField(label=_("Details"), required=False, widget=forms.Textarea(attrs={"rows": 4}))
    wanted_by = forms.CharField(
        label=_("Wanted by"), max_length=NEED_WANTED_BY_MAX, required=False,
        help_text=_("The person who asked, if it is one person."),
    )
    mask_wanted_by = forms.BooleanField(
        label=_("Mask the name"), required=False,
        help_text=_("Only the village side and the program admin see the full name; others see it masked, e.g. Wang**."),
    )

    def __init__(self, *args, pairings, **kwargs):
        super().__init__(*args, **kwargs)
        pairings = pairings.select_related("supporter", "supported", "program")
        self.fields["pairing"].queryset = pairings
        self.fields["pairing"].show_program = len({p.program_id for p in pairings}) > 1
        for name in ("title", "wanted_by"):
            self.fields[name].widget.attrs["autocomplete"] = "off"


class NeedClaimForm(forms.Form):
    """Which of the secretary's branches claims the need (a choice only when they lead several)."""

    branch = forms.ModelChoiceField(queryset=None, label=_("For branch"), empty_label=None)

    def __init__(self, *args, branches, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = branches


class ActivityChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.date:%Y-%m-%d} {obj.title}"


class NeedFulfilForm(forms.Form):
    activity = ActivityChoiceField(
        queryset=None, label=_("Answered by the activity"), empty_label=_("Choose an activity"),
        error_messages={"required": _("Choose the activity that answered the need."),
                        "invalid_choice": _("Choose a submitted or confirmed activity of your branch in this pairing.")},
    )

    def __init__(self, *args, activities, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["activity"].queryset = activities


class NeedRateForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=_("Rating"),
        choices=[(i, str(i)) for i in range(1, 6)],
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": _("Give a rating from 1 to 5."), "invalid_choice": _("Give a rating from 1 to 5.")},
    )
    comment = forms.CharField(
        label=_("Comment"), required=False, max_length=RATING_COMMENT_MAX, widget=forms.Textarea(attrs={"rows": 3})
    )


class VerifyForm(forms.Form):
    """The ids of the service records to verify (checked on the volunteer or team page)."""

    records = forms.TypedMultipleChoiceField(coerce=int, required=True, choices=(), error_messages={
        "required": _("Tick the hours to verify first."),
    })

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any integer may be posted; the service verifies only what the user may verify.
        self.fields["records"].valid_value = lambda value: str(value).isdigit()


# ---------------------------------------------------------------------------------------------------------
# Joint meetings (联席会议): the meeting form with its attendees and decisions, and closing a decision
# ---------------------------------------------------------------------------------------------------------


class MeetingChoices:
    """What a meeting's rows may name, read once for the whole form (two queries, whatever the rows): the portal
    users of the meeting's organisations and pairing, and the organisations that may own a decision."""

    def __init__(self, *, people, orgs):
        self.people = {user.pk: user for user in people}
        self.orgs = {org.pk: org for org in orgs}
        self.people_choices = [("", _("— not a portal user —"))] + [
            (user.pk, f"{user}（{user.username}）") for user in self.people.values()
        ]
        self.org_choices = [(org.pk, org.short_name or org.name) for org in self.orgs.values()]

    def person(self, pk):
        return self.people.get(pk) if pk else None

    def org(self, pk):
        return self.orgs.get(pk) if pk else None


def _id_field(label, *, required=False):
    return forms.TypedChoiceField(
        label=label, required=required, coerce=int, empty_value=None, choices=(),
        error_messages={"invalid_choice": _("Choose one of the list."), "required": _("Choose one of the list.")},
    )


class MeetingForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=MEETING_TITLE_MAX, required=False)
    date = forms.DateField(label=_("Date"), widget=DateInput())
    place = forms.CharField(label=_("Place"), max_length=MEETING_PLACE_MAX, required=False)
    minutes = forms.CharField(
        label=_("Minutes"), required=False, widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("What was reported, discussed and agreed. The decisions go below, each with its owner and due date."),
    )
    activity = ActivityChoiceField(
        queryset=Activity.objects.none(), label=_("Recorded as the activity"), required=False,
        empty_label=_("Not recorded as an activity"),
        help_text=_("The joint-meeting activity of this pairing that records the same meeting, so it is entered once."),
    )

    def __init__(self, *args, activities, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["activity"].queryset = activities
        if not activities.exists():
            del self.fields["activity"]


class AttendeeForm(forms.Form):
    user = _id_field(_("Portal user"))
    name = forms.CharField(label=_("Person's name"), max_length=ATTENDEE_NAME_MAX, required=False,
                           widget=forms.TextInput(attrs={"autocomplete": "off"}))
    side = forms.ChoiceField(label=_("Side"), choices=MeetingAttendee.Side.choices, required=False)
    organization = _id_field(_("Organisation"))
    organization_name = forms.CharField(
        label=_("or another organisation"), max_length=ATTENDEE_ORG_MAX, required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    title = forms.CharField(label=_("Position"), max_length=ATTENDEE_TITLE_MAX, required=False)

    def __init__(self, *args, choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.choices = choices
        self.fields["user"].choices = choices.people_choices
        self.fields["organization"].choices = [("", _("— type it instead —"))] + choices.org_choices

    def clean(self):
        data = super().clean()
        user, name = data.get("user"), (data.get("name") or "").strip()
        if not user and not name and not data.get("organization_name") and not data.get("title") and not self.errors:
            return data  # an empty row
        if not user and not name and "user" not in self.errors:
            self.add_error("name", _("Type the name, or choose a portal user."))
        if not data.get("side"):
            self.add_error("side", _("Which side did they come for?"))
        return data

    @property
    def entry(self):
        data = getattr(self, "cleaned_data", {})
        user = self.choices.person(data.get("user"))
        name = (data.get("name") or "").strip()
        if not (user or name) or not data.get("side"):
            return None
        return AttendeeEntry(
            side=data["side"], name=name or str(user), user=user, organization=self.choices.org(data.get("organization")),
            organization_name=data.get("organization_name") or "", title=data.get("title") or "",
        )


class DecisionForm(forms.Form):
    item_id = forms.IntegerField(widget=forms.HiddenInput, required=False)
    text = forms.CharField(label=_("Decision"), max_length=DECISION_TEXT_MAX, required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))
    owner_org = _id_field(_("Owner organisation"))
    owner_user = _id_field(_("Owner person"))
    due_date = forms.DateField(label=_("Due date"), required=False, widget=DateInput())
    delete = forms.BooleanField(label=_("Remove this decision"), required=False)

    def __init__(self, *args, choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.choices = choices
        self.fields["owner_org"].choices = [("", _("Choose who carries it out"))] + choices.org_choices
        self.fields["owner_user"].choices = [("", _("— anyone of the organisation —"))] + choices.people_choices[1:]

    def clean(self):
        data = super().clean()
        if data.get("delete") or self.errors:
            return data
        text = (data.get("text") or "").strip()
        if not text and not data.get("owner_org") and not data.get("due_date") and not data.get("owner_user"):
            return data  # an empty row
        if not text:
            self.add_error("text", _("Say what was decided."))
        if not data.get("owner_org"):
            self.add_error("owner_org", _("Choose the organisation that carries it out."))
        if not data.get("due_date"):
            self.add_error("due_date", _("Give it a due date."))
        return data

    @property
    def entry(self):
        data = getattr(self, "cleaned_data", {})
        item_id = data.get("item_id")
        if data.get("delete"):
            return DecisionEntry(text="", owner_org=None, due_date=None, item_id=item_id, delete=True) if item_id else None
        text = (data.get("text") or "").strip()
        if not text:
            return None
        return DecisionEntry(
            text=text, owner_org=self.choices.org(data.get("owner_org")), due_date=data.get("due_date"),
            owner_user=self.choices.person(data.get("owner_user")), item_id=item_id,
        )


class BaseMeetingRowFormSet(forms.BaseFormSet):
    def entries(self):
        return [form.entry for form in self.forms if form.entry is not None]


def attendee_formset(*, choices, initial, data=None, extra=3):
    cls = forms.formset_factory(
        AttendeeForm, formset=BaseMeetingRowFormSet, extra=extra, max_num=MAX_ATTENDEES, validate_max=True,
        absolute_max=MAX_ATTENDEES,
    )
    return cls(data, prefix="attendees", initial=initial, form_kwargs={"choices": choices})


def decision_formset(*, choices, initial, data=None, extra=2):
    cls = forms.formset_factory(
        DecisionForm, formset=BaseMeetingRowFormSet, extra=extra, max_num=MAX_DECISIONS, validate_max=True,
        absolute_max=MAX_DECISIONS,
    )
    return cls(data, prefix="decisions", initial=initial, form_kwargs={"choices": choices})


class MultipleAttachmentField(forms.FileField):
    """Several files in one <input type=file multiple>: each a PDF or a photo (services.clean_meeting_upload)."""

    widget = MultipleFileInput(attrs={"accept": f"application/pdf,.pdf,{images.ACCEPTED_CONTENT_TYPES}"})

    def clean(self, data, initial=None):
        files = [item for item in (data if isinstance(data, (list, tuple)) else [data]) if item]
        if len(files) > MAX_ATTACHMENTS_PER_MEETING:
            raise forms.ValidationError(
                _("Choose at most %(limit)d files at a time.") % {"limit": MAX_ATTACHMENTS_PER_MEETING}
            )
        cleaned, errors = [], []
        for upload in files:
            try:
                cleaned.append(clean_meeting_upload(upload))
            except forms.ValidationError as exc:
                errors.extend(exc.messages)
        if errors:
            raise forms.ValidationError(errors)
        return cleaned


class MeetingFilesForm(forms.Form):
    sign_in_sheet = MultipleAttachmentField(
        label=_("Sign-in sheet (签到表)"), required=False,
        help_text=_("A photo or a PDF scan of the signed attendance sheet."),
    )
    files = MultipleAttachmentField(
        label=_("Photos and documents"), required=False,
        help_text=_("Photos (JPEG, PNG or WebP; location and other hidden data are removed) or PDF documents of at most %(mb)d MB.")
        % {"mb": MAX_DOCUMENT_BYTES // 1024 // 1024},
    )
    remove = forms.TypedMultipleChoiceField(coerce=int, required=False, choices=(), label=_("Remove"))

    def __init__(self, *args, attachments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.attachments = list(attachments)
        self.fields["remove"].choices = [(a.pk, str(a)) for a in self.attachments]

    def new_attachments(self):
        data = getattr(self, "cleaned_data", {})
        sheet = [NewAttachment(file=f, kind=MeetingAttachment.Kind.SIGN_IN_SHEET) for f in data.get("sign_in_sheet") or []]
        others = [
            NewAttachment(file=f, kind=MeetingAttachment.Kind.PHOTO if isinstance(f, images.CleanPhoto) else MeetingAttachment.Kind.DOCUMENT)
            for f in data.get("files") or []
        ]
        return sheet + others


class ActionItemCloseForm(forms.Form):
    status = forms.ChoiceField(
        label=_("What became of it"), widget=forms.RadioSelect,
        choices=[(ActionItem.Status.DONE, _("Done")), (ActionItem.Status.DROPPED, _("Dropped"))],
        initial=ActionItem.Status.DONE,
        error_messages={"required": _("Choose done or dropped."), "invalid_choice": _("Choose done or dropped.")},
    )
    activity = ActivityChoiceField(
        queryset=Activity.objects.none(), label=_("Shown by the activity"), required=False,
        empty_label=_("No activity"),
        error_messages={"invalid_choice": _("Choose a submitted or confirmed activity of this pairing, dated after the meeting.")},
    )
    note = forms.CharField(
        label=_("Note"), max_length=ACTION_NOTE_MAX, required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("How it was done, or why it was dropped."),
    )

    def __init__(self, *args, activities, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["activity"].queryset = activities


class ActivityTypeForm(forms.ModelForm):
    """A type of the activity catalog: a program's own, or (superusers) a shared one."""

    class Meta:
        model = ActivityType
        fields = ["name", "code", "order", "is_active"]
        help_texts = {
            "code": _("Letters, digits and hyphens; the ledger import and exports use it."),
            "is_active": _("A type no longer in use is switched off rather than deleted: activities keep it."),
        }

    def _post_clean(self):
        pass  # the service validates and writes
