"""Till purchases and refunds (PTS-1, PTS-5, PTS-9): idempotent on the till's own numbers."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from members.locks import member_lock
from members.models import Member, Store

from .. import hooks
from ..calculation import CENT, calculate_points, clean_lines, purchase_time_error
from ..errors import IdempotencyConflict, PointsError
from ..locks import account_lock, coupons_used_on_order_lock, offset_lock, purchase_lock
from ..models import Consumption, Entry, Lot, Offset, PointsConfig, Purchase, Refund
from .ledger import Source, add_debt, consume, credit, give_back, require_can_transact, safe_create


def purchase_request_hash(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False).encode()).hexdigest()


@dataclass
class PurchaseResult:
    purchase: Purchase
    created: bool


def purchase_post(
    *, store: Store, order_no: str, member: Member | None, occurred_at: dt.datetime, lines: list[dict],
    tenders: list[dict], source: str = "till", credit_points: bool = True,
) -> PurchaseResult:
    """Record a purchase and credit its points once. A retry with the same body returns the first
    result; the same (store, order number) with a different body is a 409. A pending desk sign-up's
    purchase is recorded with its points held until the sign-up is reviewed (points.services.held)."""
    order_no = (order_no or "").strip()
    if not order_no:
        raise PointsError(_("The till's order number is required."), fields={"order_no": [_("Required.")]})
    if error := purchase_time_error(occurred_at):
        raise error
    if member is None:  # a sale without a member card (PTS-11): stored, earns nothing until a claim assigns it
        credit_points = False
        if any(isinstance(t, dict) and t.get("type") == "points" for t in tenders or []):
            problem = _("A points tender needs the member whose points paid it.")
            raise PointsError(problem, code="points_tender_unmatched", fields={"tenders": [problem]})
    request_hash = purchase_request_hash({"member": member.member_no if member else "", "at": occurred_at.isoformat(), "lines": lines,
                          "tenders": tenders})
    with transaction.atomic():
        existing = Purchase.objects.filter(store=store, order_no=order_no).first()
        if existing:
            return PurchaseResult(_same_or_conflict(existing, request_hash), created=False)
        held = credit_points and member.status == Member.Status.PENDING
        if held:
            # Locked and re-read: a review committing meanwhile either sees this sale or came first.
            member = member_lock(member.pk)
            held = member.status == Member.Status.PENDING
        if credit_points and not held:
            require_can_transact(member)
        config = PointsConfig.cached()
        calc = calculate_points(member=member, store=store, at=occurred_at, lines=lines, tenders=tenders,
                                config=config)
        # The offset row is locked until this purchase commits, so offset_cancel cannot slip in between.
        points_tender_check(store=store, order_no=order_no, member=member, tenders=tenders)
        earned = calc.points if credit_points and not held and calc.points > 0 else 0
        purchase = safe_create(
            Purchase, store=store, order_no=order_no, member=member, occurred_at=occurred_at,
            amount_total=calc.amount_total, amount_paid=calc.amount_paid, lines=clean_lines(lines), tenders=tenders,
            campaigns=calc.campaigns, request_hash=request_hash, source=source, points_earned=earned,
            points_held=max(calc.points, 0) if held else 0,
        )
        if purchase is None:  # a concurrent retry inserted it first; its transaction has committed
            existing = Purchase.objects.get(store=store, order_no=order_no)
            return PurchaseResult(_same_or_conflict(existing, request_hash), created=False)
        # Lines of another kind (a membership fee, issue 18): their app's handler, in this transaction.
        hooks.lines_posted(purchase=purchase, lines=purchase.lines)
        if earned:
            # The purchase row was created just above (with points_earned set): no entry can exist yet.
            credit(
                member=member, points=earned, idem_key=f"purchase:{purchase.pk}",
                earned_on=timezone.localtime(occurred_at).date(), config=config, fresh=True,
                source=Source(store_id=store.pk, purchase_id=purchase.pk, ref=order_no,
                              reason=_("Purchase"), campaigns=tuple(c["id"] for c in calc.campaigns)),
            )
        if not held:
            hooks.purchase_posted(member=member, at=occurred_at)  # the tier engine's immediate upgrade (TIER-2)
        return PurchaseResult(purchase, created=True)


def points_tender_check(*, store: Store, order_no: str, member: Member, tenders: list[dict]) -> Offset | None:
    """PTS-6c: a `points` tender is paid by a cash offset committed for THIS member, store and order, not
    voided, of the same yuan amount; otherwise the till would record points that were never spent.
    Locks and returns the order's offset (None when there is none and no points tender)."""
    offset = offset_lock(store_id=store.pk, order_no=order_no)
    tendered = sum((Decimal(str(t.get("amount") or 0)) for t in tenders if t.get("type") == "points"),
                   Decimal(0)).quantize(CENT)
    if not tendered:
        return offset
    problem = None
    if offset is None or offset.member_id != getattr(member, "pk", None):
        problem = _("No points offset of this member was committed for order %(no)s.") % {"no": order_no}
    elif offset.status != Offset.Status.COMMITTED:
        problem = _("The points offset of order %(no)s was voided.") % {"no": order_no}
    elif offset.amount != tendered:
        problem = _("The points tender (%(tendered)s yuan) differs from the committed offset (%(amount)s yuan).") % {
            "tendered": tendered, "amount": offset.amount}
    if problem:
        raise PointsError(problem, code="points_tender_unmatched", fields={"tenders": [problem]})
    return offset


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


def _share(points: int, part: Decimal, whole: Decimal, rounding: str) -> int:
    return int((Decimal(points) * part / whole).to_integral_value(rounding=rounding)) if whole else 0


def points_left_after_refunds(*, points: int, refunded: Decimal, amount_total: Decimal) -> tuple[int, int]:
    """(points to credit now, points counted as already reversed) for a purchase that earns `points` but
    was partly refunded before it was credited (a claim, a held sign-up's sale): exactly where the member
    would stand had the card been shown at the till and the refunds come after — refund_post reverses
    floor(points × refunded / bill), a full refund all — so the net paid that remains (points.net_paid)
    earns its points and later refunds go on from there."""
    if refunded <= 0 or not amount_total:
        return points, 0
    if refunded >= amount_total:
        return 0, points
    reversed_ = _share(points, refunded, amount_total, ROUND_FLOOR)
    return points - reversed_, reversed_


def refund_post(
    *, store: Store, refund_no: str, purchase: Purchase, amount: Decimal, occurred_at: dt.datetime
) -> RefundResult:
    """Refund part or all of a purchase (PTS-5). `amount` is in terms of the bill (`amount_total`, what
    the goods cost before coupons, gift cards and points), so the refunded share is
    (refunded so far) / amount_total. Idempotent on (store, refund_no): a retry returns the first result,
    a different body under the same number is a 409. In one transaction:

    1. Offset points (积分抵现) the order spent come back in proportion to the refunded share (half up; the
       refund that completes the bill gives back the rest), each source lot's share as its own lot with
       that lot's expiry (`ledger.give_back`: if it has passed, valid `give_back_grace_days` days from
       today, or with 0 not given back and recorded in `offset_points_lapsed`). Never reversed: the
       refund of a points-paid order never takes the spent points a second time (Odoo #212922).
    2. The points the order earned are reversed in proportion (rounded down; a full refund reverses
       all). Of the points due, first what is still in the purchase's own lot is taken back; the rest is
       charged for what was spent from that lot (by redemptions, offsets, debts) — taken from the
       member's other lots, and what the balance cannot cover follows the policy: a debt paid from
       future earnings, or their cash value deducted from the refund. What is left after that are points
       that expired in the purchase's own lot: they are not taken again from other lots
       (`points_expired`).
    3. The refund that completes the bill (a full refund) reinstates the coupons used on the order if
       they are still within their validity; the others are recorded with the reason.
    The member gets one inbox notice with the same itemisation the API and the desk show."""
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
        earlier = list(purchase.refunds.all())
        refund = Refund.objects.create(purchase=purchase, refund_no=refund_no, store=store, amount=amount,
                                       occurred_at=occurred_at, request_hash=request_hash)
        refunded = purchase.amount_refunded + amount
        full = refunded == purchase.amount_total
        config = PointsConfig.get()
        source = Source(store_id=store.pk, purchase_id=purchase.pk, refund_id=refund.pk, ref=refund_no,
                        reason=_("Refund of order %(no)s") % {"no": purchase.order_no})
        # Lock order: purchase → coupons → offset → account → lots.
        if full:
            _coupons_reinstate(purchase=purchase, refund=refund)
        offset = offset_lock(store_id=purchase.store_id, order_no=purchase.order_no)
        if purchase.member_id:
            account_lock(purchase.member_id)  # the member's lots hold still while they are read below
        if (offset is not None and offset.status == Offset.Status.COMMITTED and offset.member_id == purchase.member_id
                and offset.entry_id):
            before = sum(r.offset_points_returned + r.offset_points_lapsed for r in earlier)
            due = offset.points if full else _share(offset.points, refunded, purchase.amount_total, ROUND_HALF_UP)
            if due > before:
                given = give_back(member=purchase.member, spent=offset.entry, points=due - before, already=before,
                                  idem_key=f"refund:{refund.pk}:offset", source=source, config=config)
                refund.offset_points_returned, refund.offset_points_lapsed = given.points, given.lapsed
        target = purchase.points_earned if full else _share(purchase.points_earned, refunded, purchase.amount_total,
                                                            ROUND_FLOOR)
        to_reverse = target - purchase.points_reversed
        if to_reverse > 0:
            own_now, charge, refund.points_expired = _reversal_split(purchase, to_reverse, earlier)
            shortfall = 0
            if own_now + charge:
                own_lots = tuple(Lot.objects.filter(entry__purchase=purchase, entry__kind=Entry.Kind.CREDIT)
                                 .values_list("pk", flat=True))
                _entry, shortfall = consume(
                    member=purchase.member, points=own_now + charge, idem_key=f"refund:{refund.pk}", source=source,
                    kind=Entry.Kind.REVERSAL, prefer_lot_ids=own_lots, include_pending=True, allow_short=True,
                )
            if shortfall:
                if config.refund_policy == PointsConfig.RefundPolicy.DEBT:
                    add_debt(member=purchase.member, points=shortfall, idem_key=f"refund:{refund.pk}:debt",
                             source=source)
                    refund.points_as_debt = shortfall
                else:
                    refund.cash_deducted = (Decimal(shortfall) / config.offset_points_per_yuan).quantize(
                        CENT, rounding=ROUND_CEILING
                    )
            refund.points_reversed = own_now + charge
        refund.save(update_fields=["points_reversed", "points_as_debt", "cash_deducted", "points_expired",
                                   "offset_points_returned", "offset_points_lapsed", "coupons_reinstated",
                                   "coupons_not_reinstated"])
        purchase.amount_refunded = refunded
        purchase.points_reversed = target  # reversed, or found expired: never due again
        purchase.changed_at = timezone.now()  # the consumption cube re-reads it (dashboards.jobs)
        purchase.save(update_fields=["amount_refunded", "points_reversed", "changed_at"])
        if purchase.member_id:
            _refund_notify(refund=refund, purchase=purchase)
        return RefundResult(refund, created=True)


def _reversal_split(purchase: Purchase, due: int, earlier: list[Refund]) -> tuple[int, int, int]:
    """Split `due` earned points to reverse into (still in the purchase's own lot, charged for what was
    spent from it, expired in it). The account is locked, so the lots hold still."""
    today = timezone.localdate()
    own = list(Lot.objects.filter(entry__purchase=purchase, entry__kind=Entry.Kind.CREDIT))
    used = {row["entry__kind"]: row["s"] for row in Consumption.objects.filter(lot__in=own)
            .exclude(entry__kind=Entry.Kind.REVERSAL, entry__purchase=purchase)
            .values("entry__kind").annotate(s=Sum("points"))}
    reversed_own = Consumption.objects.filter(lot__in=own, entry__kind=Entry.Kind.REVERSAL,
                                              entry__purchase=purchase).aggregate(s=Sum("points"))["s"] or 0
    live = sum(lot.remaining for lot in own if lot.expires_on >= today)
    spent = sum(v for k, v in used.items() if k != Entry.Kind.EXPIRY)
    charged_before = sum(r.points_reversed for r in earlier) - reversed_own
    own_now = min(due, live)
    charge = min(due - own_now, max(0, spent - charged_before))
    return own_now, charge, due - own_now - charge


def _coupons_reinstate(*, purchase: Purchase, refund: Refund) -> None:
    """The full refund gives the coupons used on the order back to their wallets while still valid."""
    now = timezone.now()
    for coupon in coupons_used_on_order_lock(store_id=purchase.store_id, order_no=purchase.order_no):
        if coupon.valid_to <= now:
            refund.coupons_not_reinstated.append({"code": coupon.code, "reason": _(
                "expired on %(at)s") % {"at": timezone.localtime(coupon.valid_to).strftime("%Y-%m-%d %H:%M")}})
            continue
        note = _("reinstated by refund %(no)s of order %(order)s") % {"no": refund.refund_no,
                                                                      "order": purchase.order_no}
        coupon.status = coupon.Status.ISSUED
        coupon.used_at, coupon.used_store, coupon.used_order_no, coupon.used_bill_amount = None, None, "", None
        coupon.reason = ((f"{coupon.reason} / " if coupon.reason else "") + note)[:200]
        coupon.save(update_fields=["status", "used_at", "used_store", "used_order_no", "used_bill_amount", "reason"])
        refund.coupons_reinstated.append(coupon.code)


def _refund_notify(*, refund: Refund, purchase: Purchase) -> None:
    """Seed 000 信息通知 (积分使用): the refund's points reversal, through its own template
    (messaging notice kind refund_reversal), in the refund's transaction."""
    from messaging.notices import notice_send

    from ..models import PointsAccount
    from ..refund_items import refund_items

    details = "；".join(f"{label}：{value}" for label, value in refund_items(refund))
    balance = PointsAccount.objects.filter(member_id=purchase.member_id).values_list("balance", flat=True).first()
    notice_send(member=purchase.member, kind="refund_reversal", ref=str(refund.pk), params={
        "order_no": purchase.order_no, "details": details, "points_reversed": refund.points_reversed,
        "points_returned": refund.offset_points_returned, "balance": balance or 0})
