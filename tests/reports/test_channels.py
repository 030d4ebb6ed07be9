"""Notifications reach people through the real thing: the daily digest through an SMTP conversation with a server
the test starts (aiosmtpd, Django's SMTP backend), group robot messages through HTTP to a local server that checks
企业微信's and 钉钉's formats and the 钉钉 signature. A channel that fails is retried later and the message sent once;
the worker killed mid-send is in test_channels_worker.py."""

import datetime
import time

import pytest
import time_machine
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from reports import channels, digest
from reports.models import Delivery, Notification, Preference, Webhook
from reports.notifications import notify
from reports.periods import TZ
from tests.reports.robots import RobotServer, SMTPServer

SECRET = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"
MORNING = datetime.datetime(2026, 12, 5, 8, 0, tzinfo=TZ)


@pytest.fixture
def smtp(settings):
    with SMTPServer() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        yield server


@pytest.fixture
def robots(settings):
    with RobotServer(dingtalk_secret=SECRET) as server:
        settings.WEBHOOK_HOSTS = [server.origin]
        yield server


@pytest.fixture
def hooks(world, robots):
    pairing = world["pairing"]
    wecom = Webhook.objects.create(kind="wecom", name="龙石村结对工作群", pairing=pairing,
                                   url=f"{robots.origin}/wecom?key=693a91f6-7xxx")
    dingtalk = Webhook.objects.create(kind="dingtalk", name="双联双助项目群", program=world["program"],
                                      url=f"{robots.origin}/dingtalk?access_token=abc123", secret=SECRET)
    return wecom, dingtalk


def event(world, n=1, *, users=None, key=None):
    return notify(kind=Notification.Kind.ACTIVITY_TO_CONFIRM, message=f"第三党支部的活动“小电匠家电维修{n}”待验单",
                  url=f"/activities/{n}/", key=key or f"activity:{n}:submitted",
                  users=users or [world["users"]["village"]], pairing=world["pairing"])


# --------------------------------------------------------------------------------------------------------
# The daily digest, through SMTP
# --------------------------------------------------------------------------------------------------------


def test_the_digest_puts_what_is_to_do_before_the_reports_published(world):
    village = world["users"]["village"]
    notify(kind=Notification.Kind.REPORT_PUBLISHED, message="中山中专–龙石村 · 一月一提示 · 2026-11 · v1 已发布。",
           url="/reports/1/", key="report:1:published", users=[village])
    event(world, 1)  # later, yet first in the mail: it is something to do
    groups = digest.grouped(Notification.objects.filter(user=village))
    assert [label for label, _rows in groups] == ["活动待验单", "报告已发布"]


def test_fifty_events_make_one_mail_a_day_through_smtp(world, smtp, time_machine):
    time_machine.move_to(MORNING - datetime.timedelta(hours=10), tick=False)
    village = world["users"]["village"]
    for n in range(50):
        event(world, n)
    notify(kind=Notification.Kind.NEED_CLAIMED, message="微心愿“助老轮椅”已被认领", url="/needs/7/", key="need:7:claimed",
           users=[village])
    time_machine.move_to(MORNING, tick=False)
    assert digest.digests_build() == 1
    assert channels.deliveries_send().sent == 1

    assert len(smtp.messages) == 1
    got = smtp.messages[0]
    assert got["to"] == [village.email]
    message = got["message"]
    assert message["Subject"].strip() == "结对共建 · 今日待办与消息（51 条）"
    assert message["Message-ID"] == channels.message_id(f"digest:{village.pk}:2026-12-05")
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "活动待验单 (50)" in text and "心愿已认领 (1)" in text  # grouped by kind, with the count
    assert "http://127.0.0.1:8000/activities/49/" in text and 'href="http://127.0.0.1:8000/needs/7/"' in html
    assert "http://127.0.0.1:8000/reports/notifications/preferences/" in text
    assert reverse("reports:preferences") in html
    assert text.index("活动待验单") < text.index("心愿已认领")
    rows = Notification.objects.filter(user=village)
    assert rows.count() == 51 and not rows.filter(emailed_at__isnull=True).exists()

    # the same day, more events and the digest again: no new mail; they wait for tomorrow's
    event(world, 100)
    assert digest.digests_build() == 0
    assert channels.deliveries_send().sent == 0
    assert len(smtp.messages) == 1

    time_machine.move_to(MORNING + datetime.timedelta(days=1), tick=False)
    event(world, 101)
    assert digest.digests_build() == 1 and channels.deliveries_send().sent == 1
    assert len(smtp.messages) == 2
    assert smtp.messages[1]["message"]["Subject"].strip() == "结对共建 · 今日待办与消息（2 条）"
    assert digest.digests_build() == 0


def test_the_digest_respects_choices_and_addresses(world, smtp, time_machine):
    time_machine.move_to(MORNING, tick=False)
    users = world["users"]
    Preference.objects.create(user=users["secretary"], email_digest=False)
    users["committee"].email = ""
    users["committee"].save()
    notify(kind="item_due", message="项目“井上添画”将于3天后到期", url="/plans/1/", key="item:1:due",
           users=[users["secretary"], users["committee"], users["village"]], emails=["cadre@example.com"])
    assert digest.digests_build() == 2
    channels.deliveries_send()
    assert sorted(m["to"][0] for m in smtp.messages) == ["cadre@example.com", users["village"].email]
    # someone without an account gets no link to pages they cannot open
    cadre = next(m["message"] for m in smtp.messages if m["to"] == ["cadre@example.com"])
    assert "preferences" not in cadre.get_body(("plain",)).get_content()
    # the secretary's notification stays in the portal, not mailed
    assert Notification.objects.get(user=users["secretary"]).delivery is None


def test_a_mail_server_that_is_down_is_retried_and_sends_once(world, settings, time_machine):
    time_machine.move_to(MORNING, tick=False)
    event(world)
    digest.digests_build()
    server = SMTPServer()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port  # nothing listens yet
    assert channels.deliveries_send().outcomes == {"retry": 1}
    delivery = Delivery.objects.get()
    assert delivery.status == "pending" and delivery.attempts == 1 and "Connection" in delivery.last_error
    assert Notification.objects.get().emailed_at is None
    with server:
        assert channels.deliveries_send().claimed == 0  # not due yet
        time_machine.move_to(MORNING + datetime.timedelta(minutes=2), tick=False)
        assert channels.deliveries_send().sent == 1
        assert channels.deliveries_send().claimed == 0
    assert len(server.messages) == 1
    assert Delivery.objects.get().status == "sent" and Notification.objects.get().emailed_at is not None


# --------------------------------------------------------------------------------------------------------
# Group robots, through HTTP
# --------------------------------------------------------------------------------------------------------


def test_robots_receive_their_documented_formats_and_a_signed_dingtalk_url(world, hooks, robots):
    event(world)
    result = channels.deliveries_send()
    assert result.sent == 2, Delivery.objects.values_list("last_error", flat=True)
    assert robots.problems == []
    by_path = {m["path"]: m["body"] for m in robots.accepted}
    assert "待验单" in by_path["/wecom"]["markdown"]["content"]
    assert "http://127.0.0.1:8000/activities/1/" in by_path["/wecom"]["markdown"]["content"]
    assert "待验单" in by_path["/dingtalk"]["markdown"]["title"]
    dingtalk_request = next(r for r in robots.received if r["path"] == "/dingtalk")
    assert dingtalk_request["query"]["sign"] and dingtalk_request["query"]["timestamp"]
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}
    # the same event announced again posts nothing more
    event(world)
    assert channels.deliveries_send().claimed == 0 and len(robots.accepted) == 2


def test_a_wrong_secret_is_refused_by_the_server(world, hooks, robots):
    hooks[1].secret = "SECwrong"
    hooks[1].save()
    event(world)
    channels.deliveries_send()
    assert robots.problems == ["dingtalk: sign"]
    assert Delivery.objects.get(webhook=hooks[1]).status == "pending"  # an unknown errcode: tried again later


def test_a_long_message_is_cut_to_wecom_s_limit(world, hooks, robots):
    notify(kind="item_due", message="很长的消息" * 200, url="/plans/1/", pairing=world["pairing"])
    channels.deliveries_send()
    assert robots.problems == [] and len(robots.accepted) == 2


def test_a_failing_robot_is_retried_with_backoff_and_sent_exactly_once(world, hooks, robots, time_machine, settings):
    time_machine.move_to(MORNING, tick=False)
    wecom, dingtalk = hooks
    dingtalk.is_active = False
    dingtalk.save()
    event(world)
    robots.script = ["500", ("errcode", 45009)]  # down, then "api freq out of limit" with an HTTP 200
    assert channels.deliveries_send().outcomes == {"retry": 1}
    delivery = Delivery.objects.get(webhook=wecom)
    assert delivery.attempts == 1 and delivery.last_error == "HTTP 500"
    assert delivery.next_attempt_at == MORNING + datetime.timedelta(seconds=settings.DELIVERY_RETRY_SECONDS)
    assert channels.deliveries_send().claimed == 0  # waits for its time

    time_machine.move_to(MORNING + datetime.timedelta(minutes=1), tick=False)
    assert channels.deliveries_send().outcomes == {"retry": 1}
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and "45009" in delivery.last_error
    assert delivery.next_attempt_at == MORNING + datetime.timedelta(minutes=3)  # doubled

    time_machine.move_to(MORNING + datetime.timedelta(minutes=3), tick=False)
    assert channels.deliveries_send().sent == 1
    time_machine.move_to(MORNING + datetime.timedelta(hours=1), tick=False)
    assert channels.deliveries_send().claimed == 0
    assert len(robots.received) == 3 and len(robots.accepted) == 1
    delivery.refresh_from_db()
    assert delivery.status == "sent" and delivery.attempts == 3 and delivery.last_error == ""


def test_after_the_last_attempt_a_message_is_given_up_and_the_admin_may_retry_it(world, hooks, robots, settings,
                                                                                  time_machine, client):
    settings.DELIVERY_MAX_ATTEMPTS = 2
    time_machine.move_to(MORNING, tick=False)
    hooks[1].delete()
    event(world)
    robots.script = ["500", "500"]
    channels.deliveries_send()
    time_machine.move_to(MORNING + datetime.timedelta(hours=1), tick=False)
    assert channels.deliveries_send().outcomes == {"failed": 1}
    delivery = Delivery.objects.get()
    assert delivery.status == "failed" and delivery.next_attempt_at is None

    client.force_login(world["users"]["superuser"])
    response = client.post(reverse("admin:reports_delivery_changelist"),
                           {"action": "retry", "_selected_action": [delivery.pk]}, follow=True)
    assert response.status_code == 200
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.attempts == 0
    assert channels.deliveries_send().sent == 1 and len(robots.accepted) == 1


def test_permanent_errors_are_given_up_at_once(world, hooks, robots):
    hooks[1].delete()
    event(world, 1)
    robots.script = [("errcode", 93000)]  # 企业微信: invalid webhook url
    assert channels.deliveries_send().outcomes == {"failed": 1}
    event(world, 2)
    robots.script = ["redirect"]
    assert channels.deliveries_send().outcomes == {"failed": 1}
    assert [r["path"] for r in robots.received] == ["/wecom", "/wecom"]  # the redirect was not followed
    assert "HTTP 302" in Delivery.objects.get(key__endswith="activity:2:submitted").last_error


def test_the_address_is_checked_again_when_sending(world, hooks, robots, settings):
    event(world)
    settings.WEBHOOK_HOSTS = ["qyapi.weixin.qq.com", "oapi.dingtalk.com"]
    assert channels.deliveries_send().outcomes == {"failed": 2}
    assert robots.received == []
    assert "https://" in Delivery.objects.first().last_error


def test_a_robot_that_hangs_costs_the_timeout_only(world, hooks, robots, settings):
    settings.WEBHOOK_TIMEOUT = 1
    hooks[1].delete()
    event(world)
    robots.script = ["hang"]
    started = time.monotonic()
    assert channels.deliveries_send().outcomes == {"retry": 1}
    assert time.monotonic() - started < 5
    assert "timed out" in Delivery.objects.get().last_error


def test_notify_sends_robot_messages_once_the_event_is_committed(world, hooks, robots, settings,
                                                                  django_capture_on_commit_callbacks):
    settings.DELIVERY_SEND_ON_COMMIT = True
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        with transaction.atomic():
            event(world)
    assert robots.received == []  # nothing leaves before the commit
    for callback in callbacks:
        callback()
    assert len(robots.accepted) == 2


def test_without_a_broker_notify_leaves_the_robots_to_the_sweep(world, hooks, robots,
                                                               django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        event(world)
    assert robots.received == [] and Delivery.objects.filter(status="pending").count() == 2


def test_the_send_digests_command(world, smtp, time_machine):
    from django.core.management import call_command

    time_machine.move_to(MORNING, tick=False)
    event(world)
    call_command("send_digests")
    call_command("send_digests")
    assert len(smtp.messages) == 1


def test_the_digest_task_and_the_outbox_task(world, smtp, time_machine, django_capture_on_commit_callbacks):
    from reports import tasks

    time_machine.move_to(MORNING, tick=False)
    event(world)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.send_digests.delay().get() == 1
    assert len(smtp.messages) == 1
    assert tasks.send_deliveries.delay().get() == 0


@pytest.mark.django_db(transaction=True)
def test_two_senders_at_once_send_a_message_once(world, hooks, robots):
    """PostgreSQL: while one sender holds a message (its robot is slow to answer), a second sender skips it."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL for row locks: set DATABASE_URL=postgres://… (CI runs this)")
    import threading

    hooks[1].delete()
    event(world)
    robots.script = ["hang"]
    results = {}

    def first():
        try:
            results["first"] = channels.deliveries_send()
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    deadline = time.monotonic() + 10
    while not robots.received and time.monotonic() < deadline:
        time.sleep(0.05)
    results["second"] = channels.deliveries_send()  # the row is locked: skipped, not sent again
    robots.release()
    thread.join(30)
    assert results["second"].claimed == 1 and results["second"].sent == 0
    # the hung request is dropped unanswered when released: the first sender's attempt fails and waits
    assert dict(results["first"].outcomes) == {"retry": 1}
    Delivery.objects.update(next_attempt_at=None)
    assert channels.deliveries_send().sent == 1
    assert channels.deliveries_send().claimed == 0
    assert len(robots.received) == 2 and len(robots.accepted) == 1


def test_the_robots_messages_are_all_chinese():
    from django.utils import translation

    with translation.override("zh-hans"):
        wecom = channels.wecom_payload("龙石村：活动待验单", "https://portal.example/activities/1/")
        dingtalk = channels.dingtalk_payload("龙石村：活动待验单", "https://portal.example/activities/1/")
    assert wecom["markdown"]["content"].endswith("[在平台中查看](https://portal.example/activities/1/)")
    assert dingtalk["markdown"]["text"].endswith("[在平台中查看](https://portal.example/activities/1/)")
