"""The activity form's buttons say what saving does: a draft or a returned activity is saved as a draft or
submitted; a submitted or confirmed one is changed in place (a counted correction goes back to the village)."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from activities.models import Activity
from tests import factories as f

pytestmark = pytest.mark.django_db
S = Activity.Status


@pytest.fixture(autouse=True)
def chinese():
    with translation.override("zh-hans"):
        yield


def buttons(response):
    """The (label, action) of each button in the form's submit bar."""
    bar = re.search(r'<div class="act-submitbar">(.*?)</div>', response.content.decode(), re.S).group(1)
    return [(label.strip(), value) for value, label in re.findall(r'value="(\w+)"[^>]*>([^<]*)</button>', bar)]


def test_a_new_activity_is_saved_as_a_draft_or_submitted(client, kit):
    client.force_login(kit["users"]["secretary"])
    assert buttons(client.get(reverse("activities:create"))) == [("保存草稿", "draft"), ("保存并提交", "submit")]


@pytest.mark.parametrize(
    "status, role, expected",
    [
        (S.DRAFT, "secretary", [("保存草稿", "draft"), ("保存并提交", "submit")]),
        (S.RETURNED, "secretary", [("保存草稿", "draft"), ("保存并提交", "submit")]),
        (S.SUBMITTED, "admin", [("保存修改", "save")]),
        (S.CONFIRMED, "admin", [("保存修改", "save")]),
    ],
)
def test_the_edit_buttons_follow_the_status(client, kit, status, role, expected):
    moments = {"submitted_at": timezone.now()} if status != S.DRAFT else {}
    if status == S.CONFIRMED:
        moments["confirmed_at"] = timezone.now()
    activity = f.ActivityFactory(
        pairing=kit["pairing"], branch=kit["branch"], activity_type=kit["type"], status=status, **moments
    )
    client.force_login(kit["users"][role])
    assert buttons(client.get(reverse("activities:update", args=[activity.pk]))) == expected
