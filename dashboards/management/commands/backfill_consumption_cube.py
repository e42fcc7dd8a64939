"""python manage.py backfill_consumption_cube [--from YYYY-MM] [--to YYYY-MM]  (EVAL-3; see dashboards.jobs)

Builds the consumption cube in full for every month from --from to --to and every year they touch;
without them, for every period the consumption page offers (24 months and 3 years up to yesterday's
month). Each period is replaced in its own transaction, so the command can be stopped and run again.
"""
import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from dashboards.jobs import backfill_periods, consumption_cube_backfill
from dashboards.selectors import consumption_periods


def parse_month(value: str) -> dt.date:
    try:
        return dt.datetime.strptime(value, "%Y-%m").date()
    except ValueError:
        raise CommandError(f"{value!r} is not a month (YYYY-MM).") from None


class Command(BaseCommand):
    help = "Build the consumption cube of past months and years (default: every period the page offers)."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="first", type=parse_month, help="first month YYYY-MM")
        parser.add_argument("--to", dest="last", type=parse_month, help="last month YYYY-MM (default: yesterday's)")

    def handle(self, *args, first, last, **options):
        yesterday = timezone.localdate() - dt.timedelta(days=1)
        if first is None and last is None:
            periods = [code for code, _label in consumption_periods(yesterday)]
        else:
            last = last or yesterday.replace(day=1)
            first = first or last
            if first > last:
                raise CommandError("--from is after --to.")
            periods = backfill_periods(first, last)
        t0 = time.perf_counter()
        cells = consumption_cube_backfill(periods)
        for period, count in cells.items():
            self.stdout.write(f"{period}: {count} cells")
        self.stdout.write(f"{len(cells)} periods built in {time.perf_counter() - t0:.1f} s")
