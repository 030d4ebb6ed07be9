"""Report data are written as a parameter of the INSERT or UPDATE (portal.db.values_bound: server-side binding on
PostgreSQL), in compact JSON: whatever the text holds (quotes, backslashes, what looks like a placeholder, Chinese),
each way of storing a report reads back exactly the data built."""

import pytest
from django.db import connection

from portal.db import values_bound
from reports import generation
from reports.builders import period_for
from reports.models import Report
from tests import factories as f

pytestmark = pytest.mark.django_db

AWKWARD = [
    "结对共建 “双报到” 活动", "it's \"quoted\"", "back\\slash \\n not a newline", "a real\nnewline\tand tab",
    "%s %(name)s $1 ? :1", "{\"not\": \"json\"}", "emoji 🎉", "", "  spaces  ",
]


def awkward_data(n):
    return {
        "title": AWKWARD[n % len(AWKWARD)],
        "texts": AWKWARD,
        "nested": {"list": [{"k": text, "n": i, "x": 1.5, "none": None, "yes": True} for i, text in enumerate(AWKWARD)]},
        "n": n,
    }


def test_every_way_of_storing_keeps_the_data_exactly(records):
    program = records["program"]
    pairings = [records["pairing"], *(f.PairingFactory(program=program, supporter=records["school"]) for _ in range(2))]
    period = period_for("monthly", "2024-03")
    data = {p.pk: awkward_data(i) for i, p in enumerate(pairings)}

    new = generation._store_new("monthly", period, program, pairings, data)  # the batch's INSERT
    assert sorted(new) == sorted(data)
    report, created = generation._store("monthly", period, program, None, None, awkward_data(7))  # one INSERT
    assert created
    rebuilt = awkward_data(8)
    again, created = generation._store("monthly", period, program, None, report, rebuilt)  # the draft's UPDATE
    assert not created and again.pk == report.pk

    for pairing in pairings:
        assert Report.objects.get(scope_key=f"pairing:{pairing.pk}").data == data[pairing.pk]
    assert Report.objects.get(scope_key="program").data == rebuilt


def test_values_bound_is_left_as_it_was_found_even_after_an_error():
    connection.ensure_connection()
    factory = getattr(connection.connection, "cursor_factory", None)
    with pytest.raises(ZeroDivisionError), values_bound(connection):
        with connection.cursor() as cursor:
            cursor.execute("SELECT %s", ["x"])
            assert cursor.fetchone() == ("x",)
        1 / 0
    assert getattr(connection.connection, "cursor_factory", None) is factory


@pytest.mark.skipif(connection.vendor != "postgresql", reason="server-side binding is PostgreSQL's")
def test_inside_values_bound_a_value_is_sent_apart_from_the_statement():
    from django.db.backends.postgresql.base import ServerBindingCursor

    with values_bound(connection), connection.cursor() as cursor:
        assert isinstance(cursor.cursor, ServerBindingCursor)
        # a text with a quote is a parameter: nothing quoted into the statement, which keeps its placeholder
        cursor.execute("SELECT %s::text", ["it's"])
        assert cursor.fetchone() == ("it's",)
        assert "$1" in cursor.cursor._query.query.decode()
    with connection.cursor() as cursor:
        assert not isinstance(cursor.cursor, ServerBindingCursor)


def test_the_stored_text_is_the_standard_librarys_compact_json():
    """StoredJSONEncoder (orjson) writes what json.dumps writes, compact and with Chinese as UTF-8: ids as keys
    become strings, floats keep their shortest form (a float's exponent alone is written 1e-7, not 1e-07: the same
    number), and what report data may not hold is refused as before."""
    import datetime
    import decimal
    import json

    def compact(value):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    data = {
        **awkward_data(3),
        "by_pairing": {12: {"n": 3, "share": 0.1 + 0.2}, 7: None},
        "figures": [123456789.125, -0.0, 2**53 + 1, 10**18, 2.5],
        "label": "一月一提示（2025年6月）",
    }
    text = json.dumps(data, cls=generation.StoredJSONEncoder)
    assert text == compact(data)
    assert json.loads(text)["by_pairing"]["12"]["n"] == 3 and "一月一提示" in text
    tiny = {"x": [1e-7, 1.5e300]}
    assert json.loads(json.dumps(tiny, cls=generation.StoredJSONEncoder)) == json.loads(compact(tiny)) == tiny
    for unwritable in (decimal.Decimal("1.5"), datetime.date(2025, 6, 30)):
        with pytest.raises(TypeError):
            json.dumps({"x": unwritable}, cls=generation.StoredJSONEncoder)
