"""Issue 15's "done when", in a real browser at 375 px: in the demo, ``office`` (a program admin of 双联双助, not
staff) adds a school with two branches and a village under 港口镇, invites a branch secretary (e-mail) and a
village committee member (one-time link), sets up the pairing with both branches and a liaison on each side,
imports a GB18030 CSV ledger of 5 activities and an .xlsx of 4 volunteers, and finds them in the lists, on the
pairing page and in the monthly report; the new secretary and the village member then sign in through their links.
Pages only: nothing is written through the ORM but the demo. Screenshots go to artifacts/screenshots/office-*.png.

``journey()`` takes the base URL so the same walk runs against a ``runserver`` by hand."""

import csv
import datetime
import io

import pytest
from django.conf import settings
from django.core.management import call_command
from openpyxl import load_workbook

from tests.activities.test_browser import SHOTS, chromium  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pairing-demo-2024"
NEW_PASSWORD = "Xinqiao-2026-walk"


def _login(page, base, username, password):
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", password)
    page.press("input[name=password]", "Enter")  # the language switch is a submit button too
    page.wait_for_url(f"{base}/")


def _add_org(page, name, short_name, kind):
    page.fill("#id_name", name)
    page.fill("#id_short_name", short_name)
    page.select_option("#id_kind", kind)
    page.click("main form button[type=submit]")
    page.wait_for_selector(f"text=已添加 {name}")


def _invite(page, base, full_name, org, role, email=""):
    """Invites from the set-up page; answers the one-time link's path."""
    page.goto(f"{base}/setup/")
    page.click("text=邀请相关人员")
    page.fill("#id_full_name", full_name)
    page.select_option("#id_organization", label=org)
    page.select_option("#id_role", role)
    if email:
        page.fill("#id_email", email)
    page.click("main button:text-is('邀请')")
    page.wait_for_selector(f"text=已邀请 {full_name}")
    link = page.locator("main input[readonly]").first.input_value()
    assert "/setup/join/" in link
    return "/setup/join/" + link.split("/setup/join/", 1)[1]


def _accept(browser, context_options, base, path, username, shot):
    """Opens the link in a fresh context, sets a password, signs in with it; answers the signed-in context."""
    context = browser.new_context(**context_options)
    page = context.new_page()
    page.goto(base + path)
    page.fill("#id_username", username)
    page.fill("#id_password1", NEW_PASSWORD)
    page.fill("#id_password2", NEW_PASSWORD)
    shot(page, "join")
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    context.clear_cookies()
    _login(page, base, username, NEW_PASSWORD)
    return context, page


def _dates(today):
    """Five days of ``today``'s month up to today, the month's "YYYY-MM", and the forms a ledger writes them in.

    The running month: a past month's report counts the activities as they stood at its end, from their history,
    and a ledger imported today was not there then (see the walk's report)."""
    days = [today.replace(day=min(day, today.day)) for day in (1, 2, 3, 4, 5)]
    forms = [f"{days[0]:%Y-%m-%d}", f"{days[1].year}/{days[1].month}/{days[1].day}",
             f"{days[2].year}.{days[2].month}.{days[2].day}", f"{days[3].year}年{days[3].month}月{days[3].day}日",
             f"{days[4]:%Y-%m-%d}"]
    return days, f"{today:%Y-%m}", forms


def journey(browser, base, width, shots, tag="", tmp=None):
    options = {"viewport": {"width": width, "height": 900}, "locale": "zh-CN", "accept_downloads": True,
               "extra_http_headers": {"Accept-Language": "zh-CN,zh;q=0.9"}}
    context = browser.new_context(**options)
    context.set_default_timeout(20_000)
    page = context.new_page()
    n = iter(range(1, 100))

    def shot(p, name):
        shots.mkdir(parents=True, exist_ok=True)
        p.screenshot(path=str(shots / f"office-{next(n):02d}-{name}-{width}.png"), full_page=True)

    school, short = f"中山市东区实验学校{tag}", f"东区实验{tag}"
    branches = [f"{short}第一党支部", f"{short}第二党支部"]
    village, village_short = f"港口镇新桥村{tag}", f"新桥村{tag}"
    pairing_name = f"{short}–{village_short}"

    # 1. the organisations, from the menu's 设置
    _login(page, base, "office", PASSWORD)
    page.click("header a:text-is('设置')")
    shot(page, "setup")
    page.click("text=添加结对双方的组织")
    _add_org(page, school, short, "school")
    school_url = page.url
    for branch in branches:
        page.goto(school_url)
        page.click("text=添加下级单位")
        assert page.locator("#id_parent option:checked").inner_text() == school
        _add_org(page, branch, "", "branch")
    page.goto(school_url)
    for branch in branches:
        assert page.locator(f"main a:text-is('{branch}')").count() == 1
    shot(page, "school")
    page.goto(f"{base}/setup/organisations/")
    page.click("main a:text-is('港口镇')")
    page.click("text=添加下级单位")
    _add_org(page, village, village_short, "village")
    assert "港口镇" in page.locator("main").inner_text()

    # 2. the people: a secretary with e-mail, a village member with a link only
    secretary_link = _invite(page, base, "吴秋萍", branches[0], "secretary", email=f"wuqp{tag}@example.cn")
    assert "链接也已发送到" in page.locator("main").inner_text()
    village_link = _invite(page, base, "梁志强", village, "village_committee")
    shot(page, "invited")

    # 3. the pairing, its branches and a liaison on each side
    days, period, date_forms = _dates(datetime.date.today())
    page.goto(f"{base}/setup/")
    page.click("text=创建结对")
    page.select_option("#id_program", label="双联双助")
    page.select_option("#id_supporter", label=school)
    page.select_option("#id_supported", label=village)
    page.fill("#id_signed_on", f"{days[0] - datetime.timedelta(days=40):%Y-%m-%d}")
    page.fill("#id_term_start", f"{days[0] - datetime.timedelta(days=35):%Y-%m-%d}")
    page.click("main form button:text-is('创建结对')")
    page.wait_for_selector("text=结对已创建，请选择参与支部和联络员。")
    for branch in branches:
        page.check(f"main label:text-is('{branch}')")
    page.fill("#id_liaison-supporter-0-name", "周明")
    page.fill("#id_liaison-supporter-0-title", "党委办主任")
    page.fill("#id_liaison-supporter-0-phone", "13800000001")
    page.fill("#id_liaison-supported-0-name", "黄秀英")
    page.fill("#id_liaison-supported-0-title", "村委副主任")
    page.fill("#id_liaison-supported-0-phone", "13800000002")
    shot(page, "pairing-setup")
    page.click("main form button:text-is('保存')")
    page.wait_for_selector("text=结对设置已保存。")
    pairing_url = page.url
    main = page.locator("main").inner_text()
    assert "周明" in main and "黄秀英" in main and branches[0] in main and branches[1] in main

    # 4. the activities: the template filled with openpyxl, saved as a GB18030 CSV
    page.goto(f"{base}/setup/imports/")
    with page.expect_download() as download:
        page.click("main a:text-is('活动 · 双联双助')")
    template = tmp / f"activities-{width}.xlsx"
    download.value.save_as(template)
    workbook = load_workbook(template)
    sheet = workbook.worksheets[0]
    headers = [cell.value for cell in sheet[1]]
    example = {h: c.value for h, c in zip(headers, sheet[2])}
    sheet.delete_rows(2)
    titles = ["𠮷祥家电义修进新桥", "䶮山书法进村", "反诈宣传进新桥", "长者血压检测", "井盖彩绘"]
    for i, (day, title) in enumerate(zip(date_forms, titles)):
        row = {"日期": day, "结对": pairing_name, "党支部": branches[i % 2], "类型": "志愿服务", "标题": title,
               "地点": "新桥村委会", "状态": "已提交" if i < 3 else "已确认", "参与党员": 3, "参与教师": 2,
               "参与学生": 0, "服务群众（人次）": 20, "家电维修(件)": 2}
        sheet.append([row.get(h, example[h] if h in ("开始时间", "结束时间") else None) for h in headers])
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for values in sheet.iter_rows(values_only=True):
        writer.writerow(["" if v is None else v for v in values])
    ledger = tmp / f"台账-{width}.csv"
    ledger.write_bytes(buffer.getvalue().encode("gb18030"))
    page.goto(f"{base}/setup/imports/")
    page.select_option("select[name=kind]", label="活动")
    page.select_option("select[name=program]", label="双联双助")
    page.set_input_files("input[name=file]", str(ledger))
    page.click("text=上传并预览")
    page.wait_for_selector("text=确认并保存 5 行")
    assert page.locator("tr.outcome-new").count() == 5
    preview = page.locator("main").inner_text()
    for title in titles:
        assert title in preview  # 𠮷 and 䶮 come through the GB18030 file intact
    shot(page, "activities-preview")
    page.click("text=确认并保存 5 行")
    page.wait_for_selector("text=台账已保存。")

    # 5. the volunteers, from their template, as .xlsx
    with page.expect_download() as download:
        page.goto(f"{base}/setup/imports/")
        page.click("main a:has-text('志愿者 ·')")
    template = tmp / f"volunteers-{width}.xlsx"
    download.value.save_as(template)
    workbook = load_workbook(template)
    sheet = workbook.worksheets[0]
    headers = [cell.value for cell in sheet[1]]
    sheet.delete_rows(2)
    volunteers = ["何丽娟", "冯志伟", "曾小燕", "邝家豪"]
    for i, name in enumerate(volunteers):
        row = {"姓名": name, "手机号": f"1390000{tag and ord(tag) % 10}{i:03d}"[:11],
               "所属单位": f"{school}/{branches[i % 2]}", "人员类别": ["党员", "教师", "学生", "教师"][i],
               "是否党员": "是" if i == 0 else "否"}
        sheet.append([row.get(h) for h in headers])
    filled = tmp / f"志愿者-{width}.xlsx"
    workbook.save(filled)
    page.goto(f"{base}/setup/imports/")
    page.select_option("select[name=kind]", label="志愿者")
    page.set_input_files("input[name=file]", str(filled))
    page.click("text=上传并预览")
    page.wait_for_selector("text=确认并保存 4 行")
    assert page.locator("tr.outcome-new").count() == 4
    shot(page, "volunteers-preview")
    page.click("text=确认并保存 4 行")
    page.wait_for_selector("text=台账已保存。")

    # 6. the lists, the pairing page and the monthly report
    page.goto(f"{base}/activities/")
    page.click("details.act-filters summary")
    box = page.locator("input[role=combobox]#id_pairing")
    box.click()
    box.type(village_short, delay=40)
    page.locator("#id_pairing ~ ul[role=listbox] [role=option]").first.wait_for()
    box.press("ArrowDown")
    box.press("Enter")
    page.click("form.act-filter-form button[type=submit]:not([formaction])")
    page.wait_for_load_state()
    listed = page.locator("main").inner_text()
    for title in titles:
        assert title in listed
    shot(page, "activity-list")
    page.goto(f"{base}/activities/?q=书法")
    listed = page.locator("main").inner_text()
    assert "䶮山书法进村" in listed and "井盖彩绘" not in listed
    for name in volunteers:
        page.goto(f"{base}/volunteers/?q={name}")
        assert name in page.locator("main").inner_text()
    page.goto(f"{base}/pairings/")
    page.click(f"main a:has-text('{school}')")
    page.goto(f"{pairing_url}?year={days[0].year}")
    figures = "".join(page.locator("main").inner_text().split())
    assert "5活动活动（已提交或已确认）" in figures
    assert "100人次服务群众" in figures and "10件家电维修" in figures  # 5 × 20 and 5 × 2
    shot(page, "pairing")
    page.goto(f"{base}/reports/generate/")
    page.select_option("select[name=kind]", "monthly")
    page.fill("input[name=period]", period)
    page.select_option("select[name=program]", label="双联双助")
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    page.goto(f"{base}/reports/?kind=monthly&period={period}")
    page.locator(f"main tr:has-text('{pairing_name}') a").first.click()
    page.wait_for_load_state()
    report = page.locator("main").inner_text()
    for title in titles:
        assert title in report
    shot(page, "report")
    context.close()

    # 7. the new people, each through their link
    secretary_ctx, secretary = _accept(browser, options, base, secretary_link, f"wuqiuping{tag}".lower(), shot)
    shot(secretary, "secretary-home")
    secretary.goto(f"{base}/activities/")
    listed = secretary.locator("main").inner_text()
    assert "𠮷祥家电义修进新桥" in listed  # her branch's, imported by the office
    secretary_ctx.close()
    village_ctx, village_page = _accept(browser, options, base, village_link, f"liangzq{tag}".lower(), shot)
    home = village_page.locator("main").inner_text()
    shot(village_page, "village-home")
    assert "待您确认" in home  # the village is asked to 验单 the submitted ones
    for title in titles[:3]:  # the submitted ones wait for the village's 验单
        assert title in home
    village_ctx.close()


def test_office_sets_up_a_pairing(chromium, live_server, tmp_path, settings):  # noqa: F811
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("load_demo", verbosity=0)
    journey(chromium, live_server.url, 375, SHOTS, tmp=tmp_path)
