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


# every URL the page frame and the menu name through plain_url
PLAIN_NAMES = ["home", "manifest", "reports:notification_list", "account_login", "account_logout", "set_language",
               "pairings:pairing_list", "dashboards:volunteer_list", "activities:list", "activities:need_list",
               "activities:meeting_list", "reports:report_list", "dashboards:setup", "admin:index"]


@pytest.mark.parametrize("name", PLAIN_NAMES)
def test_plain_url_equals_url(name):
    assert render("{% plain_url name %}", name=name) == render("{% url name %}", name=name)
    assert render("{% plain_url name as u %}{{ u }}", name=name) == render("{% url name as u %}{{ u }}", name=name)
    assert portal_tags.plain_url(name) == reverse(name)


def test_plain_url_follows_the_script_prefix_and_language():
    try:
        set_script_prefix("/portal/")
        assert portal_tags.plain_url("activities:list") == "/portal/activities/" == reverse("activities:list")
    finally:
        set_script_prefix("/")
    assert portal_tags.plain_url("activities:list") == "/activities/"
    for language in ("en", "zh-hant", "zh-hans"):
        with translation.override(language):
            assert portal_tags.plain_url("home") == reverse("home")


def test_a_missing_name_still_fails():
    from django.urls import NoReverseMatch

    for _ in range(2):
        with pytest.raises(NoReverseMatch):
            portal_tags.plain_url("no-such-view")
