"""The needs loop in a real browser (Debian's chromium, on a phone-sized viewport), with the demo's people:
`longshi` (龙石村 committee) raises a need, `secretary3` (中山中专第三党支部) claims it, records the activity that
answers it and marks the need fulfilled with it, and `longshi` rates the response. Screenshots go to
artifacts/screenshots/needs-*.png."""

import re

import pytest

from activities.models import Activity, Need
from tests.activities.test_browser import chromium, demo_cast, phone, shot, unfold  # noqa: F401  (fixtures and helpers)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLE = "村口路灯坏了三盏，希望帮忙维修"


def test_need_raised_claimed_fulfilled_rated(chromium, live_server, settings, tmp_path):  # noqa: F811
    settings.MEDIA_ROOT = tmp_path / "media"
    demo_cast()
    url = live_server.url

    # 1. the village committee raises a need, masking the villager's name
    village = phone(chromium, live_server, "longshi")
    village.goto(f"{url}/activities/needs/new/")
    option = village.locator("select[name=pairing] option", has_text="龙石村").first.get_attribute("value")
    village.select_option("select[name=pairing]", option)
    village.fill("input[name=title]", TITLE)
    village.select_option("select[name=category]", "repair")
    village.fill("textarea[name=description]", "村口至文化室一段路灯不亮，老人夜里出行不便。")
    village.fill("input[name=wanted_by]", "王小明")
    village.check("input[name=mask_wanted_by]")
    shot(village, "needs-01-village-raises")
    village.click("form.act-form button[type=submit]")
    village.wait_for_url("**/activities/needs/*/")
    need = Need.objects.get(title=TITLE)
    assert need.status == Need.Status.OPEN and need.mask_wanted_by
    assert village.locator(".need-wanted-by").inner_text() == "王小明"  # the village reads the name in full
    shot(village, "needs-02-village-need-page")

    # 2. the secretary finds it in the list (name masked) and claims it
    page = phone(chromium, live_server, "secretary3")
    page.goto(f"{url}/activities/needs/?status=open")
    row = page.locator(f"a[href='/activities/needs/{need.pk}/']")
    assert row.is_visible()
    assert "王**" in page.content() and "王小明" not in page.content()
    shot(page, "needs-03-secretary-list")
    row.click()
    page.wait_for_url(f"**/activities/needs/{need.pk}/")
    page.click("form.need-claim button")
    page.wait_for_url(f"**/activities/needs/{need.pk}/")
    need.refresh_from_db()
    assert need.status == Need.Status.CLAIMED and "第三党支部" in need.claimed_by_branch.name
    assert page.locator(".need-claim-time").is_visible()
    shot(page, "needs-04-secretary-claimed")

    # 3. the secretary records the activity that answered it, linked to the need, and submits it
    page.goto(f"{url}/activities/new/")
    pairing = page.locator("select[name=pairing] option", has_text="龙石村").first.get_attribute("value")
    page.select_option("select[name=pairing]", pairing)
    page.select_option("select[name=activity_type]", index=1)
    page.fill("input[name=title]", "龙石村村口路灯义务维修")
    page.fill("input[name=place]", "龙石村村口")
    page.fill("input[name=party_members]", "3")
    unfold(page, "select[name=need]")
    page.select_option("select[name=need]", str(need.pk))
    page.click("button[name=action][value=submit]")
    page.wait_for_url(re.compile(r"/activities/\d+/$"))  # the saved activity, not /activities/new/
    activity = Activity.objects.get(title="龙石村村口路灯义务维修")
    assert activity.status == Activity.Status.SUBMITTED and activity.need_id == need.pk

    # 4. …and marks the need fulfilled with it
    page.goto(f"{url}/activities/needs/{need.pk}/")
    page.select_option("select[name=activity]", str(activity.pk))
    shot(page, "needs-05-secretary-fulfils")
    page.click("form.need-fulfil button")
    page.wait_for_url(f"**/activities/needs/{need.pk}/")
    need.refresh_from_db()
    assert need.status == Need.Status.FULFILLED
    assert page.locator(".need-response-time").is_visible()
    shot(page, "needs-06-secretary-fulfilled")

    # 5. the village rates it: first a tampered rating of 6 (a Chinese error, nothing changed), then 5 stars
    village.goto(f"{url}/activities/needs/{need.pk}/")
    village.fill("textarea[name=comment]", "修得很快，村民很满意！")
    village.eval_on_selector("input[name=rating][value='5']", "radio => { radio.value = '6'; radio.checked = true; }")
    village.click("form.need-rate button")
    village.wait_for_load_state("networkidle")
    assert "请给出1到5分的评分。" in village.content()
    need.refresh_from_db()
    assert need.status == Need.Status.FULFILLED and need.rating is None
    shot(village, "needs-07-village-rating-error")
    village.check("input[name=rating][value='5']")
    village.click("form.need-rate button")
    village.wait_for_url(f"**/activities/needs/{need.pk}/")
    need.refresh_from_db()
    assert (need.status, need.rating, need.rating_comment) == (Need.Status.CLOSED, 5, "修得很快，村民很满意！")
    assert village.locator(".need-rating").is_visible()
    shot(village, "needs-08-village-rated")
    for context in (page.context, village.context):
        context.close()
