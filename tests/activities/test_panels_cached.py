"""The pairing page's recent activities, open needs and joint meetings are cached (activities/panels.py) until an
activity, need, meeting or decision is written: a page after each kind of write shows it at once, the cached lists
are the same as the database's, and one user's drafts never reach another's page through the cache."""

import datetime

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from activities import services
from activities.models import ActionItem, Activity, Need
from tests import factories as f
from tests.pairings.helpers import activity, panel_context

pytestmark = pytest.mark.django_db
RECENT = "activities/panels/pairing_recent.html"
NEEDS = "activities/panels/pairing_needs.html"
MEETINGS = "activities/panels/pairing_meetings.html"


def page(client, user, pairing):
    client.force_login(user)
    response = client.get(reverse("pairings:pairing_detail", args=[pairing.pk]), {"year": 2024})
    assert response.status_code == 200
    return response


def recent_titles(client, user, pairing):
    return [a.title for a in panel_context(page(client, user, pairing), RECENT)["activities"]]


def open_needs(client, user, pairing):
    shown = panel_context(page(client, user, pairing), NEEDS)
    return [n.title for n in shown["needs"]], shown["count"]


def activity_fields(world, **values):
    values = {"activity_type": f.ActivityTypeFactory(), "title": "义诊", "date": datetime.date(2024, 3, 5), **values}
    return services.ActivityFields(pairing=world["pairing"], **values)


def test_recent_activities_follow_every_write(client, world, django_capture_on_commit_callbacks):
    pairing, secretary, admin, village = world["pairing"], world["users"]["secretary"], world["users"]["admin"], world["users"]["village"]
    assert recent_titles(client, secretary, pairing) == []
    with django_capture_on_commit_callbacks(execute=True):
        draft = services.activity_create(actor=secretary, fields=activity_fields(world)).activity
    assert recent_titles(client, secretary, pairing) == ["义诊"]
    assert recent_titles(client, village, pairing) == []  # a draft: the supporting side's only
    with django_capture_on_commit_callbacks(execute=True):
        services.activity_update(activity=draft, actor=secretary, fields=activity_fields(world, title="义诊（改）"), submit=True)
    assert recent_titles(client, village, pairing) == ["义诊（改）"]
    assert "义诊（改）" in page(client, village, pairing).content.decode()  # the card's HTML, cached with its rows
    draft.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        services.activity_return(activity=draft, actor=village, comment="请补照片")
    shown = panel_context(page(client, village, pairing), RECENT)["activities"]
    assert [a.status for a in shown] == [Activity.Status.RETURNED]
    with django_capture_on_commit_callbacks(execute=True):
        services.activity_delete(activity=draft, actor=secretary)
    assert recent_titles(client, secretary, pairing) == recent_titles(client, admin, pairing) == []
    with django_capture_on_commit_callbacks(execute=True):
        services.activity_restore(activity=draft, actor=admin)
    assert recent_titles(client, secretary, pairing) == ["义诊（改）"]
    with django_capture_on_commit_callbacks(execute=True):
        Activity.all_objects.get(pk=draft.pk).delete()  # removed for good (the admin, a ledger import undone)
    assert recent_titles(client, admin, pairing) == []


def test_recent_activities_show_a_ledger_import_at_once(client, world, django_capture_on_commit_callbacks):
    pairing, admin = world["pairing"], world["users"]["admin"]
    entry = services.ImportEntry(fields=activity_fields(world, title="台账活动"), branch=world["branch"], row=2)
    assert recent_titles(client, admin, pairing) == []
    with django_capture_on_commit_callbacks(execute=True):
        services.activities_import(actor=admin, entries=[entry])  # bulk inserts: no post_save
    assert recent_titles(client, admin, pairing) == ["台账活动"]


def test_cached_recent_activities_keep_each_users_drafts_apart(client, world):
    pairing = world["pairing"]
    activity(pairing, world["branch"], title="已确认", date=datetime.date(2024, 3, 1))
    activity(pairing, world["branch"], status="draft", title="本支部草稿", date=datetime.date(2024, 3, 2))
    activity(pairing, world["other_branch"], status="draft", title="兄弟支部草稿", date=datetime.date(2024, 3, 3))
    roles = ("admin", "secretary", "village", "other_secretary", "committee", "superuser", "secretary", "village")
    for role in roles:  # the same lists whichever user's page filled the cache first, and on a second look
        user = world["users"][role]
        expected = list(pairing.activities.visible_to(user).order_by("-date", "-id").values_list("title", flat=True))
        assert recent_titles(client, user, pairing) == expected, role
    assert recent_titles(client, world["users"]["village"], pairing) == ["已确认"]


def test_open_needs_follow_every_write(client, world, django_capture_on_commit_callbacks):
    pairing, village, secretary = world["pairing"], world["users"]["village"], world["users"]["secretary"]
    assert open_needs(client, village, pairing) == ([], 0)
    with django_capture_on_commit_callbacks(execute=True):
        need = services.need_raise(actor=village, pairing=pairing, title="图书角")
    assert open_needs(client, secretary, pairing) == (["图书角"], 1)
    assert "图书角" in page(client, secretary, pairing).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        services.need_claim(need=need, actor=secretary)  # a conditional QuerySet update, then a save
    assert open_needs(client, village, pairing) == ([], 0)
    with django_capture_on_commit_callbacks(execute=True):
        Need.all_objects.filter(pk=need.pk).update(status=Need.Status.OPEN)
        Need.all_objects.get(pk=need.pk).save()
    assert open_needs(client, village, pairing) == (["图书角"], 1)
    with django_capture_on_commit_callbacks(execute=True):
        Need.all_objects.get(pk=need.pk).delete()
    assert open_needs(client, village, pairing) == ([], 0)


def test_meetings_and_their_open_decisions_follow_every_write(client, world, django_capture_on_commit_callbacks):
    pairing, village, admin = world["pairing"], world["users"]["village"], world["users"]["admin"]

    def shown():
        panel = panel_context(page(client, village, pairing), MEETINGS)
        return [m.title for m in panel["meetings"]], panel["open"], panel["overdue"]

    with time_machine.travel(datetime.datetime(2024, 4, 30, 12), tick=False):
        assert shown() == ([], 0, 0)
        meeting = f.MeetingFactory(pairing=pairing, title="一季度联席会议")
        assert shown() == (["一季度联席会议"], 0, 0)
        item = f.ActionItemFactory(meeting=meeting, due_date=datetime.date(2024, 4, 30))
        assert shown() == (["一季度联席会议"], 1, 0)
        meeting.title = "一季度联席会议（补）"
        meeting.save()
        assert shown() == (["一季度联席会议（补）"], 1, 0)
    with time_machine.travel(datetime.datetime(2024, 5, 1, 12), tick=False):
        assert shown() == (["一季度联席会议（补）"], 1, 1)  # a day later the decision is overdue
        with django_capture_on_commit_callbacks(execute=True):
            services.action_item_close(item=item, status=ActionItem.Status.DROPPED, actor=admin, note="不再需要")
        assert shown() == (["一季度联席会议（补）"], 0, 0)
        ActionItem.objects.get(pk=item.pk).delete()
        meeting.delete()
        assert shown() == ([], 0, 0)


def test_the_cached_panels_run_no_query(client, world):
    pairing, committee = world["pairing"], world["users"]["committee"]
    activity(pairing, world["branch"], title="已确认")
    f.NeedFactory(pairing=pairing)
    f.ActionItemFactory(meeting=f.MeetingFactory(pairing=pairing))
    page(client, committee, pairing)
    with CaptureQueriesContext(connection) as captured:
        page(client, committee, pairing)
    tables = " ".join(q["sql"] for q in captured.captured_queries)
    assert not any(name in tables for name in ("activities_activity", "activities_need", "activities_meeting"))


def test_each_language_gets_its_own_cards(client, world):
    pairing = world["pairing"]
    activity(pairing, world["branch"], title="已确认")
    f.NeedFactory(pairing=pairing, title="图书角")
    client.force_login(world["users"]["village"])
    url = reverse("pairings:pairing_detail", args=[pairing.pk])
    def in_language(code):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = code
        return client.get(url, {"year": 2024}).content.decode()

    for _ in range(2):  # built, then from the cache
        chinese, english = in_language("zh-hans"), in_language("en")
        assert "近期活动" in chinese and "Recent activities" not in chinese
        assert "Recent activities" in english and "近期活动" not in english
        assert "Open needs" in english and "Figures for 2024" in english and "已确认" in english
