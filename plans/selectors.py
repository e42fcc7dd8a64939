"""Reads of paid membership: the member's current membership and history (desk, portal) and the
operations figures (dashboards: paid members, renewals, churn), aggregated in SQL."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q

from .models import MembershipEvent, MembershipPlan, PaidMembership


def membership_for_member(*, member) -> PaidMembership | None:
    """The member's current (active or in grace) membership, else the latest one."""
    qs = PaidMembership.objects.select_related("plan").filter(member_id=member.pk)
    return qs.filter(status__in=PaidMembership.CURRENT).first() or qs.order_by("-changed_at", "-id").first()


def membership_event_list_for_member(*, member):
    return (MembershipEvent.objects.select_related("membership__plan").filter(member_id=member.pk)
            .order_by("-created_at", "-id"))


def plan_list_for_sale():
    return MembershipPlan.objects.filter(is_active=True).select_related("joining_coupon_type", "monthly_coupon_type")


@dataclass
class PlanFigures:
    plan: str
    paid_members: int
    in_grace: int
    bought: int
    renewed: int
    expired: int
    refunded: int

    @property
    def churn_percent(self) -> str:
        """Memberships lost (expired or refunded) in the period per 100 current at its end plus those lost."""
        base = self.paid_members + self.expired + self.refunded
        return f"{(self.expired + self.refunded) * 100 / base:.1f}" if base else "—"


def plan_figures(*, since: dt.date, until: dt.date) -> list[PlanFigures]:
    """Per plan: current paid members (today's state) and, in [since, until], memberships bought,
    renewed, expired and refunded — one grouped query each over memberships and history."""
    current = {row["plan_id"]: row for row in PaidMembership.objects.filter(status__in=PaidMembership.CURRENT)
               .values("plan_id").annotate(n=Count("id"), grace=Count("id", filter=Q(status="grace")))}
    kinds = MembershipEvent.Kind
    events = {row["membership__plan_id"]: row for row in MembershipEvent.objects
              .filter(occurred_on__gte=since, occurred_on__lte=until).values("membership__plan_id")
              .annotate(**{k: Count("id", filter=Q(kind=k)) for k in
                           (kinds.BOUGHT, kinds.RENEWED, kinds.EXPIRED, kinds.REFUNDED)})}
    out = []
    for plan in MembershipPlan.objects.order_by("price", "code"):
        c, e = current.get(plan.pk, {}), events.get(plan.pk, {})
        if not c and not e and not plan.is_active:
            continue
        out.append(PlanFigures(plan=plan.name, paid_members=c.get("n", 0), in_grace=c.get("grace", 0),
                               bought=e.get("bought", 0), renewed=e.get("renewed", 0), expired=e.get("expired", 0),
                               refunded=e.get("refunded", 0)))
    return out
