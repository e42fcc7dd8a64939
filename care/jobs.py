"""Nightly visit scheduling (SD-5): `schedule_visits` for business date D creates the visits due in
each member's current period. Beat runs it with no date (today); to catch up, run
`manage.py run_job schedule_visits --date <D>`. The job lock keeps two runs apart and the natural
key (member, period_start) keeps a re-run from creating anything twice."""
from __future__ import annotations

from core.jobs import JobContext, register_job

from .services.visits import visits_schedule


@register_job("schedule_visits")
def schedule_visits(ctx: JobContext) -> dict:
    return visits_schedule(day=ctx.date, job_run_id=ctx.run.pk, progress=ctx.progress)
