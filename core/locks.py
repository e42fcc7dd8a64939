"""Row locks, Saleor-style: the one module that calls `select_for_update`.

Every lock here is `FOR UPDATE OF` the model's own table (`of=("self",)`), so a `select_related`
join never locks the joined row as well: locking a member must not lock the Tier every member of
that tier shares, nor a booking its slot, nor a registration its event. Several rows are locked in
primary-key order, so two transactions locking overlapping sets cannot wait on each other in a
cycle (PostgreSQL takes the row locks as the sorted rows come out, above the sort).

The owning app names each locked entity once on top of these primitives (`members.locks.member_lock`,
`points.locks.account_lock`, ...); services call those, never `select_for_update` directly.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from django.db import models

M = TypeVar("M", bound=models.Model)


def _for_update(source: type[M] | models.QuerySet, *, nowait: bool = False,
                skip_locked: bool = False) -> models.QuerySet:
    queryset = source._default_manager.all() if isinstance(source, type) else source
    return queryset.select_for_update(of=("self",), nowait=nowait, skip_locked=skip_locked)


def lock_one(source: type[M] | models.QuerySet, pk: Any = None, *, nowait: bool = False, **lookups) -> M:
    """Lock and return the one row with this pk (and/or lookups); raises DoesNotExist like `.get()`.

    `source` is a model or a queryset (for `select_related` or a scope filter; joined rows stay unlocked)."""
    if pk is not None:
        lookups["pk"] = pk
    return _for_update(source, nowait=nowait).get(**lookups)


def lock_one_or_none(source: type[M] | models.QuerySet, pk: Any = None, *, nowait: bool = False,
                     **lookups) -> M | None:
    """Like `lock_one` but None when nothing matches. If several rows match, only the first in the
    queryset's own ordering (pk when unordered) is locked, as `.first()` does."""
    if pk is not None:
        lookups["pk"] = pk
    return _for_update(source, nowait=nowait).filter(**lookups).first()


def lock_many(source: type[M] | models.QuerySet, pks: Iterable[Any] | None = None, *, nowait: bool = False,
              skip_locked: bool = False, **lookups) -> list[M]:
    """Lock the rows with these pks (and/or matching lookups) in primary-key order; returns them in
    that order. Callers that want another order sort the list afterwards, never the locking query."""
    queryset = _for_update(source, nowait=nowait, skip_locked=skip_locked)
    if pks is not None:
        queryset = queryset.filter(pk__in=list(pks))
    return list(queryset.filter(**lookups).order_by("pk"))
