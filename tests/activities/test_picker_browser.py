"""The pairing picker in a real browser on a phone (issue 18): the program admin opens the activity list's filter,
types two characters of a village into the pairing field, picks it with the keyboard and gets that pairing's
activities; the choice is shown by name again after the page reloads. Screenshots:
artifacts/screenshots/picker-*.png (375 px and 1280 px)."""

import re

import pytest

from activities.models import Activity
from pairings.models import Pairing

from tests.activities.test_browser import chromium, demo_cast, phone, shot  # noqa: F401  (fixtures and helpers)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_pick_a_pairing_by_typing_two_characters(chromium, live_server):  # noqa: F811
    demo_cast()
    pairing = Pairing.objects.filter(supported__name__contains="龙石").select_related("supported").first()
    page = phone(chromium, live_server, "admin")
    page.goto(f"{live_server.url}/activities/")
    assert page.locator("select[name=pairing]").count() == 0  # no drop-down of every pairing
    page.click("details.act-filters summary")
    box = page.locator("input[role=combobox]#id_pairing")
    box.click()
    box.type("龙石", delay=60)
    option = page.locator("#id_pairing ~ ul[role=listbox] [role=option]").first
    option.wait_for()
    assert "龙石" in option.inner_text() and box.get_attribute("aria-expanded") == "true"
    shot(page, "picker-375-open")
    box.press("ArrowDown")
    box.press("ArrowUp")
    box.press("Enter")  # picks the highlighted one; the form is not sent
    assert box.get_attribute("aria-expanded") == "false"
    assert page.locator("input[name=pairing]").input_value() == str(pairing.pk)
    page.click("form.act-filter-form button[type=submit]:not([formaction])")
    page.wait_for_url(re.compile(rf".*pairing={pairing.pk}.*"))
    assert "龙石" in page.locator("input[role=combobox]#id_pairing").input_value()  # shown by name after reload
    listed = page.locator("a[href^='/activities/'][href$='/']").count()
    assert listed and Activity.objects.filter(pairing=pairing).exists()
    shot(page, "picker-375")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.locator("input[role=combobox]#id_pairing").fill("")
    page.locator("input[role=combobox]#id_pairing").type("村", delay=60)
    page.locator("#id_pairing ~ ul[role=listbox] [role=option]").first.wait_for()
    shot(page, "picker-1280")
    page.keyboard.press("Escape")  # closes the list, the chosen pairing's name back in the box
    assert page.locator("input[role=combobox]#id_pairing").get_attribute("aria-expanded") == "false"
    assert "龙石" in page.locator("input[role=combobox]#id_pairing").input_value()
