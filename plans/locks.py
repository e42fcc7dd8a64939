"""Row locks of plans, on core.locks (FOR UPDATE OF self). Lock the member first
(members.locks.member_lock): every write to a member's membership is serialised on the member row."""
from __future__ import annotations

from core.locks import lock_one, lock_one_or_none

from .models import PaidMembership


def membership_lock(membership_id: int) -> PaidMembership:
    return lock_one(PaidMembership.objects.select_related("plan"), membership_id)


def current_membership_lock(member_id: int) -> PaidMembership | None:
    """The member's current (active or in grace) membership locked, or None; the member is locked first."""
    return lock_one_or_none(PaidMembership.objects.select_related("plan")
                            .filter(member_id=member_id, status__in=PaidMembership.CURRENT))
