"""In a browser, over the demo: the program admin sees the drafts waiting on the home page, follows the link to
the report list, publishes every draft the filter shows after a confirmation that warns of the quarterly reports
without 调度意见, and the liaison `longshi` finds one notification. Screenshots in artifacts/screenshots/."""

import pytest
from django.utils import timezone

from reports.models import Notification, Report
from reports.periods import previous_quarter
from tests.activities.test_browser import chromium, phone, shot  # noqa: F401 (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_publishes_the_quarter_s_drafts_in_one_go(chromium, live_server, settings, tmp_path):  # noqa: F811
    from django.contrib.auth import get_user_model
    from django.core.management import call_command


    settings.MEDIA_ROOT = tmp_path
    call_command("load_demo", verbosity=0)
    quarter = previous_quarter(timezone.localdate()).key
    call_command("generate_reports", quarter, verbosity=0)  # the quarterly reports wait for 调度意见
    drafts = Report.objects.filter(kind="quarterly", period=quarter, status="draft")
    assert drafts.exists()
    page = phone(chromium, live_server, "office")
    block = page.locator("section.act-section-report-drafts")
    assert "待发布的报告" in block.inner_text()
    shot(page, "publish-1-home-drafts")
    block.locator("a.act-title").first.click()
    page.wait_for_url("**/reports/?*status=draft*")
    shot(page, "publish-2-list")
    page.click("button[name=all]")
    page.wait_for_url("**/reports/publish/?*")
    assert "尚无调度意见" in page.inner_text("main")
    shot(page, "publish-3-confirm")
    page.click("main form[method=post] button[type=submit]")
    page.wait_for_load_state()
    assert "已发布" in page.inner_text("body")
    shot(page, "publish-4-done")
    longshi = get_user_model().objects.get(username="longshi")
    mine = Notification.objects.filter(user=longshi, kind__in=["report_published", "reports_published"])
    assert mine.count() == 1
