"""The activity form at 375 px, for real (Chromium through Playwright): its sections fold, so the page is much
shorter than with every section open (both heights are printed and kept as screenshots); a section with an error
opens; touch targets are at least 44 px; the skip link moves focus to the content; zh-hant pages show Traditional
characters. Screenshots go to artifacts/screenshots/."""

import pytest
from django.conf import settings

from tests.activities.test_browser import PHONE, chromium, demo_cast, phone, shot  # noqa: F401  (fixtures and helpers)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def height(page):
    return page.evaluate("document.documentElement.scrollHeight")


def test_the_form_folds_on_a_phone(chromium, live_server, capsys):
    demo_cast()
    page = phone(chromium, live_server, "secretary3")
    page.goto(f"{live_server.url}/activities/new/")
    page.wait_for_load_state("networkidle")
    toggles = page.locator(".fold-toggle")
    assert toggles.count() >= 7
    folded = height(page)
    shot(page, "20-form-folded")
    closed = page.locator(".fold-toggle[aria-expanded=false]")
    assert closed.count() == 4  # what was done, figures, hours, photos
    assert page.locator("fieldset:has(input[name=title]) .fold-toggle").get_attribute("aria-expanded") == "true"
    # a folded section says what is in it
    assert "未填写" in page.locator("fieldset:has(input[name=new_photos]) .fold-summary").inner_text()
    while closed.count():
        closed.first.click()
    unfolded = height(page)
    shot(page, "21-form-all-open")
    with capsys.disabled():
        print(f"\nactivity form at 375 px: {folded} px folded, {unfolded} px with every section open")
    assert folded < unfolded * 0.6

    # touch targets: the toggles, the submit buttons, the checkboxes' rows
    for selector in (".fold-toggle", ".act-submitbar button", "label.act-check", "select[name='hours-0-new_kind']"):
        for box in [page.locator(selector).nth(i).bounding_box() for i in range(page.locator(selector).count())]:
            if box:
                assert box["height"] >= 44, (selector, box)

    # a figure entered and the section folded again: the summary counts it
    figures = page.locator("fieldset:has(input[name='metrics-0-value'])")
    page.fill("input[name='metrics-0-value']", "12")
    figures.locator(".fold-toggle").click()
    assert figures.locator(".fold-summary").inner_text() == "已填 1 项指标"

    # a person typed in by name without a kind: the hours section comes back open with the Chinese message
    page.fill("input[name=title]", "测试")
    page.select_option("select[name=activity_type]", index=1)
    hours = page.locator("fieldset:has(select[name='hours-0-volunteer'])")
    if hours.locator(".fold-toggle").get_attribute("aria-expanded") == "false":
        hours.locator(".fold-toggle").click()
    page.fill("input[name='hours-0-new_name']", "黄同学")
    page.fill("input[name='hours-0-hours']", "2")
    # the submit goes through the outbox first (stored, then posted): wait for the answer page itself
    with page.expect_navigation():
        page.click("button[name=action][value=draft]")
    page.wait_for_load_state("networkidle")
    page.get_by_text("请选择人员类别").first.wait_for()
    assert hours.locator(".fold-toggle").get_attribute("aria-expanded") == "true"
    assert page.get_by_text("请选择人员类别").first.is_visible()
    shot(page, "22-form-error-opens-its-section")
    page.context.close()


def test_skip_link_and_traditional_chinese(chromium, live_server):
    demo_cast()
    page = phone(chromium, live_server, "secretary3")
    page.goto(f"{live_server.url}/activities/")
    page.keyboard.press("Tab")
    skip = page.locator("a.skip-link")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert skip.bounding_box()["y"] >= 0  # shown when focused
    shot(page, "23-skip-link-focused")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    assert page.locator(".topnav a[aria-current=page]").inner_text() == "活动"

    # the language switch offers 繁體中文
    page.click("button[name=language][value=zh-hant]")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.documentElement.lang") == "zh-hant"
    nav = page.locator(".topnav").inner_text()
    for word in ("活動", "結對", "志願者", "報告"):
        assert word in nav, word
    assert "活动" not in nav and "报告" not in nav
    heading = page.locator("main h1").first.inner_text()
    assert heading and heading == heading.translate(str.maketrans("动报对", "動報對"))
    shot(page, "24-activity-list-zh-hant")
    page.goto(f"{live_server.url}/activities/new/")
    page.wait_for_load_state("networkidle")
    legends = page.locator(".fold-toggle").all_inner_texts()
    assert any("活動" in text for text in legends), legends
    shot(page, "25-form-zh-hant")
    page.click("button[name=language][value=zh-hans]")
    page.context.close()
    assert settings.LANGUAGE_CODE == "zh-hans"
