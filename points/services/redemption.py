"""Redemption of points (PTS-6): (a) gift catalogue orders, (b) coupons, (c) cash offset at the
till, (d) lottery draws. Every write spends or returns points through the ledger primitives only.

Lock order (extends the ledger's): prize rows (by id) → gift order → gift rows (by id) → coupon
type rows (by id) → coupon / offset row → PointsAccount → lots. Each service takes its business rows FOR UPDATE before
it calls `credit`/`consume`, so two services can never wait on each other in a cycle.

Points given back (gift cancelled or returned, offset voided) come back per source lot with that
lot's own expiry (`ledger.give_back`), so no validity is gained.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
import string
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.errors import Conflict, NotFound
from members.models import Member, Store
from messaging.notices import notice_send

from ..calculation import CENT, member_rates
from ..errors import IdempotencyConflict, InsufficientPoints, PointsError
from ..locks import (
    coupon_lock,
    coupon_lock_by_code,
    coupon_type_lock,
    coupon_types_lock,
    gift_lock,
    gift_order_lock,
    gifts_lock,
    offset_lock,
    prizes_lock,
)
from ..models import (
    Coupon,
    CouponType,
    Draw,
    Entry,
    Gift,
    GiftOrder,
    Lottery,
    Offset,
    PointsConfig,
    Prize,
    Purchase,
)
from .ledger import Source, consume, credit, give_back, require_can_transact, safe_create, spendable

# ---------------------------------------------------------------- (a) gifts


@dataclass
class GiftEligibility:
    gift: Gift
    eligible: bool
    reason: str = ""
    code: str = ""
    ordered: int = 0


def _held(member: Member):
    """Items the member holds (reserved or collected) from orders placed within each gift's window."""
    return GiftOrder.objects.filter(
        member=member, status__in=[GiftOrder.Status.RESERVED, GiftOrder.Status.COLLECTED],
        created_at__gte=F("gift__valid_from"), created_at__lt=F("gift__valid_to"),
    )


def gift_check(*, member: Member, gift: Gift, quantity: int = 1, at: dt.datetime | None = None,
               tier_ids: set[int] | None = None, ordered: int | None = None) -> GiftEligibility:
    """Every rule of PTS-6a except the points balance; the same check the order service applies."""
    at = at or timezone.now()
    if tier_ids is None:
        tier_ids = set(gift.tiers.values_list("pk", flat=True))
    if ordered is None:
        ordered = _held(member).filter(gift=gift).aggregate(n=Sum("quantity"))["n"] or 0
    result = GiftEligibility(gift=gift, eligible=False, ordered=ordered)
    if not gift.is_active or not (gift.valid_from <= at < gift.valid_to):
        result.reason, result.code = _("This gift is not available now."), "gift_not_available"
    elif tier_ids and member.tier_id not in tier_ids:
        result.reason = _("This gift is not available for the %(tier)s tier.") % {"tier": member.tier.name}
        result.code = "gift_tier_not_allowed"
    elif gift.stock < quantity:
        result.reason = (_("This gift is out of stock.") if gift.stock == 0
                         else _("Only %(n)s left in stock.") % {"n": gift.stock})
        result.code = "gift_out_of_stock"
    elif gift.per_member_limit is not None and ordered + quantity > gift.per_member_limit:
        result.reason = _("At most %(limit)s per member; %(ordered)s already ordered.") % {
            "limit": gift.per_member_limit, "ordered": ordered}
        result.code = "gift_limit_reached"
    else:
        result.eligible = True
    return result


def gift_list_for_member(*, member: Member) -> list[GiftEligibility]:
    """The catalogue as this member sees it: active gifts in their window, each with an eligible
    flag and the reason when not (the balance is compared by the caller). Three queries."""
    now = timezone.now()
    gifts = list(Gift.objects.filter(is_active=True, valid_from__lte=now, valid_to__gt=now)
                 .prefetch_related("tiers").order_by("points_cost", "id"))
    held = dict(_held(member).filter(gift__in=gifts).values("gift").annotate(n=Sum("quantity"))
                .values_list("gift", "n")) if gifts else {}
    return [gift_check(member=member, gift=g, at=now, tier_ids={t.pk for t in g.tiers.all()},
                       ordered=held.get(g.pk, 0)) for g in gifts]


def gift_order_place(*, member: Member, gift: Gift, quantity: int, store: Store, request_id: str,
                     staff=None) -> tuple[GiftOrder, bool]:
    """Order `quantity` of a gift for pick-up at `store`, paid in points, in one transaction:
    gift row locked, rules checked, stock decremented, points spent. Idempotent on `request_id`:
    a retry returns (the first order, False); the same id for a different order is a 409."""
    request_id = (request_id or "").strip()
    if not request_id:
        raise PointsError(_("A client request id is required."), fields={"request_id": [_("Required.")]})
    if quantity < 1:
        raise PointsError(_("Order at least one item."), fields={"quantity": [_("Must be at least 1.")]})
    with transaction.atomic():
        gift = gift_lock(gift.pk)
        if existing := GiftOrder.objects.filter(request_id=request_id).first():
            return _same_gift_order(existing, member, gift, quantity), False
        require_can_transact(member)
        check = gift_check(member=member, gift=gift, quantity=quantity)
        if not check.eligible:
            raise Conflict(check.reason, code=check.code)
        points = gift.points_cost * quantity
        order = safe_create(GiftOrder, member=member, gift=gift, quantity=quantity, points=points, store=store,
                            request_id=request_id, created_by=staff)
        if order is None:  # the same request id raced in for another gift; its transaction has committed
            return _same_gift_order(GiftOrder.objects.get(request_id=request_id), member, gift, quantity), False
        gift.stock -= quantity
        gift.save(update_fields=["stock"])
        order.entry, _short = consume(
            member=member, points=points, idem_key=f"gift:{order.pk}",
            source=Source(store_id=store.pk, staff_id=getattr(staff, "pk", None), ref=f"gift:{order.pk}",
                          reason=_("Gift: %(name)s × %(n)s") % {"name": gift.name, "n": quantity}),
        )
        order.save(update_fields=["entry"])
        notice_send(member=member, kind="gift_order", ref=str(order.pk), params={
            "gift": gift.name, "quantity": quantity, "points": points, "store": store.name, "order_no": order.pk})
        return order, True


def _same_gift_order(existing: GiftOrder, member: Member, gift: Gift, quantity: int) -> GiftOrder:
    if (existing.member_id, existing.gift_id, existing.quantity) != (member.pk, gift.pk, quantity):
        raise IdempotencyConflict(_("This request id was already used for a different gift order."))
    return existing


def _gift_order_close(*, order: GiftOrder, from_status: str, to_status: str, staff, reason: str) -> GiftOrder:
    with transaction.atomic():
        # Business objects first: the order, then its gift, then (inside credit) the account.
        order = gift_order_lock(order.pk)
        if order.status == to_status:
            return order  # a retry
        if order.status != from_status:
            raise Conflict(_("The gift order is %(status)s.") % {"status": order.get_status_display()},
                           code="gift_order_state")
        gift = gift_lock(order.gift_id)
        gift.stock += order.quantity
        gift.save(update_fields=["stock"])
        if order.points:
            given = give_back(
                member=order.member, spent=order.entry, points=order.points, idem_key=f"gift-return:{order.pk}",
                source=Source(store_id=order.store_id, staff_id=getattr(staff, "pk", None), ref=f"gift:{order.pk}",
                              reason=reason),
            )
            order.return_entry = given.entries[0] if given.entries else None
        order.status = to_status
        order.closed_at = timezone.now()
        order.closed_by = staff
        order.close_reason = reason[:200]
        order.save(update_fields=["status", "closed_at", "closed_by", "close_reason", "return_entry"])
        return order


def gift_order_cancel(*, order: GiftOrder, staff=None, reason: str = "") -> GiftOrder:
    """A reserved order not picked up: stock back, points back once (keeping their expiry)."""
    return _gift_order_close(order=order, from_status=GiftOrder.Status.RESERVED, to_status=GiftOrder.Status.CANCELLED,
                             staff=staff, reason=reason or _("Gift order cancelled"))


GIFT_EXPIRED_NOTICE = "gift_order_expired"


def gift_collect_deadline(order: GiftOrder, days: int) -> dt.date:
    """The last day (Asia/Shanghai) a reserved gift can be picked up: the order's day + `days`."""
    return timezone.localdate(order.created_at) + dt.timedelta(days=days)


def gift_orders_cancel_uncollected(*, day: dt.date, progress=None) -> dict:
    """Cancel every reserved gift order whose pick-up deadline (gift_collect_deadline with
    PointsConfig.gift_collect_days) is before business date `day`, through gift_order_cancel — the one path
    that gives back the points (per the lots they came from) and the stock — and tell the member in the
    portal inbox in the same transaction as the cancellation.

    The overdue orders are found set-wise (one indexed query on status and time, in id batches); each is
    cancelled in its own transaction, so a crash leaves whole orders done or not done. A re-run finds no
    reserved overdue order (and the notice is unique per order), so nothing happens twice."""
    from messaging.services import notify_member

    days = PointsConfig.get().gift_collect_days
    totals = {"orders": 0, "points": 0}
    if not days:
        return totals
    # Ordered on local day D0 → last day D0 + days → overdue once D0 + days < day, i.e. ordered before the
    # local midnight that starts (day − days).
    cutoff = timezone.make_aware(dt.datetime.combine(day - dt.timedelta(days=days), dt.time.min))
    overdue = GiftOrder.objects.filter(status=GiftOrder.Status.RESERVED, created_at__lt=cutoff).order_by("pk")
    ids = list(overdue.values_list("pk", flat=True))
    with translation.override(settings.LANGUAGE_CODE):
        reason = _("Not collected within %(days)s days") % {"days": days}
        for i, pk in enumerate(ids, 1):
            with transaction.atomic():
                loaded = GiftOrder.objects.select_related("gift", "store", "member").get(pk=pk)
                try:
                    order = gift_order_cancel(order=loaded, reason=reason)
                except Conflict:
                    continue  # collected meanwhile
                if order.closed_at is None or order.close_reason != reason[:200]:
                    continue  # cancelled meanwhile by the member or the desk: their cancellation stands
                order.gift, order.store, order.member = loaded.gift, loaded.store, loaded.member
                notify_member(member=order.member, kind=GIFT_EXPIRED_NOTICE, ref=f"gift:{order.pk}", sms=False,
                              **gift_expired_notice_text(order, gift_collect_deadline(order, days)))
                totals["orders"] += 1
                totals["points"] += order.points
            if progress and (i % 100 == 0 or i == len(ids)):
                progress(i, len(ids))
    return totals


def gift_expired_notice_text(order: GiftOrder, deadline: dt.date) -> dict:
    params = {"gift": order.gift.name, "n": order.quantity, "store": order.store.name, "date": deadline.isoformat(),
              "points": order.points}
    body = (_("Your gift %(gift)s × %(n)s was not collected at %(store)s by %(date)s, so the order is cancelled; "
              "its %(points)s points are back in your account.") if order.points else
            _("Your gift %(gift)s × %(n)s was not collected at %(store)s by %(date)s, so the order is cancelled."))
    return {"title": _("Gift order cancelled"), "body": body % params}


def gift_order_return(*, order: GiftOrder, staff, reason: str = "") -> GiftOrder:
    """A collected gift brought back to the desk: stock back, points back once."""
    return _gift_order_close(order=order, from_status=GiftOrder.Status.COLLECTED, to_status=GiftOrder.Status.RETURNED,
                             staff=staff, reason=reason or _("Gift returned"))


def gift_order_collect(*, order: GiftOrder, staff) -> GiftOrder:
    """The member picks the gift up at the desk of the pick-up store."""
    from members import scope

    scope.require_store(staff, order.store)
    with transaction.atomic():
        order = gift_order_lock(order.pk)
        if order.status == GiftOrder.Status.COLLECTED:
            return order
        if order.status != GiftOrder.Status.RESERVED:
            raise Conflict(_("The gift order is %(status)s.") % {"status": order.get_status_display()},
                           code="gift_order_state")
        order.status = GiftOrder.Status.COLLECTED
        order.collected_at = timezone.now()
        order.collected_by = staff
        order.save(update_fields=["status", "collected_at", "collected_by"])
        return order


# ---------------------------------------------------------------- (b) coupons

_CODE_ALPHABET = "".join(c for c in string.ascii_uppercase + string.digits if c not in "0O1IL")


def _new_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))


def coupon_window(ctype: CouponType, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    if ctype.valid_from and ctype.valid_to:
        return ctype.valid_from, ctype.valid_to
    start = timezone.localtime(now)
    end_day = start.date() + dt.timedelta(days=ctype.validity_days)  # valid through the last day
    end = timezone.make_aware(dt.datetime.combine(end_day, dt.time.min))
    return now, end


def coupon_issue(*, member: Member, coupon_type: CouponType, source: str, reason: str = "",
                 idem_key: str | None = None, staff=None, entry: Entry | None = None, _locked: bool = False) -> Coupon:
    """Put a coupon into the member's wallet (redemption, lottery, compensation, campaign).
    With `idem_key` a repeated call returns the first coupon. Must run inside a transaction."""
    assert transaction.get_connection().in_atomic_block, "coupon_issue() must run inside a transaction"
    if idem_key and (existing := Coupon.objects.filter(idem_key=idem_key).first()):
        return existing
    ctype = coupon_type if _locked else coupon_type_lock(coupon_type.pk)
    now = timezone.now()
    if not ctype.is_active:
        raise Conflict(_("Coupon type %(name)s is not active.") % {"name": ctype.name}, code="coupon_type_inactive")
    valid_from, valid_to = coupon_window(ctype, now)
    if valid_to <= now:
        raise Conflict(_("Coupon type %(name)s is past its validity.") % {"name": ctype.name},
                       code="coupon_type_expired")
    if ctype.issue_limit is not None and ctype.issued_count >= ctype.issue_limit:
        raise Conflict(_("All %(n)s coupons of %(name)s have been issued.") % {"n": ctype.issue_limit,
                                                                            "name": ctype.name},
                       code="coupon_sold_out")
    for _attempt in range(5):
        try:
            with transaction.atomic():
                coupon = Coupon.objects.create(
                    type=ctype, member=member, code=_new_code(), source=source, reason=reason[:200], idem_key=idem_key,
                    entry=entry, issued_by=staff, valid_from=valid_from, valid_to=valid_to,
                )
            break
        except IntegrityError:
            if idem_key and Coupon.objects.filter(idem_key=idem_key).exists():
                return Coupon.objects.get(idem_key=idem_key)
    else:  # pragma: no cover - 31^12 codes
        raise Conflict(_("Could not allocate a coupon code; try again."), code="coupon_code")
    ctype.issued_count += 1
    ctype.save(update_fields=["issued_count"])
    if source == Coupon.Source.POINTS:
        return coupon  # bought with points: the coupon_redeemed notice tells it (with the points spent)
    from messaging.services import notify_member

    notify_member(member=member, kind="coupon_issued", ref=f"coupon:{coupon.pk}", sms=False,
                  title=_("New coupon"),
                  body=_("%(name)s (%(value)s yuan) is in your wallet until %(until)s.") % {
                      "name": ctype.name, "value": ctype.face_value,
                      "until": timezone.localtime(valid_to).strftime("%Y-%m-%d %H:%M")})
    return coupon


def coupon_redeem_for_points(*, member: Member, coupon_type: CouponType, request_id: str,
                             store: Store | None = None, staff=None) -> tuple[Coupon, bool]:
    """Buy a coupon with points. Idempotent on `request_id`."""
    request_id = (request_id or "").strip()
    if not request_id:
        raise PointsError(_("A client request id is required."), fields={"request_id": [_("Required.")]})
    idem_key = f"coupon-redeem:{request_id}"
    with transaction.atomic():
        ctype = coupon_type_lock(coupon_type.pk)
        if existing := Coupon.objects.filter(idem_key=idem_key).first():
            if (existing.member_id, existing.type_id) != (member.pk, ctype.pk):
                raise IdempotencyConflict(_("This request id was already used for a different coupon."))
            return existing, False
        require_can_transact(member)
        if not ctype.points_cost:
            raise Conflict(_("Coupon type %(name)s cannot be bought with points.") % {"name": ctype.name},
                           code="coupon_not_for_points")
        coupon = coupon_issue(member=member, coupon_type=ctype, source=Coupon.Source.POINTS, idem_key=idem_key,
                              reason=_("Redeemed for points"), staff=staff, _locked=True)
        coupon.entry, _short = consume(
            member=member, points=ctype.points_cost, idem_key=f"coupon:{coupon.pk}",
            source=Source(store_id=getattr(store, "pk", None), staff_id=getattr(staff, "pk", None),
                          ref=f"coupon:{coupon.pk}", reason=_("Coupon: %(name)s") % {"name": ctype.name}),
        )
        coupon.save(update_fields=["entry"])
        notice_send(member=member, kind="coupon_redeemed", ref=str(coupon.pk), params={
            "coupon": ctype.name, "points": ctype.points_cost,
            "valid_to": timezone.localtime(coupon.valid_to).strftime("%Y-%m-%d")})
        return coupon, True


def coupon_problem(coupon: Coupon | None, *, member: Member | None, store: Store, bill: Decimal,
                   now: dt.datetime, store_ids: set[int] | None = None) -> tuple[str, str] | None:
    """The rules a coupon must pass at a till, read-only: (code, reason) when it cannot be used,
    None when it can. coupon_use enforces them; the checkout quote reports them."""
    if coupon is None or (member is not None and coupon.member_id != member.pk):
        return "coupon_not_found", _("No such coupon for this member.")
    if coupon.status == Coupon.Status.USED:
        return "coupon_used", _("This coupon was already used on %(at)s.") % {
            "at": timezone.localtime(coupon.used_at).strftime("%Y-%m-%d %H:%M")}
    if coupon.status != Coupon.Status.ISSUED or coupon.valid_to <= now:
        status = Coupon.Status.EXPIRED.label if coupon.status == Coupon.Status.ISSUED else coupon.get_status_display()
        return "coupon_not_usable", _("This coupon cannot be used: %(status)s.") % {"status": status}
    if coupon.valid_from > now:
        return "coupon_not_yet_valid", _("This coupon is valid from %(at)s.") % {
            "at": timezone.localtime(coupon.valid_from).strftime("%Y-%m-%d %H:%M")}
    if store_ids is None:
        store_ids = set(coupon.type.stores.values_list("pk", flat=True))
    if store_ids and store.pk not in store_ids:
        return "coupon_wrong_store", _("This coupon is not accepted in this store.")
    if bill < coupon.type.min_spend:
        return "coupon_min_spend", _("This coupon needs a bill of at least %(min)s yuan.") % {
            "min": coupon.type.min_spend}
    return None


def coupon_use(*, code: str, store: Store, order_no: str, bill_amount: Decimal,
               member: Member | None = None) -> Coupon:
    """Use a coupon on a till order: once only (row lock + status), in its stores, window and
    minimum spend. A retry for the same store and order returns the coupon."""
    code = (code or "").strip().upper()
    order_no = (order_no or "").strip()
    if not order_no:
        raise PointsError(_("The till's order number is required."), fields={"order_no": [_("Required.")]})
    bill_amount = Decimal(str(bill_amount)).quantize(CENT)
    with transaction.atomic():
        coupon = coupon_lock_by_code(code)
        if (coupon is not None and coupon.status == Coupon.Status.USED and coupon.used_store_id == store.pk
                and coupon.used_order_no == order_no and (member is None or coupon.member_id == member.pk)):
            return coupon  # the till retried
        now = timezone.now()
        problem = coupon_problem(coupon, member=member, store=store, bill=bill_amount, now=now)
        if problem:
            code_, reason = problem
            raise (NotFound if code_ == "coupon_not_found" else Conflict)(reason, code=code_)
        require_can_transact(coupon.member)
        coupon.status = Coupon.Status.USED
        coupon.used_at = now
        coupon.used_store = store
        coupon.used_order_no = order_no
        coupon.used_bill_amount = bill_amount
        coupon.save(update_fields=["status", "used_at", "used_store", "used_order_no", "used_bill_amount"])
        return coupon


def coupon_void(*, coupon: Coupon, staff, reason: str) -> Coupon:
    """Withdraw an unused coupon (issued by mistake). Points paid for it are not returned here."""
    with transaction.atomic():
        coupon = coupon_lock(coupon.pk)
        if coupon.status != Coupon.Status.ISSUED:
            raise Conflict(_("Only an unused coupon can be voided."), code="coupon_not_usable")
        coupon.status = Coupon.Status.VOID
        coupon.reason = (f"{coupon.reason} / " if coupon.reason else "") + reason
        coupon.reason = coupon.reason[:200]
        coupon.save(update_fields=["status", "reason"])
        return coupon


def coupons_expire(*, now: dt.datetime | None = None) -> int:
    """Nightly: issued coupons past their window become expired (one UPDATE)."""
    return Coupon.objects.filter(status=Coupon.Status.ISSUED, valid_to__lte=now or timezone.now()).update(
        status=Coupon.Status.EXPIRED)


# ---------------------------------------------------------------- (c) cash offset


@dataclass
class OffsetQuote:
    bill_amount: Decimal
    spendable: int
    cap_percent: int
    cap_amount: Decimal
    points_per_yuan: int
    max_points: int
    max_amount: Decimal
    points_by_cap: int  # the tier's cap alone, before the member's spendable points


def offset_cap_error(quote: OffsetQuote, points: int) -> PointsError | None:
    """PTS-7: the one cash-offset cap rule, used by offset_commit and the checkout quote."""
    if points <= quote.points_by_cap:
        return None
    return PointsError(
        _("At most %(max)s points (%(pct)s%% of the bill, %(amount)s yuan) can be used on this bill.")
        % {"max": quote.points_by_cap, "pct": quote.cap_percent, "amount": quote.cap_amount},
        code="offset_over_cap", fields={"points": [_("At most %(max)s.") % {"max": quote.points_by_cap}]},
    )


def points_to_yuan(points: int, rate: int) -> Decimal:
    return (Decimal(points) / Decimal(rate)).quantize(CENT, rounding=ROUND_FLOOR)


def offset_quote(*, member: Member, bill_amount: Decimal, at: dt.datetime | None = None) -> OffsetQuote:
    """The most points this bill may take: min(spendable, cap% of the bill × rate)."""
    bill_amount = Decimal(str(bill_amount)).quantize(CENT)
    if bill_amount <= 0:
        raise PointsError(_("The bill amount must be positive."), fields={"bill_amount": [_("Must be positive.")]})
    config = PointsConfig.get()
    cap_percent = member_rates(member, at).offset_cap_percent  # the tier's, raised by a paid plan (issue 18)
    cap_amount = (bill_amount * cap_percent / 100).quantize(CENT, rounding=ROUND_FLOOR)
    by_cap = int((cap_amount * config.offset_points_per_yuan).to_integral_value(rounding=ROUND_FLOOR))
    have = spendable(member) if member_can_redeem(member) else 0
    max_points = max(0, min(have, by_cap))
    return OffsetQuote(bill_amount=bill_amount, spendable=have, cap_percent=cap_percent, cap_amount=cap_amount,
                       points_per_yuan=config.offset_points_per_yuan, max_points=max_points,
                       max_amount=points_to_yuan(max_points, config.offset_points_per_yuan), points_by_cap=by_cap)


def gift_catalogue_for_member(*, member: Member) -> tuple[list[GiftEligibility], int]:
    """gift_list_for_member plus the member-level checks (may redeem at all, enough spendable
    points): the one catalogue the API, the desk and the portal show. Returns (items, spendable)."""
    items = gift_list_for_member(member=member)
    can_redeem = member_can_redeem(member)
    have = spendable(member) if can_redeem else 0
    for item in items:
        if not can_redeem:
            item.eligible, item.code = False, "member_inactive"
            item.reason = _("The member cannot redeem points now.")
        elif item.eligible and item.gift.points_cost > have:
            item.eligible, item.code = False, "insufficient_points"
            item.reason = _("Not enough points: %(need)s needed, %(have)s available.") % {
                "need": item.gift.points_cost, "have": have}
    return items, have


def member_can_redeem(member: Member) -> bool:
    from members.services import member_can_transact

    return member_can_transact(member)


def offset_commit(*, member: Member, store: Store, order_no: str, points: int, bill_amount: Decimal
                  ) -> tuple[Offset, bool]:
    """Spend `points` as cash on a till order. Idempotent on (store, order number): a retry with the
    same points returns the first offset; different points on the same order is a 409."""
    order_no = (order_no or "").strip()
    if not order_no:
        raise PointsError(_("The till's order number is required."), fields={"order_no": [_("Required.")]})
    if points <= 0:
        raise PointsError(_("Points to offset must be positive."), fields={"points": [_("Must be positive.")]})
    bill_amount = Decimal(str(bill_amount)).quantize(CENT)
    with transaction.atomic():
        if existing := Offset.objects.filter(store=store, order_no=order_no).first():
            return _same_offset(existing, member, points), False
        require_can_transact(member)
        quote = offset_quote(member=member, bill_amount=bill_amount)
        if error := offset_cap_error(quote, points):
            raise error
        amount = points_to_yuan(points, quote.points_per_yuan)
        offset = safe_create(Offset, member=member, store=store, order_no=order_no, bill_amount=bill_amount,
                             points=points, amount=amount)
        if offset is None:  # a concurrent retry of the same order committed first
            return _same_offset(Offset.objects.get(store=store, order_no=order_no), member, points), False
        try:
            offset.entry, _short = consume(
                member=member, points=points, idem_key=f"offset:{store.pk}:{order_no}",
                source=Source(store_id=store.pk, ref=order_no,
                              reason=_("Points offset on order %(no)s") % {"no": order_no}),
            )
        except InsufficientPoints:
            raise InsufficientPoints(
                _("Only %(have)s points can be spent now; %(need)s asked.") % {"have": quote.spendable, "need": points},
                fields={"points": [_("At most %(max)s.") % {"max": quote.max_points}]},
            ) from None
        offset.save(update_fields=["entry"])
        notice_send(member=member, kind="points_offset", ref=str(offset.pk), params={
            "points": points, "amount": amount, "store": store.name, "order_no": order_no,
            "balance": offset.entry.balance_after if offset.entry else ""})
        return offset, True


def _same_offset(existing: Offset, member: Member, points: int) -> Offset:
    if (existing.member_id, existing.points) == (member.pk, points) and existing.status == Offset.Status.CANCELLED:
        raise Conflict(_("The points offset of order %(no)s was voided; post the sale under a new order number.")
                       % {"no": existing.order_no}, code="offset_voided")
    if (existing.member_id, existing.points) != (member.pk, points):
        raise IdempotencyConflict(
            _("Order %(no)s already has a points offset of %(points)s points.") % {"no": existing.order_no,
                                                                                  "points": existing.points})
    return existing


def offset_cancel(*, store: Store, order_no: str) -> Offset:
    """The till voided the sale before posting it: the points come back once, each source lot's share
    with that lot's own expiry (`ledger.give_back`). Once a purchase of this order is posted the void is
    refused (409 `offset_already_posted`): the sale stands with its points tender, and only a refund of
    it gives the points back (PTS-5)."""
    with transaction.atomic():
        offset = offset_lock(store_id=store.pk, order_no=(order_no or "").strip())
        if offset is None:
            raise NotFound(_("No points offset on this order."), code="offset_not_found")
        if offset.status == Offset.Status.CANCELLED:
            return offset
        if Purchase.objects.filter(store_id=offset.store_id, order_no=offset.order_no).exists():
            raise Conflict(_("Order %(no)s was already posted; refund it instead of voiding the offset.")
                           % {"no": offset.order_no}, code="offset_already_posted")
        given = give_back(
            member=offset.member, spent=offset.entry, points=offset.points, idem_key=f"offset-cancel:{offset.pk}",
            source=Source(store_id=store.pk, ref=offset.order_no,
                          reason=_("Points offset on order %(no)s cancelled") % {"no": offset.order_no}),
        )
        offset.cancel_entry = given.entries[0] if given.entries else None
        offset.status = Offset.Status.CANCELLED
        offset.cancelled_at = timezone.now()
        offset.save(update_fields=["status", "cancelled_at", "cancel_entry"])
        return offset


# ---------------------------------------------------------------- (d) lottery

_random = secrets.SystemRandom()


def lottery_list_open(*, at: dt.datetime | None = None):
    at = at or timezone.now()
    return Lottery.objects.filter(is_active=True, starts_at__lte=at, ends_at__gt=at).prefetch_related("prizes")


def _pick(prizes: list[Prize], value: float) -> Prize:
    total = sum(p.weight for p in prizes)
    point = value * total
    running = 0
    for prize in prizes:
        running += prize.weight
        if point < running:
            return prize
    return prizes[-1]


def lottery_draw(*, member: Member, lottery: Lottery, request_id: str, store: Store | None = None,
                 staff=None) -> tuple[Draw, bool]:
    """Pay the draw cost and draw a prize by weight among the prizes in stock (with a system
    random number), then grant it. Prize rows are locked, so stock is never oversold. Idempotent
    on `request_id`."""
    request_id = (request_id or "").strip()
    if not request_id:
        raise PointsError(_("A client request id is required."), fields={"request_id": [_("Required.")]})
    now = timezone.now()
    with transaction.atomic():
        prizes = prizes_lock(lottery.pk)
        if existing := Draw.objects.filter(request_id=request_id).first():
            if (existing.member_id, existing.lottery_id) != (member.pk, lottery.pk):
                raise IdempotencyConflict(_("This request id was already used for a different draw."))
            return existing, False
        lottery = Lottery.objects.get(pk=lottery.pk)
        if not lottery.is_active or not (lottery.starts_at <= now < lottery.ends_at):
            raise Conflict(_("This lottery is not open."), code="lottery_closed")
        require_can_transact(member)
        gift_ids = sorted({p.gift_id for p in prizes if p.kind == Prize.Kind.GIFT})
        gifts = {g.pk: g for g in gifts_lock(gift_ids)}
        ctype_ids = sorted({p.coupon_type_id for p in prizes if p.kind == Prize.Kind.COUPON})
        ctypes = {c.pk: c for c in coupon_types_lock(ctype_ids)}
        live = [p for p in prizes if prize_available(p, gift=gifts.get(p.gift_id),
                                                      coupon_type=ctypes.get(p.coupon_type_id))]
        if not live:
            raise Conflict(_("All prizes of this lottery are gone."), code="lottery_sold_out")
        value = _random.random()
        prize = _pick(live, value)
        draw = safe_create(
            Draw, member=member, lottery=lottery, prize=prize, points_spent=lottery.points_cost,
            random_value=Decimal(repr(value)).quantize(Decimal("1e-18")), request_id=request_id, store=store,
            weights=[{"prize": p.pk, "name": p.name, "weight": p.weight, "stock": p.stock} for p in live],
        )
        if draw is None:
            existing = Draw.objects.get(request_id=request_id)
            if (existing.member_id, existing.lottery_id) != (member.pk, lottery.pk):
                raise IdempotencyConflict(_("This request id was already used for a different draw."))
            return existing, False
        if prize.stock is not None:
            prize.stock -= 1
            prize.save(update_fields=["stock"])
        ctype = ctypes.get(prize.coupon_type_id) if prize.kind == Prize.Kind.COUPON else None
        source = Source(store_id=getattr(store, "pk", None), staff_id=getattr(staff, "pk", None),
                        ref=f"draw:{draw.pk}", reason=_("Lottery: %(name)s") % {"name": lottery.name})
        fields = ["entry"]
        if prize.kind == Prize.Kind.GIFT:
            gift = gifts[prize.gift_id]
            gift.stock -= 1
            gift.save(update_fields=["stock"])
            draw.gift_order = GiftOrder.objects.create(
                member=member, gift=gift, quantity=1, points=0, request_id=f"draw:{request_id}"[:64],
                store=prize.pickup_store or member.home_store, created_by=staff,
            )
            fields.append("gift_order")
        draw.entry, _short = consume(member=member, points=lottery.points_cost, idem_key=f"draw:{draw.pk}",
                                     source=source)
        if prize.kind == Prize.Kind.POINTS:
            draw.prize_entry = credit(
                member=member, points=prize.points, idem_key=f"draw-prize:{draw.pk}",
                source=dataclasses.replace(source, reason=_("Lottery prize: %(name)s") % {"name": prize.name}),
            )
            fields.append("prize_entry")
        elif ctype is not None:
            draw.coupon = coupon_issue(member=member, coupon_type=ctype, source=Coupon.Source.LOTTERY,
                                       idem_key=f"draw:{draw.pk}", reason=lottery.name, staff=staff, _locked=True)
            fields.append("coupon")
        draw.save(update_fields=fields)
        return draw, True


def prize_available(prize: Prize, *, gift: Gift | None = None, coupon_type: CouponType | None = None) -> bool:
    """Whether a prize can still be won: its own stock, and the stock of the gift or the issue room of
    the coupon type it hands out. lottery_draw passes the locked rows; displays pass nothing and the
    prize's related rows are used."""
    if prize.stock is not None and prize.stock <= 0:
        return False
    if prize.kind == Prize.Kind.GIFT:
        return (gift or prize.gift).stock > 0
    if prize.kind == Prize.Kind.COUPON:
        return _coupon_type_can_issue(coupon_type or prize.coupon_type)
    return True


def _coupon_type_can_issue(ctype: CouponType) -> bool:
    if not ctype.is_active:
        return False
    if ctype.issue_limit is not None and ctype.issued_count >= ctype.issue_limit:
        return False
    return not (ctype.valid_to and ctype.valid_to <= timezone.now())


def coupons_in_wallet(*, member: Member, include_past: bool = False):
    qs = Coupon.objects.filter(member=member).select_related("type").order_by("valid_to", "id")
    if not include_past:
        qs = qs.filter(status=Coupon.Status.ISSUED, valid_to__gt=timezone.now())
    return qs


def coupon_types_for_points():
    now = timezone.now()
    return (CouponType.objects.filter(is_active=True, points_cost__gt=0)
            .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=now)).order_by("points_cost", "id"))
