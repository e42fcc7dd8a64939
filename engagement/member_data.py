"""Engagement's section of the member's data download (SEC-4; PIPL art. 45), registered in
core.member_data by EngagementConfig.ready(): event registrations."""
from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from core.member_data import MemberDataSection, member_data_register

from .models import Registration


def _registrations(member) -> list[dict]:
    return [
        {"registered_at": r.registered_at, "event": r.event.title, "starts_at": r.event.starts_at,
         "guests": r.guests, "status": r.get_status_display()}
        for r in Registration.objects.filter(member=member).select_related("event").order_by("registered_at", "id")
    ]


def register() -> None:
    member_data_register(MemberDataSection(
        key="event_registrations", title=_("Event registrations"), order=70, rows=_registrations,
        columns=(("registered_at", _("Registered at")), ("event", _("Event")), ("starts_at", _("Starts at")),
                 ("guests", _("Guests")), ("status", _("Status")))))
