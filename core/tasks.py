"""Celery entry points of the job framework (beat schedules point here)."""
import datetime as dt

from celery import shared_task

from core.jobs import run_job


@shared_task(name="core.tasks.run_job_task", acks_late=True)
def run_job_task(name: str, date: str | None = None) -> dict:
    run = run_job(name, date=dt.date.fromisoformat(date) if date else None, triggered_by="celery")
    return {"id": run.pk, "status": run.status, "counts": run.counts}


@shared_task(name="core.tasks.ping")
def ping(value: str) -> str:
    """Round trip used by the health check and the real-worker test."""
    return f"pong:{value}"
