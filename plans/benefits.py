"""A paid plan's benefits in points' one rate engine (points.calculation.member_rates, issue 18): the
plan's extra points rate and offset cap increase on top of the tier, while the membership is current
on that day — from its start through the end of its grace period, whether or not the nightly job has
yet marked it in grace or expired. The quote, the till purchase and the offset all read it there."""
from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _

from core import reference_cache
from points.calculation import RateAdjustment

from .models import MembershipPlan, PaidMembership


def plans_exist() -> bool:
    """Whether any plan was ever defined (cached per process, invalidated on save): until one is, the till
    path pays no query for paid membership."""
    return reference_cache.cached("plans", "exist", lambda: MembershipPlan.objects.exists())


def membership_current_on(*, member, day: dt.date) -> PaidMembership | None:
    """The member's membership whose benefits apply on `day` (start ≤ day ≤ end of grace), or None."""
    if member is None or member.pk is None or not plans_exist():
        return None
    return (PaidMembership.objects.select_related("plan")
            .filter(member_id=member.pk, status__in=PaidMembership.CURRENT, starts_on__lte=day, grace_until__gte=day)
            .first())


def membership_parking_hours(*, member, day: dt.date) -> int:
    """amenities.hooks: the plan's free parking hours per day on top of the tier's, while current."""
    membership = membership_current_on(member=member, day=day)
    return membership.plan.free_parking_hours if membership else 0


def membership_rates(*, member, day: dt.date) -> list[RateAdjustment]:
    membership = membership_current_on(member=member, day=day)
    if membership is None:
        return []
    plan = membership.plan
    if not plan.extra_points_rate and not plan.offset_cap_increase:
        return []
    return [RateAdjustment(
        extra_rate=plan.extra_points_rate, extra_cap_percent=plan.offset_cap_increase,
        rule=f"plan:{plan.code}",
        detail=_("Paid membership %(plan)s until %(until)s: points rate +%(rate)s, offset cap +%(cap)s%%") % {
            "plan": plan.name, "until": membership.ends_on, "rate": plan.extra_points_rate.normalize(),
            "cap": plan.offset_cap_increase})]
