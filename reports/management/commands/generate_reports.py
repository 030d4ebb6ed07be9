"""Build reports now, in this process: `generate_reports 2024` makes every monthly and quarterly report of 2024 and
its annual report; `generate_reports 2024-03 2024Q1` just those periods; `generate_reports last-year this-year`
every report of last year (its annual report too) and those of this year's months and quarters that have ended
(what beat would have made by today, and the annual report an admin makes once the year is over).
Idempotent, like the Celery job it mirrors."""

import time
from collections import defaultdict

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from pairings.models import Pairing, Program
from reports import generation, publishing
from reports.periods import Month, PeriodError, Quarter, Year, parse


def year_jobs(year, *, before=None):
    """(kind, period) of a year's months, quarters and the year itself; with `before` (a date), only those ended by
    then."""
    months = [m for m in range(1, 13) if before is None or (year, m) < (before.year, before.month)]
    quarters = [q for q in range(1, 5) if before is None or (year, q * 3) < (before.year, before.month)]
    annual = [("annual", str(year))] if before is None or year < before.year else []
    return [("monthly", f"{year}-{m:02d}") for m in months] + [("quarterly", f"{year}Q{q}") for q in quarters] + annual


class Command(BaseCommand):
    help = (
        "Generate the reports of the given periods (2024: its months, quarters and the year; 2024Q1, 2024-03; "
        "last-year; this-year: its months and quarters ended so far) for every scope, in this process."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "periods", nargs="+", help="2024 (all its months, quarters and the year), 2024Q1, 2024-03, last-year or this-year"
        )

    def handle(self, *args, periods, **options):
        today = timezone.localdate()
        jobs = []
        for text in periods:
            if text == "last-year":
                jobs += year_jobs(today.year - 1)
                continue
            if text == "this-year":
                jobs += year_jobs(today.year, before=today)
                continue
            try:
                period = parse(text)
            except PeriodError as exc:
                raise CommandError(str(exc)) from None
            if isinstance(period, Year):
                jobs += year_jobs(period.year)
            elif isinstance(period, Quarter):
                jobs.append(("quarterly", text))
            elif isinstance(period, Month):
                jobs.append(("monthly", text))
        started, made = time.monotonic(), 0
        programs = {p.pk: p for p in Program.objects.all()}
        # A run over many periods (a backfill) publishes what the policy publishes at the end, in one batch per
        # program: a liaison hears once of the run's reports, not once per month of the two years.
        due = defaultdict(list)
        for kind, period in jobs:
            for program_id, pairing_id in generation.scopes_to_generate(kind, period):
                pairing = Pairing.objects.get(pk=pairing_id) if pairing_id else None
                program = programs[program_id]
                report, _created = generation.report_generate(
                    kind=kind, period=period, program=program, pairing=pairing, apply_policy=False
                )
                if generation.published_by_policy(program, report):
                    due[program_id].append(report.pk)
                made += 1
        for program_id, ids in due.items():
            publishing.publish_drafts(reports=ids, actor=None)
        self.stdout.write(f"{made} reports over {len(jobs)} periods in {time.monotonic() - started:.1f} s")
