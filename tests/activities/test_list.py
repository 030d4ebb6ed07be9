"""The activity list at scale: pages by cursor (`?cursor=YYYY-MM-DD_<id>`), links back and forth that keep the
filters, a bad cursor, the capped count, the branch drop-down past its cap, and the scope read through the
list's literal id lists equal to the scope of `visible_to`."""

import datetime
import re
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from activities import models as activity_models
from activities import permissions, selectors
from activities.models import Activity
from pairings.models import Pairing
from portal.pagination import COUNT_CAP, PAGE_SIZE, BadCursor, CappedCount, Cursor, capped_count
from tests import factories as f

pytestmark = pytest.mark.django_db
S = Activity.Status
URL = "/activities/"


def many(kit, count, *, per_day=3, status=S.SUBMITTED, start=datetime.date(2024, 1, 1), branch=None, title="活动"):
    """`count` activities of the secretary's pairing, `per_day` on each date (so pages end inside a day), made
    with one bulk insert."""
    now = timezone.now()
    Activity.objects.bulk_create(
        Activity(
            pairing=kit["pairing"], branch=branch or kit["branch"], activity_type=kit["type"],
            title=f"{title}{i}", date=start + datetime.timedelta(days=i // per_day), status=status,
            submitted_at=None if status in (S.DRAFT, S.RETURNED) else now,
            confirmed_at=now if status == S.CONFIRMED else None,
        )
        for i in range(count)
    )


def ids(response):
    return [a.pk for a in response.context["page"].object_list]


def link(response, rel):
    """Where the pager's link (rel="next" / "prev") leads (its href is a query string on the list), or None."""
    match = re.search(rf'rel="{rel}" href="([^"]*)"', response.content.decode())
    return URL + unescape(match[1]) if match else None


def newest_first(**filters):
    return list(Activity.objects.filter(**filters).order_by("-date", "-id").values_list("id", flat=True))


def test_pages_follow_each_other_without_gap_or_repeat(client, kit):
    many(kit, 2 * PAGE_SIZE + 20)
    client.force_login(kit["users"]["secretary"])
    everything = newest_first()

    first = client.get(URL)
    assert ids(first) == everything[:PAGE_SIZE] and link(first, "prev") is None
    second = client.get(link(first, "next"))
    assert ids(second) == everything[PAGE_SIZE : 2 * PAGE_SIZE]
    third = client.get(link(second, "next"))
    assert ids(third) == everything[2 * PAGE_SIZE :] and link(third, "next") is None

    # and back: the rows just before, in the same order, until the first page
    back = client.get(link(third, "prev"))
    assert ids(back) == ids(second)
    back = client.get(link(back, "prev"))
    assert ids(back) == ids(first) and link(back, "prev") is None


def test_the_cursor_is_the_row_after_which_the_page_starts(client, kit):
    """The benchmark builds deep pages by hand: ?cursor=<date>_<id> is "after that row" in the list's order."""
    many(kit, 30, per_day=5)
    client.force_login(kit["users"]["secretary"])
    everything = newest_first()
    row = Activity.objects.get(pk=everything[12])
    response = client.get(URL, {"cursor": f"{row.date.isoformat()}_{row.pk}"})
    assert ids(response) == everything[13:]

    oldest = list(reversed(everything))
    row = Activity.objects.get(pk=oldest[7])
    response = client.get(URL, {"cursor": f"{row.date:%Y-%m-%d}_{row.pk}", "sort": "oldest"})
    assert ids(response) == oldest[8:]


def test_links_keep_the_filters_and_the_order(client, kit):
    many(kit, PAGE_SIZE + 5, status=S.CONFIRMED, title="确认")
    many(kit, 10, status=S.SUBMITTED, title="待确认")
    client.force_login(kit["users"]["secretary"])
    first = client.get(URL, {"status": "confirmed", "sort": "oldest"})
    confirmed = list(reversed(newest_first(status=S.CONFIRMED)))
    assert ids(first) == confirmed[:PAGE_SIZE]
    following = link(first, "next")
    assert "status=confirmed" in following and "sort=oldest" in following
    second = client.get(following)
    assert ids(second) == confirmed[PAGE_SIZE:]
    assert "status=confirmed" in link(second, "prev")
    # the CSV button sends the filter form, which has no cursor: the export is the whole filtered list
    assert f'formaction="{reverse("activities:export")}"' in second.content.decode()


@pytest.mark.parametrize(
    "cursor",
    ["x", "2024-13-01_5", "2024-02-30_1", "2024-01-01", "2024-01-01_", "2024-01-01_abc", "2024-1-01_5",
     "2024-01-01_5;drop", "2024-01-01_99999999999999999999", " 2024-01-01_5"],
)
def test_a_bad_cursor_shows_the_first_page_with_a_message(client, kit, cursor):
    many(kit, PAGE_SIZE + 1)
    client.force_login(kit["users"]["secretary"])
    for name in ("cursor", "before"):
        response = client.get(URL, {name: cursor})
        assert response.status_code == 200
        assert ids(response) == newest_first()[:PAGE_SIZE]
        assert _("That page link is not valid (it may have been cut short); here is the first page.") in (
            response.content.decode()
        )


def test_a_cursor_past_the_end_says_there_is_no_more(client, kit):
    many(kit, 3)
    client.force_login(kit["users"]["secretary"])
    response = client.get(URL, {"cursor": "2000-01-01_1"})
    assert response.status_code == 200 and ids(response) == []
    assert _("No more activities.") in response.content.decode()
    assert 'href="?"' in response.content.decode()  # back to the first page


def test_cursor_text_round_trips():
    cursor = Cursor.parse("2024-03-01_1234")
    assert cursor == Cursor(datetime.date(2024, 3, 1), 1234) and str(cursor) == "2024-03-01_1234"
    with pytest.raises(BadCursor):
        Cursor.parse("2024-03-01T00:00_1234")


def test_a_searched_list_is_ordered_by_relevance_then_date_page_after_page(client, kit):
    """Searched, in its default order: the activities whose title holds every term first, then the others (the
    term only in the description), each newest first; the pages follow each other across the two parts, and back,
    without gap or repeat. Oldest first (an order the user chose) is plain date order."""
    many(kit, PAGE_SIZE + 7, per_day=4, start=datetime.date(2024, 1, 1), title="维修")  # older, the term in the title
    now = timezone.now()
    Activity.objects.bulk_create(
        Activity(pairing=kit["pairing"], branch=kit["branch"], activity_type=kit["type"], title=f"走访{i}",
                 description="顺便维修电器", date=datetime.date(2024, 6, 1) + datetime.timedelta(days=i // 3),
                 status=S.SUBMITTED, submitted_at=now)
        for i in range(PAGE_SIZE + 3)
    )
    client.force_login(kit["users"]["secretary"])
    in_title = list(Activity.objects.filter(title__contains="维修").order_by("-date", "-id").values_list("id", flat=True))
    elsewhere = list(Activity.objects.filter(title__startswith="走访").order_by("-date", "-id").values_list("id", flat=True))
    expected = in_title + elsewhere

    pages, response = [], client.get(URL, {"q": "维修"})
    assert _("best matches first (the title holds every term), then newest first") in response.content.decode()
    while True:
        pages.append(response)
        following = link(response, "next")
        if following is None:
            break
        response = client.get(following)
    assert [pk for page in pages for pk in ids(page)] == expected
    assert len(pages) == 3  # 57 in the title, then 53: the second page spans both parts
    back = client.get(link(pages[-1], "prev"))
    assert ids(back) == ids(pages[1])
    back = client.get(link(back, "prev"))
    assert ids(back) == ids(pages[0]) and link(back, "prev") is None

    oldest = client.get(URL, {"q": "维修", "sort": "oldest"})
    assert ids(oldest) == sorted(expected, key=lambda pk: (Activity.objects.get(pk=pk).date, pk))[:PAGE_SIZE]


def test_a_cursor_naming_no_part_of_the_list_shows_the_first_page(client, kit):
    many(kit, 5, title="维修")
    client.force_login(kit["users"]["secretary"])
    assert str(Cursor.parse("1~2024-03-01_12")) == "1~2024-03-01_12"
    response = client.get(URL, {"cursor": "7~2024-01-01_1"})  # the plain list has one part
    assert response.status_code == 200 and ids(response) == newest_first()


def test_the_count_stops_at_the_cap(client, kit):
    many(kit, COUNT_CAP, per_day=20)
    client.force_login(kit["users"]["secretary"])
    response = client.get(URL)
    assert response.context["total"].exact and response.context["total"].value == COUNT_CAP
    many(kit, 1, start=datetime.date(2025, 1, 1))
    response = client.get(URL)
    total = response.context["total"]
    assert not total.exact and total.value == COUNT_CAP
    text = response.content.decode()
    assert _("%(shown)s+ activities") % {"shown": "1,000"} in text
    assert len(ids(response)) == PAGE_SIZE


def test_the_capped_count_of_rows_that_match_nothing_or_some(kit):
    many(kit, 7)
    assert capped_count(Activity.objects.none()) == CappedCount(0, exact=True)
    assert capped_count(Activity.objects.filter(id__in=[])) == CappedCount(0, exact=True)
    assert capped_count(Activity.objects.all(), cap=5) == CappedCount(5, exact=False, cap=5)
    assert capped_count(Activity.objects.filter(title__in=["活动1", "活动2"])) == CappedCount(2, exact=True)


def test_the_list_shows_the_first_photo_and_how_many(client, kit):
    activity = f.ActivityFactory(pairing=kit["pairing"], branch=kit["branch"], activity_type=kit["type"])
    photos = [f.ActivityPhotoFactory(activity=activity) for _ in range(3)]
    alone = f.ActivityFactory(pairing=kit["pairing"], branch=kit["branch"], activity_type=kit["type"])
    client.force_login(kit["users"]["secretary"])
    text = client.get(URL).content.decode()
    assert reverse("activities:photo_thumb", args=[photos[0].pk]) in text
    assert reverse("activities:photo_thumb", args=[photos[1].pk]) not in text
    assert "▣ 3" in text
    assert alone.title in text
    # the row's type and village (from the drop-downs' query, not joins)
    assert f"<span>{kit['type'].name}</span>" in text
    assert f"→ {kit['village'].short_name or kit['village'].name}</span>" in text


def test_branch_picker_past_its_cap_still_takes_any_branch_in_scope(client, kit, monkeypatch):
    """Past the cap the page reads only the chosen branches; the picker (no options rendered) shows the chosen
    one by name and the filter still takes any branch of the viewer's pairings, and refuses others."""
    monkeypatch.setattr(selectors, "BRANCH_OPTIONS_CAP", 1)
    far_branch = f.OrganizationFactory(name="远方支部", kind="branch")
    f.PairingBranchFactory(pairing=kit["other_pairing"], branch=far_branch)
    many(kit, 2, branch=kit["other_branch"], title="第四支部活动")
    client.force_login(kit["users"]["admin"])

    response = client.get(URL, {})
    assert "<option" not in response.content.decode().split("act-field-branch")[1].split("</div>")[0]
    # a branch not among the first ones read is still a valid filter (a link from elsewhere), shown by name
    response = client.get(URL, {"branch": kit["other_branch"].pk})
    assert f">{kit['other_branch'].name}</output>" in response.content.decode()
    assert {a.title for a in response.context["page"]} == {"第四支部活动0", "第四支部活动1"}
    assert response.context["filter"].form.errors == {}
    # and one outside the admin's programs is still refused
    response = client.get(URL, {"branch": far_branch.pk})
    assert response.context["filter"].errors and ids(response) == []


def test_a_branch_outside_the_scope_is_refused(client, kit):
    stranger = f.OrganizationFactory(name="外校支部", kind="branch")
    client.force_login(kit["users"]["secretary"])
    response = client.get(URL, {"branch": stranger.pk})
    assert response.status_code == 200 and response.context["filter"].errors and ids(response) == []


def all_kinds_of_activities(kit):
    """An activity in every status by each branch of the pairing, in the other pairing, and a deleted one."""
    made = []
    for pairing, branch in [(kit["pairing"], kit["branch"]), (kit["pairing"], kit["other_branch"]),
                            (kit["other_pairing"], None)]:
        for status in S.values:
            extra = {} if branch is None else {"branch": branch}
            made.append(f.ActivityFactory(
                pairing=pairing, status=status, activity_type=kit["type"],
                submitted_at=None if status in (S.DRAFT, S.RETURNED) else timezone.now(),
                confirmed_at=timezone.now() if status == S.CONFIRMED else None, **extra,
            ))
    made[0].deleted_at = timezone.now()
    made[0].save()
    return made


@pytest.mark.parametrize("literal_cap", [200, 0])
@pytest.mark.parametrize("role", ["outsider", "village", "other_secretary", "secretary", "committee", "admin", "superuser"])
def test_the_lists_scope_is_exactly_visible_to(kit, role, literal_cap, monkeypatch):
    """The list reads the scope as literal id lists (the pairings read once with its drop-downs), or past
    LITERAL_IDS_CAP pairings as subqueries: the same activities as `visible_to`, drafts included or not, and the
    same "may record" as the form's rule."""
    monkeypatch.setattr(activity_models, "LITERAL_IDS_CAP", literal_cap)
    all_kinds_of_activities(kit)
    user = kit["users"][role]
    choices = selectors.list_choices(user)
    expected = set(Activity.objects.visible_to(user).values_list("id", flat=True))
    assert set(selectors.activity_list(user, choices).values_list("id", flat=True)) == expected
    for pairing in (kit["pairing"], kit["other_pairing"]):
        narrowed = selectors.activity_list(user, choices, pairing=str(pairing.pk))
        assert set(narrowed.filter(pairing=pairing).values_list("id", flat=True)) == set(
            Activity.objects.visible_to(user).filter(pairing=pairing).values_list("id", flat=True)
        )
    assert choices.recordable == permissions.can_record(user)
    assert set(choices.pairing_ids) == set(Pairing.objects.visible_to(user).values_list("id", flat=True))


def test_drop_downs_escape_names_and_mark_the_chosen_one(client, kit):
    kit["village"].short_name = '<b>"龙石"</b>'
    kit["village"].save()
    client.force_login(kit["users"]["secretary"])
    text = client.get(URL, {"pairing": kit["pairing"].pk}).content.decode()
    assert "<b>" not in text and "&lt;b&gt;&quot;龙石&quot;&lt;/b&gt;" in text
    assert f'name="pairing" type="text" value="{kit["pairing"].pk}"' in text  # the picker: the chosen one
    assert f'<option value="{kit["type"].pk}">{kit["type"].name}</option>' in text


def test_a_page_of_the_unfiltered_list_is_read_as_page_one_is(client, kit):
    """?cursor=… alone is the next page of the unfiltered list: its filter fields are page 1's, from as many
    queries; with a filter beside the cursor the page is filtered."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    many(kit, PAGE_SIZE + 10, per_day=2)
    many(kit, 6, per_day=2, status=S.CONFIRMED, start=datetime.date(2023, 6, 1), title="确认")
    client.force_login(kit["users"]["secretary"])
    client.get(URL)  # the kept values (scope, choices) read once
    with CaptureQueriesContext(connection) as first_queries:
        first = client.get(URL)
    with CaptureQueriesContext(connection) as next_queries:
        second = client.get(link(first, "next"))
    assert ids(second) == newest_first()[PAGE_SIZE:]
    assert len(next_queries) == len(first_queries)
    assert second.context["filter"].fields_html() == first.context["filter"].fields_html()
    assert not second.context["filtered"]
    assert not second.context["filter"].is_bound  # no form built and validated for filters nobody gave

    confirmed = client.get(URL, {"cursor": link(first, "next").split("cursor=")[1], "status": S.CONFIRMED})
    assert ids(confirmed) == newest_first(status=S.CONFIRMED) and confirmed.context["filtered"]
