"""Portal pages of amenities: my quotas, available slots, my bookings, book and cancel (BEN-4, BEN-5).

Every page reads through `request.member`; a booking of another member is a 404 (SEC-3)."""
from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import MemberHubError
from core.web import action_refused, current_member, id_param, member_required

from . import selectors, services
from .models import Booking, Slot


def _member(request):
    return current_member(request)


@member_required
def quotas(request):
    member = _member(request)
    return render(request, "amenities/portal/quotas.html", {
        "quota": services.quota_remaining(member=member),
        "usage": selectors.usage_for_member(member=member),
        "portal_section": "amenities",
    })


@member_required
def reservations(request):
    member = _member(request)
    return render(request, "amenities/portal/reservations.html", {
        "slots": selectors.slots_available_for_member(member=member),
        "bookings": selectors.bookings_for_member(member=member)[:50],
        "booked_slot_ids": selectors.booked_slot_ids_for_member(member=member),
        "portal_section": "amenities",
    })


@member_required
@require_POST
def book(request):
    member = _member(request)
    slot = get_object_or_404(Slot.objects.filter(resource__is_active=True), pk=id_param(request.POST.get("slot")))
    try:
        services.booking_create(member=member, slot=slot)
        messages.success(request, _("Your reservation is confirmed."))
    except MemberHubError as exc:
        return action_refused(request, exc, reservations)
    return redirect("amenities_portal:reservations")


@member_required
@require_POST
def cancel(request):
    booking = get_object_or_404(Booking, pk=id_param(request.POST.get("id")), member=_member(request))
    try:
        services.booking_cancel(booking=booking)
        messages.success(request, _("Your reservation is cancelled."))
    except MemberHubError as exc:
        return action_refused(request, exc, reservations)
    return redirect("amenities_portal:reservations")
