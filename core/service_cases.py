"""Service cases (complaints, after-sales cases) that member care reads, though the app that owns them
(service_desk) sits at care's own layer (the layers contract in pyproject.toml: feature apps are
independent of each other). The owning app registers a `CaseSource` in its AppConfig.ready():

    register_case_source(CaseSource(kind="complaint", label=_("Complaint"),
                                    closed_between=complaints_closed_between,
                                    open_counts=complaint_open_counts))

and care asks `case_sources()` when its nightly job looks for recently closed cases (seed 003 3.2 主动回访,
3.5 回访跟进: a visit after a closed case) and when the account manager's list shows open cases. Each
callable is one query for the whole set, never one per member. A kind nobody registered simply
contributes nothing.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class ClosedCase:
    member_id: int
    store_id: int
    ref: str          # "complaint:12": what a visit says it follows up
    closed_at: dt.datetime


@dataclass(frozen=True)
class CaseSource:
    kind: str
    label: str
    # closed_between(start, end) -> the cases with a member closed in [start, end)
    closed_between: Callable[[dt.datetime, dt.datetime], Iterable[ClosedCase]]
    # open_counts(member_ids) -> {member_id: number of open cases}
    open_counts: Callable[[list[int]], dict[int, int]]


_sources: dict[str, CaseSource] = {}


def register_case_source(source: CaseSource) -> None:
    """Idempotent on kind: a second ready() (tests, reloads) replaces, never duplicates."""
    _sources[source.kind] = source


def case_sources() -> list[CaseSource]:
    return sorted(_sources.values(), key=lambda s: s.kind)


def open_case_counts(member_ids: list[int]) -> dict[int, dict[str, int]]:
    """{member_id: {kind: open count}} over every registered source (one query per source)."""
    out: dict[int, dict[str, int]] = {}
    if not member_ids:
        return out
    for source in case_sources():
        for member_id, n in source.open_counts(list(member_ids)).items():
            if n:
                out.setdefault(member_id, {})[source.kind] = n
    return out
