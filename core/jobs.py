"""The job framework: every nightly job is a registered function run through `run_job`.

A run takes a PostgreSQL advisory lock named after the job, so the same job never runs twice at
once (the lock dies with the connection, so a crashed process never leaves it held), and writes a
JobRun row that the admin shows with its progress. Jobs commit in batches and must be idempotent:
a re-run for the same date, or a run after a crash half-way, changes nothing twice.
"""
from __future__ import annotations

import datetime as dt
import logging
import traceback
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connection
from django.utils import timezone

from core.errors import JobAlreadyRunning, NotFound
from core.models import JobRun

log = logging.getLogger(__name__)

JobFunc = Callable[["JobContext"], dict | None]
_REGISTRY: dict[str, JobFunc] = {}
_LABELS: dict[str, str] = {}


def register_job(name: str, *, label: str | None = None) -> Callable[[JobFunc], JobFunc]:
    """`name` is the job's key (periodic tasks, JobRun rows, `run_job NAME`); `label` what staff read
    (a gettext_lazy text: the admin's periodic tasks and job runs show it)."""

    def decorator(func: JobFunc) -> JobFunc:
        _REGISTRY[name] = func
        if label is not None:
            _LABELS[name] = label
        return func

    return decorator


def job_names() -> list[str]:
    return sorted(_REGISTRY)


def job_label(name: str) -> str:
    """The job's label in the active language; its name when it has none (or is not registered)."""
    return str(_LABELS.get(name, name))


@dataclass
class JobContext:
    run: JobRun
    date: dt.date
    counts: dict = field(default_factory=dict)

    def progress(self, done: int, total: int | None = None) -> None:
        """Record progress; written straight away (outside any job transaction) for the admin."""
        fields = {"progress_done": done}
        if total is not None:
            fields["progress_total"] = total
        JobRun.objects.filter(pk=self.run.pk).update(**fields)

    def add(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n


def _lock_key(name: str) -> int:
    return zlib.crc32(f"memberhub.job.{name}".encode())


def run_job(name: str, *, date: dt.date | None = None, triggered_by: str = "command") -> JobRun:
    """Run a registered job for a business date (default: today in Asia/Shanghai)."""
    func = _REGISTRY.get(name)
    if func is None:
        raise NotFound(f"Unknown job '{name}'. Known jobs: {', '.join(job_names())}.")
    date = date or timezone.localdate()
    key = _lock_key(name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        if not cursor.fetchone()[0]:
            raise JobAlreadyRunning(f"Job '{name}' is already running; wait for it to finish.")
    try:
        # Anything still "running" under our lock belongs to a process that died.
        JobRun.objects.filter(name=name, status=JobRun.Status.RUNNING).update(
            status=JobRun.Status.ABANDONED, finished_at=timezone.now()
        )
        run = JobRun.objects.create(name=name, run_date=date, triggered_by=triggered_by)
        ctx = JobContext(run=run, date=date)
        try:
            result = func(ctx) or {}
        except Exception:
            log.exception("job %s failed", name)
            JobRun.objects.filter(pk=run.pk).update(
                status=JobRun.Status.FAILED,
                finished_at=timezone.now(),
                counts=ctx.counts,
                error=traceback.format_exc()[-4000:],
            )
            run.refresh_from_db()
            return run
        ctx.counts.update(result)
        JobRun.objects.filter(pk=run.pk).update(
            status=JobRun.Status.SUCCEEDED, finished_at=timezone.now(), counts=ctx.counts
        )
        run.refresh_from_db()
        return run
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
