"""add_service_error: a service's ValidationError lands where the person at the form looks."""

from django import forms
from django.core.exceptions import ValidationError

from portal.forms import add_service_error


class TitleForm(forms.Form):
    title = forms.CharField()


def bound():
    form = TitleForm({"title": "x"})
    assert form.is_valid()
    return form


def test_a_message_keyed_by_a_field_of_the_form_goes_under_that_field():
    form = bound()
    add_service_error(form, ValidationError({"title": ["太长了", "又重复了"]}))
    assert form.errors["title"] == ["太长了", "又重复了"] and "title" not in form.cleaned_data
    assert not form.non_field_errors()


def test_a_message_keyed_by_a_field_the_form_lacks_goes_to_the_top():
    form = bound()
    add_service_error(form, ValidationError({"pairing": "不在此结对", "title": "空"}))
    assert form.non_field_errors() == ["不在此结对"] and form.errors["title"] == ["空"]


def test_a_message_without_a_field_goes_to_the_top():
    form = bound()
    add_service_error(form, ValidationError(["一", "二"]))
    assert form.non_field_errors() == ["一", "二"]
