"""Per-process copies of reference rows that every till request reads and operations rarely change
(a device by its token hash, the points configuration, the live campaigns), invalidated on save in
every process.

Each namespace has a version token in Django's cache (Redis in production, shared by every gunicorn
worker and Celery process). A process keeps its copies tagged with the version it saw, and re-reads a
namespace's version at most every `REFERENCE_CACHE_CHECK_SECONDS` (default 1 s): a change reaches every
process within that time, at the cost of one cache read per namespace per second, not one SQL query
per request. A save bumps the version at once (this process sees it immediately) and again when its
transaction commits: a reader in another process that loaded the old row just before the commit
stored it under the version the commit then replaces.

The owning app connects its models in AppConfig.ready() (`invalidate_on_change`); a write that
bypasses model signals (`QuerySet.update`) calls `bump` itself.
"""
from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Hashable
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

T = TypeVar("T")

MAX_ENTRIES = 10_000  # per process; a full table is dropped, never grown (unknown tokens are not stored)
_values: dict[tuple[str, Hashable], tuple[str, object]] = {}
_seen: dict[str, tuple[str, float]] = {}  # namespace -> (version, monotonic time it was read)


def _version_key(namespace: str) -> str:
    # The database name keeps two deployments (or benches) sharing one Redis apart.
    return f"refcache:{settings.DATABASES['default'].get('NAME', '')}:{namespace}"


def _version(namespace: str) -> str:
    now = time.monotonic()
    seen = _seen.get(namespace)
    if seen is not None and now - seen[1] < getattr(settings, "REFERENCE_CACHE_CHECK_SECONDS", 1.0):
        return seen[0]
    key = _version_key(namespace)
    version = cache.get(key)
    if version is None:
        cache.add(key, secrets.token_hex(8), timeout=None)
        version = cache.get(key) or "unversioned"
    _seen[namespace] = (version, now)
    return version


def cached(namespace: str, key: Hashable, loader: Callable[[], T]) -> T:
    """The copy of `key` in `namespace`, loaded with `loader()` when missing or older than the
    namespace's version. A None result is returned but not kept (a wrong token stays a query)."""
    version = _version(namespace)  # read BEFORE loading: a copy is never tagged newer than its data
    hit = _values.get((namespace, key))
    if hit is not None and hit[0] == version:
        return hit[1]
    value = loader()
    if value is not None:
        if len(_values) >= MAX_ENTRIES:
            _values.clear()
        _values[(namespace, key)] = (version, value)
    return value


def bump(namespace: str) -> None:
    """Invalidate every process's copies of `namespace`: now, and again once the current transaction
    (if any) commits."""
    def new_version():
        version = secrets.token_hex(8)
        cache.set(_version_key(namespace), version, timeout=None)
        _seen[namespace] = (version, time.monotonic())

    new_version()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(new_version)


def invalidate_on_change(namespace: str, *models) -> None:
    """Bump `namespace` whenever a row of one of `models` is saved or deleted, or one of their
    many-to-many relations changes."""
    def receiver(sender, **kwargs):
        bump(namespace)

    for model in models:
        for signal in (post_save, post_delete):
            signal.connect(receiver, sender=model, weak=False, dispatch_uid=f"refcache:{namespace}:{model._meta.label}")
        for field in model._meta.local_many_to_many:
            m2m_changed.connect(receiver, sender=field.remote_field.through, weak=False,
                                dispatch_uid=f"refcache:{namespace}:{model._meta.label}:{field.name}")


def clear() -> None:
    """Forget every copy and version this process holds (tests: the database was rolled back)."""
    _values.clear()
    _seen.clear()
