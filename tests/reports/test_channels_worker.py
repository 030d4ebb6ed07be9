"""The outbox with real workers: a Celery worker process (PostgreSQL + Redis, as tests/reports/test_worker.py) posts
to a group robot that hangs on the first request; the worker is killed with SIGKILL while it waits; its transaction
is rolled back, so the message is still pending; another worker sends it, and the group receives it once.

Skipped (with the reason) without PostgreSQL or Redis; CI's PostgreSQL run has both and allows no skips.
"""

import pytest

from reports.models import Delivery, Notification, Webhook
from reports.notifications import notify
from tests.reports.robots import RobotServer
from tests.reports.test_worker import broker, postgres, send, wait_for, workers  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_a_worker_killed_mid_send_loses_nothing_and_sends_once(world, workers):  # noqa: F811
    with RobotServer() as robots:
        Webhook.objects.create(kind="wecom", name="龙石村结对工作群", pairing=world["pairing"],
                               url=f"{robots.origin}/wecom?key=k")
        notify(kind=Notification.Kind.ACTIVITY_TO_CONFIRM, message="有一项活动待验单", url="/activities/1/",
               key="activity:1:submitted", users=[world["users"]["village"]], pairing=world["pairing"])
        delivery = Delivery.objects.get()
        robots.script = ["hang"]
        env = {"WEBHOOK_HOSTS": robots.origin, "WEBHOOK_TIMEOUT": "60"}

        first = workers.start("first", **env)
        send(workers.broker_url, "reports.tasks.send_deliveries")
        wait_for(lambda: len(robots.received) == 1, 60, "the first worker to post")
        workers.kill(first)
        # its transaction died with it: the row is as it was, pending and never tried
        wait_for(lambda: Delivery.objects.filter(pk=delivery.pk, status="pending", attempts=0).exists(), 20,
                 "the killed worker's transaction to be rolled back")

        workers.start("second", **env)
        send(workers.broker_url, "reports.tasks.send_deliveries")
        wait_for(lambda: Delivery.objects.get(pk=delivery.pk).status == "sent", 60, "the second worker to send")
        send(workers.broker_url, "reports.tasks.send_deliveries")  # the minute's sweep again: nothing more
        send(workers.broker_url, "reports.tasks.send_deliveries", delivery.pk)
        wait_for(lambda: workers.logs().count("outbox:") >= 3, 60, "the sweeps to run")
        robots.release()

        assert len(robots.accepted) == 1, workers.logs()
        assert len(robots.received) == 2  # the one that hung, the one that was answered
        delivery.refresh_from_db()
        assert delivery.attempts == 1 and delivery.sent_at is not None
