"""The volunteer ledger out, in a real browser on a phone: the demo's branch secretary filters the volunteer list,
downloads it as Excel and gets exactly the list's rows under the import's headers. Screenshots go to
artifacts/screenshots/volunteer-export-*.png (375 px and 1280 px)."""

import io

import openpyxl
import pytest

from portal.models import User
from volunteers.models import Volunteer

from tests.activities.test_browser import chromium, demo_cast, phone, shot  # noqa: F401  (fixtures and helpers)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_filter_the_volunteers_and_download_them(chromium, live_server):  # noqa: F811
    demo_cast()
    page = phone(chromium, live_server, "secretary3")
    page.goto(f"{live_server.url}/volunteers/")
    secretary = User.objects.get(username="secretary3")
    kinds = list(Volunteer.objects.visible_to(secretary).values_list("kind", flat=True))
    kind = max(set(kinds), key=kinds.count)  # the most common kind: a filter that leaves some rows out, keeps some
    page.select_option("select[name=kind]", kind)
    page.click("form.filters button[type=submit]")
    page.wait_for_url(f"**/volunteers/?*kind={kind}*")
    names = page.locator("ul.rows .row-title a").all_inner_texts()
    assert names and len(names) == kinds.count(kind) < 50  # one page: the file holds the same rows
    shot(page, "volunteer-export-375")
    with page.expect_download() as caught:
        page.click("a[href^='/volunteers/export.xlsx']")
    download = caught.value
    assert download.suggested_filename.endswith(".xlsx") and download.suggested_filename.startswith("志愿者-")
    book = openpyxl.load_workbook(io.BytesIO(open(download.path(), "rb").read()))
    header, *rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert list(header[:6]) == ["姓名", "手机号", "所属单位", "人员类别", "是否党员", "备注"]
    assert [row[0] for row in rows] == [name.strip() for name in names]
    page.set_viewport_size({"width": 1280, "height": 900})
    shot(page, "volunteer-export-1280")
