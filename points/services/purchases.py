"""Till purchases and refunds (PTS-1, PTS-5, PTS-9): idempotent on the till's own numbers."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from members.models import Member, Store

from .. import hooks
from ..calculation import CENT, calculate_points, clean_lines, purchase_time_error
from ..errors import IdempotencyConflict, PointsError
from ..locks import purchase_lock
from ..models import Entry, Lot, PointsConfig, Purchase, Refund
from .ledger import Source, add_debt, consume, credit, require_can_transact, safe_create


def purchase_request_hash(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False).encode()).hexdigest()


@dataclass
class PurchaseResult:
    purchase: Purchase
    created: bool


def purchase_post(
    *, store: Store, order_no: str, member: Member, occurred_at: dt.datetime, lines: list[dict],
    tenders: list[dict], source: str = "till", credit_points: bool = True,
) -> PurchaseResult:
    """Record a purchase and credit its points once. A retry with the same body returns the first
    result; the same (store, order number) with a different body is a 409."""
    order_no = (order_no or "").strip()
    if not order_no:
        raise PointsError(_("The till's order number is required."), fields={"order_no": [_("Required.")]})
    if error := purchase_time_error(occurred_at):
        raise error
    request_hash = purchase_request_hash({"member": member.member_no, "at": occurred_at.isoformat(), "lines": lines,
                          "tenders": tenders})
    with transaction.atomic():
        existing = Purchase.objects.filter(store=store, order_no=order_no).first()
        if existing:
            return PurchaseResult(_same_or_conflict(existing, request_hash), created=False)
        if credit_points:
            require_can_transact(member)
        config = PointsConfig.get()
        calc = calculate_points(member=member, store=store, at=occurred_at, lines=lines, tenders=tenders,
                                config=config)
        earned = calc.points if credit_points and calc.points > 0 else 0
        purchase = safe_create(
            Purchase, store=store, order_no=order_no, member=member, occurred_at=occurred_at,
            amount_total=calc.amount_total, amount_paid=calc.amount_paid, lines=clean_lines(lines), tenders=tenders,
            campaigns=calc.campaigns, request_hash=request_hash, source=source, points_earned=earned,
        )
        if purchase is None:  # a concurrent retry inserted it first; its transaction has committed
            existing = Purchase.objects.get(store=store, order_no=order_no)
            return PurchaseResult(_same_or_conflict(existing, request_hash), created=False)
        if earned:
            # The purchase row was created just above (with points_earned set): no entry can exist yet.
            credit(
                member=member, points=earned, idem_key=f"purchase:{purchase.pk}",
                earned_on=timezone.localtime(occurred_at).date(), config=config, fresh=True,
                source=Source(store_id=store.pk, purchase_id=purchase.pk, ref=order_no,
                              reason=_("Purchase"), campaigns=tuple(c["id"] for c in calc.campaigns)),
            )
        hooks.purchase_posted(member=member, at=occurred_at)  # the tier engine's immediate upgrade (TIER-2)
        return PurchaseResult(purchase, created=True)


def _same_or_conflict(existing: Purchase, request_hash: str) -> Purchase:
    if existing.request_hash != request_hash:
        raise IdempotencyConflict(
            _("Order %(no)s was already posted with different content.") % {"no": existing.order_no}
        )
    return existing


@dataclass
class RefundResult:
    refund: Refund
    created: bool


def refund_post(
    *, store: Store, refund_no: str, purchase: Purchase, amount: Decimal, occurred_at: dt.datetime
) -> RefundResult:
    """Refund part or all of a purchase (PTS-5): reverse its points in proportion. Points already
    spent are taken from the rest of the balance; what the balance cannot cover follows the policy:
    a debt paid from future earnings, or their cash value deducted from the refund. Never lost."""
    refund_no = (refund_no or "").strip()
    if not refund_no:
        raise PointsError(_("The refund number is required."), fields={"refund_no": [_("Required.")]})
    try:
        amount = Decimal(str(amount)).quantize(CENT)
    except Exception:
        raise PointsError(_("Enter the refund amount in yuan."), fields={"amount": [_("Invalid amount.")]}) from None
    if amount <= 0:
        raise PointsError(_("A refund amount must be positive."), fields={"amount": [_("Must be positive.")]})
    if error := purchase_time_error(occurred_at):
        raise error
    if occurred_at < purchase.occurred_at:
        raise PointsError(_("A refund cannot come before its purchase (%(at)s).")
                          % {"at": timezone.localtime(purchase.occurred_at).strftime("%Y-%m-%d %H:%M")},
                          code="time_out_of_range", fields={"occurred_at": [_("Before the purchase.")]})
    request_hash = purchase_request_hash({"purchase": purchase.pk, "amount": str(amount), "at": occurred_at.isoformat()})
    with transaction.atomic():
        purchase = purchase_lock(purchase.pk)  # business object first
        existing = Refund.objects.filter(store=store, refund_no=refund_no).first()
        if existing:
            if existing.request_hash != request_hash:
                raise IdempotencyConflict(_("Refund %(no)s was already posted with different content.")
                                          % {"no": refund_no})
            return RefundResult(existing, created=False)
        left = purchase.amount_total - purchase.amount_refunded
        if amount > left:
            raise PointsError(
                _("The refund (%(amount)s) exceeds what is left of the purchase (%(left)s).")
                % {"amount": amount, "left": left},
                code="refund_exceeds", fields={"amount": [_("At most %(left)s.") % {"left": left}]},
            )
        refund = Refund.objects.create(purchase=purchase, refund_no=refund_no, store=store, amount=amount,
                                       occurred_at=occurred_at, request_hash=request_hash)
        refunded = purchase.amount_refunded + amount
        target = int((Decimal(purchase.points_earned) * refunded / purchase.amount_total)
                     .to_integral_value(rounding=ROUND_FLOOR)) if purchase.amount_total else 0
        if refunded == purchase.amount_total:
            target = purchase.points_earned  # a full refund reverses everything
        to_reverse = target - purchase.points_reversed
        source = Source(store_id=store.pk, purchase_id=purchase.pk, refund_id=refund.pk, ref=refund_no,
                        reason=_("Refund of order %(no)s") % {"no": purchase.order_no})
        shortfall = 0
        if to_reverse > 0:
            own_lots = tuple(Lot.objects.filter(entry__purchase=purchase, entry__kind=Entry.Kind.CREDIT)
                             .values_list("pk", flat=True))
            _entry, shortfall = consume(
                member=purchase.member, points=to_reverse, idem_key=f"refund:{refund.pk}", source=source,
                kind=Entry.Kind.REVERSAL, prefer_lot_ids=own_lots, include_pending=True, allow_short=True,
            )
        if shortfall:
            config = PointsConfig.get()
            if config.refund_policy == PointsConfig.RefundPolicy.DEBT:
                add_debt(member=purchase.member, points=shortfall, idem_key=f"refund:{refund.pk}:debt", source=source)
                refund.points_as_debt = shortfall
            else:
                refund.cash_deducted = (Decimal(shortfall) / config.offset_points_per_yuan).quantize(
                    CENT, rounding=ROUND_CEILING
                )
        refund.points_reversed = to_reverse
        refund.save(update_fields=["points_reversed", "points_as_debt", "cash_deducted"])
        purchase.amount_refunded = refunded
        purchase.points_reversed = target
        purchase.save(update_fields=["amount_refunded", "points_reversed"])
        return RefundResult(refund, created=True)
