#!/usr/bin/env python3
"""Pick the instant CI's second pass runs at, and print it as libfaketime's FAKETIME value.

The suite must pass on any day of any year, so CI runs it a second time with the clock of the whole
process tree (pytest, the embedded PostgreSQL, gunicorn, Celery workers, Chromium) shifted by
libfaketime. The instants are the ones that have broken date code before: a plain future day, a
year and more away, a New Year that is still the old year in UTC, a leap day, member day (the 18th)
and a month's last evening. Successive runs rotate through the list by the day of the year, so a
week of CI covers them all; MEMBERHUB_SHIFT=<index or name> picks one by hand.

Output (one line, tab-separated): FAKETIME value, the list index, a human description.
Standard library only: it runs before the virtualenv exists.
"""
from __future__ import annotations

import datetime as dt
import os
import sys
from zoneinfo import ZoneInfo

SH = ZoneInfo("Asia/Shanghai")

# (name, target): a timedelta is an offset from now; an aware datetime is an absolute instant.
SHIFTS: list[tuple[str, dt.timedelta | dt.datetime]] = [
    ("+45d", dt.timedelta(days=45)),
    ("+400d", dt.timedelta(days=400)),
    ("new-year-utc-eve", dt.datetime(2028, 1, 1, 0, 30, tzinfo=SH)),  # still 2027-12-31 in UTC
    ("leap-day", dt.datetime(2028, 2, 29, 10, 0, tzinfo=SH)),
    ("member-day", dt.datetime(2027, 3, 18, 15, 0, tzinfo=SH)),
    ("month-end-evening", dt.datetime(2027, 4, 30, 23, 40, tzinfo=SH)),
]


def pick(now: dt.datetime, choice: str | None) -> int:
    if choice:
        names = [name for name, _ in SHIFTS]
        if choice in names:
            return names.index(choice)
        try:
            index = int(choice)
        except ValueError:
            sys.exit(f"MEMBERHUB_SHIFT={choice!r}: use an index 0..{len(SHIFTS) - 1} or one of {', '.join(names)}")
        if not 0 <= index < len(SHIFTS):
            sys.exit(f"MEMBERHUB_SHIFT={choice!r}: index out of range 0..{len(SHIFTS) - 1}")
        return index
    return now.timetuple().tm_yday % len(SHIFTS)


def faketime_value(now: dt.datetime, target: dt.timedelta | dt.datetime) -> tuple[str, dt.datetime]:
    """A relative offset in seconds, so the shifted clock keeps ticking (sleep, timeouts, monotonic)."""
    offset = target if isinstance(target, dt.timedelta) else target - now
    seconds = int(offset.total_seconds())
    return f"{seconds:+d}", now + dt.timedelta(seconds=seconds)


def main() -> None:
    now = dt.datetime.now(dt.UTC)
    index = pick(now, os.environ.get("MEMBERHUB_SHIFT"))
    name, target = SHIFTS[index]
    value, at = faketime_value(now, target)
    local = at.astimezone(SH)
    print(f"{value}\t{index}\t{name}: {local:%Y-%m-%d %H:%M} Asia/Shanghai ({at:%Y-%m-%d %H:%M} UTC)")


if __name__ == "__main__":
    main()
