"""Row locks of the benefits app, on core.locks (FOR UPDATE OF self)."""
from __future__ import annotations

from core.locks import lock_one_or_none

from .models import MemberDayConfig


def member_day_config_lock() -> MemberDayConfig | None:
    """The single member-day configuration row locked, None before it first exists."""
    return lock_one_or_none(MemberDayConfig, 1)
