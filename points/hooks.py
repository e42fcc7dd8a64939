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


# ---------------------------------------------------------------- rates on top of the tier (issue 18)
# points.calculation.member_rates is the one place a member's points rate and offset cap are decided: the
# tier's, plus what an app above adds (plans: a paid membership's extra rate and higher cap). The checkout
# quote, the till purchase and the offset all read it, so they cannot disagree.

_rate_adjustments: list[Callable] = []


def register_rate_adjustment(callback: Callable) -> None:
    """`callback(*, member, day) -> list[RateAdjustment]` (points.calculation.RateAdjustment); reads only."""
    if callback not in _rate_adjustments:
        _rate_adjustments.append(callback)


def rate_adjustments(*, member, day: dt.date) -> list:
    out: list = []
    for callback in list(_rate_adjustments):
        out.extend(callback(member=member, day=day))
    return out


# ---------------------------------------------------------------- purchase lines of other kinds (issue 18)
# A till line is goods unless it names a kind an app above registered (plans: "membership_fee"). Such a
# line earns no points; its handler runs in the purchase's transaction once, when the purchase is new
# (a till retry returns the first purchase and runs nothing), and may refuse the sale with a domain error.

_line_kinds: dict[str, Callable] = {}


def register_line_kind(kind: str, handler: Callable) -> None:
    """`handler(*, purchase, line: dict, index: int)` for each line of `kind` of a new purchase."""
    _line_kinds[kind] = handler


def line_kinds() -> frozenset[str]:
    return frozenset(_line_kinds)


def lines_posted(*, purchase, lines: list[dict]) -> None:
    for index, line in enumerate(lines):
        kind = line.get("kind") if isinstance(line, dict) else None
        if kind and kind != "goods":
            _line_kinds[kind](purchase=purchase, line=line, index=index)
