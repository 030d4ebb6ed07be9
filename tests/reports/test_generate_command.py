import pytest
from django.core.management import CommandError, call_command

from reports.models import Report

pytestmark = pytest.mark.django_db


def test_generate_reports_of_a_month_and_a_quarter_once(world):
    call_command("generate_reports", "2024-03", "2024Q1", verbosity=0)
    made = Report.objects.count()
    # each kind of report: the program's own and one per active pairing of every program
    assert Report.objects.filter(kind="monthly", period="2024-03", pairing__isnull=True).count() == 2
    assert Report.objects.filter(kind="quarterly", period="2024Q1", pairing=world["pairing"]).count() == 1
    call_command("generate_reports", "2024-03", "2024Q1", verbosity=0)
    assert Report.objects.count() == made


def test_a_bad_period_is_refused():
    with pytest.raises(CommandError):
        call_command("generate_reports", "2024-13")


@pytest.mark.parametrize(
    ("today", "periods"),
    [
        ("2027-01-03", []),  # nothing of this year has ended yet
        ("2027-05-20", ["2027-01", "2027-02", "2027-03", "2027-04", "2027Q1"]),
        ("2027-12-31", [f"2027-{m:02d}" for m in range(1, 12)] + ["2027Q1", "2027Q2", "2027Q3"]),
    ],
)
def test_this_year_means_its_months_and_quarters_ended_so_far(world, today, periods):
    import time_machine

    with time_machine.travel(f"{today} 10:00 +0800", tick=False):
        call_command("generate_reports", "this-year", verbosity=0)
    assert sorted(set(Report.objects.values_list("period", flat=True))) == sorted(periods)


def test_last_year_means_all_of_it(world):
    """Its months, its quarters and the year itself (the annual report, once the year is over)."""
    import time_machine

    with time_machine.travel("2027-03-01 10:00 +0800", tick=False):
        call_command("generate_reports", "last-year", verbosity=0)
    expected = {f"2026-{m:02d}" for m in range(1, 13)} | {f"2026Q{q}" for q in range(1, 5)} | {"2026"}
    assert set(Report.objects.values_list("period", flat=True)) == expected
    assert set(Report.objects.filter(period="2026").values_list("kind", flat=True)) == {"annual"}
