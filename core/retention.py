"""Retention hooks: each app registers the data sets it keeps and how to purge or anonymise them, so the
retention job (members.retention, seed 000 信息安全; PIPL art. 19/47) names no app above members.

An app registers in AppConfig.ready():

    retention_register(RetentionTarget(key="message_texts", label=_("Texts of sent messages"),
                                       actions=("anonymise",), handler=purge_message_texts))

`handler(*, cutoff, action)` works set-wise on everything older than `cutoff` (an aware datetime), returns
how many rows it changed, and is idempotent (a second run on the same rows changes nothing).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

PURGE = "purge"
ANONYMISE = "anonymise"

_targets: dict[str, RetentionTarget] = {}


@dataclass(frozen=True)
class RetentionTarget:
    key: str
    label: str
    actions: tuple[str, ...]
    handler: Callable[..., int]


def retention_register(target: RetentionTarget) -> None:
    """Idempotent on the key: a second ready() replaces, never duplicates."""
    _targets[target.key] = target


def retention_target(key: str) -> RetentionTarget | None:
    return _targets.get(key)


def retention_targets() -> list[RetentionTarget]:
    return sorted(_targets.values(), key=lambda t: t.key)


def retention_apply_target(key: str, *, cutoff: dt.datetime, action: str) -> int:
    target = _targets[key]
    if action not in target.actions:
        raise ValueError(f"{key} cannot be handled by {action!r}; it supports {', '.join(target.actions)}")
    return target.handler(cutoff=cutoff, action=action)
