"""Needs (微心愿): the village raises, a branch claims, an activity fulfils, the village rates.

Each view × each role; two claims at once (threads on PostgreSQL, the conditional UPDATE on SQLite); a bad
rating; masked names; overdue flags; and the list and need page in a fixed number of queries."""

import datetime
import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from activities import services
from activities.models import Activity, Need
from tests import factories as f

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "outsider", "village", "other_secretary", "secretary", "committee", "admin", "superuser"]
LOGIN = "login"


def client_for(client, world, role):
    if role != "anonymous":
        client.force_login(world["users"][role])
    return client


def outcome(response):
    if response.status_code == 302 and response["Location"].startswith(reverse("account_login")):
        return LOGIN
    return response.status_code


def claimed(world, **extra):
    now = timezone.now()
    return f.NeedFactory(
        pairing=world["pairing"], status=Need.Status.CLAIMED, claimed_by_branch=world["branch"],
        raised_at=now - datetime.timedelta(hours=1), claimed_at=now, **extra,
    )


def answering(world, need=None, status=Activity.Status.SUBMITTED):
    return f.ActivityFactory(
        pairing=world["pairing"], branch=world["branch"], status=status, submitted_at=timezone.now(), need=need,
        confirmed_at=timezone.now() if status == Activity.Status.CONFIRMED else None,
    )


# ---------------------------------------------------------------------------------------------------------
# The whole loop through the services
# ---------------------------------------------------------------------------------------------------------


def test_the_loop(world):
    users = world["users"]
    need = services.need_raise(
        actor=users["village"], pairing=world["pairing"], title="独居老人想要一台收音机", category=Need.Category.ELDERLY,
        wanted_by="王小明", mask_wanted_by=True,
    )
    assert (need.status, need.raised_by) == (Need.Status.OPEN, users["village"])
    need = services.need_claim(need=need, actor=users["secretary"])
    assert (need.status, need.claimed_by_branch) == (Need.Status.CLAIMED, world["branch"])
    activity = answering(world)
    need = services.need_fulfil(need=need, actor=users["secretary"], activity=activity)
    activity.refresh_from_db()
    assert need.status == Need.Status.FULFILLED and need.fulfilled_at >= need.claimed_at >= need.raised_at
    assert activity.need_id == need.pk
    need = services.need_rate(need=need, actor=users["village"], rating=5, comment="很及时")
    need.refresh_from_db()
    assert (need.status, need.rating, need.rating_comment) == (Need.Status.CLOSED, 5, "很及时")
    assert [h.history_change_reason for h in need.history.order_by("history_id")] == [
        "raised", "claimed", "fulfilled", "rated"
    ]


def test_raise_only_in_own_village_pairing(world):
    with pytest.raises(PermissionDenied):
        services.need_raise(actor=world["users"]["outsider"], pairing=world["pairing"], title="x")
    with pytest.raises(PermissionDenied):
        services.need_raise(actor=world["users"]["secretary"], pairing=world["pairing"], title="x")
    with pytest.raises(ValidationError) as error:
        services.need_raise(actor=world["users"]["village"], pairing=world["pairing"], title="  ")
    assert "title" in error.value.error_dict
    assert not Need.objects.exists()


def test_fulfil_needs_an_activity_of_the_claiming_branch(world):
    need = claimed(world)
    draft = f.ActivityFactory(pairing=world["pairing"], branch=world["branch"])
    foreign = f.ActivityFactory(
        pairing=world["pairing"], branch=world["other_branch"], status=Activity.Status.SUBMITTED, submitted_at=timezone.now()
    )
    for activity in (draft, foreign, None):
        with pytest.raises(ValidationError):
            services.need_fulfil(need=need, actor=world["users"]["secretary"], activity=activity)
    with pytest.raises(PermissionDenied):
        services.need_fulfil(need=need, actor=world["users"]["other_secretary"], activity=foreign)
    need.refresh_from_db()
    assert need.status == Need.Status.CLAIMED and need.fulfilled_at is None


# ---------------------------------------------------------------------------------------------------------
# Each view × each role
# ---------------------------------------------------------------------------------------------------------

LIST = dict.fromkeys(ROLES, 200) | {"anonymous": LOGIN}
DETAIL = dict.fromkeys(ROLES, 200) | {"anonymous": LOGIN, "outsider": 404}


@pytest.mark.parametrize("role", ROLES)
def test_list_and_detail(client, world, role):
    need = f.NeedFactory(pairing=world["pairing"], title="修路灯")
    f.NeedFactory(pairing=world["other_pairing"], title="田心村的需求")
    client = client_for(client, world, role)
    response = client.get(reverse("activities:need_list"))
    assert outcome(response) == LIST[role]
    if response.status_code == 200:
        body = response.content.decode()
        assert ("修路灯" in body) == (role != "outsider")
        assert ("田心村的需求" in body) == (role in ("outsider", "superuser"))
    assert outcome(client.get(reverse("activities:need_detail", args=[need.pk]))) == DETAIL[role]


# may raise a need in the world's pairing (the outsider may raise in their own, not here)
RAISE = {"anonymous": LOGIN, "outsider": 200, "village": 302, "other_secretary": 403, "secretary": 403,
         "committee": 403, "admin": 302, "superuser": 302}


@pytest.mark.parametrize("role", ROLES)
def test_raise(client, world, role):
    client = client_for(client, world, role)
    data = {"pairing": world["pairing"].pk, "title": "村文化室需要绘本", "category": "education",
            "wanted_by": "李四", "mask_wanted_by": "on"}
    response = client.post(reverse("activities:need_create"), data)
    assert outcome(response) == RAISE[role]
    made = Need.objects.filter(title="村文化室需要绘本").first()
    assert (made is not None) == (RAISE[role] == 302)
    if made:
        assert response["Location"] == reverse("activities:need_detail", args=[made.pk])
        assert (made.status, made.mask_wanted_by, made.wanted_by) == (Need.Status.OPEN, True, "李四")
    if role == "outsider":  # their form offers only their own pairing: the world's is not a valid choice
        assert "pairing" in response.context["form"].errors


CLAIM = {"anonymous": LOGIN, "outsider": 404, "village": 403, "other_secretary": 302, "secretary": 302,
         "committee": 403, "admin": 403, "superuser": 302}


@pytest.mark.parametrize("role", ROLES)
def test_claim(client, world, role):
    need = f.NeedFactory(pairing=world["pairing"])
    client = client_for(client, world, role)
    branch = world["other_branch"] if role == "other_secretary" else world["branch"]
    response = client.post(reverse("activities:need_claim", args=[need.pk]), {"branch": branch.pk})
    assert outcome(response) == CLAIM[role]
    need.refresh_from_db()
    if CLAIM[role] == 302:
        assert (need.status, need.claimed_by_branch) == (Need.Status.CLAIMED, branch)
    else:
        assert need.status == Need.Status.OPEN and need.claimed_at is None


def test_claim_for_a_branch_not_mine_changes_nothing(client, world):
    need = f.NeedFactory(pairing=world["pairing"])
    client.force_login(world["users"]["secretary"])
    response = client.post(reverse("activities:need_claim", args=[need.pk]), {"branch": world["other_branch"].pk})
    assert response.status_code == 200 and response.context["claim_form"].errors
    need.refresh_from_db()
    assert need.status == Need.Status.OPEN


FULFIL = {"anonymous": LOGIN, "outsider": 404, "village": 403, "other_secretary": 403, "secretary": 302,
          "committee": 403, "admin": 403, "superuser": 302}


@pytest.mark.parametrize("role", ROLES)
def test_fulfil(client, world, role):
    need = claimed(world)
    activity = answering(world)
    client = client_for(client, world, role)
    response = client.post(reverse("activities:need_fulfil", args=[need.pk]), {"activity": activity.pk})
    assert outcome(response) == FULFIL[role]
    need.refresh_from_db()
    activity.refresh_from_db()
    if FULFIL[role] == 302:
        assert need.status == Need.Status.FULFILLED and need.fulfilled_at and activity.need_id == need.pk
    else:
        assert need.status == Need.Status.CLAIMED and need.fulfilled_at is None and activity.need_id is None


def test_fulfil_with_a_draft_is_a_form_error(client, world):
    need = claimed(world)
    draft = f.ActivityFactory(pairing=world["pairing"], branch=world["branch"])
    client.force_login(world["users"]["secretary"])
    response = client.post(reverse("activities:need_fulfil", args=[need.pk]), {"activity": draft.pk})
    assert response.status_code == 200 and response.context["fulfil_form"].errors["activity"]
    need.refresh_from_db()
    assert need.status == Need.Status.CLAIMED


RATE = {"anonymous": LOGIN, "outsider": 404, "village": 302, "other_secretary": 403, "secretary": 403,
        "committee": 403, "admin": 302, "superuser": 302}


@pytest.mark.parametrize("role", ROLES)
def test_rate(client, world, role):
    need = claimed(world, fulfilled_at=timezone.now())
    Need.objects.filter(pk=need.pk).update(status=Need.Status.FULFILLED)
    client = client_for(client, world, role)
    response = client.post(reverse("activities:need_rate", args=[need.pk]), {"rating": "4", "comment": "满意"})
    assert outcome(response) == RATE[role]
    need.refresh_from_db()
    if RATE[role] == 302:
        assert (need.status, need.rating, need.rating_comment) == (Need.Status.CLOSED, 4, "满意")
    else:
        assert (need.status, need.rating) == (Need.Status.FULFILLED, None)


@pytest.mark.parametrize("rating", ["0", "6", "-1", "五", ""])
def test_bad_rating_is_a_chinese_form_error(client, world, rating):
    need = claimed(world, fulfilled_at=timezone.now())
    Need.objects.filter(pk=need.pk).update(status=Need.Status.FULFILLED)
    client.force_login(world["users"]["village"])
    response = client.post(reverse("activities:need_rate", args=[need.pk]), {"rating": rating, "comment": "x"})
    assert response.status_code == 200
    assert response.context["rate_form"].errors["rating"] == ["请给出1到5分的评分。"]
    assert "请给出1到5分的评分。" in response.content.decode()
    need.refresh_from_db()
    assert (need.status, need.rating, need.rating_comment, need.rated_at) == (Need.Status.FULFILLED, None, "", None)


@pytest.mark.parametrize("rating", [0, 6, None, True])
def test_service_refuses_a_bad_rating(world, rating):
    need = claimed(world, fulfilled_at=timezone.now())
    Need.objects.filter(pk=need.pk).update(status=Need.Status.FULFILLED)
    with pytest.raises(ValidationError) as error:
        services.need_rate(need=need, actor=world["users"]["village"], rating=rating)
    assert "rating" in error.value.error_dict
    need.refresh_from_db()
    assert need.status == Need.Status.FULFILLED and need.rating is None


def test_rating_before_fulfilment_is_refused(world):
    need = claimed(world)
    with pytest.raises(ValidationError):
        services.need_rate(need=need, actor=world["users"]["village"], rating=5)
    need.refresh_from_db()
    assert need.status == Need.Status.CLAIMED


# ---------------------------------------------------------------------------------------------------------
# Two claims at once
# ---------------------------------------------------------------------------------------------------------


def test_second_claim_is_told_who_has_it(client, world):
    """What two browsers do on any database: both loaded the page while the need was open; the second POST
    meets the conditional UPDATE, changes nothing, and says who has it (in Chinese)."""
    need = f.NeedFactory(pairing=world["pairing"])
    stale = Need.objects.get(pk=need.pk)
    services.need_claim(need=need, actor=world["users"]["secretary"])
    first = Need.objects.get(pk=need.pk)
    with pytest.raises(ValidationError) as error:
        services.need_claim(need=stale, actor=world["users"]["other_secretary"])
    assert "第三党支部" in error.value.messages[0]
    client.force_login(world["users"]["other_secretary"])
    response = client.post(
        reverse("activities:need_claim", args=[need.pk]), {"branch": world["other_branch"].pk}, follow=True
    )
    body = response.content.decode()
    assert "已被第三党支部认领" in body
    after = Need.objects.get(pk=need.pk)
    assert (after.claimed_by_branch, after.claimed_at, after.status) == (world["branch"], first.claimed_at, Need.Status.CLAIMED)
    assert after.history.count() == 2  # raised (the factory) and claimed: the loser wrote nothing


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_on_postgres(postgres_only, world):
    """Two secretaries press 认领 at the same moment, in two threads with their own connections."""
    need = f.NeedFactory(pairing=world["pairing"])
    barrier = threading.Barrier(2)
    results = {}

    def claim(role):
        from django.db import connections

        try:
            barrier.wait(timeout=10)
            services.need_claim(need=Need.objects.get(pk=need.pk), actor=world["users"][role])
            results[role] = "won"
        except ValidationError as error:
            results[role] = error.messages[0]
        finally:
            connections.close_all()

    for _ in range(5):  # a few rounds, so the race really happens
        Need.objects.filter(pk=need.pk).update(status="open", claimed_by_branch=None, claimed_at=None)
        results.clear()
        threads = [threading.Thread(target=claim, args=(role,)) for role in ("secretary", "other_secretary")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(results.values()).count("won") == 1, results
        winner = Need.objects.select_related("claimed_by_branch").get(pk=need.pk)
        loser_message = next(v for v in results.values() if v != "won")
        assert winner.claimed_by_branch.name in loser_message
    assert connection.vendor == "postgresql"


# ---------------------------------------------------------------------------------------------------------
# Masked names, overdue flags, times
# ---------------------------------------------------------------------------------------------------------

SEES_FULL_NAME = {"village": True, "admin": True, "superuser": True, "secretary": False, "other_secretary": False,
                  "committee": False}


@pytest.mark.parametrize("role", sorted(SEES_FULL_NAME))
def test_masked_name(client, world, role):
    need = f.NeedFactory(pairing=world["pairing"], wanted_by="王小明", mask_wanted_by=True)
    f.NeedFactory(pairing=world["pairing"], wanted_by="赵六", mask_wanted_by=False)
    client.force_login(world["users"][role])
    for url in (reverse("activities:need_list"), reverse("activities:need_detail", args=[need.pk])):
        body = client.get(url).content.decode()
        assert ("王小明" in body) == SEES_FULL_NAME[role]
        assert ("王**" in body) != SEES_FULL_NAME[role]
    assert "赵六" in client.get(reverse("activities:need_list")).content.decode()


def test_mask_name():
    assert [services.mask_name(n) for n in ("王小明", "王五", "王", "", " 欧阳娜娜 ")] == ["王**", "王*", "王*", "", "欧***"]


def test_overdue_flag_and_filter(client, world):
    old = f.NeedFactory(pairing=world["pairing"], title="等了很久", raised_at=timezone.now() - datetime.timedelta(days=31))
    f.NeedFactory(pairing=world["pairing"], title="刚提出的")
    closed_old = f.NeedFactory(pairing=world["pairing"], title="早已办结", raised_at=old.raised_at,
                               status=Need.Status.CLOSED, claimed_by_branch=world["branch"], claimed_at=old.raised_at)
    client.force_login(world["users"]["secretary"])
    rows = {n.title: n.is_overdue for n in client.get(reverse("activities:need_list")).context["page"].object_list}
    assert rows == {"等了很久": True, "刚提出的": False, closed_old.title: False}
    filtered = client.get(reverse("activities:need_list"), {"overdue": "on"})
    assert [n.title for n in filtered.context["page"].object_list] == ["等了很久"]
    assert "need-overdue-flag" in filtered.content.decode()
    for params, titles in (({"status": "closed"}, ["早已办结"]), ({"category": "health"}, []),
                           ({"pairing": world["pairing"].pk}, ["刚提出的", "等了很久", "早已办结"])):
        page = client.get(reverse("activities:need_list"), params).context["page"]
        assert sorted(n.title for n in page.object_list) == sorted(titles)


def test_need_page_shows_claim_and_response_times(client, world):
    raised = timezone.now() - datetime.timedelta(days=5)
    need = f.NeedFactory(
        pairing=world["pairing"], raised_at=raised, status=Need.Status.FULFILLED, claimed_by_branch=world["branch"],
        claimed_at=raised + datetime.timedelta(days=2), fulfilled_at=raised + datetime.timedelta(days=4, hours=3),
    )
    answering(world, need=need)
    client.force_login(world["users"]["village"])
    response = client.get(reverse("activities:need_detail", args=[need.pk]))
    body = response.content.decode()
    assert response.context["claim_time"] == datetime.timedelta(days=2)
    assert 'need-claim-time">2\xa0日<' in body  # 认领用时 2 日
    assert 'need-response-time">4\xa0日，3\xa0小时<' in body  # 响应用时 4 日，3 小时
    assert response.context["can_rate"] and len(response.context["answers"]) == 1


# ---------------------------------------------------------------------------------------------------------
# Query counts: fixed whatever the rows
# ---------------------------------------------------------------------------------------------------------

# each with the session read with its user, the set-up's token and the header's count of unread notifications
# (one query, portal/sessions.py), and the user's reach (cold here); the pairing filter is a
# picker (portal/widgets.py): no query for a list of pairings
LIST_QUERIES = 4
DETAIL_QUERIES = 5


@pytest.mark.parametrize("rows", [1, 30])
def test_list_queries_do_not_grow(client, world, rows, django_assert_num_queries):
    for i in range(rows):
        f.NeedFactory(pairing=world["pairing"], wanted_by=f"王{i}", mask_wanted_by=bool(i % 2),
                      status=Need.Status.CLAIMED if i % 3 else Need.Status.OPEN,
                      claimed_by_branch=world["branch"] if i % 3 else None,
                      raised_at=timezone.now() - datetime.timedelta(days=i),
                      claimed_at=timezone.now() if i % 3 else None)
    client.force_login(world["users"]["secretary"])
    with django_assert_num_queries(LIST_QUERIES):
        response = client.get(reverse("activities:need_list"))
    assert len(response.context["page"].object_list) == min(rows, 25)


@pytest.mark.parametrize("rows", [1, 30])
def test_detail_queries_do_not_grow(client, world, rows, django_assert_num_queries):
    """A claimed need answered by `rows` activities, on the claiming secretary's page (with the fulfil form)."""
    need = claimed(world)
    for _ in range(rows):
        answering(world, need=need)
        answering(world)  # choices of the fulfil form
    client.force_login(world["users"]["secretary"])
    with django_assert_num_queries(DETAIL_QUERIES):
        response = client.get(reverse("activities:need_detail", args=[need.pk]))
    assert len(response.context["answers"]) == rows and response.context["can_fulfil"]


def test_the_next_page_link_opens_the_next_page(client, world):
    """The pager's links are plain query strings: following "next" shows the older needs."""
    for number in range(30):
        f.NeedFactory(pairing=world["pairing"], title=f"需求{number:02d}")
    client_for(client, world, "village")
    first = client.get(reverse("activities:need_list")).content.decode()
    assert 'href="?page=2"' in first and "??" not in first
    second = client.get(reverse("activities:need_list") + "?page=2").content.decode()
    first_titles = {f"需求{n:02d}" for n in range(30) if f"需求{n:02d}<" in first}
    second_titles = {f"需求{n:02d}" for n in range(30) if f"需求{n:02d}<" in second}
    assert len(first_titles) == 25 and len(second_titles) == 5
    assert not first_titles & second_titles
