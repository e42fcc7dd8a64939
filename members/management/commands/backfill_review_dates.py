"""Give every active or suspended member without one a periodic re-review date (MEM-5), set-wise.

The migration 0013 ran it once; run it again after bulk loads that bypass the services:
    python manage.py backfill_review_dates [--interval-days N]
"""
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.utils import timezone

from members.models import MemberSettings
from members.review_schedule import review_dates_backfill


class Command(BaseCommand):
    help = "Set next_review_on on members who have none (first sign-up anniversary from today)."

    def add_arguments(self, parser):
        parser.add_argument("--interval-days", type=int, default=None,
                            help="defaults to MemberSettings.review_interval_days")

    def handle(self, *args, interval_days=None, **options):
        interval = interval_days or MemberSettings.get().review_interval_days
        if not 30 <= interval <= 3660:
            self.stderr.write("--interval-days must be between 30 and 3660")
            return
        with transaction.atomic():
            changed = review_dates_backfill(connection, today=timezone.localdate(), interval_days=interval)
        self.stdout.write(f"{changed} members scheduled for periodic re-review (every {interval} days).")
