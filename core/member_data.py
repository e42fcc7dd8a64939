"""Sections of a member's own data download (SEC-4; PIPL art. 45 查阅、复制): each app registers what it
holds about a member, so the download assembled in members names no app above it (layers contract).

An app registers in AppConfig.ready():

    member_data_register(MemberDataSection(key="purchases", title=_("Purchases"), order=20,
                                           columns=(("at", _("Time")), ("amount", _("Amount paid")), ...),
                                           rows=purchases_for_member))

`rows(member)` returns a list of dicts keyed by the column keys, with plain Python values (str, int,
Decimal, date, aware datetime, bool, None); the JSON carries them as ISO strings in Asia/Shanghai, the
readable page shows them with the column titles. Every section is read in a few queries, never per row.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

_sections: dict[str, MemberDataSection] = {}


@dataclass(frozen=True)
class MemberDataSection:
    key: str
    title: str
    columns: tuple[tuple[str, str], ...]
    rows: Callable[..., list[dict]]
    order: int = 100


def member_data_register(section: MemberDataSection) -> None:
    """Idempotent on the key: a second ready() (tests, reloads) replaces, never duplicates."""
    _sections[section.key] = section


def member_data_sections() -> list[MemberDataSection]:
    return sorted(_sections.values(), key=lambda s: (s.order, s.key))
