"""The meeting pages: the permission matrix of each (anonymous, outsider, read-only, owner, admin), the form with its
formsets posted as a phone would, errors in Chinese with nothing saved, files served only after the scope check, the
close and reopen forms, and query counts that do not grow with the rows."""

import datetime

import pytest
from django.urls import reverse
from django.utils import translation

from activities import services
from activities.models import ActionItem, Meeting, MeetingAttachment
from tests import factories as f
from tests.activities.images import jpeg_bytes
from tests.meetings.conftest import MEETING_DAY, attendees, fields, items
from tests.pairings.helpers import activity, pdf_bytes

pytestmark = pytest.mark.django_db
LOGIN = "login"


def status(client, user, url, method="get", data=None):
    client.logout()
    if user is not None:
        client.force_login(user)
    response = getattr(client, method)(url, data or {})
    if response.status_code == 302 and response["Location"].startswith(reverse("account_login")):
        return LOGIN
    return response.status_code


# anonymous, outsider, read-only (a plain member of the branch), owner (the village, who owns a decision and speaks
# for its side), admin (the program's)
ROLES = ["anonymous", "outsider", "member", "village", "admin"]


def user_of(cast, role):
    return None if role == "anonymous" else cast[role]


@pytest.mark.parametrize(
    "name, expected",
    [
        ("meeting_list", [LOGIN, 200, 200, 200, 200]),
        ("meeting_create", [LOGIN, 404, 403, 200, 200]),
        ("meeting_detail", [LOGIN, 404, 200, 200, 200]),
        ("meeting_update", [LOGIN, 404, 403, 200, 200]),
        ("meeting_file", [LOGIN, 404, 200, 200, 200]),
        ("meeting_file_thumb", [LOGIN, 404, 200, 200, 200]),
        ("action_item_list", [LOGIN, 200, 200, 200, 200]),
        ("action_item_close", [LOGIN, 404, 403, 200, 200]),
    ],
)
def test_permission_matrix(client, world, cast, meeting, media, name, expected):
    services.meeting_update(
        meeting=meeting, actor=cast["admin"], fields=fields(), attendees=attendees(world),
        new_attachments=[services.NewAttachment(file=services.clean_meeting_upload(_upload("签到表.jpg", jpeg_bytes())), kind="sign_in")],
    )
    village_item = items(meeting)[world["village"].pk]
    photo = meeting.attachments.get()
    urls = {
        "meeting_list": reverse("activities:meeting_list"),
        "meeting_create": reverse("activities:meeting_create") + f"?pairing={world['pairing'].pk}",
        "meeting_detail": reverse("activities:meeting_detail", args=[meeting.pk]),
        "meeting_update": reverse("activities:meeting_update", args=[meeting.pk]),
        "meeting_file": reverse("activities:meeting_file", args=[photo.pk]),
        "meeting_file_thumb": reverse("activities:meeting_file_thumb", args=[photo.pk]),
        "action_item_list": reverse("activities:action_item_list"),
        "action_item_close": reverse("activities:action_item_close", args=[village_item.pk]),
    }
    got = [status(client, user_of(cast, role), urls[name]) for role in ROLES]
    assert got == expected


def test_reopen_is_posted_by_the_owner_or_the_admin(client, world, cast, meeting):
    item = items(meeting)[world["village"].pk]
    url = reverse("activities:action_item_reopen", args=[item.pk])
    services.action_item_close(item=item, status="done", note="已完成", actor=cast["village"])
    assert [status(client, user_of(cast, role), url, "post") for role in ROLES] == [LOGIN, 404, 403, 302, 302]
    item.refresh_from_db()
    assert item.status == "open"  # the village reopened it (the admin found it open: a message, nothing changed)


def test_the_chooser_lists_what_the_user_records(client, world, cast):
    client.force_login(cast["admin"])
    page = client.get(reverse("activities:meeting_create")).content.decode()
    assert f"?pairing={world['pairing'].pk}" in page and f"?program={world['program'].pk}" in page
    client.force_login(cast["member"])
    assert client.get(reverse("activities:meeting_create")).status_code == 403
    client.force_login(cast["committee"])  # not the program's admin: no program-wide meeting
    assert client.get(reverse("activities:meeting_create") + f"?program={world['program'].pk}").status_code == 403
    assert client.get(reverse("activities:meeting_create") + "?pairing=abc").status_code == 404


def _upload(name, content):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)


def management(prefix, total):
    return {f"{prefix}-TOTAL_FORMS": str(total), f"{prefix}-INITIAL_FORMS": "0", f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "200"}


def form_data(world, **extra):
    data = {
        "title": "", "date": MEETING_DAY.isoformat(), "place": "龙石村党群服务中心", "minutes": "共同商讨结对共建的各项工作",
        **management("attendees", 3), **management("decisions", 2),
        "attendees-0-user": str(world["users"]["secretary"].pk), "attendees-0-side": "supporter",
        "attendees-0-organization": str(world["branch"].pk),
        "attendees-1-name": "李国强", "attendees-1-side": "supported", "attendees-1-organization": str(world["village"].pk),
        "attendees-1-title": "党总支副书记",
        "decisions-0-text": "完成沙井盖彩绘", "decisions-0-owner_org": str(world["branch"].pk),
        "decisions-0-owner_user": str(world["users"]["secretary"].pk), "decisions-0-due_date": "2024-04-10",
    }
    data.update(extra)
    return data


def test_the_form_records_a_meeting_with_its_rows_and_files(client, world, cast, media):
    client.force_login(cast["secretary"])
    url = reverse("activities:meeting_create") + f"?pairing={world['pairing'].pk}"
    page = client.get(url)
    assert page.status_code == 200 and page.context["decisions"].total_form_count() >= 1
    data = form_data(world, sign_in_sheet=_upload("签到表.jpg", jpeg_bytes()), files=[_upload("纪要.pdf", pdf_bytes())])
    response = client.post(url, data)
    meeting = Meeting.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("activities:meeting_detail", args=[meeting.pk])
    assert meeting.attendees.count() == 2 and meeting.action_items.get().owner_user == cast["secretary"]
    assert sorted(meeting.attachments.values_list("kind", flat=True)) == ["document", "sign_in"]
    page = client.get(response["Location"]).content.decode()
    assert "完成沙井盖彩绘" in page and "李国强" in page and "党总支副书记" in page


def test_errors_are_shown_in_chinese_and_nothing_is_saved(client, world, cast, media):
    client.force_login(cast["village"])
    url = reverse("activities:meeting_create") + f"?pairing={world['pairing'].pk}"
    foreign = world["other_pairing"].supported
    cases = [
        ({"attendees-0-side": "", "attendees-0-user": "", "attendees-0-organization": ""}, "双方"),  # one side left
        ({"decisions-0-owner_org": str(foreign.pk)}, "选择"),  # an organisation of another pairing
        ({"decisions-0-due_date": "2024-03-01"}, "早于会议日期"),
        ({"files": [_upload("纪要.docx", b"PK\x03\x04" + b"0" * 100)]}, "既不是PDF"),
        ({"date": "2099-01-01"}, "不能晚于今天"),
    ]
    with translation.override("zh-hans"):
        for change, words in cases:
            response = client.post(url, form_data(world, **change), HTTP_ACCEPT_LANGUAGE="zh-hans")
            assert response.status_code == 200, change
            text = response.content.decode().replace("&quot;", '"')
            assert words in text, (change, words)
            assert 'role="alert"' in text
    assert not Meeting.objects.exists() and not ActionItem.objects.exists() and not MeetingAttachment.objects.exists()


def test_editing_keeps_closed_decisions_and_removes_files(client, world, cast, meeting, media):
    services.meeting_update(
        meeting=meeting, actor=cast["admin"], fields=fields(), attendees=attendees(world),
        new_attachments=[services.NewAttachment(file=services.clean_meeting_upload(_upload("纪要.pdf", pdf_bytes())))],
    )
    theirs = items(meeting)[world["village"].pk]
    services.action_item_close(item=theirs, status="done", note="清单已交", actor=cast["village"])
    client.force_login(cast["secretary"])
    url = reverse("activities:meeting_update", args=[meeting.pk])
    page = client.get(url)
    assert page.context["decisions"].initial_form_count() == 1  # the open one; the closed one is shown apart
    mine = items(meeting)[world["branch"].pk]
    data = form_data(world, **management("decisions", 1), **{"decisions-0-item_id": str(mine.pk), "decisions-0-text": "改期完成"})
    data["remove"] = [str(meeting.attachments.get().pk)]
    response = client.post(url, data)
    assert response.status_code == 302, response.context and response.context["form"].errors
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.text == "改期完成" and theirs.status == "done" and not meeting.attachments.exists()


def test_closing_from_the_form_and_the_previous_meetings_follow_up(client, world, cast, meeting):
    done_by = activity(world["pairing"], world["branch"], date=datetime.date(2024, 3, 25), title="小电匠进村")
    mine = items(meeting)[world["branch"].pk]
    client.force_login(cast["secretary"])
    url = reverse("activities:action_item_close", args=[mine.pk])
    page = client.get(url)
    assert done_by in page.context["form"].fields["activity"].queryset
    response = client.post(url, {"status": "done", "activity": str(done_by.pk), "note": ""})
    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.status == "done" and mine.done_by_activity == done_by
    assert client.get(url).status_code == 302  # closed already: back to the meeting
    # the next meeting shows what became of the previous meeting's decisions
    later = services.meeting_create(
        actor=cast["admin"], program=world["program"], pairing=world["pairing"], fields=fields(date=datetime.date(2024, 6, 20)),
        attendees=attendees(world),
    )
    page = client.get(reverse("activities:meeting_detail", args=[later.pk]))
    assert page.context["previous"] == meeting
    text = page.content.decode()
    assert "小电匠进村" in text and "村委会摸排独居老人需求清单" in text


def test_closing_without_a_note_is_refused_in_chinese(client, world, cast, meeting):
    item = items(meeting)[world["village"].pk]
    client.force_login(cast["village"])
    with translation.override("zh-hans"):
        response = client.post(reverse("activities:action_item_close", args=[item.pk]), {"status": "dropped", "note": ""},
                               HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200 and "请说明放弃的原因" in response.content.decode()
    item.refresh_from_db()
    assert item.status == "open"


def test_files_are_served_after_the_scope_check_only(client, world, cast, meeting, media, settings):
    services.meeting_update(
        meeting=meeting, actor=cast["admin"], fields=fields(), attendees=attendees(world),
        new_attachments=[
            services.NewAttachment(file=services.clean_meeting_upload(_upload("a.jpg", jpeg_bytes(gps=True))), kind="sign_in"),
            services.NewAttachment(file=services.clean_meeting_upload(_upload("b.pdf", pdf_bytes()))),
        ],
    )
    photo, document = meeting.attachments.order_by("id")
    client.force_login(cast["village"])
    response = client.get(reverse("activities:meeting_file", args=[document.pk]))
    assert response["Content-Type"] == "application/pdf" and b"".join(response.streaming_content).startswith(b"%PDF-")
    assert client.get(reverse("activities:meeting_file_thumb", args=[photo.pk]))["Content-Type"] == "image/jpeg"
    assert client.get(f"{settings.MEDIA_URL}{document.file.name}").status_code == 404
    client.force_login(cast["outsider"])
    assert client.get(reverse("activities:meeting_file", args=[document.pk])).status_code == 404


def test_the_pairing_page_links_to_its_meetings(client, world, cast, meeting):
    client.force_login(cast["village"])
    page = client.get(reverse("pairings:pairing_detail", args=[world["pairing"].pk])).content.decode()
    assert reverse("activities:meeting_detail", args=[meeting.pk]) in page
    assert f"{reverse('activities:meeting_create')}?pairing={world['pairing'].pk}" in page
    client.force_login(cast["member"])  # reads, does not record
    page = client.get(reverse("pairings:pairing_detail", args=[world["pairing"].pk])).content.decode()
    assert reverse("activities:meeting_detail", args=[meeting.pk]) in page
    assert f"{reverse('activities:meeting_create')}?pairing=" not in page


def test_lists_filter_by_pairing_and_year(client, world, cast, meeting):
    other = f.PairingFactory(program=world["program"], supporter=world["school"])
    f.PairingBranchFactory(pairing=other, branch=world["branch"])
    services.meeting_create(actor=cast["admin"], program=world["program"], pairing=other,
                            fields=fields(date=datetime.date(2023, 5, 1), title="另一结对会议"),
                            attendees=attendees(world)[:1] + [services.AttendeeEntry(side="supported", name="村干部")])
    client.force_login(cast["secretary"])
    url = reverse("activities:meeting_list")
    assert client.get(url).context["page"].paginator.count == 2
    assert list(client.get(url, {"pairing": world["pairing"].pk}).context["page"].object_list) == [meeting]
    assert client.get(url, {"year": "2023"}).context["page"].object_list[0].title == "另一结对会议"
    decisions = client.get(reverse("activities:action_item_list")).context["page"].object_list
    assert [d.owner_org for d in decisions] == [world["branch"]]  # the secretary's own, by default
    everything = client.get(reverse("activities:action_item_list"), {"show": "all", "status": ""}).context["page"]
    assert everything.paginator.count == 2


def grow(world, cast, n):
    for i in range(n):
        day = MEETING_DAY - datetime.timedelta(days=i + 1)
        meeting = services.meeting_create(
            actor=cast["admin"], program=world["program"], pairing=world["pairing"],
            fields=fields(date=day, title=f"会议{i}"), attendees=attendees(world),
            decisions=[
                services.DecisionEntry(text=f"事项{i}", owner_org=world["branch"], due_date=day + datetime.timedelta(days=1)),
                services.DecisionEntry(text=f"村事项{i}", owner_org=world["village"], due_date=datetime.date(2024, 5, 1)),
            ],
        )
        MeetingAttachment.objects.create(meeting=meeting, kind="document", file=f"meetings/{i}.pdf", content_type="application/pdf")


# The session with its user and the header's unread notifications (one query), scope on the first page only (kept
# since, under the set-up's token: portal/permissions.py), then the page's own reads.
QUERIES = {
    # count, whether the user records meetings, the filter's program drop-down, rows (the pairing filter is a picker:
    # portal/widgets.py, no query for a list of pairings)
    "meeting_list": 6,  # and scope
    # the meeting, its attendees, files and decisions, the previous meeting and its decisions, whether the user edits
    # it (a branch secretary: one query; who closes each decision is read from the scope)
    "meeting_detail": 9,  # and (a secretary) whether they may record it as an activity
    "action_item_list": 3,  # count, rows (the pairing filter is a picker: no query for a list of pairings)
}


@pytest.mark.parametrize("rows", [1, 20])
def test_queries_do_not_grow_with_rows(client, world, cast, meeting, rows, django_assert_num_queries):
    grow(world, cast, rows)
    client.force_login(cast["secretary"])
    for name, url in (
        ("meeting_list", reverse("activities:meeting_list")),
        ("meeting_detail", reverse("activities:meeting_detail", args=[meeting.pk])),
        ("action_item_list", reverse("activities:action_item_list") + "?show=all&status="),
    ):
        with django_assert_num_queries(QUERIES[name]):
            assert client.get(url).status_code == 200


def test_a_meeting_is_recorded_as_an_activity_once(client, world, cast, meeting, media):
    """From the meeting's page, the activity form opens filled in from the meeting; saved, it records the meeting."""
    meeting_type = f.ActivityTypeFactory(code="joint-meeting", name="联席会议")
    client.force_login(cast["secretary"])
    detail = client.get(reverse("activities:meeting_detail", args=[meeting.pk])).content.decode()
    link = f"{reverse('activities:create')}?meeting={meeting.pk}"
    assert link in detail
    form = client.get(link).context["form"]
    assert (form.initial["title"], form.initial["date"], form.initial["activity_type"]) == (meeting.title, MEETING_DAY, meeting_type.pk)
    data = {
        "pairing": world["pairing"].pk, "activity_type": meeting_type.pk, "title": meeting.title,
        "date": MEETING_DAY.isoformat(), "place": meeting.place, "description": meeting.minutes, "party_members": "8",
        "teachers": "0", "students": "0", "residents_served": "0", "action": "draft", "meeting": str(meeting.pk),
        "metrics-TOTAL_FORMS": "0", "metrics-INITIAL_FORMS": "0", "hours-TOTAL_FORMS": "0", "hours-INITIAL_FORMS": "0",
    }
    assert client.post(reverse("activities:create"), data).status_code == 302
    meeting.refresh_from_db()
    assert meeting.activity is not None and meeting.activity.party_members == 8
    assert link not in client.get(reverse("activities:meeting_detail", args=[meeting.pk])).content.decode()
    # a second activity from the same link is saved, but the meeting keeps its one
    response = client.post(reverse("activities:create"), {**data, "title": "又一次"}, follow=True)
    assert response.status_code == 200 and meeting.activity.title == meeting.title


def test_the_meeting_form_links_a_joint_meeting_activity(client, world, cast, meeting):
    meeting_type = f.ActivityTypeFactory(code="joint-meeting", name="联席会议")
    recorded = activity(world["pairing"], world["branch"], date=MEETING_DAY, activity_type=meeting_type, title="联席会")
    client.force_login(cast["village"])
    url = reverse("activities:meeting_update", args=[meeting.pk])
    assert recorded in client.get(url).context["form"].fields["activity"].queryset
    data = form_data(world, activity=str(recorded.pk), **management("decisions", 0))
    assert client.post(url, data).status_code == 302
    meeting.refresh_from_db()
    assert meeting.activity == recorded


def test_an_outsider_posting_guessed_ids_gets_404_and_changes_nothing(client, world, cast, meeting):
    item = items(meeting)[world["village"].pk]
    client.force_login(cast["outsider"])
    for url, data in (
        (reverse("activities:action_item_close", args=[item.pk]), {"status": "dropped", "note": "x"}),
        (reverse("activities:action_item_reopen", args=[item.pk]), {}),
        (reverse("activities:meeting_update", args=[meeting.pk]), form_data(world, title="改")),
    ):
        assert client.post(url, data).status_code == 404, url
    item.refresh_from_db()
    meeting.refresh_from_db()
    assert item.status == "open" and meeting.title != "改"
