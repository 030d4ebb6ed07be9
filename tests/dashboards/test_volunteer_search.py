"""The volunteer list's search (issue 18): by name or organisation, every term, in the viewer's scope, marked in
the list; the export of a searched list holds exactly its rows; its queries do not grow with the rows."""

import pytest
from django.urls import reverse

from portal.models import Organization
from tests import factories as f

URL = reverse("dashboards:volunteer_list")


def names(client, **params):
    response = client.get(URL, params)
    assert response.status_code == 200
    return [v.name for v in response.context["object_list"]]


@pytest.fixture
def people(world):
    f.VolunteerFactory(name="张维修", organization=world["branch"])
    f.VolunteerFactory(name="李明", organization=world["branch"])
    f.VolunteerFactory(name="王WiFi", organization=world["other_branch"])
    f.VolunteerFactory(name="张三", organization=f.OrganizationFactory(name="外校支部", kind=Organization.Kind.BRANCH))
    return world


@pytest.mark.django_db
def test_search_by_name_and_organisation_in_the_scope(client, people):
    client.force_login(people["users"]["committee"])  # the school: both branches
    assert names(client, q="张") == ["张维修"]  # one character; 外校 is not theirs
    assert names(client, q="维修") == ["张维修"]  # two
    assert names(client, q="wifi") == ["王WiFi"] and names(client, q="WIF") == ["王WiFi"]
    assert sorted(names(client, q="第三党支部")) == ["张维修", "李明"]  # the organisation's name
    assert names(client, q="第三 李") == ["李明"]  # every term
    assert names(client, q="第四 李") == []
    client.force_login(people["users"]["superuser"])
    assert sorted(names(client, q="张")) == ["张三", "张维修"]
    client.force_login(people["users"]["outsider"])
    assert names(client, q="张") == []


@pytest.mark.django_db
def test_matches_are_marked_and_escaped(client, people):
    f.VolunteerFactory(name="<b>张</b>", organization=people["branch"])
    client.force_login(people["users"]["secretary"])
    text = client.get(URL, {"q": "张"}).content.decode()
    assert "<mark>张</mark>维修" in text
    assert "&lt;b&gt;<mark>张</mark>&lt;/b&gt;" in text and "<b>张</b>" not in text


@pytest.mark.django_db
def test_export_of_a_searched_list_holds_its_rows(client, people):
    client.force_login(people["users"]["committee"])
    listed = names(client, q="第三")
    body = client.get(reverse("dashboards:volunteer_export"), {"q": "第三"})
    text = b"".join(body.streaming_content if body.streaming else [body.content]).decode("utf-8-sig")
    exported = [line.split(",")[0] for line in text.strip().splitlines()[1:]]
    assert sorted(exported) == sorted(listed) == ["张维修", "李明"]


@pytest.mark.django_db
def test_searched_list_queries_do_not_grow(client, people, django_assert_num_queries):
    client.force_login(people["users"]["committee"])
    names(client, q="第三 志愿")  # warm: the session, the scope
    counts = []
    for extra in (2, 20):
        for _ in range(extra):
            f.VolunteerFactory(name="志愿者", organization=people["branch"])
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert len(names(client, q="第三 志愿")) >= extra
        counts.append(len(captured))
    assert counts[0] == counts[1]
