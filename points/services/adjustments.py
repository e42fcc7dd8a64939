"""Manual points adjustment at the desk (PTS-7).

A request up to PointsConfig.adjustment_approval_threshold (absolute points) is applied at once;
above it the request waits until a DIFFERENT staff member holding `points.approve_adjustment`
approves (then it is applied) or rejects it with a reason. Both requester and approver act only
on members of their store scope. The ledger entry (kind "adjustment") and the adjustment's status
change are written in one transaction; lock order: adjustment row → account → lots.
"""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict, PermissionDenied
from members import scope
from members.models import Member

from ..errors import PointsError
from ..locks import adjustment_lock
from ..models import Adjustment, Entry, PointsConfig
from .ledger import Source, consume, credit, require_can_transact

REQUEST_PERM = "points.add_adjustment"
APPROVE_PERM = "points.approve_adjustment"


def adjustment_request(*, member: Member, points: int, reason: str, staff) -> Adjustment:
    """Record a manual adjustment; apply it now when it is within the approval threshold."""
    scope.require_perm(staff, REQUEST_PERM)
    scope.require_member(staff, member)
    reason = (reason or "").strip()
    config = PointsConfig.get()
    errors = {}
    if not reason:
        errors["reason"] = [_("Say why the points are adjusted.")]
    if isinstance(points, bool) or not isinstance(points, int) or not points:
        errors["points"] = [_("Enter a positive or negative number of points.")]
    elif abs(points) > config.max_adjustment_points:
        errors["points"] = [_("One adjustment may move at most %(max)s points; split larger corrections and "
                              "have each approved.") % {"max": config.max_adjustment_points}]
    if errors:
        raise PointsError(_("The adjustment is not valid."), fields=errors)
    require_can_transact(member)
    needs_approval = abs(points) > config.adjustment_approval_threshold
    with transaction.atomic():
        adjustment = Adjustment.objects.create(
            member=member, points=points, reason=reason[:200], requested_by=staff, store=scope.staff_store(staff),
            status=Adjustment.Status.PENDING,
        )
        if not needs_approval:
            _apply(adjustment)
        return adjustment


def adjustment_approve(*, adjustment: Adjustment, approver) -> Adjustment:
    """A second staff member approves a pending adjustment; it is applied in the same transaction."""
    scope.require_perm(approver, APPROVE_PERM)
    with transaction.atomic():
        adjustment = _lock_pending(adjustment, approver)
        require_can_transact(adjustment.member)
        limit = PointsConfig.get().max_adjustment_points
        if abs(adjustment.points) > limit:  # requested before the limit was lowered: reject it instead
            raise PointsError(_("This adjustment exceeds the largest allowed (%(max)s points); reject it and "
                                "request a smaller one.") % {"max": limit}, code="adjustment_too_large")
        adjustment.approved_by = approver
        _apply(adjustment)
        return adjustment


def adjustment_reject(*, adjustment: Adjustment, approver, reason: str) -> Adjustment:
    scope.require_perm(approver, APPROVE_PERM)
    reason = (reason or "").strip()
    if not reason:
        raise PointsError(_("Say why the adjustment is rejected."), fields={"reason": [_("Required.")]})
    with transaction.atomic():
        adjustment = _lock_pending(adjustment, approver)
        adjustment.status = Adjustment.Status.REJECTED
        adjustment.approved_by = approver
        adjustment.decided_at = timezone.now()
        adjustment.reject_reason = reason[:200]
        adjustment.save(update_fields=["status", "approved_by", "decided_at", "reject_reason"])
        return adjustment


def _lock_pending(adjustment: Adjustment, approver) -> Adjustment:
    adjustment = adjustment_lock(adjustment.pk)
    scope.require_member(approver, adjustment.member)
    if adjustment.status != Adjustment.Status.PENDING:
        raise Conflict(_("This adjustment is already %(status)s.") % {"status": adjustment.get_status_display()},
                       code="adjustment_decided")
    if adjustment.requested_by_id == approver.pk:
        raise PermissionDenied(_("A second staff member must approve; you requested this adjustment."),
                               code="same_approver")
    return adjustment


def _apply(adjustment: Adjustment) -> None:
    staff_id = adjustment.approved_by_id or adjustment.requested_by_id
    source = Source(store_id=adjustment.store_id, staff_id=staff_id, ref=f"adjustment:{adjustment.pk}",
                    reason=adjustment.reason)
    idem_key = f"adjustment:{adjustment.pk}"
    if adjustment.points > 0:
        entry = credit(member=adjustment.member, points=adjustment.points, idem_key=idem_key, source=source,
                       kind=Entry.Kind.ADJUSTMENT)
    else:
        entry, _short = consume(member=adjustment.member, points=-adjustment.points, idem_key=idem_key,
                                source=source, kind=Entry.Kind.ADJUSTMENT, include_pending=True)
    adjustment.entry = entry
    adjustment.status = Adjustment.Status.APPLIED
    adjustment.decided_at = timezone.now()
    adjustment.save(update_fields=["entry", "status", "approved_by", "decided_at"])
    from messaging.services import notify_member

    notify_member(member=adjustment.member, kind="points_adjusted", ref=f"adjustment:{adjustment.pk}", sms=False,
                  title=_("Points adjusted"),
                  body=_("%(points)+d points: %(reason)s") % {"points": adjustment.points, "reason": adjustment.reason})
