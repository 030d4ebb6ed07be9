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
