"""Desk pages of amenities (BEN-4, BEN-5): member quota panel, loans and the reservations day list.

Members, loans and slots are reached through members.scope (store scope, SEC-3); writes go through
amenities.services and their domain errors come back as messages on the page."""
from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import MemberHubError
from core.web import action_refused, need, staff_required
from members import scope
from members.models import Member

from . import selectors, services
from .models import Booking, Loan, Resource, Slot

PERM_VIEW_QUOTA = "amenities.view_parkinguse"
PERM_PARKING = "amenities.add_parkinguse"
PERM_GIFT_WRAP = "amenities.add_giftwrapuse"
PERM_LEND = "amenities.add_loan"
PERM_VIEW_LOANS = "amenities.view_loan"
PERM_RETURN = "amenities.change_loan"
PERM_VIEW_BOOKINGS = "amenities.view_booking"
PERM_MARK = "amenities.change_booking"
PERM_BOOK_FOR = "amenities.book_for_member"


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _acting_store(user, member: Member):
    """The staff member's own store; chain-wide staff act in the member's home store."""
    return scope.staff_store(user) or member.home_store


@staff_required
def member_quota(request, pk: int):
    need(request.user, PERM_VIEW_QUOTA)
    member = get_object_or_404(Member.objects.select_related("tier", "home_store"), pk=pk)
    scope.require_member(request.user, member)
    if request.method == "POST":
        action = request.POST.get("action")
        store = _acting_store(request.user, member)
        try:
            if action == "parking":
                need(request.user, PERM_PARKING)
                use = services.parking_record(member=member, store=store, staff=request.user,
                                              plate_number=request.POST.get("plate_number", ""),
                                              hours=_int(request.POST.get("hours")))
                messages.success(request, _("%(hours)s free parking hour(s) recorded for %(plate)s.")
                                 % {"hours": use.hours, "plate": use.plate_number})
            elif action == "gift_wrap":
                need(request.user, PERM_GIFT_WRAP)
                services.gift_wrap_record(member=member, store=store, staff=request.user,
                                          count=_int(request.POST.get("count")) or 1)
                messages.success(request, _("Gift wrapping recorded."))
            elif action == "lend":
                need(request.user, PERM_LEND)
                loan = services.loan_lend(member=member, store=store, staff=request.user,
                                          item_kind=request.POST.get("item_kind", ""),
                                          item_number=request.POST.get("item_number", ""))
                messages.success(request, _("%(item)s lent, due %(due)s.")
                                 % {"item": loan, "due": timezone.localtime(loan.due_at).strftime("%Y-%m-%d %H:%M")})
            else:
                messages.error(request, _("Unknown action."))
        except MemberHubError as exc:
            return action_refused(request, exc, member_quota, pk=member.pk)
        return redirect("amenities_desk:member_quota", pk=member.pk)
    return render(request, "amenities/desk/member_quota.html", {
        "member": member,
        "quota": services.quota_remaining(member=member),
        "usage": selectors.usage_for_member(member=member),
        "item_kinds": Loan.ItemKind.choices,
    })


@staff_required
def loan_list(request):
    need(request.user, PERM_VIEW_LOANS)
    overdue_only = request.GET.get("overdue") == "1"
    now = timezone.now()
    loans = selectors.loan_list(user=request.user, overdue_only=overdue_only, now=now)[:500]
    return render(request, "amenities/desk/loans.html", {"loans": loans, "overdue_only": overdue_only, "now": now})


@staff_required
@require_POST
def loan_return(request, pk: int):
    need(request.user, PERM_RETURN)
    loan = get_object_or_404(Loan.objects.select_related("store"), pk=pk)
    scope.require_store(request.user, loan.store)
    try:
        services.loan_return(loan=loan, staff=request.user)
        messages.success(request, _("%(item)s returned.") % {"item": loan})
    except MemberHubError as exc:
        return action_refused(request, exc, loan_list)
    return redirect("amenities_desk:loans")


@staff_required
def reservations(request):
    need(request.user, PERM_VIEW_BOOKINGS)
    try:
        day = dt.date.fromisoformat(request.GET.get("day", ""))
    except ValueError:
        day = timezone.localdate()
    slots = list(selectors.slots_for_day(user=request.user, day=day))
    by_resource: dict[Resource, list] = {}
    for slot in slots:
        by_resource.setdefault(slot.resource, []).append(slot)
    return render(request, "amenities/desk/reservations.html", {
        "day": day, "previous": day - dt.timedelta(days=1), "next": day + dt.timedelta(days=1),
        "by_resource": by_resource.items(), "statuses": Booking.Status,
    })


@staff_required
@require_POST
def booking_mark(request, pk: int):
    need(request.user, PERM_MARK)
    booking = get_object_or_404(Booking.objects.select_related("slot__resource__store"), pk=pk)
    scope.require_store(request.user, booking.slot.resource.store)
    try:
        services.booking_mark(booking=booking, status=request.POST.get("status", ""), staff=request.user)
        messages.success(request, _("Reservation updated."))
    except MemberHubError as exc:
        request.GET = QueryDict(f"day={timezone.localtime(booking.slot.starts_at).date().isoformat()}")
        return action_refused(request, exc, reservations)
    day = timezone.localtime(booking.slot.starts_at).date().isoformat()
    return redirect(f"{reverse('amenities_desk:reservations')}?day={day}")


# ---------------------------------------------------------------- bookings on a member's behalf


def _member_in_scope(request, pk: int) -> Member:
    member = get_object_or_404(Member.objects.select_related("tier", "home_store"), pk=pk)
    scope.require_member(request.user, member)
    return member


@staff_required
def member_reservations(request, pk: int):
    """Desk and hotline staff book and cancel reservations for a member (seed 000 热线电话平台: 专属权益预约、
    取消服务), reached from the member page: the member's slots and bookings as the portal shows them, and
    the portal's own booking service (same tier, deadline, capacity and cancellation rules), with the staff
    member recorded on the booking and in the audit log."""
    need(request.user, PERM_BOOK_FOR)
    member = _member_in_scope(request, pk)
    if request.method == "POST":
        try:
            if request.POST.get("action") == "cancel":
                booking = get_object_or_404(Booking.objects.select_related("member"),
                                            pk=_int(request.POST.get("booking")), member=member)
                services.booking_cancel(booking=booking, staff=request.user)
                messages.success(request, _("The reservation is cancelled."))
            else:
                slot = get_object_or_404(Slot.objects.filter(resource__is_active=True), pk=_int(request.POST.get("slot")))
                services.booking_create(member=member, slot=slot, staff=request.user)
                messages.success(request, _("The reservation is confirmed."))
        except MemberHubError as exc:
            return action_refused(request, exc, member_reservations, pk=member.pk)
        return redirect("amenities_desk:member_reservations", pk=member.pk)
    return render(request, "amenities/desk/member_reservations.html", {
        "member": member,
        "slots": selectors.slots_available_for_member(member=member),
        "bookings": selectors.bookings_for_member(member=member).select_related("booked_by", "cancelled_by")[:50],
    })
