"""python manage.py compute_rfm [--as-of YYYY-MM-DD] [--window DAYS]  (EVAL-1; see evaluation.rfm)"""
import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from core.errors import MemberHubError
from evaluation.rfm import DEFAULT_WINDOW_DAYS, default_as_of, rfm_compute


def parse_day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD).") from None


class Command(BaseCommand):
    help = "Compute the RFM snapshot of a date (default yesterday), replacing that date's snapshot."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", type=parse_day, help="as-of date D (default: yesterday, Asia/Shanghai)")
        parser.add_argument("--window", type=int, default=DEFAULT_WINDOW_DAYS, help="window W in days (default 365)")

    def handle(self, *args, as_of, window, **options):
        try:
            result = rfm_compute(as_of=as_of or default_as_of(), window_days=window)
        except MemberHubError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"RFM as of {result.as_of} (window {result.window_days} days): "
                          f"{result.population} members, {result.seconds:.2f} s")
