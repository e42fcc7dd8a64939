"""Hooks from the member lifecycle to apps above members (the layers contract in pyproject.toml).

members must not import points, yet a desk sign-up's review decides what happens to the purchases the
person made while it was pending (points.services.held). Apps above register a callback in their
AppConfig.ready():

    members.hooks.register_member_reviewed(held_points_settle)

and member_review calls every registered callback inside its transaction, after the new status is saved
(the member row is locked). A callback must be idempotent.
"""
from __future__ import annotations

from collections.abc import Callable

_member_reviewed: list[Callable] = []


def register_member_reviewed(callback: Callable) -> None:
    """`callback(*, member, approved, reviewer)` runs when a pending sign-up is approved or rejected."""
    if callback not in _member_reviewed:
        _member_reviewed.append(callback)


def member_reviewed(*, member, approved: bool, reviewer) -> None:
    for callback in list(_member_reviewed):
        callback(member=member, approved=approved, reviewer=reviewer)
