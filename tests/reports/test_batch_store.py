"""A batch of pairing reports (generation.reports_generate, the scheduled job's tasks) is stored at once: version 1 of
every new scope in one transaction with its history rows, each report the one its pairing gets built alone, a fixed
number of queries whatever the batch's size, and a concurrent insert of one of them still leaves exactly one report
per scope."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reports import generation
from reports.builders import build_report_data, period_for
from reports.models import Report
from tests import factories as f

pytestmark = pytest.mark.django_db


def without_build_time(data):
    return {key: value for key, value in data.items() if key != "built_at"}


@pytest.fixture
def pairings(records):
    program = records["program"]
    more = [f.PairingFactory(program=program, supporter=records["school"]) for _ in range(3)]
    return [records["pairing"], *more]


def test_a_batch_stores_each_report_as_built_alone_with_its_history(records, pairings):
    program = records["program"]
    results = generation.reports_generate(kind="monthly", period="2024-03", program=program, pairings=pairings)
    assert [(report.pairing_id, created, report.version, report.status) for report, created in results] == [
        (p.pk, True, 1, "draft") for p in pairings
    ]
    for pairing in pairings:
        stored = Report.objects.get(kind="monthly", period="2024-03", scope_key=f"pairing:{pairing.pk}")
        alone = build_report_data("monthly", "2024-03", program, pairing)
        assert without_build_time(stored.data) == without_build_time(alone)
        assert list(stored.history.values_list("history_type", flat=True)) == ["+"]

    again = generation.reports_generate(kind="monthly", period="2024-03", program=program, pairings=pairings)
    assert [created for _report, created in again] == [False] * len(pairings)  # the drafts rebuilt, none added
    assert Report.objects.filter(kind="monthly", period="2024-03").count() == len(pairings)


def test_a_report_inserted_meanwhile_elsewhere_leaves_one_report_per_scope(records, pairings):
    program = records["program"]
    period = period_for("monthly", "2024-03")
    data = {p.pk: build_report_data("monthly", period, program, p) for p in pairings}
    generation.report_generate(kind="monthly", period="2024-03", program=program, pairing=pairings[1])  # the other worker
    assert generation._store_new("monthly", period, program, pairings, data) == {}  # all or nothing
    assert Report.objects.filter(kind="monthly", period="2024-03").count() == 1

    generation.reports_generate(kind="monthly", period="2024-03", program=program, pairings=pairings)
    assert sorted(Report.objects.filter(kind="monthly", period="2024-03").values_list("scope_key", flat=True)) == sorted(
        f"pairing:{p.pk}" for p in pairings
    )


def test_a_batch_is_a_fixed_number_of_queries_whatever_its_size(records, pairings):
    counts = []
    for period, batch in (("2024-03", pairings[:1]), ("2024-04", pairings)):
        with CaptureQueriesContext(connection) as captured:
            generation.reports_generate(kind="monthly", period=period, program=records["program"], pairings=batch)
        counts.append(len(captured))
    assert counts[0] == counts[1], counts


def test_a_program_task_stores_its_report_and_its_pairings_as_each_built_alone(records, pairings):
    """The scheduled job's task per program (generation.program_reports_generate): the program's report and each
    pairing's from one read, stored in groups of ``batch`` with their history rows; run again, the drafts are
    rebuilt and a published report is left alone: one report per scope."""
    program = records["program"]
    results = generation.program_reports_generate(kind="monthly", period="2024-03", program=program, batch=3)
    assert [(report.pairing_id, created, report.version) for report, created in results] == [
        (None, True, 1), *sorted((p.pk, True, 1) for p in pairings)
    ]
    for pairing in (None, *pairings):
        stored = Report.objects.get(kind="monthly", period="2024-03", scope_key=generation.scope_key_for(pairing))
        alone = build_report_data("monthly", "2024-03", program, pairing)
        assert without_build_time(stored.data) == without_build_time(alone)
        assert list(stored.history.values_list("history_type", flat=True))[-1] == "+"

    Report.objects.filter(scope_key=f"pairing:{pairings[0].pk}").update(
        status=Report.Status.PUBLISHED, published_at=timezone.now()
    )
    again = generation.program_reports_generate(kind="monthly", period="2024-03", program=program, batch=3)
    assert [created for _report, created in again] == [False] * (len(pairings) + 1)
    assert Report.objects.filter(kind="monthly", period="2024-03").count() == len(pairings) + 1


def test_a_program_task_is_a_fixed_number_of_queries_whatever_its_pairings(records, pairings):
    """One read for the program and all its pairings, whatever their number: the program and its latest reports
    (2), the program's report (20, as test_builders.test_query_count_is_fixed counts them after the period), its
    pairings' village statistics, last meetings and decisions (3), the program's report stored (an INSERT and its
    history row, in a savepoint here: 4), the pairings (1) and a group of their reports stored likewise (4)."""
    counts = []
    for period, more in (("2024-03", 0), ("2024-04", 2)):
        for _ in range(more):
            f.PairingFactory(program=records["program"], supporter=records["school"])
        with CaptureQueriesContext(connection) as captured:
            generation.program_reports_generate(kind="monthly", period=period, program=records["program"], batch=300)
        counts.append(len(captured))
    assert counts[0] == counts[1] == 34, counts
