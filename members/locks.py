"""Row locks of the members app: one function per locked entity, on core.locks (FOR UPDATE OF self).

`member_lock` is the lock every app takes to serialise one member's writes (reviews, tier changes,
loans, partner codes); it never locks the member's Tier, which all members of that tier share.
"""
from __future__ import annotations

import datetime as dt

from core.locks import lock_one, lock_one_or_none

from .models import ChangeRequest, CorporateProfile, Member, PrivacyPolicy, SecurityIncident, SmsCode


def member_lock(member_id: int, *, with_tier: bool = False) -> Member:
    """The member row locked; with_tier also fetches the tier (joined, not locked)."""
    source = Member.objects.select_related("tier") if with_tier else Member
    return lock_one(source, member_id)


def change_request_lock(change_request_id: int) -> ChangeRequest:
    return lock_one(ChangeRequest, change_request_id)


def privacy_policy_lock(policy_id: int) -> PrivacyPolicy:
    return lock_one(PrivacyPolicy, policy_id)


def security_incident_lock(incident_id: int) -> SecurityIncident:
    return lock_one(SecurityIncident, incident_id)


def corporate_profile_lock(company_id: int) -> CorporateProfile | None:
    """The corporate member's profile locked, None if the member is not corporate."""
    return lock_one_or_none(CorporateProfile, member_id=company_id)


def sms_code_lock_latest(*, mobile_hash: str, purpose: str, now: dt.datetime) -> SmsCode | None:
    """The newest unused, unexpired code of the number for this purpose, locked (one row)."""
    live = SmsCode.objects.filter(mobile_hash=mobile_hash, purpose=purpose, used_at__isnull=True,
                                  expires_at__gt=now).order_by("-created_at")
    return lock_one_or_none(live)
