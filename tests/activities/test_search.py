"""The activity list's search (portal/search.py): every field, in Chinese, Latin and digits, on both engines;
within the viewer's scope; the export of a searched list holds exactly its rows; the query count is fixed."""

import csv
import datetime
import io

import pytest
from django.db import connection
from django.urls import reverse

from portal import search
from portal.pagination import PAGE_SIZE
from tests import factories as f

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2024, 6, 1, 9, 0, tzinfo=datetime.timezone.utc)


@pytest.fixture
def rows(world):
    def activity(title, place="", description="", branch=None, pairing=None, day=1):
        return f.ActivityFactory(
            pairing=pairing or world["pairing"], branch=branch or world["branch"], title=title, place=place,
            description=description, date=datetime.date(2024, 5, day), status="submitted", submitted_at=NOW,
        )

    return {
        "repair": activity("家电维修进村", day=2),
        "place": activity("主题党日", place="龙石村党群服务中心", day=3),
        "description": activity("宣讲", description="为老人维修电视机, WiFi 调试, 5G 基站", day=4),
        "year": activity("2024年度总结会", place="会议室", day=5),
        "person": activity("走访困难群众", description="入户走访老人", day=6),
        "other_branch": activity("联席会议", branch=world["other_branch"], day=7),
        # another scope: the secretary's branch never sees it, whatever the search
        "foreign": activity("家电维修进社区 2024 WiFi", pairing=world["other_pairing"],
                            branch=f.OrganizationFactory(name="外单位支部", kind="branch"), day=8),
    }


def titles(client, **params):
    response = client.get(reverse("activities:list"), params)
    assert response.status_code == 200
    return {row.title for row in response.context["page"].object_list}


@pytest.mark.parametrize(
    "query, expected",
    [
        ("维修", {"家电维修进村", "宣讲"}),  # two characters: title and description
        ("修", {"家电维修进村", "宣讲"}),  # one character
        ("人", {"宣讲", "走访困难群众"}),  # one common character, in descriptions only (老人)
        ("党群服务", {"主题党日"}),  # four characters: the place
        ("wifi", {"宣讲"}),  # Latin, case-insensitive
        ("WiFi", {"宣讲"}),
        ("5G", {"宣讲"}),  # letters and digits
        ("2024", {"2024年度总结会"}),  # digits
        ("维修 WiFi", {"宣讲"}),  # two terms: both held
        ("维修 进村", {"家电维修进村"}),
        ("第四党支部", {"联席会议"}),  # the branch's name
        ("龙石", {"家电维修进村", "主题党日", "宣讲", "2024年度总结会", "走访困难群众", "联席会议"}),  # the village
        ("不存在", set()),
    ],
)
def test_search_finds_by_every_field_in_scope(client, world, rows, query, expected):
    client.force_login(world["users"]["committee"])  # the school: both branches, not the other pairing
    assert titles(client, q=query) == expected


def test_search_never_leaks_another_scope(client, world, rows):
    for role in ("secretary", "committee", "village", "other_secretary"):
        client.force_login(world["users"][role])
        assert "家电维修进社区 2024 WiFi" not in titles(client, q="维修 2024 WiFi"), role
        assert "家电维修进社区 2024 WiFi" not in titles(client, q="外单位"), role
    client.force_login(world["users"]["outsider"])  # the other village's committee: its own pairing
    assert titles(client, q="维修 2024 WiFi") == {"家电维修进社区 2024 WiFi"}


def test_search_combines_with_filters(client, world, rows):
    client.force_login(world["users"]["committee"])
    assert titles(client, q="维修", date_from="2024-05-03") == {"宣讲"}
    assert titles(client, q="会", branch=world["other_branch"].pk) == {"联席会议"}


def test_matches_are_marked_and_escaped(client, world, rows):
    f.ActivityFactory(pairing=world["pairing"], branch=world["branch"], title="<b>维修</b>课", status="submitted", submitted_at=NOW)
    client.force_login(world["users"]["committee"])
    html = client.get(reverse("activities:list"), {"q": "维修"}).content.decode()
    assert "家电<mark>维修</mark>进村" in html
    assert "&lt;b&gt;<mark>维修</mark>&lt;/b&gt;课" in html
    assert "<b>维修" not in html


def test_export_of_a_searched_list_equals_the_list(client, world, rows):
    client.force_login(world["users"]["committee"])
    for query in ("维修", "人", "龙石 2024", "wifi"):
        listed = titles(client, q=query)
        response = client.get(reverse("activities:export"), {"q": query})
        text = b"".join(response.streaming_content).decode("utf-8-sig")
        table = list(csv.reader(io.StringIO(text)))
        column = table[0].index(next(h for h in table[0] if h in ("标题", "Title")))
        assert {row[column] for row in table[1:]} == listed, query


@pytest.mark.parametrize("count", [1, PAGE_SIZE + 5])
def test_searched_list_queries_do_not_grow_with_rows(client, world, count, django_assert_num_queries):
    for i in range(count):
        f.ActivityFactory(pairing=world["pairing"], branch=world["branch"], title=f"维修{i}", status="submitted", submitted_at=NOW)
    client.force_login(world["users"]["secretary"])
    # the list's five and two more: the organisations whose names hold a term (branch and village matches), and
    # the second part of a list ordered by relevance (the titles hold 维修 but not 龙石: every row is in the second)
    with django_assert_num_queries(7):
        response = client.get(reverse("activities:list"), {"q": "维修 龙石"})
    assert len(response.context["page"].object_list) == min(count, PAGE_SIZE)


def test_tokens_and_tsquery_split_alike():
    assert search.terms("  维修   2024 维修 ") == ["维修", "2024"]
    assert search.tokens("家电维修 WiFi 5G") >= {"家", "维修", "电维", "wifi", "5g"}
    assert search.tsquery("维修服务") == "'维修' & '修服' & '服务'"
    assert search.tsquery("人") == "'人'"
    assert search.tsquery("5G网络") == "'网络' & '5g':*"
    assert search.tsquery("——") == ""
    assert str(search.highlight("<i>WiFi</i> 维修", "wifi 维修")) == "&lt;i&gt;<mark>WiFi</mark>&lt;/i&gt; <mark>维修</mark>"


def test_postgres_index_serves_the_search(postgres_only, world, rows):
    """The function the migration made gives the tokens the tokeniser gives, and the planner can use the index."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT portal_search_vector(%s, %s, NULL)::text", ["家电维修 WiFi", "5G基站2024"])
        vector = cursor.fetchone()[0]
    assert {token.strip("'") for token in vector.split()} == search.tokens("家电维修 WiFi 5G基站2024")
    from activities.filters import ACTIVITY_SEARCH_COLUMN, ACTIVITY_SEARCH_FIELDS
    from activities.models import Activity

    # the stored column (activities 0010) holds what the function makes of the row, kept by PostgreSQL itself
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM activities_activity"
                       " WHERE search_vector IS DISTINCT FROM portal_search_vector(title, place, description)")
        assert cursor.fetchone()[0] == 0
    queryset = Activity.all_objects.filter(search.search_q(
        "维修", ACTIVITY_SEARCH_FIELDS, indexed=ACTIVITY_SEARCH_FIELDS, column=ACTIVITY_SEARCH_COLUMN))
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off; SET enable_indexscan = off")
        try:
            plan = queryset.order_by().explain()
        finally:
            cursor.execute("SET enable_seqscan = on; SET enable_indexscan = on")
    assert "activities_activity_search_vector" in plan


def test_postgres_rare_terms_are_read_by_id_with_the_same_rows(postgres_only, client, world, rows, monkeypatch):
    """A term missing from the column's statistics (rare) is found through the index first and read by id
    (search.rare_hits); a common one is not. Both give exactly the rows the substring rule gives."""
    import time

    from django.test.utils import CaptureQueriesContext

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE activities_activity")
    search._common_tokens.clear()
    assert search.common_tokens("activities_activity", "search_vector") is None or isinstance(
        search.common_tokens("activities_activity", "search_vector"), frozenset)  # pg_stats is readable
    # statistics as a big table would have them: 人 among the most common tokens, 维修 not
    monkeypatch.setitem(search._common_tokens, ("activities_activity", "search_vector"),
                        (time.monotonic(), frozenset({"人", "会"})))
    client.force_login(world["users"]["committee"])
    for query, expected, probed in [("维修", {"家电维修进村", "宣讲"}, True), ("人", {"宣讲", "走访困难群众"}, False),
                                    ("维修 进村", {"家电维修进村"}, True), ("不存在", set(), True),
                                    ("wifi", {"宣讲"}, True)]:
        with CaptureQueriesContext(connection) as captured:
            assert titles(client, q=query) == expected, query
        ran = any(q["sql"].startswith('SELECT "id" FROM "activities_activity" WHERE "search_vector" @@')
                  for q in captured.captured_queries)
        assert ran == probed, query
    # past the cap, a term is treated as common (the date index finds a page of it soon)
    monkeypatch.setattr(search, "RARE_CAP", 1)
    from activities.models import Activity

    assert search.rare_hits(Activity, "search_vector", "维修", cap=1) is None
    assert sorted(search.rare_hits(Activity, "search_vector", "维修", cap=5)) == sorted(
        [rows["repair"].pk, rows["description"].pk, rows["foreign"].pk])


@pytest.mark.parametrize(
    "term, lookup",
    [("维修", "contains"), ("第3", "contains"), ("2024", "contains"), ("5G", "icontains"), ("wifi", "icontains"),
     ("ß", "icontains"), ("维修a", "icontains")],
)
def test_a_term_without_cased_letters_is_matched_as_it_is(term, lookup):
    """A term with no letter that has a case (Chinese, digits) finds the same rows without upper-casing every
    value read: contains; any other, icontains (the list tests above: wifi and WiFi find the same)."""
    assert search.contains_lookup(term) == lookup
