"""Hooks from the amenities quotas to apps above them (the layers contract in pyproject.toml).

A member's free parking hours per day are their tier's QuotaPolicy allowance plus what an app above adds
(plans: a paid membership's free parking hours, issue 18). The app registers a callback in its
AppConfig.ready(); amenities.services asks `parking_hours_extra` wherever it reads the allowance, so the
desk, the portal and the parking record agree."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

_parking_extra: list[Callable] = []


def register_parking_extra(callback: Callable) -> None:
    """`callback(*, member, day) -> int`: extra free parking hours on that day (reads only)."""
    if callback not in _parking_extra:
        _parking_extra.append(callback)


def parking_hours_extra(*, member, day: dt.date) -> int:
    return sum(callback(member=member, day=day) for callback in list(_parking_extra))
