"""Jobs of amenities, discovered by core.jobs (run by Celery beat or `manage.py run_job`)."""
from __future__ import annotations

from django.utils.translation import gettext_lazy

from core.jobs import JobContext, register_job

from .services import reservations_remind


@register_job("remind_reservations", label=gettext_lazy("Remind members of reservations"))
def remind_reservations(ctx: JobContext) -> dict:
    return {"reminded": reservations_remind()}
