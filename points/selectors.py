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

from django.db import connection
from django.db.models import Max, Min, Prefetch, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.money import CENT
from members import scope
from members.models import Member

from . import net_paid
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
    Purchase,
    Refund,
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
    held = Purchase.objects.filter(member=member, points_held__gt=0).aggregate(s=Sum("points_held"))["s"] or 0
    return {
        "member_no": member.member_no, "balance": account.balance if account else 0, "spendable": spend,
        "pending": pending, "debt": account.debt if account else 0,
        "held": held,  # a pending sign-up's sales, credited on approval (points.services.held)
        "cash_value": f"{spend / PointsConfig.get().offset_points_per_yuan:.2f}",
        "expiring_soon": soon,
    }


def expiring_points_for_members(member_ids: list[int], *, today: dt.date | None = None,
                                within_days: int = EXPIRING_WITHIN_DAYS) -> dict[int, dict]:
    """{member_id: {"points", "first_expiry", "last_expiry"}}: the live points that expire within
    `within_days` (the points_summary window), for many members in one query (the account manager's
    list, SD-11; the portal home's expiry banner, issue 16)."""
    today = today or timezone.localdate()
    rows = (Lot.objects.filter(member_id__in=list(member_ids), remaining__gt=0, expires_on__gte=today,
                               expires_on__lte=today + dt.timedelta(days=within_days))
            .values("member_id").annotate(points=Sum("remaining"), first_expiry=Min("expires_on"),
                                          last_expiry=Max("expires_on"))
            .values_list("member_id", "points", "first_expiry", "last_expiry"))
    return {m: {"points": pts, "first_expiry": first, "last_expiry": last} for m, pts, first, last in rows}


def coupon_usable_count_for_member(*, member: Member) -> int:
    """How many coupons the member holds that are not used and not expired (the wallet's usable and
    not-yet-open ones), for the portal home."""
    return redemption.coupons_in_wallet(member=member).count()


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


# ---------------------------------------------------------------- purchase history (PTS-8, 会员消费详细信息)

# Labels of the till's codes, so no page or API shows a raw code. The tender codes are those of
# points.calculation (TENDER_TYPES); an unknown code (an old import) shows as itself.
TENDER_LABELS = {
    "cash": gettext_lazy("Cash"), "bank_card": gettext_lazy("Bank card"), "wechat": gettext_lazy("WeChat Pay"),
    "alipay": gettext_lazy("Alipay"), "unionpay": gettext_lazy("UnionPay"), "other": gettext_lazy("Other payment"),
    "coupon": gettext_lazy("Coupon"), "gift_card": gettext_lazy("Gift card"), "points": gettext_lazy("Points offset"),
}
PURCHASE_SOURCE_LABELS = {
    "till": gettext_lazy("Till"), "desk": gettext_lazy("Posted at the service desk"),
    "import": gettext_lazy("Imported"),
}


def purchase_list_for_member(*, member: Member, store_ids: list[int] | None = None) -> QuerySet[Purchase]:
    """A member's orders, newest first, with their store and refunds: the one read behind the portal's
    消费记录, the desk panel and list, and the purchases API. `store_ids` limits the orders to those
    stores (None = every store; the caller decides whose scope applies: the portal passes None, a till its
    own store, staff their store scope). Two queries for any page: the orders, then their refunds."""
    refunds = Refund.objects.select_related("store").order_by("occurred_at", "id")
    qs = (Purchase.objects.filter(member=member).select_related("store")
          .prefetch_related(Prefetch("refunds", queryset=refunds)).order_by("-occurred_at", "-id"))
    if store_ids is not None:
        qs = qs.filter(store_id__in=store_ids)
    return qs


def purchase_get_for_member(*, member: Member, store_code: str, order_no: str,
                            store_ids: list[int] | None = None) -> Purchase | None:
    """One of the member's orders by its receipt (store code + till order number), within `store_ids`;
    None when it is not the member's or not in scope, so callers answer 404 either way."""
    if not store_code or not order_no:
        return None
    purchase = (purchase_list_for_member(member=member, store_ids=store_ids)
                .filter(store__code=store_code, order_no=order_no).first())
    return purchase_details([purchase])[0] if purchase else None


def purchase_details(purchases: list[Purchase]) -> list[Purchase]:
    """Sets what a history row or an order page shows on each purchase, from its own columns (no query):
    `line_rows` and `tender_rows` (each tender with its label), `refund_list`, `source_label`, and
    `points_net` (earned − reversed)."""
    for p in purchases:
        p.line_rows = [
            {"brand": str(line.get("brand") or ""), "category": str(line.get("category") or ""),
             "amount": _decimal(line.get("amount"))}
            for line in (p.lines or []) if isinstance(line, dict)
        ]
        p.tender_rows = [
            {"type": str(t.get("type") or ""), "label": str(TENDER_LABELS.get(t.get("type"), t.get("type") or "")),
             "amount": _decimal(t.get("amount"))}
            for t in (p.tenders or []) if isinstance(t, dict)
        ]
        p.refund_list = list(p.refunds.all())
        p.source_label = str(PURCHASE_SOURCE_LABELS.get(p.source, p.source))
        p.points_net = p.points_earned - p.points_reversed
    return purchases


def _decimal(value) -> Decimal:
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except (ArithmeticError, ValueError):
        return Decimal("0.00")


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


# ---------------------------------------------------------------- net paid (points.net_paid)

def net_paid_for_member(*, member: Member, start: dt.datetime, end: dt.datetime,
                        refunds_before: dt.datetime | None = None) -> Decimal:
    """Σ net paid of the member's purchases made in [start, end), with the refunds made so far, or only
    those made before `refunds_before` (a figure as of a past instant). One query, the SQL form of the
    one definition (points.net_paid), so it equals what tiers, RFM and the dashboards sum."""
    if refunds_before is None:
        expression, params = net_paid.NET_PAID_SQL, {}
    else:
        expression, params = net_paid.net_paid_sql(refunded=net_paid.refunded_as_of_sql(end="refunds_before")), {
            "refunds_before": refunds_before}
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(SUM({expression}), 0) FROM points_purchase p "
                       "WHERE p.member_id = %(member)s AND p.occurred_at >= %(start)s AND p.occurred_at < %(end)s",
                       {"member": member.pk, "start": start, "end": end, **params})
        (amount,) = cursor.fetchone()
    return Decimal(amount).quantize(CENT)


def net_paid_for_purchase(*, purchase: Purchase, refunds_before: dt.datetime | None = None) -> Decimal:
    """Net paid of one purchase from its own columns (no query), or with only the refunds made before
    `refunds_before` (one query)."""
    if refunds_before is None:
        refunded = purchase.amount_refunded
    else:
        refunded = (Refund.objects.filter(purchase=purchase, occurred_at__lt=refunds_before)
                    .aggregate(total=Sum("amount"))["total"])
    return net_paid.net_paid(amount_paid=purchase.amount_paid, amount_total=purchase.amount_total, refunded=refunded)
