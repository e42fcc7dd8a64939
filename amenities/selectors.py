"""Reads of amenities reused by desk and portal pages (store scope through members.scope)."""
from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from members import scope
from members.models import Member

from .models import Booking, GiftWrapUse, Loan, ParkingUse, Slot


def loan_list(*, user, overdue_only: bool = False, now: dt.datetime | None = None) -> QuerySet:
    qs = scope.filter_by_store(user, Loan.objects.filter(returned_at__isnull=True), field="store")
    if overdue_only:
        qs = qs.filter(due_at__lt=now or timezone.now())
    return qs.select_related("member", "store").order_by("due_at")


def usage_for_member(*, member: Member, limit: int = 20) -> dict:
    return {
        "parking": list(ParkingUse.objects.filter(member=member).select_related("store")[:limit]),
        "gift_wraps": list(GiftWrapUse.objects.filter(member=member).select_related("store")[:limit]),
        "loans": list(Loan.objects.filter(member=member).select_related("store").order_by("-lent_at")[:limit]),
    }


def _with_taken(qs: QuerySet) -> QuerySet:
    return qs.annotate(taken=Count("bookings", filter=~Q(bookings__status=Booking.Status.CANCELLED)))


def slots_available_for_member(*, member: Member, now: dt.datetime | None = None) -> QuerySet:
    """Future slots of active resources open to the member's tier, with places taken."""
    now = now or timezone.now()
    return (_with_taken(Slot.objects.filter(resource__is_active=True, resource__eligible_tiers=member.tier_id,
                                            starts_at__gt=now))
            .select_related("resource", "resource__store").order_by("starts_at")[:200])


def booked_slot_ids_for_member(*, member: Member, now: dt.datetime | None = None) -> set[int]:
    """The future slots the member holds a booking for, so the portal shows them as booked (issue 16)."""
    now = now or timezone.now()
    return set(Booking.objects.filter(member=member, status=Booking.Status.BOOKED, slot__starts_at__gt=now)
               .values_list("slot_id", flat=True))


def bookings_for_member(*, member: Member) -> QuerySet:
    return Booking.objects.filter(member=member).select_related("slot__resource__store").order_by("-slot__starts_at")


def slots_for_day(*, user, day: dt.date) -> QuerySet:
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    qs = Slot.objects.filter(starts_at__gte=start, starts_at__lt=start + dt.timedelta(days=1))
    qs = scope.filter_by_store(user, qs, field="resource__store")
    return (qs.select_related("resource", "resource__store")
            .prefetch_related("bookings__member").order_by("resource__store__code", "resource__name", "starts_at"))
