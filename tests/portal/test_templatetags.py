"""portal_tags: id_url gives exactly what {% url %} gives, for every id, language and script prefix."""

import pytest
from django.template import engines
from django.urls import reverse, set_script_prefix
from django.utils import translation

from portal.templatetags import portal_tags


def render(source, **context):
    return engines["django"].from_string("{% load portal_tags %}" + source).render(context)


@pytest.mark.parametrize("name", ["activities:detail", "activities:photo_thumb", "pairings:pairing_detail"])
@pytest.mark.parametrize("pk", [1, 7, 42, 918_273, 10**15])
def test_id_url_equals_url(name, pk):
    assert render("{% id_url name pk %}", name=name, pk=pk) == render("{% url name pk %}", name=name, pk=pk)
    assert portal_tags.id_url(name, pk) == reverse(name, args=[pk])


def test_id_url_follows_the_script_prefix_and_language():
    try:
        set_script_prefix("/portal/")
        assert portal_tags.id_url("activities:detail", 5) == "/portal/activities/5/" == reverse("activities:detail", args=[5])
    finally:
        set_script_prefix("/")
    assert portal_tags.id_url("activities:detail", 5) == "/activities/5/"
    with translation.override("en"):
        assert portal_tags.id_url("activities:detail", 6) == reverse("activities:detail", args=[6])


def test_id_url_of_anything_but_an_int_is_reverse():
    assert portal_tags.id_url("activities:detail", "12") == reverse("activities:detail", args=["12"])
