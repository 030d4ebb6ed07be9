"""Each role's home page: what to do now, for every role, in a fixed number of queries."""

import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from activities.models import ActionItem, Activity, Meeting
from pairings.models import PlanItem
from dashboards.home import LIMIT, home_for
from tests import factories as f

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2024, 3, 20)
S = Activity.Status


@pytest.fixture
def frozen():
    with time_machine.travel(datetime.datetime(2024, 3, 20, 10, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8))), tick=False):
        yield


def activity(world, **kwargs):
    kwargs.setdefault("pairing", world["pairing"])
    kwargs.setdefault("branch", world["branch"])
    if kwargs.get("status") in (S.SUBMITTED, S.CONFIRMED):
        kwargs.setdefault("submitted_at", timezone.now())
    if kwargs.get("status") == S.CONFIRMED:
        kwargs.setdefault("confirmed_at", timezone.now())
    return f.ActivityFactory(**kwargs)


@pytest.fixture
def scene(world):
    plan = f.JointPlanFactory(pairing=world["pairing"])
    return {
        "draft": activity(world, title="未提交的草稿", status=S.DRAFT, date=datetime.date(2024, 3, 5)),
        "returned": activity(world, title="被退回的活动", status=S.RETURNED, return_comment="缺少签到表",
                             date=datetime.date(2024, 2, 10)),
        "submitted": activity(world, title="等待验单的活动", status=S.SUBMITTED, date=datetime.date(2024, 3, 10)),
        "confirmed": activity(world, title="三月已确认", status=S.CONFIRMED, date=datetime.date(2024, 3, 2)),
        "old": activity(world, title="去年的活动", status=S.CONFIRMED, date=datetime.date(2023, 12, 2)),
        "others": activity(world, title="第四支部的草稿", branch=world["other_branch"], date=datetime.date(2024, 3, 6)),
        "due": f.PlanItemFactory(plan=plan, title="三月到期的项目", owner_branch=world["branch"], due_date=datetime.date(2024, 3, 31)),
        "overdue": f.PlanItemFactory(plan=plan, title="逾期的项目", owner_branch=world["branch"], due_date=datetime.date(2024, 1, 31)),
        "later": f.PlanItemFactory(plan=plan, title="年底的项目", owner_branch=world["branch"], due_date=datetime.date(2024, 12, 31)),
        "done": f.PlanItemFactory(plan=plan, title="已完成的项目", owner_branch=world["branch"],
                                  due_date=datetime.date(2024, 3, 1), status=PlanItem.Status.DONE),
    }


def titles(section):
    return [row.title for row in section.rows]


def sections(home, part):
    return {section.key: section for section in getattr(home, part)}


def test_secretary_sees_the_branchs_work(world, scene):
    home = home_for(world["users"]["secretary"], TODAY)
    branch = sections(home, "branch")
    assert home.can_record and not home.village
    assert titles(branch["returned"]) == ["被退回的活动"]
    assert titles(branch["drafts"]) == ["未提交的草稿"]
    assert titles(branch["this_month"]) == ["等待验单的活动", "未提交的草稿", "三月已确认"]
    assert titles(branch["plan_due"]) == ["逾期的项目", "三月到期的项目"]


def test_co_hosted_activities_count_for_the_branch(world, scene):
    scene["others"].status, scene["others"].submitted_at = S.SUBMITTED, timezone.now()
    scene["others"].save()
    scene["others"].co_branches.add(world["branch"])
    home = home_for(world["users"]["secretary"], TODAY)
    assert "第四支部的草稿" in titles(sections(home, "branch")["this_month"])


def test_village_sees_what_waits_for_confirmation(world, scene):
    home = home_for(world["users"]["village"], TODAY)
    village = sections(home, "village")
    assert titles(village["to_confirm"]) == ["等待验单的活动"]
    assert titles(village["returned_by_village"]) == ["被退回的活动"]
    assert not home.branch and not home.can_record


def test_committee_and_admin_see_the_overview(world, scene):
    for role in ("committee", "admin"):
        overview = sections(home_for(world["users"][role], TODAY), "overview")
        assert titles(overview["waiting_village"]) == ["等待验单的活动"]
        assert titles(overview["all_this_month"]) == ["等待验单的活动", "三月已确认"]  # no drafts
        assert titles(overview["overdue"]) == ["逾期的项目"]


def test_outsider_sees_nothing_of_the_pairing(world, scene):
    home = home_for(world["users"]["outsider"], TODAY)
    assert all(section.total == 0 for section in home.village)
    assert not home.branch and not home.overview


def test_user_without_role(db, client):
    client.force_login(f.UserFactory(username="nobody"))
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert not response.context["home"].has_role


@pytest.mark.parametrize(
    "role, expected",
    [("anonymous", "login"), ("outsider", 200), ("village", 200), ("other_secretary", 200), ("secretary", 200),
     ("committee", 200), ("admin", 200), ("superuser", 200)],
)
def test_home_for_every_role(client, world, scene, role, expected):
    if role != "anonymous":
        client.force_login(world["users"][role])
    response = client.get(reverse("home"))
    if expected == "login":
        assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    else:
        assert response.status_code == expected


def test_secretary_page_shows_the_sections(client, world, scene, frozen):
    client.force_login(world["users"]["secretary"])
    text = client.get(reverse("home")).content.decode()
    for title in ("被退回的活动", "缺少签到表", "未提交的草稿", "三月到期的项目", "逾期的项目"):
        assert title in text
    assert "年底的项目" not in text and "去年的活动" not in text
    assert reverse("activities:create") in text


def test_village_page_links_to_the_activity(client, world, scene, frozen):
    client.force_login(world["users"]["village"])
    text = client.get(reverse("home")).content.decode()
    assert reverse("activities:detail", args=[scene["submitted"].pk]) in text
    assert "未提交的草稿" not in text


def test_sections_are_capped(world):
    for i in range(LIMIT + 3):
        activity(world, title=f"草稿{i}", date=datetime.date(2024, 3, 1))
    drafts = sections(home_for(world["users"]["secretary"], TODAY), "branch")["drafts"]
    assert len(drafts.rows) == LIMIT and drafts.total == LIMIT + 3 and drafts.more


# The session with its user and the header's unread count (one query), scope, then two queries (rows and count) per section: the village's plans to agree and needs
# answered (+4), the secretary's hours to verify (+2), the overview's dormant pairings and expiring agreements (+4);
# the admin's drafts waiting: one; the joint meetings' decisions are one section for everyone who acts for an
# organisation (+2), and a second (the programs' overdue ones) for a program admin (+2).
HOME_QUERIES = {"secretary": 16, "village": 13, "committee": 15, "admin": 18}


@pytest.mark.parametrize("rows", [1, 50])
@pytest.mark.parametrize("role", sorted(HOME_QUERIES))
def test_home_queries_do_not_grow_with_rows(client, world, rows, role, frozen, django_assert_num_queries):
    plan = f.JointPlanFactory(pairing=world["pairing"])
    for i in range(rows):
        for status in (S.DRAFT, S.RETURNED, S.SUBMITTED):
            activity(world, status=status, date=datetime.date(2024, 3, 1 + i % 19))
        f.PlanItemFactory(plan=plan, owner_branch=world["branch"], due_date=datetime.date(2024, 3, 1) - datetime.timedelta(days=i))
        meeting = Meeting.objects.create(program=world["program"], pairing=world["pairing"], title="联席会议", date=datetime.date(2024, 3, 1))
        for owner in (world["branch"], world["village"]):
            ActionItem.objects.create(meeting=meeting, text=f"决定{i}", owner_org=owner, due_date=datetime.date(2024, 3, 1 + i % 28))
    client.force_login(world["users"][role])
    with django_assert_num_queries(HOME_QUERIES[role]):
        response = client.get(reverse("home"))
    assert response.status_code == 200


# --- the to-do lists that match the notices (reports/events.py) ------------------------------------------


def test_plan_items_link_to_the_plan_at_the_item_overdue_first(client, world, scene, frozen):
    client.force_login(world["users"]["secretary"])
    home = client.get(reverse("home")).context["home"]
    due = sections(home, "branch")["plan_due"]
    assert titles(due) == ["逾期的项目", "三月到期的项目"]
    text = client.get(reverse("home")).content.decode()
    for item in due.rows:
        link = reverse("pairings:plan_detail", args=[item.plan_id]) + f"#item-{item.pk}"
        assert item.url == link and f'href="{link}"' in text
        assert client.get(link).status_code == 200
    assert text.index("逾期的项目") < text.index("三月到期的项目")


def test_an_item_due_within_the_week_is_listed_even_next_month(world):
    plan = f.JointPlanFactory(pairing=world["pairing"])
    f.PlanItemFactory(plan=plan, title="下月初到期", owner_branch=world["branch"], due_date=datetime.date(2024, 4, 2))
    home = home_for(world["users"]["secretary"], datetime.date(2024, 3, 28))
    assert titles(sections(home, "branch")["plan_due"]) == ["下月初到期"]  # the notice's 7 days reach April


def test_village_lists_plans_to_agree_and_needs_answered(client, world, frozen):
    plan = f.JointPlanFactory(pairing=world["pairing"], year=2024, title="2024年度共建计划")
    f.PlanItemFactory(plan=plan)
    f.JointPlanFactory(pairing=world["pairing"], year=2025, title="无事项的计划")  # nothing to agree to yet
    claimed = f.NeedFactory(pairing=world["pairing"], title="已认领", status="claimed", claimed_by_branch=world["branch"],
                            claimed_at=timezone.now())
    fulfilled = f.NeedFactory(pairing=world["pairing"], title="已完成待评价", status="fulfilled",
                              claimed_by_branch=world["branch"], claimed_at=timezone.now(), fulfilled_at=timezone.now())
    f.NeedFactory(pairing=world["other_pairing"], title="别村的需求", status="claimed",
                  claimed_by_branch=world["branch"], claimed_at=timezone.now())
    village = world["users"]["village"]
    home = home_for(village, TODAY)
    part = sections(home, "village")
    assert [p.title for p in part["plans_to_agree"].rows] == ["2024年度共建计划"]
    assert titles(part["needs_answered"]) == ["已完成待评价", "已认领"]  # to rate first
    client.force_login(village)
    text = client.get(reverse("home")).content.decode()
    links = [reverse("pairings:plan_detail", args=[plan.pk]) + "#agree",
             reverse("activities:need_detail", args=[fulfilled.pk]), reverse("activities:need_detail", args=[claimed.pk])]
    for link in links:
        assert f'href="{link}"' in text and client.get(link).status_code == 200
    assert "别村的需求" not in text
    # the other village (the outsider here) sees its own need, none of 龙石村's
    assert titles(sections(home_for(world["users"]["outsider"], TODAY), "village")["needs_answered"]) == ["别村的需求"]


def test_secretary_lists_hours_to_verify_oldest_first(client, world, frozen):
    older = activity(world, title="较早提交", status=S.SUBMITTED, submitted_at=timezone.now() - datetime.timedelta(days=3))
    newer = activity(world, title="较晚提交", status=S.CONFIRMED)
    draft = activity(world, title="草稿的时长", status=S.DRAFT)
    for a in (older, older, newer, draft):
        f.ServiceRecordFactory(activity=a)
    mine = sections(home_for(world["users"]["secretary"], TODAY), "branch")["hours_to_verify"]
    assert titles(mine) == ["较早提交", "较晚提交"] and [a.hours_waiting for a in mine.rows] == [2, 1]
    assert not sections(home_for(world["users"]["other_secretary"], TODAY), "branch")["hours_to_verify"].rows
    assert "hours_to_verify" not in sections(home_for(world["users"]["committee"], TODAY), "branch")
    client.force_login(world["users"]["secretary"])
    text = client.get(reverse("home")).content.decode()
    link = reverse("activities:detail", args=[older.pk]) + "#hours"
    assert f'href="{link}"' in text and client.get(link).status_code == 200


def test_overview_lists_dormant_pairings_and_expiring_agreements(client, world):
    today = datetime.date(2025, 11, 20)  # the world's pairing: no activity, its term ends 2025-12-31
    for role in ("admin", "committee"):
        overview = sections(home_for(world["users"][role], today), "overview")
        assert [p.pk for p in overview["dormant"].rows] == [world["pairing"].pk]
        assert [p.pk for p in overview["expiring"].rows] == [world["pairing"].pk]
    assert not home_for(world["users"]["secretary"], today).overview
    with time_machine.travel(datetime.datetime(2025, 11, 20, 10, tzinfo=datetime.timezone.utc), tick=False):
        client.force_login(world["users"]["admin"])
        text = client.get(reverse("home")).content.decode()
    link = reverse("pairings:pairing_detail", args=[world["pairing"].pk])
    assert f'href="{link}"' in text and "2025-12-31" in text
