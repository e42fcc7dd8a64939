"""python manage.py compilemessages_if_needed — compile .po files only when a .mo is missing or older.

dev.py runs it on every start, so it stays silent when there is nothing to do and does not need
gettext's msgfmt when the .mo files are already up to date."""
import shutil
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

# compilemessages walks the whole tree looking for locale/ directories; not into these.
IGNORED_DIRS = [".venv", ".git", ".pgdata", "node_modules", "staticfiles", "media"]


def stale_catalogs() -> list:
    stale = []
    for locale_dir in settings.LOCALE_PATHS:
        locale_dir = Path(locale_dir)
        for po in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")) if locale_dir.is_dir() else []:
            mo = po.with_suffix(".mo")
            if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
                stale.append(po)
    return stale


class Command(BaseCommand):
    help = "Run compilemessages if any .po under LOCALE_PATHS is newer than its .mo."

    def handle(self, *args, **options):
        stale = stale_catalogs()
        if not stale:
            return
        if shutil.which("msgfmt") is None:
            missing = [po for po in stale if not po.with_suffix(".mo").exists()]
            if missing:
                raise CommandError(
                    "msgfmt (GNU gettext) is needed to compile " + ", ".join(str(p) for p in missing)
                    + "; install gettext (apt-get install gettext)."
                )
            self.stderr.write("msgfmt not found; using the existing, older .mo files for: "
                              + ", ".join(str(p) for p in stale))
            return
        call_command("compilemessages", locale=sorted({po.parent.parent.name for po in stale}),
                     verbosity=options["verbosity"], ignore_patterns=IGNORED_DIRS)
