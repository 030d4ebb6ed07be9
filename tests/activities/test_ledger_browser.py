"""The program admin imports a ledger in a real browser (375 px and 1280 px): downloads the template, fills it
with openpyxl, uploads it, reads the preview and confirms; the activities then show in the activity list.
Screenshots go to artifacts/screenshots/ledger-*.png."""

import datetime
import io

import pytest
from django.conf import settings
from openpyxl import load_workbook

from pairings.models import Metric
from portal.models import Membership, Organization
from tests import factories as f
from tests.activities.test_browser import CHROMIUM_ARGS, SHOTS, chromium  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def office_world(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    office = f.OrganizationFactory(name="中山市教育工委", kind=Organization.Kind.GOVERNMENT)
    program = f.ProgramFactory(name="双联双助", code="slsz", office=office)
    school = f.OrganizationFactory(name="中山市中等专业学校", short_name="中山中专", kind=Organization.Kind.SCHOOL)
    branch = f.OrganizationFactory(name="中山中专第三党支部", kind=Organization.Kind.BRANCH, parent=school)
    village = f.OrganizationFactory(name="中山市五桂山街道龙石村", short_name="龙石村", kind=Organization.Kind.VILLAGE)
    pairing = f.PairingFactory(program=program, supporter=school, supported=village, term_start=datetime.date(2023, 3, 16))
    f.PairingBranchFactory(pairing=pairing, branch=branch)
    f.MetricFactory(program=program, code="repairs", name="家电维修", unit=Metric.Unit.ITEMS)
    f.ActivityTypeFactory(code="volunteer", name="志愿服务")
    user = f.UserFactory(username="office", full_name="项目办", password=settings.PORTAL_DEMO_PASSWORD)
    f.MembershipFactory(user=user, organization=office, role=Membership.Role.ADMIN)
    return program


@pytest.mark.parametrize("width", [375, 1280])
def test_admin_imports_a_ledger(chromium, live_server, office_world, tmp_path, width):  # noqa: F811
    context = chromium.new_context(viewport={"width": width, "height": 900}, locale="zh-CN", accept_downloads=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", "office")
    page.fill("input[name=password]", settings.PORTAL_DEMO_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/setup/imports/")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"ledger-list-{width}.png"), full_page=True)
    with page.expect_download() as download:
        page.click("text=活动 · 双联双助")
    template = tmp_path / "template.xlsx"
    download.value.save_as(template)
    workbook = load_workbook(template)
    sheet = workbook.worksheets[0]
    headers = [cell.value for cell in sheet[1]]
    example = {h: c.value for h, c in zip(headers, sheet[2])}
    assert example["结对"] == "中山中专–龙石村" and example["党支部"] == "中山中专第三党支部"
    sheet.delete_rows(2)
    for i, day in enumerate(["2024/3/5", "2024年4月8日", "2024.5.6"]):
        sheet.append([{"日期": day, "标题": f"小电匠义修第{i + 1}次", "状态": "已确认", "家电维修(件)": 4}.get(h, example[h]) for h in headers])
    filled = tmp_path / "台账.xlsx"
    workbook.save(filled)
    page.goto(f"{live_server.url}/setup/imports/upload/")
    page.select_option("select[name=kind]", "activities")
    page.select_option("select[name=program]", str(office_world.pk))
    page.set_input_files("input[name=file]", str(filled))
    page.click("text=上传并预览")
    page.wait_for_selector("text=确认并保存 3 行")
    assert page.locator("tr.outcome-new").count() == 3
    page.screenshot(path=str(SHOTS / f"ledger-preview-{width}.png"), full_page=True)
    page.click("text=确认并保存 3 行")
    page.wait_for_selector("text=台账已保存。")
    page.screenshot(path=str(SHOTS / f"ledger-saved-{width}.png"), full_page=True)
    page.goto(f"{live_server.url}/activities/")
    for i in range(1, 4):
        assert page.locator(f"text=小电匠义修第{i}次").count() >= 1
    context.close()
