"""Row locks of the messaging app, on core.locks (FOR UPDATE OF self): a campaign is locked without
its template, which other campaigns share. Delivery claims messages set-wise in SQL (delivery.py)."""
from __future__ import annotations

from core.locks import lock_one, lock_one_or_none

from .models import Campaign, ChannelPreference, Message


def message_lock(message_id: int) -> Message:
    return lock_one(Message, message_id)


def channel_preference_lock(member_id: int) -> ChannelPreference:
    """The member's channel choices locked (the row exists: channel_preference_set creates it first)."""
    return lock_one(ChannelPreference, member_id=member_id)


def campaign_lock(campaign_id: int) -> Campaign:
    return lock_one(Campaign, campaign_id)


def campaign_lock_for_planning(campaign_id: int) -> Campaign | None:
    """The campaign locked with its template fetched (joined, not locked); None if it is gone."""
    return lock_one_or_none(Campaign.objects.select_related("template"), campaign_id)
