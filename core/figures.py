"""Business figures that a higher app defines and a lower app's set-wise SQL needs (the layers contract
in pyproject.toml). The app that owns a figure registers its SQL builders here in AppConfig.ready(); a
lower app asks for them when it builds its queries, never at import time (apps are not ready then).

- net paid (实付净额), owned by points (points.net_paid): evaluation (RFM, closeness, lifecycle) is below
  points, so it reads the definition through `net_paid_figure()`; tiers and dashboards import
  points.net_paid directly.
- event attendance (活动响应), owned by engagement (engagement.attendance): closeness's "response to
  events" component (EVAL-2) counts each member's event check-ins through `event_attendance_figure()`.
"""
from __future__ import annotations

from typing import Protocol

from django.core.exceptions import ImproperlyConfigured


class NetPaidFigure(Protocol):
    def net_paid_sql(self, *, purchase: str = "p", refunded: str | None = None) -> str: ...

    def refunds_as_of_join(self, *, purchase: str = "p", alias: str = "rf", end: str = "end") -> str: ...


_net_paid: NetPaidFigure | None = None


def register_net_paid(figure: NetPaidFigure) -> None:
    """Idempotent: a second ready() (tests, reloads) replaces the registration."""
    global _net_paid
    _net_paid = figure


def net_paid_figure() -> NetPaidFigure:
    if _net_paid is None:
        raise ImproperlyConfigured("No net-paid definition registered: points registers points.net_paid in "
                                   "PointsConfig.ready(); is 'points' in INSTALLED_APPS and are the apps ready?")
    return _net_paid


class EventAttendanceFigure(Protocol):
    def attendance_by_member_sql(self, *, start: str = "start", end: str = "end") -> str: ...


_event_attendance: EventAttendanceFigure | None = None


def register_event_attendance(figure: EventAttendanceFigure) -> None:
    """Idempotent, like register_net_paid."""
    global _event_attendance
    _event_attendance = figure


def event_attendance_figure() -> EventAttendanceFigure:
    if _event_attendance is None:
        raise ImproperlyConfigured("No event-attendance definition registered: engagement registers "
                                   "engagement.attendance in EngagementConfig.ready(); is 'engagement' in "
                                   "INSTALLED_APPS and are the apps ready?")
    return _event_attendance
