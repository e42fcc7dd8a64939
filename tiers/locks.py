"""Row locks of the tiers app, on core.locks (FOR UPDATE OF self). A member is locked with
members.locks.member_lock; the tier rows are shared by every member and never locked here."""
from __future__ import annotations

from core.locks import lock_one

from .models import TierProposal


def tier_proposal_lock(proposal_id: int) -> TierProposal:
    """The proposal locked, with its target tier fetched (joined, not locked). Lock the member first."""
    return lock_one(TierProposal.objects.select_related("to_tier"), proposal_id)
