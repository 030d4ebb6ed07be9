"""``manage.py rebuild_rollups [--year 2024]``: recompute the per-pairing, per-month rollup from the source rows.

Run it after loading data behind the application's back (COPY, bulk inserts, a restored dump); the portal's
own writes keep the rollup current by themselves. Idempotent: rows already right are not written again. Also
recomputes the columns kept on each activity (activities.kept), which such loads leave at their defaults and the
rollup's verified hours are read from (figures.rollups.rollups_rebuild does both)."""

from django.core.management.base import BaseCommand, CommandError

from figures.rollups import rollups_rebuild


class Command(BaseCommand):
    help = "Recompute the per-pairing, per-month rollup (all years, or --year) from the activities."

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, help="only this year (e.g. 2024)")

    def handle(self, *args, year=None, **options):
        if year is not None and not 2000 <= year <= 2100:
            raise CommandError("--year must be between 2000 and 2100.")
        stats = rollups_rebuild(year=year)
        self.stdout.write(
            f"Rollup rebuilt{f' for {year}' if year else ''}: {stats.pairings} pairings, {stats.month_rows} "
            f"pairing-months, {stats.metric_rows} metric rows; {stats.written} rows written or deleted "
            f"in {stats.seconds:.1f} s."
        )
