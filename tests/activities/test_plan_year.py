"""A plan belongs to its year: the activity form offers only the plan items of the activity's year, and refuses
(with a clear message, in Chinese) an item of another year sent anyway."""

import datetime

import pytest
from django.utils import translation

from activities.forms import ActivityForm
from pairings.models import Pairing
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def items(kit):
    pairing = kit["pairing"]
    return {
        2024: kit["plan_item"],  # the kit's plan is of 2024
        2025: f.PlanItemFactory(plan=f.JointPlanFactory(pairing=pairing, year=2025), title="2025年事项"),
    }


def form(kit, data=None, **initial):
    return ActivityForm(data, initial=initial, pairings=Pairing.objects.filter(pk=kit["pairing"].pk))


def posted(kit, date, item):
    return {"pairing": kit["pairing"].pk, "activity_type": kit["type"].pk, "title": "入户走访", "date": date,
            "plan_item": item.pk}


def offered(form):
    return set(form.fields["plan_item"].queryset)


def test_the_form_offers_the_plan_items_of_the_date_s_year(kit, items):
    assert offered(form(kit, date=datetime.date(2025, 6, 1))) == {items[2025]}
    assert offered(form(kit, date=datetime.date(2024, 6, 1))) == {items[2024]}
    assert offered(form(kit, data={"date": "2024-02-03"}, date=datetime.date(2025, 6, 1))) == {items[2024]}  # as sent
    assert offered(form(kit, data={"date": "不是日期"}, date=datetime.date(2025, 6, 1))) == {items[2025]}


def test_an_item_of_the_same_year_is_accepted(kit, items):
    bound = form(kit, posted(kit, "2024-05-06", items[2024]))
    assert bound.is_valid(), bound.errors
    assert bound.cleaned_data["plan_item"] == items[2024]


def test_an_item_of_another_year_is_refused_with_a_clear_message(kit, items):
    with translation.override("zh-hans"):
        bound = form(kit, posted(kit, "2025-05-06", items[2024]))
        assert not bound.is_valid()
        assert bound.errors["plan_item"] == ["该计划事项属于2024年度计划：2025年的活动只能服务于2025年度的计划事项。"]
    # and the re-shown form offers the items of the date's year
    assert offered(bound) == {items[2025]}


def test_an_unknown_item_is_still_not_a_valid_choice(kit, items):
    bound = form(kit, {**posted(kit, "2025-05-06", items[2025]), "plan_item": 999999})
    assert not bound.is_valid()
    assert bound.has_error("plan_item", code="invalid_choice")
