from django.core.management.base import BaseCommand, CommandError

from points.reconcile import reconcile


class Command(BaseCommand):
    help = "Check that balances, ledger entries, lots and consumptions reconcile for every member."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=100, help="mismatches listed per check")

    def handle(self, *args, limit, **options):
        problems = reconcile(limit=limit)
        for check, member_id, expected, found in problems:
            self.stdout.write(f"{check}: member {member_id}: expected {expected}, found {found}")
        if problems:
            raise CommandError(f"{len(problems)} mismatch(es)")
        self.stdout.write("points ledger reconciles")
