"""The program admin's home page: the reports waiting to be published, by program, kind and period, each a link to
the report list showing exactly those drafts."""

import pytest
from django.urls import reverse

from tests import factories as f

pytestmark = pytest.mark.django_db


def drafts(world, n):
    for i in range(n):
        pairing = f.PairingFactory(program=world["program"])
        f.ReportFactory(program=world["program"], pairing=pairing, kind="monthly", period="2024-02")
        f.ReportFactory(program=world["program"], pairing=pairing, kind="quarterly", period="2024Q1",
                        notes="已调度。" if i % 2 else "")
    f.ReportFactory(program=world["other_program"], pairing=world["other_pairing"])  # not the admin's program
    f.ReportFactory(program=world["program"], status="published", published_at="2024-03-01T08:00+08:00")


def test_the_admin_sees_the_drafts_and_reaches_them(client, world):
    drafts(world, 3)
    client.force_login(world["users"]["admin"])
    response = client.get(reverse("home"))
    groups = response.context["home"].drafts
    assert [(g.program, g.kind, g.period, g.count, g.without_notes) for g in groups] == [
        ("双联双助", "quarterly", "2024Q1", 3, 2),
        ("双联双助", "monthly", "2024-02", 3, 0),
    ]
    text = response.content.decode()
    assert "待发布的报告" in text and "一月一提示 2024-02：3 份草稿" in text and "其中 2 份尚无调度意见" in text
    listed = client.get(groups[1].url)
    assert {r.status for r in listed.context["object_list"]} == {"draft"}
    assert len(listed.context["object_list"]) == 3


def test_others_see_no_such_block(client, world):
    drafts(world, 1)
    client.force_login(world["users"]["secretary"])
    response = client.get(reverse("home"))
    assert response.context["home"].drafts == [] and "待发布的报告" not in response.content.decode()


@pytest.mark.parametrize("rows", [1, 30])
def test_the_block_costs_one_query_whatever_the_drafts(client, world, rows, django_assert_num_queries):
    from tests.dashboards.test_home import HOME_QUERIES

    drafts(world, rows)
    for period in range(1, rows % 12 + 1):  # more groups too
        f.ReportFactory(program=world["program"], period=f"2023-{period:02d}")
    client.force_login(world["users"]["admin"])
    with django_assert_num_queries(HOME_QUERIES["admin"]):
        assert client.get(reverse("home")).status_code == 200
