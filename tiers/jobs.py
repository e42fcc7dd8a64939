"""Nightly tier evaluation (TIER-2/3/4).

`evaluate_tiers` run for date R evaluates the business day that has just closed, D = R − 1, and
its changes are effective on R (= D + 1). The beat schedule runs it at 00:40 Asia/Shanghai with no
date, so R is today: "evaluated nightly, effective next day", and the member's tier field flips
at the moment the change becomes effective. To catch up a missed night, run
`manage.py run_job evaluate_tiers --date <the effective date>`.
"""
from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext_lazy

from core.jobs import JobContext, register_job

from .services import tiers_evaluate


@register_job("evaluate_tiers", label=gettext_lazy("Evaluate member tiers"))
def evaluate_tiers(ctx: JobContext) -> dict:
    return tiers_evaluate(day=ctx.date - dt.timedelta(days=1), job_run_id=ctx.run.pk, progress=ctx.progress)
