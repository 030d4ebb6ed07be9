"""The list, the detail page and the form run a fixed number of queries, pinned at 1 row and at 50 rows."""

import datetime

import pytest
from django.db import connection
from django.urls import reverse

from portal.db import PLANNED_AS_WRITTEN_QUERIES
from portal.pagination import PAGE_SIZE
from tests import factories as f
from tests.activities.images import photo_hash

pytestmark = pytest.mark.django_db

# Counted on the secretary's first requests: the session with its user, the set-up's token and the header's unread count
# (one query, portal/sessions.py), scope (memberships with their subtrees, one query: the first request under a
# set-up token), and the page's own reads. The list's five: the session, scope, the drop-downs with the user's
# pairings (one UNION), the capped count, the page's rows (their ids found in a subquery, with first photo and photo
# count).
LIST_QUERIES = 5
# The detail page's five: the session (with the header's count), scope, the activity (with pairing, program, branch, type, plan item,
# need, recorder, confirmer), its parts in one UNION (photos and their twins, figures, hours, co-hosts, history,
# and what the plausibility warnings read), and the photos near its photos (by hash band) for the warnings. On
# PostgreSQL two more around the activity's read: its joins planned in the order written (portal.db.planned_as_written).
DETAIL_QUERIES = 5 + PLANNED_AS_WRITTEN_QUERIES.get(connection.vendor, 0)
# the form's: 19, of which three find who may serve (the branch's pairings, the organisations under each side),
# two what it offers first (the branch's last places, its usual volunteers) with the branches asked once more, and
# what an activity serving no paired village and its co-hosts need (the programs offered, the co-hosts offered)
FORM_QUERIES = 22
# the edit page's own, what the warnings read, the photos near its photos, the last places and usual volunteers,
# the programs, the co-hosts offered and the co-hosts already named
EDIT_QUERIES = 28



def rich_activities(kit, count):
    """Activities with everything a row shows: photos, figures, hours, co-hosts."""
    made = []
    for i in range(count):
        activity = f.ActivityFactory(
            pairing=kit["pairing"], branch=kit["branch"], activity_type=kit["type"],
            date=datetime.date(2024, 1, 1) + datetime.timedelta(days=i),
        )
        activity.co_branches.add(kit["other_branch"])
        f.ActivityPhotoFactory(activity=activity, sha256=f"{i:064d}")
        f.ActivityMetricValueFactory(activity=activity, metric=kit["repairs"])
        f.ServiceRecordFactory(activity=activity, volunteer=kit["volunteer"])
        made.append(activity)
    return made


@pytest.mark.parametrize("rows", [1, 50])
def test_list_queries_do_not_grow_with_rows(client, kit, rows, django_assert_num_queries):
    rich_activities(kit, rows)
    client.force_login(kit["users"]["secretary"])
    with django_assert_num_queries(LIST_QUERIES):
        response = client.get(reverse("activities:list"))
    assert len(response.context["page"].object_list) == min(rows, PAGE_SIZE)
    assert "▣" not in response.content.decode()  # one photo each: a thumbnail, no count
    assert response.content.decode().count('class="act-thumb"') == min(rows, PAGE_SIZE)
    # a deep page (by cursor) and a filtered one cost the same, but for the scope, kept since the first page
    last = response.context["page"].object_list[-1]
    with django_assert_num_queries(LIST_QUERIES - 1):
        client.get(reverse("activities:list"), {"cursor": f"{last.date}_{last.pk}", "branch": kit["branch"].pk,
                                                "pairing": kit["pairing"].pk, "activity_type": kit["type"].pk})


@pytest.mark.parametrize("rows", [1, 50])
def test_export_queries_do_not_grow_with_rows(client, kit, rows, django_assert_max_num_queries):
    rich_activities(kit, rows)
    client.force_login(kit["users"]["secretary"])
    with django_assert_max_num_queries(12):
        response = client.get(reverse("activities:export"))
        body = b"".join(response.streaming_content)
    assert body.count(b"\n") == rows + 1


@pytest.mark.parametrize("rows", [1, 50])
def test_detail_queries_do_not_grow_with_rows(client, kit, rows, django_assert_num_queries):
    """One activity with `rows` photos, figures and volunteers' hours (and as many history rows)."""
    activity = f.ActivityFactory(pairing=kit["pairing"], branch=kit["branch"], activity_type=kit["type"])
    for i in range(rows):
        f.ActivityPhotoFactory(activity=activity, sha256="same-file", dhash=photo_hash(i))
        f.ActivityMetricValueFactory(activity=activity, metric=f.MetricFactory(program=kit["program"]))
        f.ServiceRecordFactory(activity=activity, volunteer=f.VolunteerFactory(organization=kit["branch"]))
        activity.title = f"改{i}"
        activity.save()
    twin = f.ActivityFactory(pairing=kit["pairing"], branch=kit["branch"])
    f.ActivityPhotoFactory(activity=twin, sha256="same-file", dhash=photo_hash(0) ^ 0b101)
    client.force_login(kit["users"]["secretary"])
    with django_assert_num_queries(DETAIL_QUERIES):
        response = client.get(reverse("activities:detail", args=[activity.pk]))
    assert len(response.context["photos"]) == rows
    assert response.context["photos"][0][1] == ([twin], 0)
    assert [(w.code, list(w.others)) for w in response.context["warnings"]] == [("photo_reused", [twin])]


def many_choices(kit, rows):
    plan = f.JointPlanFactory(pairing=kit["pairing"], year=2023)
    for _ in range(rows):
        f.VolunteerFactory(organization=kit["branch"])
        f.MetricFactory(program=kit["program"])
        f.PlanItemFactory(plan=plan)
        f.NeedFactory(pairing=kit["pairing"])


@pytest.mark.parametrize("rows", [1, 50])
def test_new_form_queries_do_not_grow_with_choices(client, kit, rows, django_assert_num_queries):
    many_choices(kit, rows)
    client.force_login(kit["users"]["secretary"])
    with django_assert_num_queries(FORM_QUERIES):
        response = client.get(reverse("activities:create"))
    assert len(response.context["metrics"].forms) == rows + 2


@pytest.mark.parametrize("rows", [1, 50])
def test_edit_form_queries_do_not_grow_with_rows(client, kit, rows, django_assert_num_queries):
    many_choices(kit, rows)
    activity = f.ActivityFactory(pairing=kit["pairing"], branch=kit["branch"], activity_type=kit["type"])
    for i in range(rows):
        f.ActivityPhotoFactory(activity=activity, dhash=photo_hash(i))
        f.ServiceRecordFactory(activity=activity, volunteer=f.VolunteerFactory(organization=kit["branch"]))
        f.ActivityMetricValueFactory(activity=activity, metric=f.MetricFactory(program=kit["program"]))
    client.force_login(kit["users"]["secretary"])
    with django_assert_num_queries(EDIT_QUERIES):
        response = client.get(reverse("activities:update", args=[activity.pk]))
    assert len(response.context["photos"].forms) == rows


def test_detail_of_a_corrected_activity_costs_the_same(client, kit, django_assert_num_queries):
    """The correction notice (what changed, why, who) comes with the activity: the village's 验单 page keeps its
    queries (its warnings' included)."""
    from activities import services

    activity = f.ActivityFactory(pairing=kit["pairing"], branch=kit["branch"], activity_type=kit["type"],
                                 status="confirmed", submitted_at="2024-01-02T10:00+08:00",
                                 confirmed_at="2024-01-03T10:00+08:00", confirmed_by=kit["users"]["village"])
    f.ActivityPhotoFactory(activity=activity, dhash=photo_hash(1))
    services.activity_update(
        activity=activity, actor=kit["users"]["admin"], correction_reason="签到表核对",
        fields=services.ActivityFields(pairing=kit["pairing"], activity_type=kit["type"], title=activity.title,
                                       date=activity.date, residents_served=activity.residents_served + 1),
    )
    client.force_login(kit["users"]["village"])
    with django_assert_num_queries(DETAIL_QUERIES):
        response = client.get(reverse("activities:detail", args=[activity.pk]))
    assert "签到表核对" in response.content.decode() and response.context["can_confirm"]
