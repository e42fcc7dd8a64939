"""Points claims (补积分, PTS-11): a member who forgot the card claims a purchase afterwards.

A till may post a sale without a member (Purchase.member NULL, nothing earned). A claim names the store,
the receipt number, the date and the bill amount, within PointsConfig.claim_window_days of the purchase:

- matched to a member-less till purchase (same store and order number, same local date, same bill) it is
  credited at once — once: the purchase row is locked and must still be member-less, a purchase has at
  most one claim (UNIQUE PointsClaim.purchase) and a receipt at most one live claim (UNIQUE store +
  receipt among claims not rejected), so two concurrent claims credit once;
- otherwise (no till record yet, or the details differ) it waits for staff review (the desk queue):
  approved, it is credited from the till's record, or — when the till never posted it — as a purchase of
  the claimed amount (source "claim"); rejected, with a reason. The member hears of each outcome in the
  portal inbox.

Lock order: claim → purchase → account → lots.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record
from core.errors import Conflict, PermissionDenied
from core.models import AuditLog
from members import scope
from members.models import Member, Store

from .. import hooks
from ..calculation import CENT, calculate_points
from ..errors import PointsError
from ..locks import claim_lock, purchase_lock
from ..models import PointsClaim, PointsConfig, Purchase
from .ledger import Source, credit, require_can_transact, safe_create
from .purchases import points_left_after_refunds, purchase_post

REVIEW_PERM = "points.review_pointsclaim"


@dataclass
class ClaimResult:
    claim: PointsClaim
    created: bool


def purchase_assign_member(*, purchase: Purchase, member: Member) -> Purchase:
    """Give a member-less till purchase to `member` and credit its points as of the purchase (PTS-1 with
    the campaigns of that day). Refuses a purchase that already has a member or was refunded in full. A
    partly refunded one earns on what is left of it (`points_left_after_refunds`). The purchase is marked
    changed, so the consumption cube's next nightly refresh counts it for the member."""
    assert transaction.get_connection().in_atomic_block, "purchase_assign_member() must run inside a transaction"
    purchase = purchase_lock(purchase.pk)
    if purchase.member_id is not None:
        raise Conflict(_("Order %(no)s has already earned points for a member.") % {"no": purchase.order_no},
                       code="purchase_already_claimed")
    if purchase.amount_refunded >= purchase.amount_total and purchase.amount_total > 0:
        raise PointsError(_("Order %(no)s was refunded in full (%(amount)s yuan): it earns no points.")
                          % {"no": purchase.order_no, "amount": purchase.amount_refunded}, code="purchase_refunded")
    require_can_transact(member)
    config = PointsConfig.get()
    calc = calculate_points(member=member, store=purchase.store, at=purchase.occurred_at, lines=purchase.lines,
                            tenders=purchase.tenders, config=config)
    earned = max(calc.points, 0)
    to_credit, reversed_ = points_left_after_refunds(points=earned, refunded=purchase.amount_refunded,
                                                     amount_total=purchase.amount_total)
    purchase.member = member
    purchase.points_earned = earned
    purchase.points_reversed = reversed_
    purchase.campaigns = calc.campaigns
    purchase.changed_at = timezone.now()
    purchase.save(update_fields=["member", "points_earned", "points_reversed", "campaigns", "changed_at"])
    if to_credit:
        credit(member=member, points=to_credit, idem_key=f"purchase:{purchase.pk}",
               earned_on=timezone.localtime(purchase.occurred_at).date(), config=config,
               source=Source(store_id=purchase.store_id, purchase_id=purchase.pk, ref=purchase.order_no,
                             reason=_("Purchase (claimed afterwards)"),
                             campaigns=tuple(c["id"] for c in calc.campaigns)))
    hooks.purchase_posted(member=member, at=purchase.occurred_at)
    return purchase


def _clean(*, store: Store | None, receipt_no: str, purchased_on, amount) -> tuple[str, dt.date, Decimal]:
    errors: dict[str, list[str]] = {}
    receipt_no = (receipt_no or "").strip()
    if store is None:
        errors["store"] = [_("Choose the store.")]
    if not receipt_no:
        errors["receipt_no"] = [_("Enter the receipt number printed on the receipt.")]
    elif len(receipt_no) > 64:
        errors["receipt_no"] = [_("At most 64 characters.")]
    try:
        amount = Decimal(str(amount)).quantize(CENT)
        if amount <= 0:
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors["amount"] = [_("Enter the bill amount in yuan.")]
    today = timezone.localdate()
    window = PointsConfig.get().claim_window_days
    if not isinstance(purchased_on, dt.date):
        errors["purchased_on"] = [_("Enter the date of the purchase.")]
    elif purchased_on > today:
        errors["purchased_on"] = [_("The date lies in the future.")]
    elif purchased_on < today - dt.timedelta(days=window):
        message = _("Purchases can be claimed within %(days)s days; this one is from %(date)s.") % {
            "days": window, "date": purchased_on}
        raise PointsError(message, code="claim_window", fields={**errors, "purchased_on": [message]})
    if errors:
        raise PointsError(_("The claim is not valid."), fields=errors)
    return receipt_no, purchased_on, amount


def _matches(purchase: Purchase, *, purchased_on: dt.date, amount: Decimal) -> str:
    """'' when the till's record agrees with the claim, else what differs."""
    differs = []
    if timezone.localtime(purchase.occurred_at).date() != purchased_on:
        differs.append(_("the till recorded another date"))
    if purchase.amount_total != amount:
        differs.append(_("the till recorded another amount"))
    if purchase.amount_total > 0 and purchase.amount_refunded >= purchase.amount_total:
        differs.append(_("the purchase was refunded in full"))
    return "; ".join(str(d) for d in differs)


def claim_submit(
    *, member: Member, store: Store | None, receipt_no: str, purchased_on: dt.date, amount, channel: str,
    staff=None,
) -> ClaimResult:
    """Claim a purchase for `member` (portal: the member; desk: staff on the member's behalf)."""
    if staff is not None:
        scope.require_perm(staff, "points.add_pointsclaim")
        scope.require_member(staff, member)
    receipt_no, purchased_on, amount = _clean(store=store, receipt_no=receipt_no, purchased_on=purchased_on,
                                              amount=amount)
    require_can_transact(member)
    with transaction.atomic():
        claim = safe_create(PointsClaim, member=member, store=store, receipt_no=receipt_no, purchased_on=purchased_on,
                            amount=amount, channel=channel, status=PointsClaim.Status.PENDING, created_by=staff)
        if claim is None:  # a live claim of this receipt exists (a concurrent one has committed)
            existing = (PointsClaim.objects.filter(store=store, receipt_no=receipt_no)
                        .exclude(status=PointsClaim.Status.REJECTED).first())
            if existing is not None and existing.member_id == member.pk:
                return ClaimResult(existing, created=False)
            raise Conflict(_("Receipt %(no)s has already been claimed; ask the service desk.") % {"no": receipt_no},
                           code="claim_duplicate")
        purchase = Purchase.objects.filter(store=store, order_no=receipt_no).first()
        if purchase is not None and purchase.member_id is not None:
            if purchase.member_id == member.pk:
                raise PointsError(_("Receipt %(no)s already earned your points.") % {"no": receipt_no},
                                  code="claim_already_credited")
            raise Conflict(_("Receipt %(no)s already earned points for another member; ask the service desk.")
                           % {"no": receipt_no}, code="claim_duplicate")
        differs = _matches(purchase, purchased_on=purchased_on, amount=amount) if purchase else ""
        if purchase is not None and not differs:
            _credit(claim, purchase, actor=staff or "member")
        else:
            claim.review_note = (differs or _("no till record of this receipt yet"))[:200]
            claim.save(update_fields=["review_note"])
            _notify(claim, _("Points claim received"),
                    _("Your claim for receipt %(no)s of %(date)s (%(amount)s yuan) is being checked by our staff.")
                    % {"no": receipt_no, "date": purchased_on, "amount": amount})
        return ClaimResult(claim, created=True)


def claim_approve(*, claim: PointsClaim, staff) -> PointsClaim:
    """Credit a waiting claim: from the till's member-less record of the receipt when there is one, else as
    a purchase of the claimed amount (the reviewer has seen the receipt)."""
    scope.require_perm(staff, REVIEW_PERM)
    with transaction.atomic():
        claim = _lock_pending(claim, staff)
        if claim.created_by_id == staff.pk:  # four eyes: whoever entered the claim at the desk does not credit it
            raise PermissionDenied(_("A second staff member must approve; you entered this claim."),
                                   code="same_approver")
        purchase = Purchase.objects.filter(store=claim.store, order_no=claim.receipt_no).first()
        if purchase is None:
            local = timezone.make_aware(dt.datetime.combine(claim.purchased_on, dt.time(12)))
            amount = str(claim.amount)
            purchase = purchase_post(
                store=claim.store, order_no=claim.receipt_no, member=claim.member,
                occurred_at=min(local, timezone.now()), lines=[{"brand": "", "category": "", "amount": amount}],
                tenders=[{"type": "other", "amount": amount}], source="claim",
            ).purchase
            _credited(claim, purchase, actor=staff)
        else:
            _credit(claim, purchase, actor=staff)
        return claim


def claim_reject(*, claim: PointsClaim, staff, reason: str) -> PointsClaim:
    scope.require_perm(staff, REVIEW_PERM)
    reason = (reason or "").strip()
    if not reason:
        raise PointsError(_("Say why the claim is rejected."), fields={"reason": [_("Required.")]})
    with transaction.atomic():
        claim = _lock_pending(claim, staff)
        claim.status = PointsClaim.Status.REJECTED
        claim.decided_by = staff
        claim.decided_at = timezone.now()
        claim.reject_reason = reason[:200]
        claim.save(update_fields=["status", "decided_by", "decided_at", "reject_reason"])
        audit_record(actor=staff, action=AuditLog.Action.POINTS_CLAIM, member=claim.member, field="rejected",
                     detail=_("Claim of receipt %(no)s (%(store)s) rejected: %(reason)s")
                     % {"no": claim.receipt_no, "store": claim.store.code, "reason": reason})
        _notify(claim, _("Points claim rejected"),
                _("Your claim for receipt %(no)s was not accepted: %(reason)s") % {"no": claim.receipt_no,
                                                                                  "reason": reason})
        return claim


def _lock_pending(claim: PointsClaim, staff) -> PointsClaim:
    claim = claim_lock(claim.pk)
    scope.require_member(staff, claim.member)
    store_ids = scope.store_ids(staff)
    if store_ids is not None and claim.store_id not in store_ids and claim.member.home_store_id not in store_ids:
        raise PointsError(_("This claim belongs to another store."), code="not_found")
    if claim.status != PointsClaim.Status.PENDING:
        raise Conflict(_("This claim is already %(status)s.") % {"status": claim.get_status_display()},
                       code="claim_decided")
    return claim


def _credit(claim: PointsClaim, purchase: Purchase, *, actor) -> None:
    purchase = purchase_assign_member(purchase=purchase, member=claim.member)
    _credited(claim, purchase, actor=actor)


def _credited(claim: PointsClaim, purchase: Purchase, *, actor) -> None:
    claim.purchase = purchase
    claim.points = purchase.points_earned
    claim.status = PointsClaim.Status.CREDITED
    if not isinstance(actor, str):
        claim.decided_by = actor
    claim.decided_at = timezone.now()
    claim.save(update_fields=["purchase", "points", "status", "decided_by", "decided_at"])
    audit_record(actor=actor, action=AuditLog.Action.POINTS_CLAIM, member=claim.member, field="credited",
                 detail=_("Claim of receipt %(no)s (%(store)s), %(amount)s yuan: %(points)s points")
                 % {"no": claim.receipt_no, "store": claim.store.code, "amount": claim.amount, "points": claim.points})
    _notify(claim, _("Points claim credited"),
            _("Receipt %(no)s of %(date)s: %(points)s points credited.")
            % {"no": claim.receipt_no, "date": claim.purchased_on, "points": claim.points})


def _notify(claim: PointsClaim, title: str, body: str) -> None:
    from messaging.services import notify_member

    notify_member(member=claim.member, kind="points_claim", ref=f"claim:{claim.pk}:{claim.status}", sms=False,
                  title=title, body=body)
