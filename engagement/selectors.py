"""Reads of partners and events reused by pages and the API."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.db.models import Avg, Count, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from core.money import CENT
from evaluation.selectors import audience_members
from members.models import Member
from points.net_paid import NET_PAID_SQL, ZERO

from .models import CheckIn, Event, Feedback, Invitation, PartnerOffer, RedemptionCode, Registration


def event_audience(event: Event) -> QuerySet[Member]:
    """Active members the event invites: the segment (if any), narrowed by the tiers and tags chosen."""
    tier_ids = list(event.audience_tiers.values_list("pk", flat=True))
    tag_ids = list(event.audience_tags.values_list("pk", flat=True))
    qs = audience_members(segment=event.audience_segment if event.audience_segment_id else None,
                          tier_ids=tier_ids, tag_ids=tag_ids)
    if not (tier_ids or tag_ids or event.audience_segment_id):
        return qs.none()  # an event without an audience invites nobody, not everybody
    return qs


def offers_for_member(member: Member, now=None) -> QuerySet[PartnerOffer]:
    now = now or timezone.now()
    return (PartnerOffer.objects.filter(is_active=True, partner__is_active=True, valid_from__lte=now,
                                        valid_until__gt=now, tiers=member.tier_id)
            .select_related("partner")
            .annotate(mine=Count("codes", filter=Q(codes__member=member)))
            .order_by("valid_until", "pk"))


def codes_for_member(member: Member) -> QuerySet[RedemptionCode]:
    return RedemptionCode.objects.filter(member=member).select_related("offer__partner").order_by("-issued_at")


def events_for_member(member: Member) -> QuerySet[Event]:
    return (Event.objects.filter(invitations__member=member).select_related("store")
            .annotate(my_status=Registration.objects.filter(event=OuterRef("pk"), member=member).values("status")[:1])
            .order_by("-starts_at"))


_EVENT_SALES_SQL = f"""
SELECT e.id,
       COALESCE(SUM({NET_PAID_SQL}) FILTER (WHERE p.occurred_at <= e.ends_at), 0),
       COUNT(p.id) FILTER (WHERE p.occurred_at <= e.ends_at),
       COALESCE(SUM({NET_PAID_SQL}), 0), COUNT(p.id), COUNT(DISTINCT p.member_id)
FROM {Event._meta.db_table} e
JOIN {Registration._meta.db_table} r ON r.event_id = e.id
JOIN {CheckIn._meta.db_table} c ON c.registration_id = r.id
JOIN points_purchase p ON p.member_id = r.member_id AND p.occurred_at >= e.starts_at
                      AND p.occurred_at <= e.ends_at + make_interval(days => e.sales_window_days)
WHERE e.id = ANY(%(ids)s)
GROUP BY e.id
"""


@dataclass(frozen=True)
class EventSales:
    """Attendees' net paid (points.net_paid, refunds so far deducted) during the event and in its sales
    window (from the start until `sales_window_days` after the end)."""

    during: Decimal = ZERO
    during_orders: int = 0
    window: Decimal = ZERO
    window_orders: int = 0
    window_buyers: int = 0


def event_sales(events: Iterable[Event]) -> dict[int, EventSales]:
    """EventSales of each event, in one query whatever the number of events (the desk list)."""
    ids = [e.pk for e in events]
    if not ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_EVENT_SALES_SQL, {"ids": ids})
        rows = cursor.fetchall()
    found = {row[0]: EventSales(Decimal(row[1]).quantize(CENT), row[2], Decimal(row[3]).quantize(CENT), row[4], row[5])
             for row in rows}
    return {pk: found.get(pk, EventSales()) for pk in ids}


def event_roi(*, sales: Decimal, cost: Decimal | None) -> Decimal | None:
    """ROI in percent, (sales in the window − cost) ÷ cost × 100, one decimal; None while no cost is
    recorded or the event cost nothing (a ratio to 0 means nothing)."""
    if not cost:
        return None
    return ((sales - cost) * 100 / cost).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def event_outcome(event: Event, *, now: dt.datetime | None = None) -> dict:
    """The outcome report (BEN-7; seed 002 六(三) 活动效果评估: 参与人数, 会员满意度, 产品销售业绩): invited,
    signed up, attended, satisfaction, the attendees' sales (net paid) during the event and in its sales
    window, budget and cost, and the ROI of the window's sales against the cost."""
    now = now or timezone.now()
    regs = Registration.objects.filter(event=event, status=Registration.Status.REGISTERED).aggregate(
        members=Count("pk"), guests=Sum("guests"))
    feedback = Feedback.objects.filter(registration__event=event).aggregate(avg=Avg("rating"), n=Count("pk"))
    sales = event_sales([event])[event.pk]
    window_ends_at = event.ends_at + dt.timedelta(days=event.sales_window_days)
    return {
        "invited": Invitation.objects.filter(event=event).count(),
        "signed_up": regs["members"] or 0,
        "signed_up_people": (regs["members"] or 0) + (regs["guests"] or 0),
        "attended": CheckIn.objects.filter(registration__event=event).count(),
        "feedback_count": feedback["n"],
        "satisfaction": round(feedback["avg"], 2) if feedback["avg"] is not None else None,
        "sales_amount": sales.during,
        "sales_orders": sales.during_orders,
        "window_sales": sales.window,
        "window_orders": sales.window_orders,
        "window_buyers": sales.window_buyers,
        "window_ends_at": window_ends_at,
        "window_open": now < window_ends_at,
        "budget": event.budget,
        "cost": event.cost,
        "cost_vs_budget": (event.cost - event.budget) if event.cost is not None else None,
        "roi": event_roi(sales=sales.window, cost=event.cost),
    }
