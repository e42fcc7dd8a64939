"""python manage.py import_members FILE [--store CODE] [--commit] [--workers N] — dry run unless --commit (MEM-8).

The rows are validated and encrypted in N worker processes (default: the machine's cores, at most 4);
the report is the same as with --workers 1."""
import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.errors import MemberHubError
from members.importing import member_import_file
from members.models import Store


class Command(BaseCommand):
    help = "Check a CSV/XLSX file of members and, with --commit, import it (all rows or none)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="a .csv (UTF-8 or GBK) or .xlsx file")
        parser.add_argument("--store", help="store code for rows without one")
        parser.add_argument("--commit", action="store_true", help="import; without it the file is only checked")
        parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1),
                            help="worker processes that validate and encrypt the rows (1: in this process)")

    def handle(self, *args, file, store, commit, workers, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        store_default = None
        if store:
            store_default = Store.objects.filter(code=store).first()
            if store_default is None:
                raise CommandError(f"No such store: {store}")
        try:
            report = member_import_file(content=path.read_bytes(), filename=path.name, store_default=store_default,
                                        actor_user=None, dry_run=not commit, workers=workers)
        except MemberHubError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(report.as_text())
        if not report.ok:
            raise CommandError(f"{report.bad_rows} bad row(s); nothing imported.", returncode=1)
        if not commit:
            self.stdout.write("Dry run: nothing imported. Run again with --commit to import.")
