"""Events become notifications (reports/events.py): who is told, the link opens for them, told once.

Each event goes through the real service (the signal is sent in its transaction), and each recipient opens the
notification's link with the test client: a notice never points anyone at a page they cannot open.
"""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from activities import services
from activities.models import Activity, ServiceRecord
from pairings import services as plan_services
from portal.errors import AlreadyDone
from portal.models import Membership
from reports import events, tasks
from reports.models import Notification
from tests import factories as f

pytestmark = pytest.mark.django_db
Kind = Notification.Kind


@pytest.fixture
def kit(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return {
        **world,
        "type": f.ActivityTypeFactory(code="volunteer-service", name="志愿服务"),
        "volunteer": f.VolunteerFactory(organization=world["branch"], name="张老师"),
    }


def notices(kind, **filters):
    return Notification.objects.filter(kind=kind, **filters)


def told(kind):
    return sorted(n.user.username for n in notices(kind).select_related("user"))


def opens(client, user, notification, status=200):
    client.force_login(user)
    response = client.get(notification.url)
    assert response.status_code == status, (user, notification.url)
    return response


def record(kit, *, submit=True, hours=()):
    fields = services.ActivityFields(
        pairing=kit["pairing"], activity_type=kit["type"], title="小电匠家电维修进村",
        date=timezone.localdate() - datetime.timedelta(days=1),
    )
    return services.activity_create(
        actor=kit["users"]["secretary"], fields=fields, submit=submit,
        service_records=[services.HoursEntry(new_name=f"志愿者{i}", hours=Decimal(h)) for i, h in enumerate(hours)],
    ).activity


# --- 验单 ------------------------------------------------------------------------------------------


def test_a_submitted_activity_tells_the_village_side_once(client, kit):
    liaison_user = f.UserFactory(username="village_liaison")
    f.LiaisonFactory(pairing=kit["pairing"], side="supported", user=liaison_user, name="村联络员")
    activity = record(kit)
    assert told(Kind.ACTIVITY_TO_CONFIRM) == ["village", "village_liaison"]  # not the outsider, nor the branch
    notice = notices(Kind.ACTIVITY_TO_CONFIRM, user=kit["users"]["village"]).get()
    assert notice.url == reverse("activities:detail", args=[activity.pk])
    assert "龙石村" in notice.message and "小电匠家电维修进村" in notice.message and "第三党支部" in notice.message
    for user in (kit["users"]["village"], liaison_user):
        opens(client, user, notice)
    with pytest.raises(AlreadyDone):  # a second click: "already submitted", and nobody is told again
        services.activity_submit(activity=activity, actor=kit["users"]["secretary"])
    events.activity_to_confirm(sender=Activity, activity=activity, actor=kit["users"]["secretary"])  # a retry
    assert notices(Kind.ACTIVITY_TO_CONFIRM).count() == 2


def test_a_corrected_confirmed_activity_asks_the_village_again(kit):
    activity = record(kit)
    services.activity_confirm(activity=activity, actor=kit["users"]["village"])
    fields = services.ActivityFields(
        pairing=kit["pairing"], activity_type=kit["type"], title=activity.title, date=activity.date, residents_served=9,
    )
    services.activity_update(
        activity=activity, actor=kit["users"]["admin"], fields=fields, correction_reason="人次录错",
    )
    assert notices(Kind.ACTIVITY_TO_CONFIRM, user=kit["users"]["village"]).count() == 2
    assert "重新验单" in notices(Kind.ACTIVITY_TO_CONFIRM).order_by("-id").first().message


def test_a_returned_activity_tells_the_branch(client, kit):
    activity = record(kit)
    services.activity_return(activity=activity, actor=kit["users"]["village"], comment="缺少签到表")
    assert told(Kind.ACTIVITY_RETURNED) == ["secretary"]  # not the village who returned it, not the other branch
    notice = notices(Kind.ACTIVITY_RETURNED).get()
    assert notice.url == reverse("activities:update", args=[activity.pk]) and "缺少签到表" in notice.message
    opens(client, kit["users"]["secretary"], notice)
    events.activity_returned(sender=Activity, activity=activity, actor=kit["users"]["village"])
    assert notices(Kind.ACTIVITY_RETURNED).count() == 1
    # corrected and submitted again, then returned again: a new round, a new notice
    services.activity_submit(activity=activity, actor=kit["users"]["secretary"])
    services.activity_return(activity=activity, actor=kit["users"]["village"], comment="照片不清楚")
    assert notices(Kind.ACTIVITY_RETURNED).count() == 2


def test_the_recorder_who_may_no_longer_edit_is_not_told(kit):
    activity = record(kit)
    Membership.objects.filter(user=kit["users"]["secretary"]).delete()
    services.activity_return(activity=activity, actor=kit["users"]["village"], comment="缺少签到表")
    assert told(Kind.ACTIVITY_RETURNED) == []


# --- hours to verify --------------------------------------------------------------------------------


def test_hours_waiting_tell_the_verifier_once_per_activity(client, kit):
    record(kit, submit=False, hours=["2", "1.5"])
    assert told(Kind.HOURS_TO_VERIFY) == []  # a draft's hours wait for the activity first
    activity = Activity.objects.get()
    services.activity_submit(activity=activity, actor=kit["users"]["secretary"])
    assert told(Kind.HOURS_TO_VERIFY) == ["secretary"]  # two records, one notice
    notice = notices(Kind.HOURS_TO_VERIFY).get()
    assert notice.url == reverse("activities:detail", args=[activity.pk]) + "#hours"
    page = opens(client, kit["users"]["secretary"], notice).content.decode()
    assert reverse("activities:hours_verify", args=[activity.pk]) in page
    events.hours_to_verify(sender=Activity, activity=activity)
    assert notices(Kind.HOURS_TO_VERIFY).count() == 1
    ids = list(ServiceRecord.objects.values_list("pk", flat=True))
    response = client.post(reverse("activities:hours_verify", args=[activity.pk]), {"records": ids})
    assert response.status_code == 302
    assert set(ServiceRecord.objects.values_list("status", flat=True)) == {"verified"}


def test_only_the_organising_side_verifies_from_the_activity_page(client, kit):
    activity = record(kit, hours=["2"])
    ids = list(ServiceRecord.objects.values_list("pk", flat=True))
    url = reverse("activities:hours_verify", args=[activity.pk])
    for name, status in (("village", 403), ("other_secretary", 403), ("outsider", 404)):
        client.force_login(kit["users"][name])
        assert client.post(url, {"records": ids}).status_code == status
        page = client.get(reverse("activities:detail", args=[activity.pk]))
        assert url not in page.content.decode()
    assert set(ServiceRecord.objects.values_list("status", flat=True)) == {"recorded"}


# --- needs ------------------------------------------------------------------------------------------


def test_a_claimed_and_fulfilled_need_tells_the_village(client, kit):
    need = services.need_raise(actor=kit["users"]["village"], pairing=kit["pairing"], title="修理村口路灯")
    services.need_claim(need=need, actor=kit["users"]["secretary"])
    assert told(Kind.NEED_CLAIMED) == ["village"]
    notice = notices(Kind.NEED_CLAIMED).get()
    assert notice.url == reverse("activities:need_detail", args=[need.pk]) and "第三党支部" in notice.message
    opens(client, kit["users"]["village"], notice)
    with pytest.raises(ValidationError):  # claimed twice: refused, nothing more
        services.need_claim(need=need, actor=kit["users"]["secretary"])
    assert notices(Kind.NEED_CLAIMED).count() == 1

    other = f.UserFactory(username="secretary_two")
    f.MembershipFactory(user=other, organization=kit["branch"], role=Membership.Role.SECRETARY)
    activity = record(kit)
    services.need_fulfil(need=need, actor=kit["users"]["secretary"], activity=activity)
    assert told(Kind.NEED_FULFILLED) == ["secretary_two", "village"]  # the claiming branch, not who marked it
    for notice in notices(Kind.NEED_FULFILLED).select_related("user"):
        opens(client, notice.user, notice)
    events.need_fulfilled(sender=None, need=need, actor=kit["users"]["secretary"])
    assert notices(Kind.NEED_FULFILLED).count() == 2


# --- plans ------------------------------------------------------------------------------------------


def test_a_plan_waiting_for_agreement_tells_the_village_once_per_round(client, kit):
    committee, village = kit["users"]["committee"], kit["users"]["village"]
    plan = plan_services.plan_create(pairing=kit["pairing"], actor=committee, year=timezone.localdate().year, title="年度共建计划")
    plan_services.plan_item_create(plan=plan, actor=committee, values={"title": "家电义修"})
    plan_services.plan_item_create(plan=plan, actor=committee, values={"title": "党课宣讲"})
    assert told(Kind.PLAN_TO_AGREE) == ["village"]  # one notice for a new plan, however many items
    notice = notices(Kind.PLAN_TO_AGREE).get()
    assert notice.url == reverse("pairings:plan_detail", args=[plan.pk]) + "#agree"
    assert 'id="agree"' in opens(client, village, notice).content.decode()

    plan_services.plan_agree(plan=plan, actor=village)
    item = plan.items.get(title="家电义修")
    plan.refresh_from_db()
    plan_services.plan_item_update(item=item, actor=committee, values={"title": "家电义修进村"})
    assert notices(Kind.PLAN_TO_AGREE).count() == 2  # withdrawn: asked again
    plan_services.plan_item_update(item=item, actor=committee, values={"title": "家电义修进村", "progress": 50})
    assert notices(Kind.PLAN_TO_AGREE).count() == 2  # progress is not what the village agreed to


# --- the daily scan ---------------------------------------------------------------------------------


@pytest.fixture
def due(world):
    """Plan items of the branch: due in 5 days, due in 20, overdue, and one due tomorrow (overdue the day after)."""
    today = datetime.date(2025, 11, 20)
    plan = f.JointPlanFactory(pairing=world["pairing"], year=2025)
    item = lambda title, days: f.PlanItemFactory(  # noqa: E731
        plan=plan, title=title, owner_branch=world["branch"], due_date=today + datetime.timedelta(days=days)
    )
    liaison = f.UserFactory(username="school_liaison")
    f.LiaisonFactory(pairing=world["pairing"], side="supporter", user=liaison, name="学校联络员")
    return {"today": today, "soon": item("五天后到期", 5), "later": item("二十天后到期", 20),
            "overdue": item("已逾期", -3), "tomorrow": item("明天到期", 1), "plan": plan, "liaison": liaison}


def test_the_scan_tells_the_owner_branch_of_items_due_and_overdue(client, world, due):
    today = due["today"]
    events.due_scan(today=today)
    items = notices(Kind.ITEM_DUE).select_related("user")
    assert {n.user.username for n in items} == {"secretary"}
    assert sorted(n.message.split("“")[1].split("”")[0] for n in items) == ["五天后到期", "已逾期", "明天到期"]
    notice = items.get(key__startswith="item_due:%d:" % due["soon"].pk)
    assert notice.url == reverse("pairings:plan_detail", args=[due["plan"].pk]) + f"#item-{due['soon'].pk}"
    assert f'id="item-{due["soon"].pk}"' in opens(client, world["users"]["secretary"], notice).content.decode()

    before = Notification.objects.count()
    assert events.due_scan(today=today) == 0  # twice the same day: nothing more
    assert Notification.objects.count() == before
    # the next day: "明天到期" has become overdue (told once more), nothing else is new
    tasks.scan_due.delay((today + datetime.timedelta(days=2)).isoformat())
    new = Notification.objects.filter(kind=Kind.ITEM_DUE).order_by("-id").first()
    assert notices(Kind.ITEM_DUE).count() == 4 and new.key.startswith(f"item_overdue:{due['tomorrow'].pk}:")


def test_the_scan_tells_of_dormant_pairings_and_expiring_agreements(client, world, due):
    events.due_scan(today=due["today"])
    # no activity at all and the term ends on 2025-12-31: dormant and expiring
    assert told(Kind.PAIRING_DORMANT) == ["admin", "committee", "school_liaison"]
    assert told(Kind.AGREEMENT_EXPIRING) == ["admin", "committee"]
    for notice in Notification.objects.filter(kind__in=[Kind.PAIRING_DORMANT, Kind.AGREEMENT_EXPIRING]).select_related("user"):
        assert notice.url == reverse("pairings:pairing_detail", args=[world["pairing"].pk])
        opens(client, notice.user, notice)
    assert not Notification.objects.filter(user=world["users"]["outsider"]).exists()
    assert events.due_scan(today=due["today"] + datetime.timedelta(days=1)) == 0  # the same spell, the same term


def test_the_scan_counts_drafts_for_the_program_admins_once_a_day(world):
    from reports import generation

    # a quarterly report waits for the admin's 调度意见 (monthly reminders are published as they are built)
    generation.report_generate(kind="quarterly", period="2024Q1", program=world["program"], pairing=world["pairing"])
    today = datetime.date(2024, 4, 2)
    events.due_scan(today=today)
    events.due_scan(today=today)
    assert told(Kind.DRAFTS_WAITING) == ["admin"]
    events.due_scan(today=today + datetime.timedelta(days=1))
    assert told(Kind.DRAFTS_WAITING) == ["admin", "admin"]
