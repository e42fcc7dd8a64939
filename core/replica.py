"""Reads that may go to the read replica (issue 17, "Past one machine").

The database is the one part that does not scale out by adding machines, so the read-heavy pages
(dashboards, evaluation pages, exports, campaign audience previews) read from a streaming replica when
`DATABASE_REPLICA_URL` is set. Nothing goes there by accident: only code inside `reads()` does.

    from core import replica

    @staff_required
    @replica.reads()
    def overview(request): ...

    with replica.reads():
        counts = campaign_preview(campaign=campaign)

Rules (core.db_router.ReplicaRouter applies them):
- writes always go to the primary;
- inside `reads()`, reads go to the replica, unless
  - no replica is configured, or it is unreachable, or its replay lag is above
    `DATABASE_REPLICA_MAX_LAG_SECONDS` (then the primary, logged as a warning);
  - the primary has a transaction open (`atomic`, as every service has): what it writes is read back from it.
  So a path that writes and then reads its write back after the commit (a form's POST-redirect-GET, a
  detail page after a save) is not put in `reads()`; only the read-heavy part of a page is.
- the replica's state (reachable, lag) is measured at most every `DATABASE_REPLICA_CHECK_SECONDS` per
  process and decided once when a block starts, so one block reads from one place.

Lag is measured on the replica: when its replayed WAL position (`pg_last_wal_replay_lsn()`) has reached the
primary's flushed position (`pg_current_wal_flush_lsn()`) it is 0, however long ago the last commit was;
otherwise it is the age of the last transaction it replayed (`pg_last_xact_replay_timestamp()`), an upper
bound, so an idle primary's first new commit may send reads to the primary for one check interval (safe).
"""
from __future__ import annotations

import contextvars
import logging
import math
import threading
import time
from contextlib import ContextDecorator
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, Error, connections
from django.utils import timezone

REPLICA_ALIAS = "replica"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReplicaStatus:
    """What the last check found: usable or not, the replay lag in seconds (None when unmeasured) and why."""

    usable: bool
    lag_seconds: float | None
    reason: str
    checked_at: float  # time.monotonic() of the check


# The alias the current reads() block chose (None outside any block).
_scope: contextvars.ContextVar[str | None] = contextvars.ContextVar("replica_reads_alias", default=None)
_status: ReplicaStatus | None = None
_status_lock = threading.Lock()


def replica_configured() -> bool:
    return REPLICA_ALIAS in connections.settings


def max_lag_seconds() -> float:
    return float(getattr(settings, "DATABASE_REPLICA_MAX_LAG_SECONDS", 5.0))


def _measure() -> ReplicaStatus:
    """Ask the primary how far its WAL is flushed and the replica how far it has replayed it."""
    checked_at = time.monotonic()
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_flush_lsn()::text")
        primary_lsn = cursor.fetchone()[0]
    try:
        with connections[REPLICA_ALIAS].cursor() as cursor:
            cursor.execute(
                "SELECT pg_is_in_recovery(), pg_wal_lsn_diff(%s::pg_lsn, pg_last_wal_replay_lsn()),"
                " EXTRACT(EPOCH FROM (%s - pg_last_xact_replay_timestamp()))",
                [primary_lsn, timezone.now()])
            in_recovery, behind_bytes, age = cursor.fetchone()
    except Error as exc:
        try:
            connections[REPLICA_ALIAS].close()  # a dead socket must not be reused by the next check
        except Error:
            pass
        return ReplicaStatus(False, None, f"unreachable: {str(exc).strip() or type(exc).__name__}", checked_at)
    if not in_recovery:
        return ReplicaStatus(False, None, "not a standby (pg_is_in_recovery() is false)", checked_at)
    if behind_bytes is not None and behind_bytes <= 0:
        lag = 0.0
    else:
        lag = math.inf if age is None else max(0.0, float(age))
    if lag > max_lag_seconds():
        return ReplicaStatus(False, lag, f"{lag:.1f} s behind (at most {max_lag_seconds():g} s allowed)", checked_at)
    return ReplicaStatus(True, lag, "ok", checked_at)


def replica_status(*, refresh: bool = False) -> ReplicaStatus | None:
    """The replica's state, measured again when older than DATABASE_REPLICA_CHECK_SECONDS; None when no replica
    is configured. A fallback to the primary is logged once per check."""
    global _status
    if not replica_configured():
        return None
    interval = float(getattr(settings, "DATABASE_REPLICA_CHECK_SECONDS", 2.0))
    with _status_lock:
        status = _status
        if refresh or status is None or time.monotonic() - status.checked_at >= interval:
            status = _measure()
            if not status.usable:
                log.warning("Read replica not used, reading from the primary: %s", status.reason)
            _status = status
    return status


def _choose_alias() -> str:
    if not replica_configured() or connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return DEFAULT_DB_ALIAS
    status = replica_status()
    return REPLICA_ALIAS if status and status.usable else DEFAULT_DB_ALIAS


class reads(ContextDecorator):  # noqa: N801 - used like contextlib's context managers
    """Context manager and decorator: reads inside go to the replica when that is safe (module docstring).
    Nested blocks keep the outer block's choice."""

    def __init__(self):
        self._token: contextvars.Token | None = None

    def _recreate_cm(self):
        return reads()  # one decorated view serves many requests (threads) at once: a fresh state per call

    def __enter__(self) -> str:
        alias = _scope.get() or _choose_alias()
        self._token = _scope.set(alias)
        return alias

    def __exit__(self, *exc) -> None:
        _scope.reset(self._token)
        self._token = None


def read_alias() -> str:
    """Where a read goes now (the router asks this for every query)."""
    alias = _scope.get()
    if alias is None or alias == DEFAULT_DB_ALIAS or connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return DEFAULT_DB_ALIAS
    return alias
