"""python manage.py refresh_purchase_summary [--rebuild]  (issue 17; see evaluation.purchase_summary)

The nightly jobs refresh the summary themselves; this runs the refresh by hand, or with --rebuild builds
it again from every purchase (after purchases were changed without Purchase.changed_at, e.g. by SQL)."""
from django.core.management.base import BaseCommand

from evaluation.purchase_summary import purchase_summary_refresh


class Command(BaseCommand):
    help = "Bring the per-member purchase summary up to date (or rebuild it from all purchases)."

    def add_arguments(self, parser):
        parser.add_argument("--rebuild", action="store_true", help="build it again from every purchase")

    def handle(self, *args, rebuild, **options):
        result = purchase_summary_refresh(rebuild=rebuild)
        what = "built" if result.built else "refreshed"
        noun = "day rows" if result.built else "member-days re-read"
        self.stdout.write(f"Purchase summary {what}: {result.cells} {noun}, {result.seconds:.2f} s")
