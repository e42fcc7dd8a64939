"""Panels that an app adds to a page of a lower app, so the lower app names no app above it (the layers
contract in pyproject.toml). The member 360 desk page (members) shows the points and tier panels; the
portal points page (points) shows the member's tier.

An app registers its panels in AppConfig.ready():

    panel_register(Panel(page=DESK_MEMBER, key="points", title=_("Points"),
                         template="points/desk/_panel_slot.html", order=10))

The page passes `panels_for(page)` to its template, which includes each panel's template with the
page's context. A panel whose body costs queries is an htmx slot that loads the body from its own
app's URL, so the host page's query count does not grow with the apps that fill it.
"""
from __future__ import annotations

from dataclasses import dataclass

DESK_MEMBER = "desk_member"
# The sticky summary bar of the member 360 page (issue 16 desk workspace): each app adds its figures
# (points: balance, expiring points, coupons; service_desk: open complaints) as a small htmx slot.
DESK_MEMBER_SUMMARY = "desk_member_summary"
# The 客服 panel of the member 360 page: the member's service history, one section per app (service_desk:
# complaints, consultations, after-sales; care: visits and surveys; amenities: quotas and reservations).
DESK_MEMBER_SERVICE = "desk_member_service"
PORTAL_POINTS = "portal_points"
PORTAL_HOME = "portal_home"  # the member centre (portal home): balance, expiring points, coupons, tier

_panels: dict[tuple[str, str], Panel] = {}


@dataclass(frozen=True)
class Panel:
    page: str
    key: str
    title: str
    template: str
    order: int = 100
    wide: bool = False  # takes the page's full width (a ledger, a table with many columns)


def panel_register(panel: Panel) -> None:
    """Idempotent on (page, key): a second ready() (tests, reloads) replaces, never duplicates."""
    _panels[(panel.page, panel.key)] = panel


def panels_for(page: str) -> list[Panel]:
    return sorted((p for p in _panels.values() if p.page == page), key=lambda p: (p.order, p.key))
