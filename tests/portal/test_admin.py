"""The Django admin: every registered model's pages open, searches work, lists don't grow their queries."""

import datetime

import factory
import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from activities.models import Activity, ActivityPhoto, ActivityType, MeetingAttachment, Need
from pairings.models import Pairing
from portal.models import OutboxMessage
from reports.models import AnnualExport, Delivery, Notification, Report
from tests import factories as f

pytestmark = pytest.mark.django_db

REGISTERED = sorted(admin.site._registry, key=lambda model: model._meta.label)
OURS = [m for m in REGISTERED if m._meta.app_label in {"portal", "pairings", "volunteers", "activities", "reports"}]
# Photos are uploaded through the portal, which strips EXIF and re-encodes them: the admin can't add them.
# The notification outbox is made by events and kept as the record of what was sent: read only.
# Tasks kept while the broker was away (portal/queue.py) are sent by beat, never written by hand.
NO_ADD = {ActivityPhoto, Delivery, MeetingAttachment, OutboxMessage}


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def every_model(world, settings, tmp_path):
    """At least one row of every registered model, around the world's 双联双助 pairing with 龙石村."""
    settings.MEDIA_ROOT = tmp_path
    pairing, branch = world["pairing"], world["branch"]
    metric = f.MetricFactory(program=world["program"], name="维修家电")
    f.LiaisonFactory(pairing=pairing, name="龙石村联络员", user=world["users"]["village"])
    item = f.PlanItemFactory(plan__pairing=pairing, owner_branch=branch)
    f.PlanTargetFactory(item=item, metric=metric)
    need = f.NeedFactory(pairing=pairing, title="龙石村小学修课桌")
    activity = f.ActivityFactory(pairing=pairing, branch=branch, plan_item=item, need=need, title="家电维修进龙石")
    activity.co_branches.add(world["other_branch"])
    f.ActivityMetricValueFactory(activity=activity, metric=metric)
    f.ActivityPhotoFactory(activity=activity)
    record = f.ServiceRecordFactory(activity=activity, recorded_by=world["users"]["secretary"])
    team = f.TeamFactory(organization=branch, leader=record.volunteer)
    team.members.add(record.volunteer)
    f.ServiceOfferingFactory(team=team, name="家电维修")
    f.VillageStatisticFactory(village=world["village"], source="龙石村2023年统计年报")
    meeting = f.MeetingFactory(pairing=pairing, title="龙石村联席会议")
    f.MeetingAttendeeFactory(meeting=meeting)
    f.MeetingAttachmentFactory(meeting=meeting)
    f.ActionItemFactory(meeting=meeting)
    report = f.ReportFactory(program=world["program"], pairing=pairing, data={"活动": {"场次": 1}, "村": "龙石村"})
    Notification.objects.create(report=report, user=world["users"]["village"], message="龙石村的月报已发布")
    AnnualExport.objects.create(program=world["program"], year=2024, requested_by=world["users"]["admin"])
    f.DeliveryFactory(webhook=f.WebhookFactory(pairing=pairing, program=None, name="龙石村结对工作群"))
    f.PreferenceFactory(user=world["users"]["village"])
    Group.objects.create(name="项目管理员")
    OutboxMessage.objects.create(task="portal.ledger_check", args=[1], last_error="ConnectionError")
    EmailAddress.objects.create(user=world["users"]["admin"], email="admin@example.org", primary=True)
    Authenticator.objects.create(user=world["users"]["admin"], type=Authenticator.Type.RECOVERY_CODES, data={})
    for model in REGISTERED:
        assert model._default_manager.exists(), model
    return world


@pytest.fixture
def root_client(client, every_model):
    client.force_login(every_model["users"]["superuser"])
    return client


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label)
def test_every_admin_page_opens(root_client, model):
    obj = model._default_manager.order_by("pk").first()
    assert root_client.get(admin_url(model, "changelist")).status_code == 200
    assert root_client.get(admin_url(model, "add")).status_code == (403 if model in NO_ADD else 200)
    response = root_client.get(admin_url(model, "change", obj.pk))
    assert response.status_code == 200
    assert response.context["original"] == obj
    assert root_client.get(admin_url(model, "history", obj.pk)).status_code == 200


@pytest.mark.parametrize("model", OURS, ids=lambda model: model._meta.label)
def test_every_changelist_searches_in_chinese(root_client, model):
    assert admin.site._registry[model].search_fields, "an admin without a search box"
    response = root_client.get(admin_url(model, "changelist"), {"q": "龙石"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("model", "found"),
    [
        (Pairing, "龙石村"),
        (Activity, "家电维修进龙石"),
        (Need, "龙石村小学修课桌"),
        (Report, "龙石村"),
    ],
)
def test_search_finds_rows_by_the_village_name(root_client, model, found):
    response = root_client.get(admin_url(model, "changelist"), {"q": "龙石"})
    assert response.context["cl"].result_count >= 1
    assert found in response.content.decode()


def test_history_page_shows_who_changed_what(root_client, every_model):
    village = every_model["village"]
    response = root_client.post(
        admin_url(type(village), "change", village.pk),
        {
            "name": village.name, "short_name": "龙石", "kind": village.kind, "is_active": "on",
            "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    latest = village.history.latest()
    assert latest.history_user == every_model["users"]["superuser"]
    page = root_client.get(admin_url(type(village), "history", village.pk)).content.decode()
    assert "龙石" in page and str(every_model["users"]["superuser"]) in page


def test_soft_deleted_activities_show_in_the_admin_and_can_be_restored(root_client):
    activity = Activity.objects.get()
    activity.deleted_at = timezone.now()
    activity.save()
    response = root_client.get(admin_url(Activity, "changelist"), {"deleted_at__isempty": "0"})
    assert list(response.context["cl"].result_list) == [activity]
    response = root_client.post(
        admin_url(Activity, "changelist"), {"action": "restore", "_selected_action": [activity.pk]}
    )
    assert response.status_code == 302
    assert Activity.objects.filter(pk=activity.pk).exists()


def test_published_report_is_read_only_and_data_is_never_editable(root_client):
    report = Report.objects.get()
    page = root_client.get(admin_url(Report, "change", report.pk)).content.decode()
    assert 'name="notes"' in page and 'name="data"' not in page
    assert "龙石村" in page  # the snapshot, shown read-only
    report.status, report.published_at = Report.Status.PUBLISHED, timezone.now()
    report.save()
    page = root_client.get(admin_url(Report, "change", report.pk)).content.decode()
    assert 'name="notes"' not in page and 'name="status"' not in page


def test_pairing_agreement_must_be_a_pdf(root_client, every_model):
    def post(upload):
        return root_client.post(
            admin_url(Pairing, "add"),
            {
                "program": every_model["program"].pk, "supporter": every_model["school"].pk,
                "supported": every_model["other_pairing"].supported.pk, "status": "active",
                "term_start": "2024-01-01", "agreement_file": upload,
                "pairing_branches-TOTAL_FORMS": "0", "pairing_branches-INITIAL_FORMS": "0",
                "liaisons-TOTAL_FORMS": "0", "liaisons-INITIAL_FORMS": "0",
            },
        )

    response = post(SimpleUploadedFile("协议书.pdf", b"<html>not a pdf</html>"))
    assert response.status_code == 200
    assert "agreement_file" in response.context["adminform"].form.errors
    assert Pairing.objects.count() == 2
    assert post(SimpleUploadedFile("协议书.pdf", b"%PDF-1.7\n%%EOF\n")).status_code == 302
    assert Pairing.objects.count() == 3


def test_new_activity_records_who_created_it(root_client, every_model):
    response = root_client.post(
        admin_url(Activity, "add"),
        {
            "pairing": every_model["pairing"].pk, "branch": every_model["branch"].pk,
            "activity_type": Activity.objects.get().activity_type_id, "title": "主题党日", "date": "2024-04-01",
            "party_members": "3", "teachers": "0", "students": "0", "residents_served": "0", "status": "draft",
            **{f"{prefix}-{key}": "0" for prefix in ("metric_values", "service_records", "photos")
               for key in ("TOTAL_FORMS", "INITIAL_FORMS")},
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Activity.objects.get(title="主题党日").created_by == every_model["users"]["superuser"]


def test_invite_action_sends_the_email(root_client, every_model, django_capture_on_commit_callbacks):
    user = every_model["users"]["village"]
    User = type(user)
    with django_capture_on_commit_callbacks(execute=True):
        response = root_client.post(
            admin_url(User, "changelist"), {"action": "invite", "_selected_action": [user.pk]}
        )
    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [[user.email]]


# --- Query counts: a changelist's queries don't grow with its rows (DESIGN.md, quality bars).

def changelist_queries(client, model):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(admin_url(model, "changelist"))
    assert response.status_code == 200
    return len(queries), response.context["cl"].result_count


@pytest.mark.parametrize("model", OURS, ids=lambda model: model._meta.label)
def test_changelist_queries_do_not_grow_with_rows(client, settings, tmp_path, model):
    settings.MEDIA_ROOT = tmp_path
    make = getattr(f, f"{model.__name__}Factory")
    # ActivityTypeFactory is get-or-create by code: give each row its own.
    unique = {"code": factory.Sequence(lambda n: f"type-{n}"), "name": factory.Sequence(lambda n: f"类型{n}")}
    kwargs = unique if model is ActivityType else {}
    client.force_login(f.UserFactory(username="root", is_staff=True, is_superuser=True))
    make(**kwargs)
    few, rows_before = changelist_queries(client, model)
    make.create_batch(19, **kwargs)
    many, rows_after = changelist_queries(client, model)
    assert rows_after - rows_before == 19
    assert many == few, f"{model._meta.label}: {few} queries for {rows_before} rows, {many} for {rows_after}"


def test_activity_changelist_query_count(client, world, django_assert_max_num_queries):
    """The one the brief pins by name: 1 and 20 activities cost the same, and a small fixed number."""
    client.force_login(world["users"]["superuser"])
    f.ActivityFactory(pairing=world["pairing"], branch=world["branch"])
    one, _ = changelist_queries(client, Activity)
    for day in range(19):
        f.ActivityFactory(date=datetime.date(2024, 3, 1) + datetime.timedelta(days=day))  # new pairings, branches
    twenty, count = changelist_queries(client, Activity)
    assert count == 20
    assert twenty == one
    with django_assert_max_num_queries(one):
        client.get(admin_url(Activity, "changelist"), {"q": "活动", "status": "draft"})


def page_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_change_page_queries_do_not_grow_with_inline_rows(client, world, settings, tmp_path):
    """Inline rows print their __str__ and autocomplete labels from one select_related query."""
    settings.MEDIA_ROOT = tmp_path
    client.force_login(world["users"]["superuser"])
    activity = f.ActivityFactory(pairing=world["pairing"], branch=world["branch"])
    organization = world["branch"]

    def add_rows(n):
        for _ in range(n):
            f.ServiceRecordFactory(activity=activity, verified_by=world["users"]["village"])
            f.ActivityMetricValueFactory(activity=activity)
            f.ActivityPhotoFactory(activity=activity)
            f.MembershipFactory(organization=organization, user=f.UserFactory())
            f.MembershipFactory(user=world["users"]["secretary"], organization=f.OrganizationFactory())

    pages = [
        admin_url(Activity, "change", activity.pk),
        admin_url(type(organization), "change", organization.pk),
        admin_url(type(world["users"]["secretary"]), "change", world["users"]["secretary"].pk),
    ]
    add_rows(1)
    for url in pages:  # warm the content-type cache
        page_queries(client, url)
    few = [page_queries(client, url) for url in pages]
    add_rows(19)
    assert [page_queries(client, url) for url in pages] == few
    volunteer = activity.service_records.first().volunteer
    assert f'<option value="{volunteer.pk}" selected>{volunteer.name}</option>' in client.get(pages[0]).content.decode()
