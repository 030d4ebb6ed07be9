"""Issue 15 on a phone, for real: the program admin `office` (not staff) creates a pairing of 双联双助 with two
participating branches and a liaison on each side, through the portal's own pages. Screenshots at 375 px and
1280 px go to artifacts/screenshots/."""

import datetime

import pytest
from django.conf import settings

from pairings.models import Liaison, Pairing
from portal.models import Membership, Organization
from tests import factories as f
from tests.activities.test_browser import CHROMIUM_ARGS, PHONE, chromium, shot  # noqa: F401 (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def cast():
    password = settings.PORTAL_DEMO_PASSWORD
    office = f.OrganizationFactory(name="中山市教育工委", kind=Organization.Kind.GOVERNMENT)
    f.ProgramFactory(name="双联双助", code="slsz", office=office)
    school = f.OrganizationFactory(name="中山市中等专业学校", kind=Organization.Kind.SCHOOL, managed_by=office)
    for name in ("中山中专第三党支部", "中山中专第五党支部", "中山中专第七党支部"):
        f.OrganizationFactory(name=name, kind=Organization.Kind.BRANCH, parent=school)
    village = f.OrganizationFactory(name="中山市五桂山街道龙石村", kind=Organization.Kind.VILLAGE, managed_by=office)
    admin = f.UserFactory(username="office", full_name="项目办", password=password, is_staff=False)
    f.MembershipFactory(user=admin, organization=office, role=Membership.Role.ADMIN)
    cadre = f.UserFactory(username="longshi", full_name="李国强", password=password)
    f.MembershipFactory(user=cadre, organization=village, role=Membership.Role.VILLAGE_COMMITTEE)


def sign_in(browser, live_server, viewport):
    context = browser.new_context(viewport=viewport, device_scale_factor=1, locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", "office")
    page.fill("input[name=password]", settings.PORTAL_DEMO_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    return page


def test_the_program_admin_sets_up_a_pairing_on_a_phone(chromium, live_server):  # noqa: F811
    cast()
    page = sign_in(chromium, live_server, PHONE)
    page.goto(f"{live_server.url}/pairings/programs/")
    page.click("text=新建结对")
    page.select_option("select[name=program]", label="双联双助")
    page.select_option("select[name=supporter]", label="中山市中等专业学校")
    page.select_option("select[name=supported]", label="中山市五桂山街道龙石村")
    page.fill("input[name=term_start]", "2026-03-01")
    page.fill("input[name=term_end]", "2028-12-31")
    shot(page, "setup-pairing-create-375")
    page.click("text=创建结对")
    page.wait_for_url("**/setup/")
    assert "结对已创建" in page.content()

    page.check("label:has-text('中山中专第三党支部')")
    page.check("label:has-text('中山中专第五党支部')")
    page.fill("input[name='liaison-supporter-0-name']", "王老师")
    page.fill("input[name='liaison-supporter-0-phone']", "13800001111")
    # a second liaison of the school in the same save: 添加联络员 copies the empty row
    page.locator("fieldset[data-formset='liaison-supporter'] button[data-add]").click()
    page.fill("input[name='liaison-supporter-1-name']", "陈老师")
    page.fill("input[name='liaison-supporter-1-title']", "团委书记")
    page.fill("input[name='liaison-supported-0-name']", "李国强")
    page.select_option("select[name='liaison-supported-0-user']", label="李国强")
    shot(page, "setup-pairing-setup-375")
    # nothing wider than the phone
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.click("form.card-form button[type=submit]")
    page.wait_for_url("**/pairings/*/")
    assert "结对设置已保存" in page.content()
    shot(page, "setup-pairing-detail-375")

    pairing = Pairing.objects.get(supported__name="中山市五桂山街道龙石村")
    assert sorted(pairing.branches.values_list("name", flat=True)) == ["中山中专第三党支部", "中山中专第五党支部"]
    assert sorted(Liaison.objects.filter(pairing=pairing).values_list("side", "name")) == [
        ("supported", "李国强"), ("supporter", "王老师"), ("supporter", "陈老师"),
    ]
    assert pairing.term_end == datetime.date(2028, 12, 31)

    wide = sign_in(chromium, live_server, {"width": 1280, "height": 900})
    wide.goto(f"{live_server.url}/pairings/{pairing.pk}/setup/")
    shot(wide, "setup-pairing-setup-1280")
    wide.goto(f"{live_server.url}/pairings/programs/{pairing.program_id}/edit/")
    shot(wide, "setup-program-1280")
    page.goto(f"{live_server.url}/pairings/programs/{pairing.program_id}/edit/")
    shot(page, "setup-program-375")
