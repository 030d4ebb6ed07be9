"""The notification centre (unread count in every page's header, the list, mark read), one's preferences, and the
group robots pages of program admins (bad addresses refused in Chinese, the secret never shown back)."""

import pytest
from django.urls import reverse

from reports.models import Notification, Preference, Webhook
from reports.notifications import notify
from tests.reports.robots import RobotServer

ROBOT = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
DING = "https://oapi.dingtalk.com/robot/send?access_token=abcdef0123"
SECRET = "SECa1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2"


def events(user, n, start=0):
    for i in range(start, start + n):
        notify(kind=Notification.Kind.ACTIVITY_RETURNED, message=f"活动“走访{i}”被退回", url=f"/activities/{i}/",
               key=f"activity:{i}:returned", users=[user])


def test_the_header_badge_stops_counting_at_99_plus(client, world):
    """Years of unread notices: the badge says 99+, and its query counts at most 100 rows (LIMIT), not all."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    village = world["users"]["village"]
    events(village, 120)
    client.force_login(village)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("home")).content.decode()
    assert '<span class="count" title="未读">99+</span>' in page
    counts = [q["sql"] for q in queries.captured_queries if "reports_notification" in q["sql"] and "COUNT(" in q["sql"].upper()]
    assert len(counts) == 1 and "LIMIT 100" in counts[0]
    Notification.objects.filter(user=village, pk__in=Notification.objects.filter(user=village).values("pk")[:21]).update(read_at="2026-12-05T00:00:00Z")
    assert '<span class="count" title="未读">99</span>' in client.get(reverse("home")).content.decode()


def test_the_header_shows_the_unread_count_on_every_page(client, world):
    village = world["users"]["village"]
    events(village, 3)
    client.force_login(village)
    for name in ("home", "reports:report_list", "activities:list"):
        page = client.get(reverse(name)).content.decode()
        assert '<span class="count" title="未读">3</span>' in page, name
    Notification.objects.filter(user=village).update(read_at="2026-12-05T00:00:00Z")
    assert 'class="count"' not in client.get(reverse("home")).content.decode()
    client.logout()
    assert "通知" not in client.get(reverse("account_login")).content.decode()


def test_the_list_marks_read_and_filters(client, world):
    village = world["users"]["village"]
    events(village, 3)
    notify(kind="need_claimed", message="微心愿已被认领", url="/needs/1/", key="need:1", users=[world["users"]["secretary"]])
    client.force_login(village)
    page = client.get(reverse("reports:notification_list")).content.decode()
    assert page.count('class="unread"') == 3 and "活动被退回" in page  # the kind's label
    assert "微心愿已被认领" not in page  # someone else's

    first, second, third = Notification.objects.filter(user=village).order_by("id")
    response = client.post(reverse("reports:notification_read", args=[first.pk]), {"show": "unread"})
    assert response.status_code == 302 and response["Location"].endswith("?show=unread")
    first.refresh_from_db()
    assert first.read_at is not None
    page = client.get(reverse("reports:notification_list") + "?show=unread").content.decode()
    assert "走访0" not in page and "走访1" in page
    page = client.get(reverse("reports:notification_list")).content.decode()
    assert page.index("走访2") < page.index("走访0")  # unread first

    # opening marks read and goes where it is done
    response = client.get(reverse("reports:notification_open", args=[second.pk]))
    assert response["Location"] == "/activities/1/"
    client.post(reverse("reports:notification_read_all"))
    assert not Notification.objects.filter(user=village, read_at__isnull=True).exists()
    # someone else's notification: not found
    other = Notification.objects.get(user=world["users"]["secretary"])
    assert client.post(reverse("reports:notification_read", args=[other.pk])).status_code == 404
    assert Notification.objects.get(pk=other.pk).read_at is None


@pytest.mark.parametrize("rows", [2, 20])
def test_the_list_costs_the_same_whatever_it_holds(client, world, rows, django_assert_num_queries):
    village = world["users"]["village"]
    events(village, rows)
    client.force_login(village)
    client.get(reverse("reports:notification_list"))
    # the session with its user and the header's unread count, count for the pager, the page's rows (the user's reach,
    # for the menu's set-up pages, is kept since the first page)
    with django_assert_num_queries(3):
        assert client.get(reverse("reports:notification_list")).status_code == 200


def test_preferences_switch_the_digest_and_list_the_groups(client, world):
    village = world["users"]["village"]
    Webhook.objects.create(kind="wecom", name="龙石村结对工作群", pairing=world["pairing"], url=ROBOT)
    Webhook.objects.create(kind="wecom", name="田心村群", pairing=world["other_pairing"], url=ROBOT)
    client.force_login(village)
    page = client.get(reverse("reports:preferences")).content.decode()
    assert village.email in page and "龙石村结对工作群" in page and "田心村群" not in page
    assert client.post(reverse("reports:preferences"), {}).status_code == 302  # the box unticked
    assert Preference.objects.get(user=village).email_digest is False
    client.post(reverse("reports:preferences"), {"email_digest": "on"})
    assert Preference.objects.get(user=village).email_digest is True


@pytest.mark.parametrize("rows", [1, 10])
def test_preferences_cost_the_same_whatever_the_groups(client, world, rows, django_assert_num_queries):
    for i in range(rows):
        Webhook.objects.create(kind="wecom", name=f"群{i}", pairing=world["pairing"], url=ROBOT)
    client.force_login(world["users"]["village"])
    client.get(reverse("reports:preferences"))
    with django_assert_num_queries(3):  # the session (with unread count), and the page's two (scope: kept)
        client.get(reverse("reports:preferences"))


def robot_form(**overrides):
    return {"kind": "wecom", "name": "龙石村结对工作群", "program": "", "pairing": "", "url": ROBOT, "secret": "", **overrides}


@pytest.mark.parametrize("url, message", [
    ("http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", "必须以 https:// 开头"),
    ("https://evil.example.com/cgi-bin/webhook/send?key=k", "只能使用企业微信和钉钉的群机器人"),
    ("https://10.0.0.5/cgi-bin/webhook/send?key=k", "只能使用企业微信和钉钉的群机器人"),
    ("https://127.0.0.1:8000/cgi-bin/webhook/send?key=k", "只能使用企业微信和钉钉的群机器人"),
    ("https://qyapi.weixin.qq.com.evil.example/send?key=k", "只能使用企业微信和钉钉的群机器人"),
    ("https://user:pw@qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", "不能包含用户名或密码"),
    ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send", "以 ?key=… 结尾"),
    ("javascript:alert(1)", "有效的 URL"),
])
def test_bad_robot_addresses_are_refused_in_chinese(client, world, url, message):
    client.force_login(world["users"]["admin"])
    response = client.post(reverse("reports:webhook_create"), robot_form(pairing=world["pairing"].pk, url=url))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Webhook.objects.exists()


def test_a_robot_is_for_a_program_or_a_pairing_of_one_s_own(client, world):
    client.force_login(world["users"]["admin"])
    both = client.post(reverse("reports:webhook_create"),
                       robot_form(program=world["program"].pk, pairing=world["pairing"].pk))
    assert both.status_code == 400 and "二选一" in both.content.decode()
    foreign = client.post(reverse("reports:webhook_create"), robot_form(pairing=world["other_pairing"].pk))
    assert foreign.status_code == 400
    assert not Webhook.objects.exists()


def test_admin_creates_edits_tests_and_switches_off_a_robot_without_seeing_the_secret(client, world, settings):
    admin = world["users"]["admin"]
    client.force_login(admin)
    response = client.post(reverse("reports:webhook_create"), robot_form(
        kind="dingtalk", name="双联双助项目群", program=world["program"].pk, url=DING, secret=SECRET))
    assert response.status_code == 302
    robot = Webhook.objects.get()
    assert robot.secret == SECRET and robot.created_by == admin
    for url in (reverse("reports:webhook_update", args=[robot.pk]), reverse("reports:webhook_list")):
        page = client.get(url).content.decode()
        assert SECRET not in page and "SEC…b2" in page
    assert "abcdef0123" not in client.get(reverse("reports:webhook_list")).content.decode()  # the token too

    # an edit that leaves the secret empty keeps it
    client.post(reverse("reports:webhook_update", args=[robot.pk]), robot_form(
        kind="dingtalk", name="项目群", program=world["program"].pk, url=DING, secret=""))
    robot.refresh_from_db()
    assert robot.name == "项目群" and robot.secret == SECRET

    with RobotServer(dingtalk_secret=SECRET) as server:
        settings.WEBHOOK_HOSTS = [server.origin]
        Webhook.objects.filter(pk=robot.pk).update(url=f"{server.origin}/dingtalk?access_token=abc")
        page = client.post(reverse("reports:webhook_test", args=[robot.pk]), follow=True).content.decode()
        assert "测试消息已被接收" in page
        server.script = [("errcode", 310000)]
        page = client.post(reverse("reports:webhook_test", args=[robot.pk]), follow=True).content.decode()
        assert "测试消息未被接收" in page and "310000" in page
    assert len(server.accepted) == 1 and server.problems == []

    client.post(reverse("reports:webhook_deactivate", args=[robot.pk]))
    robot.refresh_from_db()
    assert robot.is_active is False
    client.post(reverse("reports:webhook_deactivate", args=[robot.pk]), {"active": "1"})
    robot.refresh_from_db()
    assert robot.is_active is True


@pytest.mark.parametrize("role", ["committee", "secretary", "village", "outsider"])
def test_only_program_admins_touch_robots(client, world, role):
    robot = Webhook.objects.create(kind="wecom", name="群", pairing=world["pairing"], url=ROBOT)
    client.force_login(world["users"][role])
    assert client.get(reverse("reports:webhook_list")).status_code == 403
    assert client.post(reverse("reports:webhook_create"), robot_form(pairing=world["pairing"].pk)).status_code == 403
    for name in ("webhook_update", "webhook_deactivate", "webhook_test"):
        assert client.post(reverse(f"reports:{name}", args=[robot.pk]), robot_form()).status_code == 404
    robot.refresh_from_db()
    assert robot.is_active and robot.name == "群"


@pytest.mark.parametrize("rows", [1, 12])
def test_the_robot_list_costs_the_same_whatever_it_holds(client, world, rows, django_assert_num_queries):
    for i in range(rows):
        Webhook.objects.create(kind="wecom", name=f"群{i}", pairing=world["pairing"], url=ROBOT)
        Webhook.objects.create(kind="wecom", name=f"项目群{i}", program=world["program"], url=ROBOT)
    client.force_login(world["users"]["admin"])
    client.get(reverse("reports:webhook_list"))
    # the session with its user and the header's unread count, "administers a program", the robots' count and rows (the
    # user's scope is kept since the first page)
    with django_assert_num_queries(4):
        client.get(reverse("reports:webhook_list"))
