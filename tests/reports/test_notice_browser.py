"""In a real browser, over the demo: longshi sees the unread count in the header, opens the notification centre
and their e-mail choices; the program admin adds a 企业微信 group robot, is told in Chinese why a bad address is
refused, and never sees the secret again. Screenshots in the browser tests' folder."""

import pytest
from django.core.management import call_command

from portal.models import User
from reports.models import Notification, Webhook
from reports.notifications import notify
from tests.activities.test_browser import chromium, phone, shot  # noqa: F401 — the shared browser fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_notification_centre_and_the_group_robots(chromium, live_server, settings, tmp_path):  # noqa: F811
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path
    call_command("load_demo", verbosity=0)
    longshi = User.objects.get(username="longshi")
    for n, (kind, message) in enumerate([
        (Notification.Kind.ACTIVITY_TO_CONFIRM, "第三党支部的活动“小电匠家电义务维修”待验单"),
        (Notification.Kind.NEED_CLAIMED, "微心愿“老年活动室添置座椅”已被第三党支部认领"),
        (Notification.Kind.ITEM_DUE, "项目“井上添画”将于7天后到期"),
    ]):
        notify(kind=kind, message=message, url="/", key=f"browser:{n}", users=[longshi])

    page = phone(chromium, live_server, "longshi")
    assert page.locator("header .notices .count").inner_text() == "3"
    page.click("header .notices")
    page.wait_for_url("**/reports/notifications/**")
    assert page.locator("li.unread").count() == 3 and "活动待验单" in page.content()
    shot(page, "notice-01-longshi-notification-centre")
    page.locator("li.unread button", has_text="标为已读").first.click()
    page.wait_for_load_state()
    assert page.locator("header .notices .count").inner_text() == "2"
    page.click("text=邮件与群通知")
    page.wait_for_url("**/preferences/")
    shot(page, "notice-02-longshi-preferences")

    admin = phone(chromium, live_server, "admin")
    admin.goto(f"{live_server.url}/reports/robots/new/")
    admin.select_option("select[name=kind]", "wecom")
    admin.fill("input[name=name]", "龙石村结对工作群")
    program = admin.locator("select[name=program] option").nth(1).get_attribute("value")
    admin.select_option("select[name=program]", program)
    admin.fill("input[name=url]", "https://10.0.0.8/cgi-bin/webhook/send?key=x")
    admin.click("main form button[type=submit]")
    assert "只能使用企业微信和钉钉的群机器人" in admin.content()
    shot(admin, "notice-03-admin-robot-refused")
    admin.fill("input[name=url]", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4")
    admin.click("main form button[type=submit]")
    admin.wait_for_url("**/reports/robots/*/")
    assert Webhook.objects.filter(name="龙石村结对工作群").exists()
    admin.goto(f"{live_server.url}/reports/robots/")
    assert "693a91f6-7xxx" not in admin.content()
    shot(admin, "notice-04-admin-robot-list")
