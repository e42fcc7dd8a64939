"""Nightly jobs of paid membership (core.jobs; scheduled by migration 0002): each runs for a business date,
set-wise, and a re-run for the same date changes nothing twice.

- `plans_lapse`: memberships past their end go into grace, past their grace expire (the day just closed
  is the run date − 1, so a membership ending on D is in grace from D + 1);
- `plans_renewal_reminders`: a notice the plan's reminder days before the end, once per period;
- `plans_monthly_coupons`: the plan's monthly coupons, once per membership and calendar month (run daily:
  a membership bought mid-month gets that month's coupons the next night)."""
from __future__ import annotations

from django.utils.translation import gettext_lazy

from core.jobs import JobContext, register_job

from .services import membership_monthly_coupons_issue, membership_reminders_send, memberships_lapse


@register_job("plans_lapse", label=gettext_lazy("Paid membership: grace and expiry"))
def plans_lapse(ctx: JobContext) -> dict:
    return memberships_lapse(day=ctx.date)


@register_job("plans_renewal_reminders", label=gettext_lazy("Paid membership: renewal reminders"))
def plans_renewal_reminders(ctx: JobContext) -> dict:
    return membership_reminders_send(day=ctx.date)


@register_job("plans_monthly_coupons", label=gettext_lazy("Paid membership: monthly coupons"))
def plans_monthly_coupons(ctx: JobContext) -> dict:
    return membership_monthly_coupons_issue(day=ctx.date)
