"""Never lost, never twice (issue 16), in Chromium at a 375-px phone viewport: a double tap on 保存并提交 makes one
activity; the draft survives a reload; a form filled and submitted offline waits on the phone ("1 条待上传")
and is sent once the connection returns, exactly once, with its photo. Screenshots go to
artifacts/screenshots/ (offline-*.png)."""

import re
import time

import pytest
from django.db import OperationalError

from activities.models import Activity
from tests.activities.test_browser import chromium, demo_cast, phone, photos, shot, unfold  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def fill(page, title):
    pairing = page.locator("select[name=pairing] option", has_text="龙石村").first.get_attribute("value")
    page.select_option("select[name=pairing]", pairing)
    page.select_option("select[name=activity_type]", index=1)
    page.fill("input[name=title]", title)
    page.fill("input[name=place]", "龙石村党群服务中心")
    unfold(page, "textarea[name=description]")  # folded on a phone (static/js/form-sections.js)
    page.fill("textarea[name=description]", "入户走访，了解村民家电维修需求。")
    unfold(page, "input[name=party_members]")
    page.fill("input[name=party_members]", "3")


def wait_for(condition, seconds=60):  # room for the outbox's own retry, should the server answer 503 once
    """Whether ``condition()`` came true within ``seconds``, asked every 0.2 s. On SQLite the live server writes to
    the same shared-cache in-memory database as this thread reads, and a table it holds locked refuses a reader at
    once (SQLITE_LOCKED: the busy timeout does not apply to shared-cache locks); such a read is asked again, as a
    user reloading the page would."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if condition():
                return True
        except OperationalError as error:
            if "locked" not in str(error):
                raise
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)


def new_form(page, live_server):
    page.goto(f"{live_server.url}/activities/new/")
    page.wait_for_load_state("networkidle")


def test_a_double_tap_makes_one_activity(chromium, live_server, settings, tmp_path):  # noqa: F811
    settings.MEDIA_ROOT = tmp_path / "media"
    demo_cast()
    before = Activity.objects.count()
    page = phone(chromium, live_server, "secretary3")
    new_form(page, live_server)
    fill(page, "双击也只保存一次")
    # two taps in the same moment, the second before the page has gone anywhere
    page.eval_on_selector("button[name=action][value=submit]", "b => { b.click(); b.click(); }")
    page.wait_for_url(re.compile(r"/activities/\d+/$"))
    page.wait_for_load_state("networkidle")
    shot(page, "offline-01-double-tap-saved-once")
    assert Activity.objects.count() == before + 1
    activity = Activity.objects.get(title="双击也只保存一次")
    assert activity.status == Activity.Status.SUBMITTED
    # the outbox copy was dropped on the server's answer: nothing waits
    assert page.locator("[data-outbox-user]").is_hidden()
    assert page.evaluate("PortalOutbox.entries().then(e => e.length)") == 0
    # the detail page's own 提交 on it now (a stale second tab, say) is answered, not refused
    response = page.request.post(f"{live_server.url}/activities/{activity.pk}/submit/",
                                 form={"csrfmiddlewaretoken": page.input_value("input[name=csrfmiddlewaretoken]")},
                                 headers={"Referer": f"{live_server.url}/activities/{activity.pk}/"})
    assert response.ok and "该活动已提交" in response.text()
    page.context.close()


def test_the_draft_survives_a_reload(chromium, live_server, settings, tmp_path):  # noqa: F811
    settings.MEDIA_ROOT = tmp_path / "media"
    demo_cast()
    page = phone(chromium, live_server, "secretary3")
    new_form(page, live_server)
    key = page.input_value("input[name=submit_key]")
    fill(page, "草稿不会丢")
    unfold(page, "input[name='hours-0-new_name']")
    page.fill("input[name='hours-0-new_name']", "黄同学")
    page.wait_for_timeout(600)  # the draft is written 300 ms after the last keystroke
    page.reload()
    page.wait_for_load_state("networkidle")
    notice = page.locator("[data-draft]")
    notice.wait_for(state="visible")
    assert "已恢复未提交的内容" in notice.inner_text()
    assert page.input_value("input[name=title]") == "草稿不会丢"
    assert page.input_value("textarea[name=description]") == "入户走访，了解村民家电维修需求。"
    assert page.input_value("input[name='hours-0-new_name']") == "黄同学"
    assert page.input_value("input[name=submit_key]") == key  # the same form: a retry stays one save
    shot(page, "offline-02-draft-restored")

    # 清除 forgets it
    notice.locator("button", has_text="清除").click()
    page.wait_for_load_state("networkidle")
    assert page.input_value("input[name=title]") == ""
    assert page.locator("[data-draft]").is_hidden()

    # saved: the draft is gone, and a new form starts empty
    fill(page, "草稿保存后清空")
    page.wait_for_timeout(600)
    page.click("button[name=action][value=draft]")
    page.wait_for_url(re.compile(r"/activities/\d+/$"))
    new_form(page, live_server)
    assert page.input_value("input[name=title]") == ""
    assert page.locator("[data-draft]").is_hidden()
    assert Activity.objects.filter(title="草稿保存后清空").count() == 1
    page.context.close()


def test_offline_submit_waits_and_is_sent_once(chromium, live_server, settings, tmp_path, photos):  # noqa: F811
    settings.MEDIA_ROOT = tmp_path / "media"
    demo_cast()
    before = Activity.objects.count()
    page = phone(chromium, live_server, "secretary3")
    # the service worker registers from the first signed-in page and keeps the form for offline use
    assert page.evaluate("navigator.serviceWorker.ready.then(r => !!r.active)")  # installed: the form is cached
    context = page.context
    context.set_offline(True)
    opened = page.goto(f"{live_server.url}/activities/new/")
    assert opened.from_service_worker and page.locator("input[name=submit_key]").count() == 1
    shot(page, "offline-03-form-opened-offline")

    fill(page, "断网时填写的走访")
    page.set_input_files("input[name=new_photos]", photos[:1])
    page.click("button[name=action][value=submit]")
    waiting = page.locator("[data-outbox-page]")
    waiting.wait_for(state="visible")
    assert "1 条待上传" in waiting.inner_text()
    assert "1 条待上传" in page.locator("[data-outbox-user]").inner_text()
    assert "联网后自动上传" in page.locator("[data-draft]").inner_text()
    assert page.input_value("input[name=title]") == ""  # emptied for the next activity
    shot(page, "offline-04-waiting-to-upload")
    assert Activity.objects.count() == before

    context.set_offline(False)
    # Chromium fires "online" on the page: outbox.js sends what waits
    assert wait_for(lambda: Activity.objects.count() == before + 1)
    waiting.wait_for(state="hidden")
    shot(page, "offline-05-sent")
    # sent exactly once, even if the page asks again
    page.evaluate("PortalOutbox.flush()")
    page.reload()
    page.wait_for_load_state("networkidle")
    assert Activity.objects.count() == before + 1
    activity = Activity.objects.get(title="断网时填写的走访")
    assert activity.status == Activity.Status.SUBMITTED
    assert activity.photos.count() == 1
    context.close()


def test_signing_out_forgets_drafts_and_asks_about_forms_waiting(chromium, live_server, settings, tmp_path):  # noqa: F811
    """A shared PC: signing out forgets the unsent draft, but a whole form still waiting to upload is kept, and the
    person is asked first; it goes up at their next sign-in here."""
    settings.MEDIA_ROOT = tmp_path / "media"
    demo_cast()
    before = Activity.objects.count()
    page = phone(chromium, live_server, "secretary3")
    user = page.get_attribute("[data-outbox-user]", "data-outbox-user")
    # the village road: every post of the form fails, so the submitted form waits in the outbox
    page.context.route("**/activities/new/", lambda route: route.abort() if route.request.method == "POST" else route.continue_())
    new_form(page, live_server)
    fill(page, "退出前仍待上传的走访")
    page.click("button[name=action][value=submit]")  # a copy goes to the outbox first; the post itself fails
    page.wait_for_timeout(1000)
    new_form(page, live_server)
    page.locator("[data-outbox-user]", has_text="1 条待上传").wait_for(state="visible")
    page.fill("input[name=title]", "没写完的草稿")
    page.wait_for_timeout(600)  # the draft is written 300 ms after the last keystroke
    drafts = f"Object.keys(localStorage).filter(k => k.startsWith('portal-draft:{user}:')).length"
    assert page.evaluate(drafts) == 1

    asked = []

    def answer(dialog, accept):
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, False))
    page.evaluate("document.querySelector('form[data-signout]').requestSubmit()")
    assert asked == ["本设备上还有 1 条活动待上传。退出后它们仍保留在本设备上，下次在本设备用此账号登录时自动上传。确定现在退出吗？"]
    page.wait_for_timeout(300)
    assert page.url.endswith("/activities/new/") and page.evaluate(drafts) == 1  # stayed: nothing forgotten

    page.once("dialog", lambda dialog: answer(dialog, True))
    with page.expect_navigation():
        page.evaluate("document.querySelector('form[data-signout]').requestSubmit()")
    page.wait_for_load_state("networkidle")
    assert len(asked) == 2 and page.locator("[data-outbox-user]").count() == 0  # signed out
    assert page.evaluate(drafts) == 0
    kept = page.evaluate("""() => new Promise(resolve => {
        const open = indexedDB.open('portal-outbox', 1);
        open.onsuccess = () => { const all = open.result.transaction('forms').objectStore('forms').getAll();
                                 all.onsuccess = () => resolve(all.result.map(e => e.title)); };
    })""")
    assert kept == ["退出前仍待上传的走访"] and Activity.objects.count() == before

    # back in signal, signed in again on this device: the form goes up, once
    page.context.unroute("**/activities/new/")
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", "secretary3")
    page.fill("input[name=password]", settings.PORTAL_DEMO_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    assert wait_for(lambda: Activity.objects.filter(title="退出前仍待上传的走访").count() == 1)
    page.context.close()


def test_a_form_the_server_could_not_save_is_sent_again_by_itself(chromium, live_server, settings, tmp_path,  # noqa: F811
                                                                  monkeypatch):
    """The connection returns but the server answers 503 (its database away a moment): the outbox tries again
    after the server's Retry-After by itself, without a page load or another "online" event."""
    from django.db import OperationalError

    from activities import services

    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setattr("portal.views.RETRY_AFTER_SECONDS", 5)
    create, calls = services.activity_create, []

    def away_once(**kwargs):
        calls.append(kwargs["fields"].title)
        if len(calls) == 1:
            raise OperationalError("could not connect to server")
        return create(**kwargs)

    monkeypatch.setattr(services, "activity_create", away_once)
    demo_cast()
    before = Activity.objects.count()
    page = phone(chromium, live_server, "secretary3")
    assert page.evaluate("navigator.serviceWorker.ready.then(r => !!r.active)")
    page.context.set_offline(True)
    page.goto(f"{live_server.url}/activities/new/")
    fill(page, "服务器短暂不可用时提交的走访")
    page.click("button[name=action][value=submit]")
    page.locator("[data-outbox-page]").wait_for(state="visible")
    page.context.set_offline(False)  # the first try meets the 503
    # the browser says when nothing waits any more: the test reads no table while the server writes it
    page.wait_for_function(
        "() => { PortalOutbox.entries().then(e => { window.waitingNow = e.length; }); return window.waitingNow === 0; }",
        polling=500, timeout=60_000,
    )
    assert calls == ["服务器短暂不可用时提交的走访"] * 2
    assert Activity.objects.count() == before + 1
    assert Activity.objects.filter(title="服务器短暂不可用时提交的走访").count() == 1
    page.context.close()
