"""Row locks of the amenities app, on core.locks (FOR UPDATE OF self): a slot's Resource and a
booking's Slot are fetched with the row but never locked with it (many slots share one resource)."""
from __future__ import annotations

import datetime as dt

from core.locks import lock_one

from .models import Booking, Loan, QuotaCounter, Slot


def quota_counter_lock(*, member_id: int, kind: str, period_start: dt.date) -> QuotaCounter:
    """The member's counter of this kind for the period, created on first use, locked."""
    QuotaCounter.objects.bulk_create([QuotaCounter(member_id=member_id, kind=kind, period_start=period_start)],
                                     ignore_conflicts=True)
    return lock_one(QuotaCounter, member_id=member_id, kind=kind, period_start=period_start)


def loan_lock(loan_id: int) -> Loan:
    return lock_one(Loan, loan_id)


def slot_lock(slot_id: int) -> Slot:
    """The slot locked (serialises its bookings), with its resource fetched (joined, not locked)."""
    return lock_one(Slot.objects.select_related("resource"), slot_id)


def booking_lock(booking_id: int) -> Booking:
    """The booking locked, with its slot fetched (joined, not locked)."""
    return lock_one(Booking.objects.select_related("slot"), booking_id)
