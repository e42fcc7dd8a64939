"""Explicit hooks from the points ledger to apps above it (the layers contract in pyproject.toml).

points must not import tiers (tiers read purchases), yet a purchase that crosses a tier threshold
upgrades the member at once (TIER-2). So apps above register a callback here, in their AppConfig.ready():

    points.hooks.register_purchase_posted(tier_upgrade_on_purchase)

and purchase_post calls every registered callback inside its transaction, after the points are
credited. A callback must be idempotent (a retried purchase is not posted twice, but a crash may re-run).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

_purchase_posted: list[Callable] = []


def register_purchase_posted(callback: Callable) -> None:
    """`callback(*, member, at)` runs after a new purchase is credited (same transaction)."""
    if callback not in _purchase_posted:
        _purchase_posted.append(callback)


def purchase_posted(*, member, at: dt.datetime) -> None:
    if member is None:  # a till sale without a member (PTS-11): nobody to upgrade until it is claimed
        return
    for callback in list(_purchase_posted):
        callback(member=member, at=at)
