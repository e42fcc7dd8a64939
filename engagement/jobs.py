"""Nightly jobs of engagement (run_job <name>): issued partner codes of ended offers become expired."""
from __future__ import annotations

from django.utils.translation import gettext_lazy

from core.jobs import JobContext, register_job

from .services import redemption_codes_expire


@register_job("expire_partner_codes", label=gettext_lazy("Expire partner offer codes"))
def expire_partner_codes(ctx: JobContext) -> dict:
    """BEN-6: codes of offers that have ended are marked expired, so the member's list says so."""
    return {"codes": redemption_codes_expire()}
