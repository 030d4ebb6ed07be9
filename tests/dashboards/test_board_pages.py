"""The completeness board shows its branches a page at a time (a province program has two thousand of them), each
page's cells read for its branches only, in a number of queries that does not grow with the branches."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dashboards import board
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
        with CaptureQueriesContext(connection) as captured:
            shown(client, world, page=2)
        return len(captured.captured_queries)

    few = queries()
    for branch in more_branches(world, 8):
        activity(world["pairing"], branch, status="confirmed", date=datetime.date(2024, 6, 1))
    assert queries() == few
