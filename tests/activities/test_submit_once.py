"""Never twice (issue 16): the activity form's submit_key saves once per user, whatever reaches the server twice
(a double tap, a retry after a dropped answer, the offline outbox sending again); and a second tap on submit,
confirm or return is answered, never refused with a 403 or a 500. Also the service worker at /sw.js."""

import re
import threading
import time
import uuid

import pytest
from django.contrib.messages import get_messages
from django.db import connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from activities import services
from activities.models import Activity, SubmitKey
from activities.views import SAVED_KEY_COOKIE
from tests import factories as f
from tests.activities.images import jpeg_upload
from tests.activities.test_views import form_data

pytestmark = pytest.mark.django_db
S = Activity.Status
ALREADY_SAVED = "该活动已保存，未重复提交"


@pytest.fixture(autouse=True)
def chinese():
    with translation.override("zh-hans"):
        yield


def notes(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def key_in(response):
    return re.search(r'name="submit_key" value="([0-9a-f-]{36})"', response.content.decode()).group(1)


def test_every_form_carries_a_fresh_key(client, kit):
    client.force_login(kit["users"]["secretary"])
    first, second = (key_in(client.get(reverse("activities:create"))) for _ in range(2))
    assert uuid.UUID(first) and first != second
    activity = f.ActivityFactory(pairing=kit["pairing"], branch=kit["branch"], status=S.DRAFT)
    assert uuid.UUID(key_in(client.get(reverse("activities:update", args=[activity.pk]))))


def test_the_same_key_twice_makes_one_activity(client, kit):
    client.force_login(kit["users"]["secretary"])
    key = str(uuid.uuid4())
    data = form_data(kit, action="submit", submit_key=key)
    first = client.post(reverse("activities:create"), data)
    activity = Activity.objects.get()
    assert first.status_code == 302 and first["Location"] == reverse("activities:detail", args=[activity.pk])
    assert first.cookies[SAVED_KEY_COOKIE].value == key

    again = client.post(reverse("activities:create"), {**data, "new_photos": [jpeg_upload(name="late.jpg")]})
    assert again.status_code == 302 and again["Location"] == reverse("activities:detail", args=[activity.pk])
    assert ALREADY_SAVED in notes(again)
    assert again.cookies[SAVED_KEY_COOKIE].value == key  # the outbox drops its copy on this answer too
    assert Activity.objects.count() == 1 and activity.photos.count() == 0
    assert SubmitKey.objects.get().activity == activity


def test_keys_are_forgotten_after_90_days_and_only_then(client, kit):
    """A form that waited 89 days in a phone's outbox still saves once; the nightly purge forgets older keys."""
    from django.conf import settings

    from activities import tasks

    client.force_login(kit["users"]["secretary"])
    old_key, recent_key = str(uuid.uuid4()), str(uuid.uuid4())
    for key in (old_key, recent_key):
        client.post(reverse("activities:create"), form_data(kit, submit_key=key))
    now = timezone.now()
    SubmitKey.objects.filter(key=old_key).update(created_at=now - timezone.timedelta(days=91))
    SubmitKey.objects.filter(key=recent_key).update(created_at=now - timezone.timedelta(days=89))

    assert tasks.purge_submit_keys.delay().get() == 1
    assert [str(k) for k in SubmitKey.objects.values_list("key", flat=True)] == [recent_key]
    again = client.post(reverse("activities:create"), form_data(kit, submit_key=recent_key))
    assert ALREADY_SAVED in notes(again) and Activity.objects.count() == 2  # still answered "already saved"
    assert services.submit_keys_purge() == 0
    entry = settings.CELERY_BEAT_SCHEDULE["submit-keys-purge"]
    assert entry["task"] == tasks.purge_submit_keys.name and entry["schedule"].hour == {3}  # every night


def test_a_key_is_the_users_own(client, kit):
    """Another user's form with an equal key (they never share one; a crafted POST) is their own save."""
    key = str(uuid.uuid4())
    client.force_login(kit["users"]["secretary"])
    client.post(reverse("activities:create"), form_data(kit, submit_key=key))
    client.force_login(kit["users"]["other_secretary"])
    response = client.post(reverse("activities:create"), form_data(kit, submit_key=key))
    assert response.status_code == 302 and ALREADY_SAVED not in notes(response)
    assert Activity.objects.count() == 2


def test_a_refused_form_keeps_its_key_and_saves_once_corrected(client, kit):
    client.force_login(kit["users"]["secretary"])
    key = str(uuid.uuid4())
    refused = client.post(reverse("activities:create"), form_data(kit, submit_key=key, title=""))
    assert refused.status_code == 200 and key_in(refused) == key
    assert 'data-bound' in refused.content.decode()  # activity-draft.js: this key saved nothing
    assert not SubmitKey.objects.exists()
    # a future date passes the form and is refused by the service: the key's row rolls back with it
    future = (timezone.localdate() + timezone.timedelta(days=3)).isoformat()
    refused = client.post(reverse("activities:create"), form_data(kit, submit_key=key, action="submit", date=future))
    assert refused.status_code == 200 and not SubmitKey.objects.exists() and not Activity.objects.exists()
    saved = client.post(reverse("activities:create"), form_data(kit, submit_key=key))
    assert saved.status_code == 302 and Activity.objects.count() == 1


@pytest.mark.parametrize("bad", ["", "not-a-uuid", "'; drop table x; --"])
def test_a_missing_or_bad_key_still_saves(client, kit, bad):
    client.force_login(kit["users"]["secretary"])
    response = client.post(reverse("activities:create"), form_data(kit, submit_key=bad))
    assert response.status_code == 302 and Activity.objects.count() == 1
    assert not SubmitKey.objects.exists() and SAVED_KEY_COOKIE not in response.cookies


def test_an_edit_sent_twice_after_it_submitted_is_answered_not_refused(client, kit):
    """Saving and submitting a draft closes it to its secretary: the same form again says it was saved."""
    activity = f.ActivityFactory(pairing=kit["pairing"], branch=kit["branch"], activity_type=kit["type"], status=S.DRAFT)
    client.force_login(kit["users"]["secretary"])
    data = form_data(kit, action="submit", submit_key=str(uuid.uuid4()),
                     **{"photos-TOTAL_FORMS": "0", "photos-INITIAL_FORMS": "0"})
    url = reverse("activities:update", args=[activity.pk])
    assert client.post(url, data).status_code == 302
    activity.refresh_from_db()
    assert activity.status == S.SUBMITTED
    submitted_at = activity.submitted_at
    again = client.post(url, data)
    assert again.status_code == 302 and again["Location"] == reverse("activities:detail", args=[activity.pk])
    assert ALREADY_SAVED in notes(again)
    activity.refresh_from_db()
    assert activity.submitted_at == submitted_at
    # a new form (another key) on the closed activity is still refused, as before
    assert client.post(url, {**data, "submit_key": str(uuid.uuid4())}).status_code == 403


def test_a_key_whose_activity_is_gone_leads_to_the_list(client, kit):
    client.force_login(kit["users"]["secretary"])
    key = str(uuid.uuid4())
    client.post(reverse("activities:create"), form_data(kit, submit_key=key))
    Activity.objects.update(deleted_at=timezone.now())
    again = client.post(reverse("activities:create"), form_data(kit, submit_key=key))
    assert again["Location"] == reverse("activities:list") and ALREADY_SAVED in notes(again)
    assert Activity.all_objects.count() == 1


# --- the detail page's buttons, tapped twice ---------------------------------------------------------------


def test_submit_twice(client, kit):
    activity = f.ActivityFactory(pairing=kit["pairing"], branch=kit["branch"], status=S.DRAFT)
    client.force_login(kit["users"]["secretary"])
    url = reverse("activities:submit", args=[activity.pk])
    assert client.post(url).status_code == 302
    again = client.post(url)
    assert again.status_code == 302 and again["Location"] == reverse("activities:detail", args=[activity.pk])
    assert notes(again)[-1] == "该活动已提交。"
    # whoever could not have submitted it is still refused
    client.force_login(kit["users"]["other_secretary"])
    assert client.post(url).status_code == 403


def test_confirm_twice(client, kit):
    activity = f.ActivityFactory(pairing=kit["pairing"], branch=kit["branch"], status=S.SUBMITTED, submitted_at=timezone.now())
    client.force_login(kit["users"]["village"])
    url = reverse("activities:confirm", args=[activity.pk])
    assert client.post(url).status_code == 302
    again = client.post(url)
    assert again.status_code == 302 and notes(again)[-1] == "该活动已确认。"
    activity.refresh_from_db()
    assert activity.status == S.CONFIRMED


def test_return_twice(client, kit):
    activity = f.ActivityFactory(pairing=kit["pairing"], branch=kit["branch"], status=S.SUBMITTED, submitted_at=timezone.now())
    client.force_login(kit["users"]["village"])
    url = reverse("activities:return", args=[activity.pk])
    assert client.post(url, {"comment": "照片不清楚"}).status_code == 302
    again = client.post(url, {"comment": "照片不清楚"})
    assert again.status_code == 302 and notes(again)[-1] == "该活动已退回支部。"
    activity.refresh_from_db()
    assert activity.status == S.RETURNED and activity.return_comment == "照片不清楚"


# --- two requests at once: the unique index decides (PostgreSQL: SQLite runs one writer at a time anyway) ---


@pytest.mark.django_db(transaction=True)
def test_two_requests_at_once_make_one_activity(postgres_only, kit):
    """The second request's claim of the key waits on the unique index while the first saves, then finds the
    activity the first made. Two real connections (threads), the first held open mid-save."""
    key = str(uuid.uuid4())
    data = form_data(kit, action="submit", submit_key=key)
    secretary = kit["users"]["secretary"]
    claimed, go_on = threading.Event(), threading.Event()
    real = services.activity_create
    answers = {}

    def slow_create(**kwargs):
        claimed.set()
        go_on.wait(10)
        return real(**kwargs)

    def post(name):
        try:
            client = Client()
            client.force_login(secretary)
            answers[name] = client.post(reverse("activities:create"), data)
        finally:
            connections.close_all()

    services.activity_create = slow_create
    try:
        first = threading.Thread(target=post, args=("first",))
        first.start()
        assert claimed.wait(10)
        services.activity_create = real  # the second request saves at full speed, and must wait anyway
        second = threading.Thread(target=post, args=("second",))
        second.start()
        time.sleep(0.5)
        assert second.is_alive(), "the second request should wait on the first one's key"
        go_on.set()
        first.join(20)
        second.join(20)
    finally:
        services.activity_create = real
    activity = Activity.objects.get()
    assert answers["first"].status_code == 302 and answers["second"].status_code == 302
    assert answers["second"]["Location"] == reverse("activities:detail", args=[activity.pk])
    assert SubmitKey.objects.get().activity == activity


# --- the service worker ------------------------------------------------------------------------------------


def test_service_worker(client, kit, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    assert response["Cache-Control"] == "no-cache"
    body = response.content.decode()
    assert '["/activities/new/"]' in body
    for asset in ("/static/css/portal.css", "/static/js/outbox.js", "/static/css/activities.css",
                  "/static/js/activity-draft.js"):
        assert f'"{asset}"' in body
    assert "http://" not in body.replace("http://www", "") and "https://" not in body  # nothing from other hosts
    client.force_login(kit["users"]["secretary"])
    with django_assert_num_queries(1):  # the session with its user (the MFA rule asks who it is), nothing else
        assert client.get("/sw.js").content.decode() == body  # the same for everyone
