"""Hook from purchases into the tier engine (TIER-2 immediate upgrade). The rules live in
tiers.services; this module only keeps the points app's import path stable."""
from __future__ import annotations

import datetime as dt

from members.models import Member


def tier_upgrade_on_purchase(*, member: Member, at: dt.datetime):
    """Immediate upgrade on the purchase that crosses a threshold, for tiers that opt in."""
    from tiers.services import tier_upgrade_on_purchase as upgrade  # tiers depend on points, not vice versa

    return upgrade(member=member, at=at)
