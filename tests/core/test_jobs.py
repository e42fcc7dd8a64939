"""The job framework: records, failure capture, the lock, and the management command."""
import datetime as dt
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from core.errors import JobAlreadyRunning, NotFound
from core.jobs import register_job, run_job
from core.models import JobRun


@register_job("_test_ok")
def _ok(ctx):
    ctx.progress(1, 2)
    ctx.add("rows", 5)
    ctx.progress(2)
    return {"extra": 1}


@register_job("_test_boom")
def _boom(ctx):
    raise RuntimeError("exploded half-way")


_gate = threading.Event()
_entered = threading.Event()


@register_job("_test_slow")
def _slow(ctx):
    _entered.set()
    _gate.wait(10)
    return {}


@pytest.mark.django_db
def test_run_records_counts_progress_and_date():
    run = run_job("_test_ok", date=dt.date(2026, 11, 1))
    assert run.status == JobRun.Status.SUCCEEDED
    assert run.counts == {"rows": 5, "extra": 1}
    assert (run.progress_done, run.progress_total) == (2, 2)
    assert run.run_date == dt.date(2026, 11, 1) and run.finished_at is not None


@pytest.mark.django_db
def test_failure_is_recorded_with_error():
    run = run_job("_test_boom")
    assert run.status == JobRun.Status.FAILED
    assert "exploded half-way" in run.error


@pytest.mark.django_db
def test_unknown_job():
    with pytest.raises(NotFound):
        run_job("no_such_job")


@pytest.mark.django_db
def test_run_job_command(capsys):
    call_command("run_job", "_test_ok", "--date", "2026-11-02")
    assert JobRun.objects.get(name="_test_ok").run_date == dt.date(2026, 11, 2)
    with pytest.raises(CommandError):
        call_command("run_job", "_test_boom")


@pytest.mark.django_db(transaction=True)
def test_same_job_never_runs_twice_at_once():
    """SPEC 9: a lock so the same job never runs twice at once."""
    _gate.clear()
    _entered.clear()
    result = {}

    def first():
        try:
            result["run"] = run_job("_test_slow")
        finally:
            connection.close()

    t = threading.Thread(target=first)
    t.start()
    assert _entered.wait(10)
    try:
        with pytest.raises(JobAlreadyRunning):
            run_job("_test_slow")
    finally:
        _gate.set()
        t.join(10)
    assert result["run"].status == JobRun.Status.SUCCEEDED
    # Once released, it runs again.
    _gate.set()
    assert run_job("_test_slow").status == JobRun.Status.SUCCEEDED


@pytest.mark.django_db(transaction=True)
def test_stale_running_row_is_marked_abandoned():
    """A process that died mid-run leaves 'running'; the next run (which got the lock) marks it."""
    stale = JobRun.objects.create(name="_test_ok", run_date=dt.date(2026, 11, 1))
    run_job("_test_ok")
    stale.refresh_from_db()
    assert stale.status == JobRun.Status.ABANDONED
