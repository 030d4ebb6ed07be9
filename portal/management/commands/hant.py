"""``manage.py hant``: make locale/zh_Hant/LC_MESSAGES/django.po from the Simplified catalogue (portal/hant.py)
and compile it. `make hant` runs it; `make messages` runs it after makemessages. Idempotent."""

from django.core.management import call_command
from django.core.management.base import BaseCommand

from portal import hant


class Command(BaseCommand):
    help = "Convert the zh_Hans catalogue to zh_Hant with OpenCC (s2hk) and the override table, then compile it."

    def add_arguments(self, parser):
        parser.add_argument("--no-compile", action="store_true", help="Write the .po only.")

    def handle(self, *args, no_compile=False, **options):
        changed = hant.write()
        self.stdout.write(f"{hant.TARGET.relative_to(hant.ROOT)}: {'rewritten' if changed else 'unchanged'}.")
        if not no_compile:
            call_command("compilemessages", locale=["zh_Hant"], ignore_patterns=[".venv/*"], verbosity=0)
