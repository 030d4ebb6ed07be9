"""notify(): one event, one row per person and one post per group robot, however often it is announced."""

from reports.models import Delivery, Notification, Webhook
from reports.notifications import notify


def test_one_row_per_person_and_robot_and_the_same_event_twice_adds_nothing(world):
    users = world["users"]
    pairing = world["pairing"]
    pairing_hook = Webhook.objects.create(kind="wecom", name="村群", pairing=pairing, url="https://qyapi.weixin.qq.com/x")
    program_hook = Webhook.objects.create(kind="dingtalk", name="项目群", program=world["program"],
                                          url="https://oapi.dingtalk.com/robot/send?access_token=t")
    Webhook.objects.create(kind="wecom", name="别的群", pairing=world["other_pairing"], url="https://qyapi.weixin.qq.com/y")
    Webhook.objects.create(kind="wecom", name="停用", pairing=pairing, url="https://qyapi.weixin.qq.com/z",
                           is_active=False)

    for _ in range(2):
        notify(kind=Notification.Kind.ACTIVITY_TO_CONFIRM, message="有一项活动待验单", url="/activities/1/",
               key="activity:1:submitted:1", users=[users["village"], users["village"]],
               emails=["cadre@example.com", users["village"].email], pairing=pairing)

    rows = Notification.objects.order_by("id")
    assert [(n.user, n.email) for n in rows] == [(users["village"], ""), (None, "cadre@example.com")]
    assert {n.url for n in rows} == {"/activities/1/"}
    assert set(Delivery.objects.values_list("webhook_id", flat=True)) == {pairing_hook.pk, program_hook.pk}
    assert Delivery.objects.count() == 2


def test_without_a_key_every_call_is_an_event(world):
    village = world["users"]["village"]
    village.is_active = False
    village.save()
    assert notify(kind="item_due", message="x", users=[village]) == 0
    secretary = world["users"]["secretary"]
    notify(kind="item_due", message="x", users=[secretary])
    notify(kind="item_due", message="x", users=[secretary])
    assert Notification.objects.filter(user=secretary).count() == 2
