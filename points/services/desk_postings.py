"""Desk postings (补录, PTS-11): a purchase the service desk enters for a member, with controls.

- The receipt's number (the till's order number) is required, and checked against the store's till
  postings: a till purchase with that number at that store that already belongs to a member is a
  duplicate and refused; a member-less till purchase (the customer forgot the card) is linked to the
  member instead of posting the sale a second time (its bill amount must agree).
- Caps from PointsConfig: a posting whose bill exceeds `desk_posting_max_amount`, or that takes the clerk's
  postings of the day (posted or waiting) above `desk_clerk_daily_max_amount`, waits until a DIFFERENT
  staff member holding `points.approve_deskposting` approves it (then it is posted) or rejects it.
- Every posting, approval and rejection is audit-logged (core.audit) in its transaction, and the inline
  abuse check (points.services.abuse) runs on the member and the clerk after each posting.

Lock order: the clerk's user row (serialises one clerk's daily total) → desk posting → purchase → account
→ lots.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record
from core.errors import Conflict, PermissionDenied
from core.models import AuditLog
from members import scope
from members.models import Member, Store

from ..calculation import parse_basket, purchase_time_error
from ..errors import IdempotencyConflict, PointsError
from ..locks import clerk_lock, desk_posting_lock
from ..models import DeskPosting, PointsConfig, Purchase
from .claims import purchase_assign_member
from .ledger import require_can_transact
from .purchases import purchase_post

POST_PERM = "points.add_purchase"
APPROVE_PERM = "points.approve_deskposting"


@dataclass
class DeskPostingResult:
    posting: DeskPosting
    created: bool


def _day_bounds(at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    start = timezone.localtime(at).replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + dt.timedelta(days=1)


def _check_receipt(*, store: Store, receipt_no: str, member: Member, amount_total: Decimal) -> Purchase | None:
    """The store's till posting of this receipt: None (post the sale), a member-less purchase to link, or
    a duplicate (raises)."""
    purchase = Purchase.objects.filter(store=store, order_no=receipt_no).first()
    if purchase is None:
        return None
    if purchase.member_id is not None:
        whose = (_("this member") if purchase.member_id == member.pk
                 else _("another member"))
        message = _("Receipt %(no)s of this store was already posted by the till and credited to %(whose)s; "
                    "it cannot be posted again.") % {"no": receipt_no, "whose": whose}
        raise PointsError(message, code="duplicate_receipt", fields={"order_no": [message]})
    if purchase.amount_total != amount_total:
        message = _("The till recorded receipt %(no)s with a bill of %(till)s yuan, not %(desk)s; check the "
                    "receipt.") % {"no": receipt_no, "till": purchase.amount_total, "desk": amount_total}
        raise PointsError(message, code="receipt_amount_differs", fields={"order_no": [message]})
    return purchase


def desk_posting_submit(
    *, staff, member: Member, store: Store, receipt_no: str, occurred_at: dt.datetime, lines: list[dict],
    tenders: list[dict],
) -> DeskPostingResult:
    """Post a purchase at the desk, or queue it for a second approver above the caps (PTS-11)."""
    scope.require_perm(staff, POST_PERM)
    scope.require_member(staff, member)
    receipt_no = (receipt_no or "").strip()
    if not receipt_no:
        raise PointsError(_("The receipt number is required: enter the till's order number printed on it."),
                          code="receipt_required", fields={"order_no": [_("Required.")]})
    if error := purchase_time_error(occurred_at):
        raise error
    config = PointsConfig.get()
    parsed, _paid = parse_basket(lines, tenders, config)
    amount_total = sum((line.amount for line in parsed), Decimal(0))
    require_can_transact(member)
    with transaction.atomic():
        clerk_lock(staff.pk)
        live = DeskPosting.objects.filter(store=store, receipt_no=receipt_no).exclude(
            status=DeskPosting.Status.REJECTED).first()
        if live is not None:
            if live.member_id == member.pk and live.status == DeskPosting.Status.POSTED:
                if (live.occurred_at, live.lines, live.tenders) != (occurred_at, lines, tenders):
                    raise IdempotencyConflict(_("Order %(no)s was already posted with different content.")
                                              % {"no": receipt_no})
                return DeskPostingResult(live, created=False)  # a resubmitted form: nothing is credited again
            if live.member_id == member.pk:
                raise Conflict(_("Receipt %(no)s is already waiting for approval.") % {"no": receipt_no},
                               code="desk_posting_pending")
            message = _("Receipt %(no)s was already posted at the desk for another member.") % {"no": receipt_no}
            raise PointsError(message, code="duplicate_receipt", fields={"order_no": [message]})
        _check_receipt(store=store, receipt_no=receipt_no, member=member, amount_total=amount_total)
        start, end = _day_bounds(timezone.now())
        today = (DeskPosting.objects.filter(requested_by=staff, requested_at__gte=start, requested_at__lt=end)
                 .exclude(status=DeskPosting.Status.REJECTED).aggregate(s=Sum("amount_total"))["s"] or Decimal(0))
        reasons = []
        if amount_total > config.desk_posting_max_amount:
            reasons.append(_("bill %(amount)s yuan above the cap of %(cap)s per posting")
                           % {"amount": amount_total, "cap": config.desk_posting_max_amount})
        if today + amount_total > config.desk_clerk_daily_max_amount:
            reasons.append(_("the clerk's postings today would reach %(total)s yuan, above the daily cap of %(cap)s")
                           % {"total": today + amount_total, "cap": config.desk_clerk_daily_max_amount})
        posting = DeskPosting.objects.create(
            store=store, receipt_no=receipt_no, member=member, occurred_at=occurred_at, amount_total=amount_total,
            lines=lines, tenders=tenders, status=DeskPosting.Status.PENDING, requested_by=staff,
            approval_reason="; ".join(str(r) for r in reasons)[:200],
        )
        if reasons:
            audit_record(actor=staff, action=AuditLog.Action.DESK_POSTING, member=member, field="pending",
                         detail=_("Receipt %(no)s (%(store)s), %(amount)s yuan, waits for approval: %(why)s")
                         % {"no": receipt_no, "store": store.code, "amount": amount_total,
                            "why": posting.approval_reason})
        else:
            _apply(posting, actor=staff)
        from .abuse import abuse_check_desk_posting

        abuse_check_desk_posting(member=member, clerk=staff)
        return DeskPostingResult(posting, created=True)


def desk_posting_approve(*, posting: DeskPosting, approver) -> DeskPosting:
    """A second staff member approves a waiting posting; it is posted in the same transaction."""
    scope.require_perm(approver, APPROVE_PERM)
    with transaction.atomic():
        posting = _lock_pending(posting, approver)
        require_can_transact(posting.member)
        posting.approved_by = approver
        _apply(posting, actor=approver)
        return posting


def desk_posting_reject(*, posting: DeskPosting, approver, reason: str) -> DeskPosting:
    scope.require_perm(approver, APPROVE_PERM)
    reason = (reason or "").strip()
    if not reason:
        raise PointsError(_("Say why the posting is rejected."), fields={"reason": [_("Required.")]})
    with transaction.atomic():
        posting = _lock_pending(posting, approver)
        posting.status = DeskPosting.Status.REJECTED
        posting.approved_by = approver
        posting.decided_at = timezone.now()
        posting.reject_reason = reason[:200]
        posting.save(update_fields=["status", "approved_by", "decided_at", "reject_reason"])
        audit_record(actor=approver, action=AuditLog.Action.DESK_POSTING, member=posting.member, field="rejected",
                     detail=_("Receipt %(no)s (%(store)s) rejected: %(reason)s")
                     % {"no": posting.receipt_no, "store": posting.store.code, "reason": reason})
        return posting


def _lock_pending(posting: DeskPosting, approver) -> DeskPosting:
    posting = desk_posting_lock(posting.pk)
    scope.require_member(approver, posting.member)
    if posting.status != DeskPosting.Status.PENDING:
        raise Conflict(_("This posting is already %(status)s.") % {"status": posting.get_status_display()},
                       code="desk_posting_decided")
    if posting.requested_by_id == approver.pk:
        raise PermissionDenied(_("A second staff member must approve; you posted this purchase."),
                               code="same_approver")
    return posting


def _apply(posting: DeskPosting, *, actor) -> None:
    """Post the sale (or link the member-less till purchase of this receipt) and record it."""
    till = _check_receipt(store=posting.store, receipt_no=posting.receipt_no, member=posting.member,
                          amount_total=posting.amount_total)
    if till is not None:
        purchase = purchase_assign_member(purchase=till, member=posting.member)
        how = _("linked to the till's record")
    else:
        purchase = purchase_post(store=posting.store, order_no=posting.receipt_no, member=posting.member,
                                 occurred_at=posting.occurred_at, lines=posting.lines, tenders=posting.tenders,
                                 source="desk").purchase
        how = _("posted")
    posting.purchase = purchase
    posting.status = DeskPosting.Status.POSTED
    posting.decided_at = timezone.now()
    posting.save(update_fields=["purchase", "status", "approved_by", "decided_at"])
    audit_record(actor=actor, action=AuditLog.Action.DESK_POSTING, member=posting.member,
                 field="approved" if posting.approved_by_id else "posted",
                 detail=_("Receipt %(no)s (%(store)s), %(amount)s yuan, %(how)s: %(points)s points; posted by %(clerk)s")
                 % {"no": posting.receipt_no, "store": posting.store.code, "amount": posting.amount_total,
                    "how": how, "points": purchase.points_earned, "clerk": posting.requested_by.get_username()})
