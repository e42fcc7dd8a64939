"""Reads of points that several surfaces share (PTS-6, PTS-8): the summary the API, the desk and the
portal show, the history with campaign names, the gift / coupon / lottery offers with why a member may
not take one, and the coupon wallet. Every list is one query (or one per kind of row), never one per row.

The eligibility of a gift comes from points.services.redemption (gift_catalogue_for_member, the rule
gift_order_place applies); the coupon and lottery offers here check what coupon_redeem_for_points and
lottery_draw check, in the same order, so a refused offer shows the message the service would raise.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from members import scope
from members.models import Member

from .models import (
    Adjustment,
    Campaign,
    Coupon,
    CouponType,
    Draw,
    Entry,
    GiftOrder,
    Lot,
    Lottery,
    PointsAccount,
    PointsConfig,
)
from .services import redemption
from .services.ledger import spendable

EXPIRING_WITHIN_DAYS = 90
MAX_ORDER_QUANTITY = 99

# ---------------------------------------------------------------- summary and history (PTS-8)


def points_summary(member: Member) -> dict:
    """Balance, spendable, pending, debt, cash value and the lots expiring soon (PTS-8).
    `expiring_soon` holds Lot rows; the API serialises them, pages format their dates."""
    today = timezone.localdate()
    account = PointsAccount.objects.filter(member=member).first()
    live = Lot.objects.filter(member=member, remaining__gt=0, expires_on__gte=today)
    pending = live.filter(available_on__gt=today).aggregate(s=Sum("remaining"))["s"] or 0
    soon = list(live.filter(expires_on__lte=today + dt.timedelta(days=EXPIRING_WITHIN_DAYS))
                .order_by("expires_on")[:20])
    spend = spendable(member)
    return {
        "member_no": member.member_no, "balance": account.balance if account else 0, "spendable": spend,
        "pending": pending, "debt": account.debt if account else 0,
        "cash_value": f"{spend / PointsConfig.get().offset_points_per_yuan:.2f}",
        "expiring_soon": soon,
    }


def entry_list_for_member(*, member: Member):
    """The member's ledger entries, newest first, with what a history row shows."""
    return (Entry.objects.filter(member=member).select_related("store", "purchase", "staff")
            .order_by("-created_at", "-id"))


def entries_with_campaign_names(entries: list[Entry]) -> list[Entry]:
    """Sets `campaign_names` on each entry (campaign ids → names) in one query for the whole list."""
    ids = {cid for e in entries for cid in (e.campaigns or []) if isinstance(cid, int)}
    names = dict(Campaign.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}
    for entry in entries:
        entry.campaign_names = [names.get(cid, f"#{cid}") for cid in (entry.campaigns or [])]
    return entries


def adjustment_list_pending_for_member(*, member: Member) -> list[Adjustment]:
    return list(Adjustment.objects.filter(member=member, status=Adjustment.Status.PENDING)
                .select_related("requested_by").order_by("requested_at", "id"))


def adjustment_queue_for_staff(user):
    """Pending adjustments of the members in the staff member's store scope (PTS-7), oldest first."""
    return scope.filter_by_store(
        user,
        Adjustment.objects.filter(status=Adjustment.Status.PENDING).select_related(
            "member", "member__home_store", "requested_by", "store"),
        field="member__home_store",
    ).order_by("requested_at", "id")


# ---------------------------------------------------------------- gifts (PTS-6a)


def gift_max_quantity(item: redemption.GiftEligibility, have: int) -> int:
    """The most of one gift the member can order now: stock, spendable points, the per-member limit."""
    gift = item.gift
    limits = [MAX_ORDER_QUANTITY, gift.stock, have // gift.points_cost if gift.points_cost else MAX_ORDER_QUANTITY]
    if gift.per_member_limit is not None:
        limits.append(gift.per_member_limit - item.ordered)
    return max(1, min(limits))


def gift_offers_for_member(*, member: Member) -> tuple[list[redemption.GiftEligibility], int]:
    """The gift catalogue (gift_catalogue_for_member) with `max_quantity` on each item; and spendable."""
    items, have = redemption.gift_catalogue_for_member(member=member)
    for item in items:
        item.max_quantity = gift_max_quantity(item, have)
    return items, have


def gift_order_list_for_member(*, member: Member):
    return GiftOrder.objects.filter(member=member).select_related("gift", "store", "created_by").order_by(
        "-created_at", "-id")


# ---------------------------------------------------------------- coupons (PTS-6b)

COUPON_STATES = ("usable", "not_yet", "used", "expired", "void")


def coupon_state(coupon: Coupon, now: dt.datetime) -> str:
    """What the member can do with a coupon now: usable, not_yet (window not open), used, expired, void."""
    if coupon.status == Coupon.Status.ISSUED:
        if coupon.valid_to <= now:
            return "expired"
        return "not_yet" if coupon.valid_from > now else "usable"
    return coupon.status


def coupon_wallet_for_member(*, member: Member, now: dt.datetime | None = None) -> dict[str, list[Coupon]]:
    """The member's coupons grouped by coupon_state (each coupon carries `state`); used ones newest
    use first, expired ones latest expiry first."""
    now = now or timezone.now()
    wallet = (redemption.coupons_in_wallet(member=member, include_past=True)
              .select_related("used_store").prefetch_related("type__stores"))
    groups: dict[str, list[Coupon]] = {state: [] for state in COUPON_STATES}
    for coupon in wallet:
        coupon.state = coupon_state(coupon, now)
        groups[coupon.state].append(coupon)
    groups["used"].sort(key=lambda c: c.used_at or now, reverse=True)
    groups["expired"].sort(key=lambda c: c.valid_to, reverse=True)
    return groups


@dataclass
class Offer:
    """A coupon type or a lottery the member may pay points for; `code`/`reason` say why not."""

    item: CouponType | Lottery
    code: str = ""
    reason: str = ""
    prizes: list[dict] = field(default_factory=list)

    @property
    def eligible(self) -> bool:
        return not self.code


def _not_enough(cost: int, have: int) -> str:
    return _("Not enough points: %(need)s needed, %(have)s available.") % {"need": cost, "have": have}


def _member_points(member: Member) -> tuple[bool, int]:
    can_redeem = redemption.member_can_redeem(member)
    return can_redeem, (spendable(member) if can_redeem else 0)


def coupon_offers_for_member(*, member: Member) -> tuple[list[Offer], int]:
    """Coupon types sold for points, each with why this member cannot take it (if so); and spendable."""
    can_redeem, have = _member_points(member)
    offers = []
    for ctype in redemption.coupon_types_for_points().prefetch_related("stores"):
        offer = Offer(ctype)
        if not can_redeem:
            offer.code, offer.reason = "member_inactive", _("The member cannot redeem points now.")
        elif ctype.issue_limit is not None and ctype.issued_count >= ctype.issue_limit:
            offer.code, offer.reason = "sold_out", _("Sold out.")
        elif ctype.points_cost > have:
            offer.code, offer.reason = "insufficient_points", _not_enough(ctype.points_cost, have)
        offers.append(offer)
    return offers, have


# ---------------------------------------------------------------- lottery (PTS-6d)


def lottery_prize_table(lottery: Lottery) -> list[dict]:
    """Each prize with whether it can still be won and its chance: weight / the sum of the weights of
    the prizes in stock, the rule lottery_draw applies (the member pays points, so the odds are shown)."""
    prizes = list(lottery.prizes.all())
    live = [p for p in prizes if redemption.prize_available(p)]
    total = sum(p.weight for p in live)
    return [{"prize": p, "in_stock": p in live,
             "chance": (Decimal(p.weight * 100) / total).quantize(Decimal("0.01")) if p in live and total else None}
            for p in prizes]


def lottery_offers_for_member(*, member: Member) -> tuple[list[Offer], int]:
    """Open lotteries with their prize table and why this member cannot draw (if so); and spendable."""
    can_redeem, have = _member_points(member)
    offers = []
    for lot in redemption.lottery_list_open().prefetch_related("prizes__gift", "prizes__coupon_type"):
        offer = Offer(lot, prizes=lottery_prize_table(lot))
        if not can_redeem:
            offer.code, offer.reason = "member_inactive", _("The member cannot redeem points now.")
        elif not any(row["in_stock"] for row in offer.prizes):
            offer.code, offer.reason = "prizes_gone", _("All prizes of this lottery are gone.")
        elif lot.points_cost > have:
            offer.code, offer.reason = "insufficient_points", _not_enough(lot.points_cost, have)
        offers.append(offer)
    return offers, have


def draw_list_for_member(*, member: Member):
    return (Draw.objects.filter(member=member).select_related("lottery", "prize", "coupon", "gift_order")
            .order_by("-created_at", "-id"))
