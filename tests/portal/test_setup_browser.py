"""The set-up pages in a real browser (Debian's chromium, a 375-px phone): the demo's program admin `office`
invites a village cadre of 龙石村 who has no e-mail, copies the one-time link, and the cadre opens it in a fresh
browser, sets a password and lands on the home page signed in. Screenshots: artifacts/screenshots/setup-*.png
(phone) and setup-*-wide.png (1280 px)."""

import pytest

from portal.models import Membership, User
from tests.activities.test_browser import chromium, demo_cast, phone, shot  # noqa: F401  (fixtures and helpers)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDE = {"width": 1280, "height": 900}


def test_admin_invites_a_village_cadre_by_link(chromium, live_server, settings):  # noqa: F811
    demo_cast()
    url = live_server.url
    settings.PORTAL_BASE_URL = url  # the link as the cadre receives it
    page = phone(chromium, live_server, "office")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)

    # the organisation tree and 龙石村's page
    page.goto(f"{url}/setup/organisations/")
    assert page.locator(".org-tree a", has_text="龙石村").first.is_visible()
    shot(page, "setup-01-organisations")
    page.locator(".org-tree a", has_text="龙石村").first.click()
    page.wait_for_url("**/setup/organisations/*/")
    shot(page, "setup-02-village")

    # invite a cadre with no e-mail
    page.click("a.button:has-text('邀请本单位人员')")
    page.wait_for_url("**/setup/people/invite/?organization=*")
    page.fill("input[name=full_name]", "何秀英")
    page.fill("input[name=phone]", "13926071234")
    page.select_option("select[name=role]", "village_committee")
    page.fill("input[name=title]", "龙石村妇联主席")
    shot(page, "setup-03-invite")
    page.click("form.card-form button[type=submit]")
    page.wait_for_url("**/setup/people/*/")
    person = User.objects.get(full_name="何秀英")
    assert not person.has_usable_password() and not person.email
    assert person.memberships.get().role == Membership.Role.VILLAGE_COMMITTEE

    # the one-time link, with its copy button
    link = page.input_value("#invite-link")
    assert link.startswith(f"{url}/setup/join/")
    page.click("button.copy-button")
    # the clipboard answers asynchronously: wait for the button to say so (as a user would)
    from playwright.sync_api import expect

    expect(page.locator("button.copy-button")).to_have_text("已复制")
    assert page.evaluate("navigator.clipboard.readText()") == link
    shot(page, "setup-04-link")
    page.reload()
    assert page.locator("#invite-link").count() == 0  # shown once

    # the cadre opens it in a fresh browser (no session), on a phone
    context = chromium.new_context(viewport={"width": 375, "height": 812}, device_scale_factor=2, locale="zh-CN",
                                   is_mobile=True, has_touch=True)
    context.set_default_timeout(15_000)
    cadre = context.new_page()
    cadre.goto(link)
    assert "何秀英" in cadre.content() and "龙石村" in cadre.content()
    cadre.fill("input[name=username]", "hexiuying")
    cadre.fill("input[name=password1]", "Longshi-2026!")
    cadre.fill("input[name=password2]", "Longshi-2026!")
    shot(cadre, "setup-05-accept")
    cadre.click("form.card-form button[type=submit]")
    cadre.wait_for_url(f"{url}/")
    assert cadre.locator(".topbar .who").inner_text() == "何秀英"
    shot(cadre, "setup-06-cadre-home")
    # the link is used up
    cadre.goto(link)
    assert "该链接无法使用" in cadre.content()
    context.close()

    # the same pages at 1280 px
    wide = chromium.new_context(viewport=WIDE, locale="zh-CN")
    desk = wide.new_page()
    desk.goto(f"{url}/accounts/login/")
    desk.fill("input[name=login]", "office")
    desk.fill("input[name=password]", settings.PORTAL_DEMO_PASSWORD)
    desk.click("main button[type=submit]")
    desk.wait_for_url(f"{url}/")
    for path, name in [("/setup/organisations/", "setup-01-organisations-wide"), ("/setup/people/", "setup-07-people-wide"),
                       (f"/setup/people/{person.pk}/", "setup-08-person-wide")]:
        desk.goto(f"{url}{path}")
        shot(desk, name)
    page.goto(f"{url}/setup/people/")
    shot(page, "setup-07-people")
    wide.close()
