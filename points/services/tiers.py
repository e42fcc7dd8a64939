"""Tier rules (TIER-1..5). Placeholder hook until the tier engine lands: no immediate upgrades."""
from __future__ import annotations

import datetime as dt

from members.models import Member


def tier_upgrade_on_purchase(*, member: Member, at: dt.datetime) -> None:
    """Immediate upgrade on the purchase that crosses a threshold (TIER-2), for tiers that opt in."""
    return None
