"""The needs and pairings lists' search: every field, Chinese, Latin and digits, within the scope; relevance first."""

import pytest
from django.urls import reverse

from tests import factories as f

pytestmark = pytest.mark.django_db


def need_titles(client, **params):
    response = client.get(reverse("activities:need_list"), params)
    assert response.status_code == 200
    return [need.title for need in response.context["page"].object_list]


def pairing_names(client, **params):
    response = client.get(reverse("pairings:pairing_list"), params)
    assert response.status_code == 200
    return [str(p.supported.name) for p in response.context["object_list"]]


@pytest.fixture
def needs(world):
    f.NeedFactory(pairing=world["pairing"], title="路灯维修", description="村口 LED 灯坏了")
    f.NeedFactory(pairing=world["pairing"], title="辅导功课", description="为留守儿童辅导, 需要 5G 平板")
    f.NeedFactory(pairing=world["pairing"], title="清理河涌", description="请帮忙维修水泵 2024")
    f.NeedFactory(pairing=world["other_pairing"], title="电视维修", description="外村 LED 2024")


@pytest.mark.parametrize(
    "query, expected",
    [
        ("维修", ["路灯维修", "清理河涌"]),  # the title's match first, then the description's
        ("修", ["路灯维修", "清理河涌"]),
        ("led", ["路灯维修"]),
        ("5G", ["辅导功课"]),
        ("2024", ["清理河涌"]),
        ("龙石", ["清理河涌", "辅导功课", "路灯维修"]),  # the village's name (newest first)
        ("维修 水泵", ["清理河涌"]),
    ],
)
def test_need_search(client, world, needs, query, expected):
    client.force_login(world["users"]["village"])
    found = need_titles(client, q=query)
    assert sorted(found) == sorted(expected)
    assert found[0] == expected[0]
    assert "电视维修" not in found  # the other village's need: never


def test_need_search_is_marked(client, world, needs):
    client.force_login(world["users"]["village"])
    assert "路灯<mark>维修</mark>" in client.get(reverse("activities:need_list"), {"q": "维修"}).content.decode()


def test_pairing_search(client, world):
    world["pairing"].goals = "共建 5G 智慧课堂, 2024 年完成"
    world["pairing"].save()
    client.force_login(world["users"]["admin"])  # the first program's admin: its pairing only
    assert pairing_names(client, q="龙石") == ["龙石村"]
    assert pairing_names(client, q="5g 2024") == ["龙石村"]
    assert pairing_names(client, q="智慧") == ["龙石村"]
    assert pairing_names(client, q="田心") == []  # another program's pairing
    client.force_login(world["users"]["superuser"])
    assert pairing_names(client, q="田心") == ["田心村"]
    assert sorted(pairing_names(client, q="村")) == ["田心村", "龙石村"]
    html = client.get(reverse("pairings:pairing_list"), {"q": "龙石"}).content.decode()
    assert "<mark>龙石</mark>村" in html
