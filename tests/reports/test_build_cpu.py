"""What the report builds' CPU savings must not change: a listed activity is built as the plain dict an ActivityItem
became (builders.activity_item, kept out of plain()'s walk by PlainList), and the garbage collector paused during a
build (generation.collector_paused) is running again after it, whatever happened inside."""

import gc
from dataclasses import fields

import pytest

from reports import generation
from reports.builders import ActivityItem, PlainList, build_report, plain

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("scope", ["program", "pairing"])
def test_listed_activities_are_what_their_dataclass_made(records, scope):
    pairing = records["pairing"] if scope == "pairing" else None
    data = build_report("monthly", "2024-03", records["program"], pairing)
    items = data.activities.items
    assert len(items) == 3  # a1, a2, a3: counted in March
    assert any(item["co_branches"] for item in items)
    names = [f.name for f in fields(ActivityItem)]
    for item in items:
        assert list(item) == names  # the stored JSON keeps the dataclass's key order
        assert plain(ActivityItem(**item)) == item
    stored = data.to_dict()["activities"]["items"]
    assert stored == list(items) and type(stored) is list and stored is not items


def test_plain_copies_a_plain_list_without_rebuilding_its_items():
    rows = PlainList([{"id": 1, "co_branches": ["甲"]}])
    copied = plain(rows)
    assert copied == [{"id": 1, "co_branches": ["甲"]}]
    assert type(copied) is list and copied is not rows and copied[0] is rows[0]
    row = {"id": 1}
    assert plain([row])[0] == row and plain([row])[0] is not row  # an ordinary list's items are still rebuilt


def test_the_collector_runs_again_after_a_build_even_a_failed_one():
    assert gc.isenabled()
    with generation.collector_paused():
        assert not gc.isenabled()
        with generation.collector_paused():  # nested: the outer one re-enables it
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ZeroDivisionError):
        with generation.collector_paused():
            1 / 0
    assert gc.isenabled()


def test_a_collector_paused_by_someone_else_stays_paused():
    gc.disable()
    try:
        with generation.collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_generation_builds_with_the_collector_paused(records, monkeypatch):
    seen = []
    real = generation.build_report_data

    def spy(*args, **kwargs):
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(generation, "build_report_data", spy)
    generation.report_generate(kind="monthly", period="2024-03", program=records["program"])
    assert seen == [False] and gc.isenabled()


def test_two_threads_building_at_once_leave_the_collector_running():
    """The collector is the process's: a build in another thread finding it paused leaves it to the one that
    paused it, and whichever order the two end in, it runs again after both."""
    import threading

    for first_out in ("a", "b"):
        inside = {"a": threading.Event(), "b": threading.Event()}
        leave = {"a": threading.Event(), "b": threading.Event()}

        def build(name):
            with generation.collector_paused():
                inside[name].set()
                leave[name].wait(5)

        threads = {name: threading.Thread(target=build, args=(name,)) for name in ("a", "b")}
        threads["a"].start()
        inside["a"].wait(5)
        threads["b"].start()
        inside["b"].wait(5)
        assert not gc.isenabled()
        second_out = "b" if first_out == "a" else "a"
        leave[first_out].set()
        threads[first_out].join(5)
        leave[second_out].set()
        threads[second_out].join(5)
        assert gc.isenabled()
