"""Run by tests/reports/test_views.py in a process whose CELERY_BROKER_URL points at a dead Redis (not
collected on its own: the file name does not match test_*.py). Each page that enqueues work must answer
within a second with a clear message, and lose nothing: the task waits in the outbox (portal/queue.py)."""

import time

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.urls import reverse

from portal import queue
from portal.models import OutboxMessage
from reports import generation
from reports.models import AnnualExport, Notification, Report

pytestmark = pytest.mark.django_db(transaction=True)  # real commits, so on_commit sends at once
LIMIT = 1.0


@pytest.fixture(autouse=True)
def _broker_tried_afresh():
    queue.mark_up()  # each test pays the first try itself, not only the first of the run


@pytest.fixture(autouse=True)
def _broker_is_dead():
    assert settings.CELERY_BROKER_URL and not settings.CELERY_TASK_ALWAYS_EAGER


@pytest.fixture
def client(client, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the messages checked below are the English originals
    return client


def timed(call):
    start = time.monotonic()
    response = call()
    seconds = time.monotonic() - start
    print(f"{settings.CELERY_BROKER_URL}: {seconds:.3f} s")
    return response, seconds


def test_publish(client, world):
    liaison_user = world["users"]["village"]
    from tests import factories as f

    f.LiaisonFactory(pairing=world["pairing"], user=liaison_user, email="village@example.org")
    # a quarterly report waits for the admin (monthly reminders are published as they are built)
    report, _ = generation.report_generate(kind="quarterly", period="2024Q1", program=world["program"], pairing=world["pairing"])
    client.force_login(world["users"]["admin"])
    client.get(reverse("reports:report_detail", args=[report.pk]))  # the process's first page compiles templates
    response, seconds = timed(lambda: client.post(reverse("reports:report_publish", args=[report.pk])))
    assert seconds < LIMIT, seconds
    assert response.status_code == 302
    text = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert "next daily e-mail" in text  # publishing queues nothing: the digest carries the news
    report.refresh_from_db()
    assert report.status == "published"
    notification = Notification.objects.get(report=report)
    assert notification.emailed_at is None and notification.user == liaison_user


def test_an_event_with_group_robots(world):
    """notify() asks for the robots' messages to be sent at once; the broker being down costs the caller at most
    the publish retry, and the messages wait in the outbox for beat's sweep."""
    from reports.models import Delivery, Webhook
    from reports.notifications import notify

    Webhook.objects.create(kind="wecom", name="村群", pairing=world["pairing"], url="https://qyapi.weixin.qq.com/x?key=k")
    start = time.monotonic()
    notify(kind="activity_to_confirm", message="有一项活动待验单", url="/activities/1/", key="activity:1",
           users=[world["users"]["village"]], pairing=world["pairing"])
    assert time.monotonic() - start < LIMIT
    assert Delivery.objects.get().status == "pending"


def test_generate(client, world):
    client.force_login(world["users"]["admin"])
    response, seconds = timed(
        lambda: client.post(reverse("reports:generate"), {"kind": "monthly", "period": "2024-03", "program": world["program"].pk})
    )
    assert seconds < LIMIT, seconds
    assert response.status_code == 302
    text = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert "starts by itself as soon as the queue is back" in text
    assert not Report.objects.exists()
    kept = OutboxMessage.objects.get()
    assert kept.task == "reports.tasks.generate_reports"
    assert kept.args == ["monthly", "2024-03", [world["program"].pk]] and kept.last_error


def test_export(client, world):
    client.force_login(world["users"]["admin"])
    response, seconds = timed(lambda: client.post(reverse("reports:export_list"), {"program": world["program"].pk, "year": 2024}))
    assert seconds < LIMIT, seconds
    export = AnnualExport.objects.get()
    assert response["Location"] == reverse("reports:export_detail", args=[export.pk])
    assert export.status == "queued"
    text = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert "starts by itself as soon as the queue is back" in text
    assert OutboxMessage.objects.get().args == [export.pk]
