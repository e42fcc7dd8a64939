"""Nightly visit scheduling (SD-5): `schedule_visits` for business date D creates the visits due in
each member's current period. Beat runs it with no date (today); to catch up, run
`manage.py run_job schedule_visits --date <D>`. The job lock keeps two runs apart and the natural
key (member, period_start) keeps a re-run from creating anything twice."""
from __future__ import annotations

from django.utils.translation import gettext_lazy

from core.jobs import JobContext, register_job

from .services.visits import event_visits_schedule, visits_schedule


@register_job("schedule_visits", label=gettext_lazy("Schedule follow-up visits"))
def schedule_visits(ctx: JobContext) -> dict:
    return visits_schedule(day=ctx.date, job_run_id=ctx.run.pk, progress=ctx.progress)


@register_job("schedule_event_visits", label=gettext_lazy("Schedule visits after purchases and cases"))
def schedule_event_visits(ctx: JobContext) -> dict:
    """Visits after large purchases and closed complaint / after-sales cases of the days before D
    (seed 003 3.2, 3.5); re-runs and overlapping look-back windows create nothing twice."""
    return event_visits_schedule(day=ctx.date, job_run_id=ctx.run.pk)
