"""The completeness board shows its branches a page at a time (a province program has two thousand of them), each
page's cells read for its branches only, in a number of queries that does not grow with the branches."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dashboards import board
from figures.cache import rollup_changed
from portal.versioned import setup_changed
from portal.models import Organization
from tests import factories as f
from tests.pairings.helpers import activity

pytestmark = pytest.mark.django_db


def more_branches(world, n):
    """n more branches of the school in the world's pairing, named so that they sort before its two."""
    made = []
    for i in range(n):
        branch = f.OrganizationFactory(name=f"第{i + 10:02d}支部", kind=Organization.Kind.BRANCH, parent=world["school"])
        f.PairingBranchFactory(pairing=world["pairing"], branch=branch)
        made.append(branch)
    return made


def cells_of(response):
    """{(branch id, month): css} as the page shows them."""
    return {(row["branch"]["id"], cell["month"]): cell["css"] for row in response.context["rows"] for cell in row["cells"]}


def shown(client, world, **params):
    response = client.get(reverse("dashboards:completeness"), {"program": world["program"].pk, "year": 2024, **params})
    assert response.status_code == 200
    return response


def test_the_board_pages_its_branches_and_each_page_shows_its_own_cells(client, world, monkeypatch):
    monkeypatch.setattr(board, "PER_PAGE", 3)
    extra = more_branches(world, 4)  # six branches: pages of 3 and 3
    activity(world["pairing"], extra[3], status="confirmed", date=datetime.date(2024, 3, 15))  # the last branch
    activity(world["pairing"], world["branch"], status="submitted", date=datetime.date(2024, 5, 2))
    client.force_login(world["users"]["admin"])

    first = shown(client, world)
    assert [row["branch"]["name"] for row in first.context["rows"]] == ["第10支部", "第11支部", "第12支部"]
    assert not any(cell["status"] for row in first.context["rows"] for cell in row["cells"])
    assert "page=2" in first.content.decode()

    second = shown(client, world, page=2)
    rows = {row["branch"]["name"]: row for row in second.context["rows"]}
    assert list(rows) == ["第13支部", "第三党支部", "第四党支部"]
    march = rows["第13支部"]["cells"][2]
    assert march["css"] == "confirmed" and f"branch={extra[3].pk}" in march["url"]
    assert rows["第三党支部"]["cells"][4]["css"] == "submitted"
    assert rows["第四党支部"]["cells"][2]["css"] == "none"
    assert shown(client, world, page="x").context["page_obj"].number == 1  # a bad page is the first one
    assert shown(client, world, page=99).context["page_obj"].number == 2  # past the end: the last one


def test_a_page_of_the_board_costs_the_same_whatever_the_branches(client, world, monkeypatch):
    monkeypatch.setattr(board, "PER_PAGE", 3)
    client.force_login(world["users"]["admin"])
    shown(client, world)

    def queries():
        rollup_changed()  # the page read afresh, not from the cache
        setup_changed()
        with CaptureQueriesContext(connection) as captured:
            shown(client, world, page=2)
        return len(captured.captured_queries)

    few = queries()
    for branch in more_branches(world, 8):
        activity(world["pairing"], branch, status="confirmed", date=datetime.date(2024, 6, 1))
    assert queries() == few


def test_the_board_is_read_once_per_version_of_the_rollup_and_the_set_up(client, world, django_capture_on_commit_callbacks):
    """A page of the board is cached until the rollup or the set-up changes: an activity submitted since, a branch
    that became a co-host, a new branch show at once; a party committee never sees the cached page of an admin."""
    client.force_login(world["users"]["admin"])
    march = datetime.date(2024, 3, 1)
    with CaptureQueriesContext(connection) as afresh:
        cells = cells_of(shown(client, world))
    with CaptureQueriesContext(connection) as cached:
        assert cells_of(shown(client, world)) == cells
    # the session with its user and the unread count; afresh also the user's programs (read once: the default, the
    # choices, the chosen one and whether the user administers it; kept since), the scope (kept since), the branch rows
    # and the page's two reads of the months
    assert (len(afresh), len(cached)) == (6, 1), [q["sql"] for q in cached.captured_queries]
    assert cells[(world["branch"].pk, 3)] == "none"

    with django_capture_on_commit_callbacks(execute=True):
        hosted = activity(world["pairing"], world["branch"], status="submitted", date=march)
    assert cells_of(shown(client, world))[(world["branch"].pk, 3)] == "submitted"
    assert cells_of(shown(client, world))[(world["other_branch"].pk, 3)] == "none"
    with django_capture_on_commit_callbacks(execute=True):
        hosted.co_branches.add(world["other_branch"])
    assert cells_of(shown(client, world))[(world["other_branch"].pk, 3)] == "submitted"

    newcomer = more_branches(world, 1)[0]
    assert (newcomer.pk, 3) in cells_of(shown(client, world))

    # the school's party committee: its own pairings' branches, not the admin's cached page of all of them
    other_school = f.OrganizationFactory(name="另一学校", kind=Organization.Kind.SCHOOL)
    stranger = f.OrganizationFactory(name="外校支部", kind=Organization.Kind.BRANCH, parent=other_school)
    f.PairingBranchFactory(pairing=f.PairingFactory(program=world["program"], supporter=other_school), branch=stranger)
    assert (stranger.pk, 3) in cells_of(shown(client, world))
    client.force_login(world["users"]["committee"])
    assert (stranger.pk, 3) not in cells_of(shown(client, world))


def test_the_pager_links_keep_the_program_and_year_and_never_one_requests_extras(client, world, monkeypatch):
    """The table and its pager are cached for everyone who sees the page: its links come from the form's values."""
    monkeypatch.setattr(board, "PER_PAGE", 3)
    more_branches(world, 4)
    client.force_login(world["users"]["admin"])
    html = shown(client, world, stray="<b>").content.decode()
    assert f'rel="next" href="?program={world["program"].pk}&amp;year=2024&amp;page=2"' in html
    pager = html[html.index('<nav class="pagination"'):]
    assert "stray" not in pager[: pager.index("</nav>")]
    back = shown(client, world, page=2).content.decode()
    assert f'rel="prev" href="?program={world["program"].pk}&amp;year=2024&amp;page=1"' in back


def test_a_month_is_a_gap_once_it_is_over_and_the_running_month_is_not_yet(world):
    """On 6 December the branch that logged nothing yet in December is not behind: its cell is "month not over
    yet", like the months after it; November, over and empty, is a gap; a month with an activity shows it."""
    activity(world["pairing"], world["branch"], status="submitted", date=datetime.date(2024, 3, 15))
    branches = board.scoped_rows(world["program"], None)
    ours = next(row for row in branches if row["id"] == world["branch"].pk)

    def cells(today):
        rows = board.board_page(world["program"], 2024, [ours], today)
        return [cell["css"] for cell in rows[0]["cells"]]

    running = cells(datetime.date(2024, 12, 6))
    assert running[2] == "submitted" and running[10] == "none" and running[11] == "future"
    assert running[:2] == ["none", "none"]
    # the year after: every month of 2024 is over
    assert cells(datetime.date(2025, 1, 2))[11] == "none"
    # in March itself, its activity shows; April on is not over yet
    assert cells(datetime.date(2024, 3, 20))[2:4] == ["submitted", "future"]
    # before the year begins, no month is a gap
    assert "none" not in cells(datetime.date(2023, 12, 31))
