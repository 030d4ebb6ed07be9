"""The secretary's phone, for real: headless Chromium (Debian's `chromium`) driven by Playwright.

`secretary3` records an activity with two photos, outcome figures and volunteer hours on a 375×812
viewport and submits it; `longshi` (the village committee) confirms it; the secretary sees it confirmed.
Screenshots of each step go to artifacts/screenshots/ (gitignored). Skips, saying why, where chromium is
not installed; CI installs it (.ci/run) and its PostgreSQL run allows no skip.
"""

import datetime
import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command, get_commands
from django.db import connections

from activities.models import Activity
from tests.activities.images import jpeg_bytes, png_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
SHOTS = Path(settings.BASE_DIR) / "artifacts" / "screenshots"
PHONE = {"width": 375, "height": 812}


def demo_cast():
    """The demo's people: load_demo where it exists, else the same users and their pairing from factories."""
    if "load_demo" in get_commands():
        call_command("load_demo", verbosity=0)
        return
    from pairings.models import Metric
    from portal.models import Membership, Organization
    from tests import factories as f

    password = settings.PORTAL_DEMO_PASSWORD
    office = f.OrganizationFactory(name="中山市教育工委", kind=Organization.Kind.GOVERNMENT)
    program = f.ProgramFactory(name="双联双助", code="slsz", office=office)
    school = f.OrganizationFactory(name="中山市中等专业学校", short_name="中山中专", kind=Organization.Kind.SCHOOL)
    branch = f.OrganizationFactory(name="中山中专第三党支部", kind=Organization.Kind.BRANCH, parent=school)
    village = f.OrganizationFactory(name="中山市五桂山街道龙石村", short_name="龙石村", kind=Organization.Kind.VILLAGE)
    pairing = f.PairingFactory(program=program, supporter=school, supported=village,
                               term_start=datetime.date(2023, 3, 16), term_end=None)
    f.PairingBranchFactory(pairing=pairing, branch=branch)
    for order, (code, name, unit) in enumerate([("repairs", "家电维修", Metric.Unit.ITEMS),
                                                ("checks", "血压检测", Metric.Unit.PERSON_TIMES)]):
        f.MetricFactory(program=program, code=code, name=name, unit=unit, order=order)
    for order, (code, name) in enumerate([("volunteer", "志愿服务"), ("party-day", "主题党日")]):
        f.ActivityTypeFactory(code=code, name=name, order=order)
    f.VolunteerFactory(organization=branch, name="陈老师", kind="teacher")
    for username, name, org, role in [("secretary3", "陈晓东", branch, Membership.Role.SECRETARY),
                                      ("longshi", "李国强", village, Membership.Role.VILLAGE_COMMITTEE)]:
        user = f.UserFactory(username=username, full_name=name, password=password)
        f.MembershipFactory(user=user, organization=org, role=role)


@pytest.fixture
def chromium(monkeypatch):
    if not CHROMIUM:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium fonts-noto-cjk); .ci/run installs it")
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
            # Django keeps its connections in context-local storage, and Playwright's sync API gives the test
            # a context of its own: close what the test opened there, or PostgreSQL cannot drop the test
            # database at the end of the run.
            connections.close_all()


@pytest.fixture
def photos(tmp_path):
    first = tmp_path / "IMG_0001.jpg"
    first.write_bytes(jpeg_bytes(width=1600, height=1200, color=(196, 120, 60), gps=True))
    second = tmp_path / "截图.png"
    second.write_bytes(png_bytes(width=900, height=1200, mode="RGB"))
    return [str(first), str(second)]


def phone(browser, live_server, username):
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, locale="zh-CN", is_mobile=True, has_touch=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", settings.PORTAL_DEMO_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    return page


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def unfold(page, inside):
    """Open the folded section (static/js/form-sections.js) that holds `inside`, as a person taps its heading."""
    toggle = page.locator(f"fieldset:has({inside}) .fold-toggle")
    if toggle.count() and toggle.first.get_attribute("aria-expanded") == "false":
        toggle.first.click()


def images_loaded(page):
    return page.eval_on_selector_all("img", "imgs => imgs.map(i => i.complete && i.naturalWidth > 0)")


def test_secretary_records_village_confirms(chromium, live_server, settings, tmp_path, photos):
    settings.MEDIA_ROOT = tmp_path / "media"
    demo_cast()
    before = set(Activity.objects.values_list("id", flat=True))

    # 1. the secretary, on a phone: home, then the form
    page = phone(chromium, live_server, "secretary3")
    shot(page, "01-secretary-home")
    page.click("a.button[href='/activities/new/']")
    page.wait_for_url("**/activities/new/")
    pairing = page.locator("select[name=pairing] option", has_text="龙石村").first.get_attribute("value")
    page.select_option("select[name=pairing]", pairing)
    page.select_option("select[name=activity_type]", index=1)
    page.fill("input[name=title]", "小电匠家电义务维修进龙石村")
    page.fill("input[name=start_time]", "09:00")
    page.fill("input[name=end_time]", "11:30")
    page.fill("input[name=place]", "龙石村党群服务中心")
    unfold(page, "textarea[name=description]")
    page.fill("textarea[name=description]", "学生志愿者为村民义务维修电饭煲、风扇等家电。")
    page.fill("input[name=party_members]", "4")
    page.fill("input[name=teachers]", "2")
    page.fill("input[name=students]", "12")
    page.fill("input[name=residents_served]", "35")
    # figures: the program's metrics are listed with their units; fill the first two
    unfold(page, "input[name='metrics-0-value']")
    page.fill("input[name='metrics-0-value']", "23")
    page.fill("input[name='metrics-1-value']", "15")
    # hours: one volunteer of the branch, one new person
    unfold(page, "select[name='hours-0-volunteer']")
    page.select_option("select[name='hours-0-volunteer']", index=1)
    page.fill("input[name='hours-0-hours']", "2.5")
    page.fill("input[name='hours-0-content']", "家电维修")
    page.fill("input[name='hours-1-new_name']", "黄同学")
    page.select_option("select[name='hours-1-new_kind']", "student")
    page.fill("input[name='hours-1-hours']", "2")
    unfold(page, "input[name=new_photos]")
    page.set_input_files("input[name=new_photos]", photos)
    shot(page, "02-secretary-form-filled")
    page.click("button[name=action][value=submit]")
    page.wait_for_url(re.compile(r"/activities/\d+/$"))  # the saved activity, not /activities/new/
    page.wait_for_load_state("networkidle")
    shot(page, "03-secretary-submitted")

    [new_id] = set(Activity.objects.values_list("id", flat=True)) - before
    activity = Activity.objects.get(pk=new_id)
    assert activity.status == Activity.Status.SUBMITTED
    assert activity.photos.count() == 2
    assert sorted(v.value for v in activity.metric_values.all()) == [Decimal("15"), Decimal("23")]
    assert sorted(r.hours for r in activity.service_records.all()) == [Decimal("2.0"), Decimal("2.5")]
    assert page.locator(".status-submitted").first.is_visible()
    assert all(images_loaded(page)) and len(images_loaded(page)) == 2

    # 2. the village committee confirms it
    village = phone(chromium, live_server, "longshi")
    link = village.locator(f".act-section-to_confirm a[href='/activities/{new_id}/']")
    assert link.is_visible()
    shot(village, "04-village-home")
    link.click()
    village.wait_for_url(f"**/activities/{new_id}/")
    village.wait_for_load_state("networkidle")
    assert all(images_loaded(village))
    shot(village, "05-village-detail")
    village.click("form[action$='/confirm/'] button")
    village.wait_for_url(f"{live_server.url}/")
    shot(village, "06-village-after-confirming")
    activity.refresh_from_db()
    assert activity.status == Activity.Status.CONFIRMED
    assert activity.confirmed_by.username == "longshi"

    # 3. the secretary sees it confirmed
    page.goto(f"{live_server.url}/activities/{new_id}/")
    assert page.locator(".act-head .status-confirmed").is_visible()
    assert page.locator(".act-history .status-confirmed").is_visible()
    shot(page, "07-secretary-sees-confirmed")
    page.goto(f"{live_server.url}/activities/")
    page.wait_for_load_state("networkidle")
    assert page.locator(f"a[href='/activities/{new_id}/']").is_visible()
    shot(page, "08-secretary-list")
    for context in (page.context, village.context):
        context.close()
