"""``manage.py load_demo``: the four seed programs as real records, dated relative to today (demo data only)."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from activities.models import Activity
from demo import loader
from portal import versioned
from volunteers.models import Team


class Command(BaseCommand):
    help = (
        "Load the demo data: the four pairing programs of the seed texts (双联双助, 党员进社区, 党建共同体, 两建三做), "
        "the two years before this one and this year up to today. Idempotent; refuses to run against a database "
        "that holds anything but demo data."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Run even with PORTAL_MODE=production (the demo accounts share a published password).",
        )

    def handle(self, *args, allow_production=False, **options):
        started = time.monotonic()
        try:
            stats = loader.load_demo(allow_production=allow_production)
        except loader.DemoRefused as exc:
            raise CommandError(str(exc)) from None
        versioned.setup_changed()  # what the cache holds of the set-up before the load is not read again
        elapsed = time.monotonic() - started

        self.stdout.write("Rows per model (and what this run changed):")
        changes = {model._meta.label: s for model, s in stats.items()}
        changes["activities.Activity.co_branches"] = stats.get(Activity.co_branches.through)
        changes["volunteers.Team.members"] = stats.get(Team.members.through)
        for label, count in loader.model_counts().items():
            change = changes.get(label)
            if change is None:
                suffix = ""
            elif change.created or change.updated or change.deleted:
                suffix = f"  (+{change.created} new, {change.updated} updated, {change.deleted} deleted)"
            else:
                suffix = "  (unchanged)"
            self.stdout.write(f"  {label:<45} {count:>6}{suffix}")
        self.stdout.write(self.style.SUCCESS(f"Demo data loaded in {elapsed:.1f} s."))
        self.stdout.write(
            self.style.WARNING(
                "DEMO DATA ONLY: the accounts " + ", ".join(loader.demo_usernames())
                + f" all use the password “{settings.PORTAL_DEMO_PASSWORD}”. Never load this into a production database."
            )
        )
