"""portal/db.py: the string aggregate keeps its order on every backend (on SQLite before 3.44 by sorting keyed
items), numbers lose their trailing zeros as Decimal.normalize() would, times read HH:MM."""

import datetime
from decimal import Decimal

import pytest
from django.db import NotSupportedError, connection
from django.db.models import CharField, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Concat

from activities.models import Activity, ActivityMetricValue
from portal import db
from portal.db import PlainNumber, StringAgg, TimeText
from tests import factories as f

pytestmark = pytest.mark.django_db


def figures_of(activity, *order_by, delimiter="; "):
    subquery = (
        ActivityMetricValue.objects.filter(activity_id=OuterRef("pk"))
        .order_by()
        .values("activity_id")
        .annotate(text=StringAgg(Concat("metric__name", Value("="), PlainNumber("value"), output_field=CharField()), delimiter, order_by=order_by))
        .values("text")
    )
    return Activity.objects.filter(pk=activity.pk).annotate(figures=Subquery(subquery)).values_list("figures", flat=True).get()


@pytest.fixture
def activity(world):
    return f.ActivityFactory(pairing=world["pairing"], branch=world["branch"])


@pytest.fixture
def string_agg_mode():
    """How this database orders the items: its own ORDER BY (PostgreSQL, SQLite 3.44+), or, on older SQLite,
    keyed items sorted when read. The tests below expect the same answers either way."""
    return "keyed" if db._keyed_fallback(connection) else "native"


def test_items_come_in_the_given_order_whatever_order_they_were_saved_in(world, activity, string_agg_mode):
    program = world["program"]
    metrics = [f.MetricFactory(program=program, name=name, order=order) for name, order in (("丙", 3), ("甲", 1), ("乙", 2), ("丁", 2))]
    for metric, value in zip(reversed(metrics), ("4", "3.50", "1.00", "12")):
        f.ActivityMetricValueFactory(activity=activity, metric=metric, value=Decimal(value))
    # by order, then id: 甲(1), 乙(2, created before 丁), 丁(2), 丙(3); the values were saved in reverse
    assert figures_of(activity, "metric__order", "metric_id") == "甲=1; 乙=3.5; 丁=4; 丙=12"
    assert figures_of(activity, "metric_id", delimiter="|") == "丙=12|甲=1|乙=3.5|丁=4"


def test_text_keys(world, activity, string_agg_mode):
    for name in ("C站", "A站", "B站"):
        f.ActivityMetricValueFactory(activity=activity, metric=f.MetricFactory(program=world["program"], name=name))
    assert figures_of(activity, "metric__name", delimiter="、").replace("=1", "") == "A站、B站、C站"


def test_an_activity_without_items_gets_null(activity, string_agg_mode):
    assert figures_of(activity, "metric_id") is None


def test_descending_keys_are_refused_where_they_cannot_be_honoured(world, activity, monkeypatch):
    f.ActivityMetricValueFactory(activity=activity, metric=f.MetricFactory(program=world["program"]))
    if connection.vendor == "sqlite":
        monkeypatch.setattr(db, "_sqlite_orders_aggregates", lambda connection: False)
        with pytest.raises(NotSupportedError):
            figures_of(activity, "-metric_id")
    else:
        assert figures_of(activity, "-metric_id") is not None


def test_order_is_required():
    with pytest.raises(ValueError):
        StringAgg("metric__name", "; ", order_by=())


@pytest.mark.parametrize(
    "value, text",
    [("12.00", "12"), ("2.50", "2.5"), ("0.05", "0.05"), ("100", "100"), ("0", "0"), ("999999999999.99", "999999999999.99")],
)
def test_plain_number(world, activity, value, text):
    f.ActivityMetricValueFactory(activity=activity, metric=f.MetricFactory(program=world["program"]), value=Decimal(value))
    assert ActivityMetricValue.objects.annotate(text=PlainNumber("value")).values_list("text", flat=True).get() == text
    assert text == f"{Decimal(value).normalize():f}"


def test_plain_number_of_a_sum(world, activity):
    """2.5 + 1.5 is 4 (SQLite adds decimals as floats: 4.0; PostgreSQL as numeric: 4.0): "4" either way."""
    for hours in ("2.5", "1.5"):
        f.ServiceRecordFactory(activity=activity, volunteer=f.VolunteerFactory(organization=world["branch"]), hours=Decimal(hours))
    total = Activity.objects.filter(pk=activity.pk).annotate(total=PlainNumber(Sum("service_records__hours")))
    assert total.values_list("total", flat=True).get() == "4"


def test_time_text(world):
    a = f.ActivityFactory(pairing=world["pairing"], branch=world["branch"], start_time=datetime.time(7, 5), end_time=None)
    row = Activity.objects.filter(pk=a.pk).annotate(s=TimeText("start_time"), e=TimeText("end_time")).values_list("s", "e").get()
    assert row == ("07:05", None)


def test_stream_rows_reads_in_one_query_and_can_stop_early(world, django_assert_num_queries):
    """All rows in one query; a reader that stops early (a client that hangs up) leaves the connection usable,
    with its settings as they were (PostgreSQL: the query is cancelled and JIT switched back)."""
    from django.db import connection

    from portal.db import stream_rows

    for i in range(30):
        f.ActivityFactory(pairing=world["pairing"], branch=world["branch"], title=f"活动{i:02d}")
    titles = Activity.objects.order_by("title").values_list("title", "date")
    with django_assert_num_queries(1):
        rows = list(stream_rows(titles, chunk_size=7))
    assert [row[0] for row in rows] == [f"活动{i:02d}" for i in range(30)]
    assert all(isinstance(row[1], datetime.date) for row in rows)  # converted as .iterator() would

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW jit")
            jit_before = cursor.fetchone()[0]
    reader = stream_rows(titles, chunk_size=7)
    assert next(reader)[0] == "活动00"
    reader.close()
    assert Activity.objects.count() == 30
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW jit")
            assert cursor.fetchone()[0] == jit_before


def test_stream_rows_of_a_distinct_query_ordered_by_a_column_it_does_not_select(world):
    """SELECT DISTINCT … ORDER BY id makes Django select id too: the rows still have only the asked columns."""
    from portal.db import stream_rows

    for i in range(3):
        f.ActivityFactory(pairing=world["pairing"], branch=world["branch"], title=f"活动{i}")
    rows = list(stream_rows(Activity.objects.distinct().order_by("-id").values_list("title")))
    assert rows == [("活动2",), ("活动1",), ("活动0",)]


def test_ids_listed_selects_what_an_in_list_selects_with_the_ids_written_into_the_statement(world):
    activities = [f.ActivityFactory(pairing=world["pairing"], branch=world["branch"]) for _ in range(4)]
    other = f.ActivityFactory(pairing=world["other_pairing"], branch=world["branch"])
    wanted = [activities[0].pk, activities[2].pk, 10**9]  # one id no row has
    listed = Activity.objects.filter(db.ids_listed_q("pk", wanted))
    assert sorted(listed.values_list("pk", flat=True)) == sorted(Activity.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    sql, params = listed.query.sql_with_params()
    assert str(10**9) in sql and 10**9 not in params  # written, not a placeholder
    assert not Activity.objects.filter(db.ids_listed_q("pk", [])).exists()
    # through a relation, combined with other conditions
    in_pairing = Activity.objects.filter(db.ids_listed_q("pairing__id", [world["pairing"].pk]) & Q(branch=world["branch"]))
    assert set(in_pairing.values_list("pk", flat=True)) == {a.pk for a in activities}  # not `other`
    assert other.pk in set(Activity.objects.filter(db.ids_listed_q("pairing__id", [world["other_pairing"].pk])).values_list("pk", flat=True))


def join_collapse_limit():
    with connection.cursor() as cursor:
        cursor.execute("SHOW join_collapse_limit")
        return cursor.fetchone()[0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the join search is PostgreSQL's setting")
def test_planned_as_written_holds_inside_and_gives_the_connections_setting_back():
    with connection.cursor() as cursor:
        cursor.execute("SET join_collapse_limit = 5")  # the connection's own, not the default
    with db.planned_as_written(connection):
        assert join_collapse_limit() == "1"
    assert join_collapse_limit() == "5"
    with pytest.raises(Activity.DoesNotExist), db.planned_as_written(connection):
        Activity.objects.get(pk=0)  # a read that fails without breaking the transaction
    assert join_collapse_limit() == "5"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the join search is PostgreSQL's setting")
def test_planned_as_written_after_a_failed_statement_leaves_the_error_to_the_caller(transactional_db):
    from django.db import DatabaseError, transaction

    with connection.cursor() as cursor:
        cursor.execute("SET join_collapse_limit = 5")
    with pytest.raises(DatabaseError), transaction.atomic(), db.planned_as_written(connection):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")  # breaks the transaction: the setting goes back with its rollback
    assert join_collapse_limit() == "5"


def test_the_activity_page_reads_its_activity_planned_as_written(client, world):
    """On PostgreSQL the activity's read runs between the setting and the setting back; elsewhere nothing is added."""
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    activity = f.ActivityFactory(pairing=world["pairing"], branch=world["branch"])
    client.force_login(world["users"]["secretary"])
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("activities:detail", args=[activity.pk]))
    assert response.status_code == 200 and response.context["activity"] == activity
    texts = [q["sql"] for q in captured.captured_queries]
    settings = [i for i, sql in enumerate(texts) if "join_collapse_limit" in sql]
    if connection.vendor != "postgresql":
        assert settings == []
        return
    first, back = settings
    assert back == first + 2 and '"activities_activity"."id" = ' in texts[first + 1]
    assert join_collapse_limit() != "1"


def test_in_array_selects_what_in_selects(world):
    """InArray: the same rows as `IN (subquery)`, on PostgreSQL as `= ANY(ARRAY(subquery))`."""
    mine = [f.ActivityFactory(pairing=world["pairing"], branch=world["branch"]) for _ in range(3)]
    f.ActivityFactory(pairing=world["other_pairing"], branch=world["other_branch"])
    ids = Activity.objects.filter(pairing=world["pairing"]).values("id")
    chosen = Activity.objects.filter(db.InArray(F("pk"), ids))
    assert sorted(chosen.values_list("pk", flat=True)) == sorted(a.pk for a in mine)
    assert ("= ANY(ARRAY(" in str(chosen.query)) == (connection.vendor == "postgresql")
    assert not Activity.objects.filter(db.InArray(F("pk"), ids.none())).exists()
