import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from core.errors import MemberHubError
from core.jobs import job_names, run_job
from core.models import JobRun


class Command(BaseCommand):
    help = "Run a registered nightly job by name, for a business date (default today)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="job name; one of: " + ", ".join(job_names()))
        parser.add_argument("--date", type=dt.date.fromisoformat, help="business date YYYY-MM-DD")

    def handle(self, *args, name, date, **options):
        try:
            run = run_job(name, date=date, triggered_by="command")
        except MemberHubError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"{run.name} {run.run_date}: {run.status} {run.counts}")
        if run.status != JobRun.Status.SUCCEEDED:
            raise CommandError(run.error.strip().splitlines()[-1] if run.error else "job failed")
