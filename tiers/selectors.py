"""Reads of the tier engine: the rolling 12-month figures, a member's tier status, history and the
proposal queue (store-scoped).

Rolling window for business day D: purchases whose local (Asia/Shanghai) date is in (D-365, D].
Amount = Σ net paid (points.net_paid, the one definition: amount_paid × (1 − amount_refunded /
amount_total) to the cent; refunds reduce what was actually paid in proportion, as they reverse points
in proportion, PTS-5). Visits = distinct local days with at least one purchase
that is not fully refunded.

One member's figures (a page, the immediate upgrade at the till) are read from the purchases; the
nightly evaluation of every member reads them from the per-member purchase summary
(evaluation.purchase_summary: whole months and two edges of days instead of every purchase), which
tests/tiers hold equal to the purchase scan.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from evaluation.purchase_summary import purchase_summary_refresh, window_params, window_sql
from members import scope
from members.models import Member, Tier
from points.net_paid import NET_PAID_SQL

from .models import TierChange, TierProposal

WINDOW_DAYS = 365

# SQL fragments shared by the one-member read below and the set-wise nightly evaluation (the amount is
# points.net_paid.NET_PAID_SQL, with the purchase's current refunds).
VISIT_DAY_SQL = "(p.occurred_at AT TIME ZONE 'Asia/Shanghai')::date"


def local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def window_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) as aware datetimes, so the (member, occurred_at) index serves the range."""
    return local_midnight(day - dt.timedelta(days=WINDOW_DAYS - 1)), local_midnight(day + dt.timedelta(days=1))


@dataclass(frozen=True)
class Rolling:
    amount: Decimal
    visits: int


# Where the nightly evaluation reads the rolling figures of many members: the per-member purchase summary
# (evaluation.purchase_summary, the default), or the purchases (the reference it is tested equal to).
SOURCE_SUMMARY = "summary"
SOURCE_PURCHASES = "purchases"


def rolling_window_params(day: dt.date) -> dict:
    """Parameters of `rolling_stats_sql` for business day `day` (with window_bounds' start and end)."""
    start, end = window_bounds(day)
    return {"start": start, "end": end,
            **window_params("tw", day - dt.timedelta(days=WINDOW_DAYS - 1), day)}


def rolling_stats_sql(*, source: str, purchase_filter: str, summary_filter: str) -> str:
    """SQL: (member_id, amount, visits) of the rolling window for many members, current refunds (the
    same figures as tier_rolling_for_member). `purchase_filter` is a condition on `p.member_id` (read
    from points_purchase), `summary_filter` the same on `s.member_id` (read from the summary)."""
    if source == SOURCE_PURCHASES:
        return f"""
    SELECT p.member_id, SUM({NET_PAID_SQL}) AS amount,
           COUNT(DISTINCT {VISIT_DAY_SQL}) FILTER (WHERE p.amount_refunded < p.amount_total) AS visits
    FROM points_purchase p
    WHERE {purchase_filter} AND p.occurred_at >= %(start)s AND p.occurred_at < %(end)s
    GROUP BY p.member_id"""
    if source != SOURCE_SUMMARY:
        raise ValueError(f"unknown purchase source {source!r}")
    return f"""
    SELECT s.member_id, SUM(s.net) AS amount, SUM(s.visit_days) AS visits
    FROM ({window_sql("tw", member_filter=summary_filter)}) s
    GROUP BY s.member_id"""


def tier_rolling_by_member(*, day: dt.date, source: str = SOURCE_SUMMARY) -> dict[int, Rolling]:
    """The rolling figures of every member with some amount or visits in the window (summary refreshed
    first); a member missing has 0 and 0, as the evaluation's COALESCE reads it."""
    if source == SOURCE_SUMMARY:
        purchase_summary_refresh()
    with connection.cursor() as cursor:
        cursor.execute(rolling_stats_sql(source=source, purchase_filter="p.member_id IS NOT NULL",
                                         summary_filter="s.member_id IS NOT NULL"), rolling_window_params(day))
        return {member_id: Rolling(amount=Decimal(amount).quantize(Decimal("0.01")), visits=int(visits))
                for member_id, amount, visits in cursor.fetchall() if amount or visits}


def tier_rolling_for_member(*, member: Member, day: dt.date) -> Rolling:
    start, end = window_bounds(day)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COALESCE(SUM({NET_PAID_SQL}), 0), "
            f"COUNT(DISTINCT {VISIT_DAY_SQL}) FILTER (WHERE p.amount_refunded < p.amount_total) "
            "FROM points_purchase p WHERE p.member_id = %s AND p.occurred_at >= %s AND p.occurred_at < %s",
            [member.pk, start, end],
        )
        amount, visits = cursor.fetchone()
    return Rolling(amount=Decimal(amount).quantize(Decimal("0.01")), visits=int(visits))


def tier_list() -> list[Tier]:
    return list(Tier.objects.order_by("rank"))


def tier_next(tier: Tier, tiers: list[Tier] | None = None) -> Tier | None:
    tiers = tiers if tiers is not None else tier_list()
    return next((t for t in tiers if t.rank > tier.rank), None)


@dataclass(frozen=True)
class TierStatus:
    member: Member
    tier: Tier
    since: dt.date | None
    protected_until: dt.date | None
    floor: Tier | None
    floor_until: dt.date | None
    rolling_amount: Decimal
    rolling_visits: int
    next_tier: Tier | None
    amount_to_next: Decimal | None
    visits_to_next: int | None
    pending_proposal: TierProposal | None


def tier_status_for_member(*, member: Member, day: dt.date | None = None) -> TierStatus:
    day = day or timezone.localdate()
    tiers = tier_list()
    tier = next(t for t in tiers if t.pk == member.tier_id)
    rolling = tier_rolling_for_member(member=member, day=day)
    nxt = tier_next(tier, tiers)
    amount_to_next = visits_to_next = None
    if nxt is not None and nxt.upgrade_amount > 0:
        amount_to_next = max(Decimal("0.00"), nxt.upgrade_amount - rolling.amount)
    if nxt is not None and nxt.upgrade_visits:
        visits_to_next = max(0, nxt.upgrade_visits - rolling.visits)
    floor_active = member.tier_floor_id and member.tier_floor_until and member.tier_floor_until >= day
    return TierStatus(
        member=member, tier=tier, since=member.tier_since, protected_until=member.tier_protected_until,
        floor=next((t for t in tiers if t.pk == member.tier_floor_id), None) if floor_active else None,
        floor_until=member.tier_floor_until if floor_active else None,
        rolling_amount=rolling.amount, rolling_visits=rolling.visits, next_tier=nxt,
        amount_to_next=amount_to_next, visits_to_next=visits_to_next,
        pending_proposal=TierProposal.objects.filter(member=member, status=TierProposal.Status.PENDING)
        .select_related("to_tier").first(),
    )


def tier_change_list_for_member(*, member: Member) -> QuerySet[TierChange]:
    return (TierChange.objects.filter(member=member)
            .select_related("from_tier", "to_tier", "decided_by").order_by("-created_at", "-id"))


def tier_proposal_list_for_staff(*, user, status: str | None = TierProposal.Status.PENDING) -> QuerySet[TierProposal]:
    """The operations queue; staff who are not chain-wide see their own store's members only."""
    qs = TierProposal.objects.select_related("member", "member__home_store", "from_tier", "to_tier", "decided_by")
    if status:
        qs = qs.filter(status=status)
    return scope.filter_by_store(user, qs, "member__home_store").order_by("created_on", "id")
