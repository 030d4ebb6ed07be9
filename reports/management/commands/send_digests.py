"""Build today's digest e-mails now (as beat does at 08:00) and send the outbox: for demos and for catching up."""

from django.core.management.base import BaseCommand

from reports import channels, digest


class Command(BaseCommand):
    help = "Build today's digest e-mail of each person (at most one a day) and send the outbox's due messages."

    def add_arguments(self, parser):
        parser.add_argument("--no-send", action="store_true", help="Only build the digests; the outbox sends them.")

    def handle(self, *args, no_send=False, **options):
        made = digest.digests_build()
        self.stdout.write(f"digests made: {made}")
        if not no_send:
            sent = failed = 0
            while True:
                result = channels.deliveries_send(limit=100)
                sent += result.sent
                failed += result.outcomes["failed"] + result.outcomes["retry"]
                if result.claimed < 100 or not sum(result.outcomes.values()):
                    break
            self.stdout.write(f"messages sent: {sent}, not sent (kept for retry or given up): {failed}")
