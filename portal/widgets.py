"""A type-ahead picker for choices that run to hundreds (pairings, branches, volunteers): the form field keeps
its choices (the value is checked against them, i.e. against the viewer's scope), but the page renders only the
chosen one, never the full list.

Without JavaScript it is a plain text input holding the chosen id, its label shown beside it: a value outside
the choices fails the field's validation like any other. static/js/picker.js turns it into an ARIA combobox
reading `data-picker-url` (a scoped JSON endpoint: {"results": [{"id", "label", "hint"}]}, ≤ 20 rows, ?q=).
"""

from html import escape

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import ModelChoiceIterator
from django.forms.utils import flatatt
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

MAX_RESULTS = 20


def flat_choices(choices):
    """(value, label) pairs of choices that may hold groups ((group, [(value, label), …]))."""
    for value, label in choices:
        if isinstance(label, (list, tuple)):
            yield from label
        else:
            yield value, label


class PickerWidget(forms.Widget):
    """The picker. `url_name`: the endpoint's URL name; `narrow_by`: the name of another field of the same form
    whose value the script passes along (?pairing=12), so the endpoint may narrow its results to it."""

    input_type = "text"

    def __init__(self, url_name, *, narrow_by=None, placeholder=None, attrs=None):
        super().__init__(attrs)
        self.url_name = url_name
        self.narrow_by = narrow_by
        self.placeholder = placeholder
        self.choices = []

    def __deepcopy__(self, memo):
        obj = super().__deepcopy__(memo)
        obj.choices = self.choices  # never copied: a field's choices are given after the form is built
        return obj

    def format_value(self, value):
        if isinstance(value, (list, tuple)):
            value = value[0] if value else None
        return "" if value is None else str(value)

    def chosen_label(self, value):
        if value == "":
            return ""
        if isinstance(self.choices, ModelChoiceIterator):
            # a model field's choices are a queryset: read the one chosen row, never the whole list
            field = self.choices.field
            try:
                chosen = field.queryset.filter(pk=value).first()
            except (ValueError, TypeError, ValidationError):
                return ""
            return field.label_from_instance(chosen) if chosen is not None else ""
        for option_value, label in flat_choices(self.choices):
            if str(option_value) == value:
                return str(label)
        return ""

    def render(self, name, value, attrs=None, renderer=None):
        value = self.format_value(value)
        label = self.chosen_label(value)
        given = self.build_attrs(self.attrs, attrs)
        input_id = given.pop("id", None) or f"id_{name}"
        shown_id = f"{input_id}_chosen"
        final_attrs = {
            "type": self.input_type, "name": name, "value": value, "id": input_id, **given,
            "class": " ".join(filter(None, [given.get("class"), "picker-value"])),
            "inputmode": "numeric", "autocomplete": "off", "aria-describedby": shown_id,
        }
        wrapper = {
            "class": "picker",
            "data-picker-url": reverse(self.url_name),
            "data-picker-placeholder": str(self.placeholder or _("Type to search")),
            "data-picker-empty": str(_("Nothing found")),
        }
        if self.narrow_by:
            wrapper["data-picker-narrow"] = self.narrow_by
        return mark_safe(
            f"<span{flatatt(wrapper)}><input{flatatt(final_attrs)}>"
            f'<output class="picker-chosen" id="{escape(shown_id)}">{escape(label)}</output></span>'
        )

    def value_from_datadict(self, data, files, name):
        value = data.get(name)
        return value.strip() if isinstance(value, str) else value


def picker_query(request):
    """The endpoint's ?q=, stripped (at most 40 characters): "" means no search (an empty answer)."""
    return (request.GET.get("q") or "").strip()[:40]


def picker_response(rows):
    """The endpoint's answer: {"results": [{"id", "label", "hint"}]} from (id, label, hint) rows, ≤ 20."""
    from django.http import JsonResponse

    results = [{"id": pk, "label": label, "hint": hint or ""} for pk, label, hint in list(rows)[:MAX_RESULTS]]
    response = JsonResponse({"results": results}, json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "private, no-store"
    return response
