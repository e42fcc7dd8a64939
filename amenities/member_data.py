"""Amenities' sections of the member's data download (SEC-4; PIPL art. 45), registered in
core.member_data by AmenitiesConfig.ready(): bookings, loans and parking."""
from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from core.member_data import MemberDataSection, member_data_register

from .models import Booking, Loan, ParkingUse


def _bookings(member) -> list[dict]:
    return [
        {"created_at": b.created_at, "resource": b.slot.resource.name, "starts_at": b.slot.starts_at,
         "status": b.get_status_display()}
        for b in Booking.objects.filter(member=member).select_related("slot__resource").order_by("created_at", "id")
    ]


def _loans(member) -> list[dict]:
    return [
        {"lent_at": loan.lent_at, "item": loan.get_item_kind_display(), "item_number": loan.item_number,
         "due_at": loan.due_at, "returned_at": loan.returned_at}
        for loan in Loan.objects.filter(member=member).order_by("lent_at", "id")
    ]


def _parking(member) -> list[dict]:
    return [
        {"used_on": p.used_on, "store": p.store.name, "plate_number": p.plate_number, "hours": p.hours}
        for p in ParkingUse.objects.filter(member=member).select_related("store").order_by("used_on", "id")
    ]


def register() -> None:
    member_data_register(MemberDataSection(
        key="bookings", title=_("Bookings"), order=60, rows=_bookings,
        columns=(("created_at", _("Booked at")), ("resource", _("Resource")), ("starts_at", _("Starts at")),
                 ("status", _("Status")))))
    member_data_register(MemberDataSection(
        key="loans", title=_("Loans"), order=61, rows=_loans,
        columns=(("lent_at", _("Lent at")), ("item", _("Item")), ("item_number", _("Item number")),
                 ("due_at", _("Due at")), ("returned_at", _("Returned at")))))
    member_data_register(MemberDataSection(
        key="parking", title=_("Parking"), order=62, rows=_parking,
        columns=(("used_on", _("Date")), ("store", _("Store")), ("plate_number", _("Plate number")),
                 ("hours", _("Hours")))))
