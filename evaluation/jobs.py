"""Nightly evaluation jobs. A run for date R evaluates the business day that has just closed,
D = R − 1; `manage.py run_job compute_rfm --date <R>` reruns one (each replaces D's snapshot)."""
import datetime as dt

from django.utils.translation import gettext_lazy

from core.jobs import JobContext, register_job

from .closeness import closeness_compute
from .lifecycle import lifecycle_compute
from .rfm import rfm_compute


def _as_of(ctx: JobContext) -> dt.date:
    return ctx.date - dt.timedelta(days=1)


@register_job("compute_rfm", label=gettext_lazy("Compute RFM scores"))
def compute_rfm(ctx: JobContext) -> dict:
    result = rfm_compute(as_of=_as_of(ctx))
    ctx.progress(1, 1)
    return {"as_of": result.as_of.isoformat(), "members": result.population, "seconds": round(result.seconds, 2)}


@register_job("compute_closeness", label=gettext_lazy("Compute member closeness"))
def compute_closeness(ctx: JobContext) -> dict:
    result = closeness_compute(as_of=_as_of(ctx))
    ctx.progress(1, 1)
    return {"as_of": result.as_of.isoformat(), "members": result.members, "seconds": round(result.seconds, 2)}


@register_job("compute_lifecycle", label=gettext_lazy("Compute lifecycle stages"))
def compute_lifecycle(ctx: JobContext) -> dict:
    result = lifecycle_compute(as_of=_as_of(ctx))
    ctx.progress(1, 1)
    return {"as_of": result.as_of.isoformat(), "members": result.members, "seconds": round(result.seconds, 2)}
