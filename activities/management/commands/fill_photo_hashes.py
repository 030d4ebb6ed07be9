"""``manage.py fill_photo_hashes``: give the photos stored before picture hashes were kept their hash
(activities.images.dhash), read from their stored file, so that the plausibility warnings find copies of them too.

New uploads get theirs at upload. A photo whose file is missing or unreadable (or a flat picture) is skipped and
counted: it keeps no hash and is tried again on the next run. Idempotent; safe to run while the portal is up."""

from django.core.management.base import BaseCommand

from activities.services import photo_hashes_fill


class Command(BaseCommand):
    help = "Compute the picture hash of stored photos that have none (files missing or unreadable are skipped)."

    def handle(self, *args, **options):
        hashed, skipped = photo_hashes_fill()
        self.stdout.write(f"Photos hashed: {hashed}; skipped (file missing or unreadable, or a flat picture): {skipped}.")
