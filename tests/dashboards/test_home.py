"""Each role's home page: what to do now, for every role, in a fixed number of queries."""

import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from activities.models import Activity
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


# Session, user, scope, then two queries (rows and count) per section, and the header's unread notifications.
HOME_QUERIES = {"secretary": 14, "village": 9, "committee": 11, "admin": 11}


@pytest.mark.parametrize("rows", [1, 50])
@pytest.mark.parametrize("role", sorted(HOME_QUERIES))
def test_home_queries_do_not_grow_with_rows(client, world, rows, role, frozen, django_assert_num_queries):
    plan = f.JointPlanFactory(pairing=world["pairing"])
    for i in range(rows):
        for status in (S.DRAFT, S.RETURNED, S.SUBMITTED):
            activity(world, status=status, date=datetime.date(2024, 3, 1 + i % 19))
        f.PlanItemFactory(plan=plan, owner_branch=world["branch"], due_date=datetime.date(2024, 3, 1) - datetime.timedelta(days=i))
    client.force_login(world["users"][role])
    with django_assert_num_queries(HOME_QUERIES[role]):
        response = client.get(reverse("home"))
    assert response.status_code == 200
