"""The only writers of amenities: quota use (BEN-4), loans, bookings and reminders (BEN-5).

Quota use locks the member's `QuotaCounter` row for the period; booking locks the `Slot` row, so
concurrent desks and members cannot grant the last hour or the last place twice."""
from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record
from core.errors import Conflict, NotFound, ValidationFailed
from core.models import AuditLog
from members import scope
from members.locks import member_lock
from members.models import Member, Store
from members.services import member_can_transact
from messaging.services import notify_member

from . import hooks
from .locks import booking_lock, loan_lock, quota_counter_lock, slot_lock
from .models import Booking, GiftWrapUse, Loan, ParkingUse, QuotaCounter, QuotaPolicy, Slot

ACTIVE_BOOKING = (Booking.Status.BOOKED, Booking.Status.ATTENDED, Booking.Status.NO_SHOW)
REMINDER_HOURS = 24


class AmenityError(ValidationFailed):
    code = "amenity"


def _require_active(member: Member) -> None:
    if not member_can_transact(member):
        raise AmenityError(_("This membership is not active, so its benefits cannot be used."), code="member_inactive")


def quota_policy_for(member: Member) -> QuotaPolicy:
    policy = QuotaPolicy.objects.filter(tier_id=member.tier_id).first()
    return policy or QuotaPolicy(tier_id=member.tier_id)  # nothing configured: no free quota


def _period_start(kind: str, day: dt.date) -> dt.date:
    return day.replace(day=1) if kind == QuotaCounter.Kind.GIFT_WRAP else day


def _locked_counter(*, member: Member, kind: str, day: dt.date) -> QuotaCounter:
    start = _period_start(kind, day)
    return quota_counter_lock(member_id=member.pk, kind=kind, period_start=start)


def quota_remaining(*, member: Member, day: dt.date | None = None) -> dict:
    """Remaining free parking hours today and gift wraps this month (read, no lock)."""
    day = day or timezone.localdate()
    policy = quota_policy_for(member)
    used = dict(
        QuotaCounter.objects.filter(member=member, kind=QuotaCounter.Kind.PARKING, period_start=day)
        .values_list("kind", "used")
    )
    used.update(
        QuotaCounter.objects.filter(member=member, kind=QuotaCounter.Kind.GIFT_WRAP, period_start=day.replace(day=1))
        .values_list("kind", "used")
    )
    parking_used = used.get(QuotaCounter.Kind.PARKING, 0)
    wraps_used = used.get(QuotaCounter.Kind.GIFT_WRAP, 0)
    parking_allowed = policy.parking_hours_per_day + hooks.parking_hours_extra(member=member, day=day)
    return {
        "policy": policy,
        "parking_allowed": parking_allowed,
        "parking_used": parking_used,
        "parking_left": max(parking_allowed - parking_used, 0),
        "gift_wraps_allowed": policy.gift_wraps_per_month,
        "gift_wraps_used": wraps_used,
        "gift_wraps_left": max(policy.gift_wraps_per_month - wraps_used, 0),
        "open_loans": Loan.objects.filter(member=member, returned_at__isnull=True).count(),
    }


@transaction.atomic
def parking_record(*, member: Member, store: Store, plate_number: str, hours: int, staff=None,
                   day: dt.date | None = None) -> ParkingUse:
    """BEN-4: grant free parking hours within the tier's daily allowance."""
    _require_active(member)
    plate_number = (plate_number or "").strip().upper().replace(" ", "")
    if not plate_number:
        raise AmenityError(_("Enter the plate number."), fields={"plate_number": [_("Enter the plate number.")]})
    if hours is None or hours <= 0:
        raise AmenityError(_("Hours must be at least 1."), fields={"hours": [_("Hours must be at least 1.")]})
    day = day or timezone.localdate()
    # The tier's allowance plus a paid plan's hours (amenities.hooks, issue 18).
    allowed = quota_policy_for(member).parking_hours_per_day + hooks.parking_hours_extra(member=member, day=day)
    counter = _locked_counter(member=member, kind=QuotaCounter.Kind.PARKING, day=day)
    left = allowed - counter.used
    if hours > left:
        raise AmenityError(
            _("Only %(left)s free parking hour(s) left today (of %(allowed)s).") % {"left": max(left, 0), "allowed": allowed},
            code="quota_exceeded",
        )
    counter.used += hours
    counter.save(update_fields=["used"])
    return ParkingUse.objects.create(member=member, store=store, plate_number=plate_number, hours=hours,
                                     used_on=day, staff=staff)


@transaction.atomic
def gift_wrap_record(*, member: Member, store: Store, count: int = 1, staff=None,
                     day: dt.date | None = None) -> GiftWrapUse:
    """BEN-4: free gift wrapping within the tier's monthly allowance."""
    _require_active(member)
    if count is None or count <= 0:
        raise AmenityError(_("Count must be at least 1."), fields={"count": [_("Count must be at least 1.")]})
    day = day or timezone.localdate()
    allowed = quota_policy_for(member).gift_wraps_per_month
    counter = _locked_counter(member=member, kind=QuotaCounter.Kind.GIFT_WRAP, day=day)
    left = allowed - counter.used
    if count > left:
        raise AmenityError(
            _("Only %(left)s free gift wrap(s) left this month (of %(allowed)s).") % {"left": max(left, 0), "allowed": allowed},
            code="quota_exceeded",
        )
    counter.used += count
    counter.save(update_fields=["used"])
    return GiftWrapUse.objects.create(member=member, store=store, count=count, used_on=day, staff=staff)


@transaction.atomic
def loan_lend(*, member: Member, store: Store, item_kind: str, item_number: str, staff=None,
              now: dt.datetime | None = None) -> Loan:
    """BEN-4: lend a power bank or umbrella, deposit-free, due after the tier's loan period."""
    _require_active(member)
    if item_kind not in Loan.ItemKind.values:
        raise AmenityError(_("Choose a power bank or an umbrella."), fields={"item_kind": [_("Choose an item.")]})
    item_number = (item_number or "").strip().upper()
    if not item_number:
        raise AmenityError(_("Enter the item number."), fields={"item_number": [_("Enter the item number.")]})
    now = now or timezone.now()
    policy = quota_policy_for(member)
    member_lock(member.pk)  # serialise this member's loans
    open_loans = Loan.objects.filter(member=member, returned_at__isnull=True).count()
    if open_loans >= policy.max_open_loans:
        raise AmenityError(
            _("This member already has %(n)s item(s) on loan; return one first.") % {"n": open_loans},
            code="loan_limit",
        )
    try:
        with transaction.atomic():
            return Loan.objects.create(member=member, store=store, item_kind=item_kind, item_number=item_number,
                                       lent_at=now, due_at=now + dt.timedelta(hours=policy.loan_hours or 24),
                                       lent_by=staff)
    except IntegrityError:
        raise Conflict(_("Item %(number)s is already out on loan.") % {"number": item_number},
                       code="item_out") from None


@transaction.atomic
def loan_return(*, loan: Loan, staff=None, now: dt.datetime | None = None) -> Loan:
    loan = loan_lock(loan.pk)
    if loan.returned_at:
        raise Conflict(_("This item was already returned."), code="already_returned")
    loan.returned_at = now or timezone.now()
    loan.returned_to = staff
    loan.save(update_fields=["returned_at", "returned_to"])
    return loan


# ---------------------------------------------------------------- reservations (BEN-5)


def slot_is_eligible(*, slot: Slot, member: Member) -> bool:
    return slot.resource.eligible_tiers.filter(pk=member.tier_id).exists()


BOOKING_AUDIT = AuditLog.Action.BOOKING  # a booking made or cancelled by staff for a member


def _staff_may_act_for(staff, member: Member) -> None:
    """Desk and hotline staff book for members of their store scope, with the permission (热线电话平台)."""
    scope.require_perm(staff, "amenities.book_for_member")
    scope.require_member(staff, member)


@transaction.atomic
def booking_create(*, member: Member, slot: Slot, now: dt.datetime | None = None, staff=None) -> Booking:
    """Book one place; the slot row is locked so capacity is never oversold. With `staff`, desk or hotline
    staff book on the member's behalf (seed 000 热线电话平台 专属权益预约): the same rules, the staff member
    recorded on the booking and in the audit log."""
    if staff is not None:
        _staff_may_act_for(staff, member)
    _require_active(member)
    now = now or timezone.now()
    slot = slot_lock(slot.pk)
    if not slot.resource.is_active:
        raise NotFound(_("This resource is not available."))
    if not slot_is_eligible(slot=slot, member=member):
        raise AmenityError(_("Your tier cannot book this.") if staff is None
                           else _("The member's tier cannot book this."), code="tier_not_eligible")
    if now > slot.starts_at - dt.timedelta(hours=slot.booking_deadline_hours):
        raise AmenityError(_("Booking for this slot has closed."), code="booking_closed")
    if Booking.objects.filter(slot=slot, member=member, status__in=ACTIVE_BOOKING).exists():
        raise Conflict(_("You have already booked this slot.") if staff is None
                       else _("The member has already booked this slot."), code="already_booked")
    taken = Booking.objects.filter(slot=slot, status__in=ACTIVE_BOOKING).count()
    if taken >= slot.capacity:
        raise Conflict(_("This slot is full."), code="slot_full")
    booking = Booking.objects.create(slot=slot, member=member, booked_by=staff)
    when = timezone.localtime(slot.starts_at).strftime("%Y-%m-%d %H:%M")
    if staff is not None:
        audit_record(actor=staff, action=BOOKING_AUDIT, member=member, field="booking",
                     detail=f"booked {booking.pk}: {slot.resource.name} {when}")
    notify_member(
        member=member, kind="reservation_booked", ref=f"booking:{booking.pk}",
        title=_("Reservation confirmed"),
        body=_("%(name)s on %(when)s is booked for you.") % {"name": slot.resource.name, "when": when},
        sms=False,
    )
    return booking


@transaction.atomic
def booking_cancel(*, booking: Booking, now: dt.datetime | None = None, staff=None) -> Booking:
    """Cancel a booking before the slot's cancellation deadline; with `staff`, on the member's behalf
    (the same deadline, the staff member recorded and audited)."""
    now = now or timezone.now()
    if staff is not None:
        _staff_may_act_for(staff, booking.member)
    booking = booking_lock(booking.pk)
    if booking.status != Booking.Status.BOOKED:
        raise Conflict(_("Only a booked reservation can be cancelled."), code="not_booked")
    slot = booking.slot
    if now > slot.starts_at - dt.timedelta(hours=slot.cancellation_deadline_hours):
        raise AmenityError(
            _("Cancellation closed %(hours)s hour(s) before the start.") % {"hours": slot.cancellation_deadline_hours},
            code="cancellation_closed",
        )
    booking.status = Booking.Status.CANCELLED
    booking.changed_at = now
    booking.cancelled_by = staff
    booking.save(update_fields=["status", "changed_at", "cancelled_by"])
    if staff is not None:
        audit_record(actor=staff, action=BOOKING_AUDIT, member=booking.member, field="booking",
                     detail=f"cancelled {booking.pk}: slot {slot.pk}")
        notify_member(
            member=booking.member, kind="reservation_cancelled", ref=f"booking:{booking.pk}",
            title=_("Reservation cancelled"),
            body=_("Your reservation on %(when)s is cancelled as you asked.") % {
                "when": timezone.localtime(slot.starts_at).strftime("%Y-%m-%d %H:%M")},
            sms=False,
        )
    return booking


@transaction.atomic
def booking_mark(*, booking: Booking, status: str, staff=None, now: dt.datetime | None = None) -> Booking:
    """Staff mark attendance; a no-show only once the slot has started."""
    now = now or timezone.now()
    if status not in (Booking.Status.ATTENDED, Booking.Status.NO_SHOW):
        raise AmenityError(_("Mark as attended or no-show."), code="bad_status")
    booking = booking_lock(booking.pk)
    if booking.status == Booking.Status.CANCELLED:
        raise Conflict(_("This reservation was cancelled."), code="cancelled")
    if status == Booking.Status.NO_SHOW and now < booking.slot.starts_at:
        raise AmenityError(_("A no-show can only be marked after the start time."), code="too_early")
    booking.status = status
    booking.changed_at = now
    booking.marked_by = staff
    booking.save(update_fields=["status", "changed_at", "marked_by"])
    return booking


def reservations_remind(*, now: dt.datetime | None = None, within_hours: int = REMINDER_HOURS) -> int:
    """Remind members of bookings starting within the next day; once per booking (event ref)."""
    now = now or timezone.now()
    bookings = (Booking.objects.filter(status=Booking.Status.BOOKED, slot__starts_at__gt=now,
                                       slot__starts_at__lte=now + dt.timedelta(hours=within_hours))
                .select_related("slot__resource", "member"))
    sent = 0
    for booking in bookings.iterator(chunk_size=500):
        slot = booking.slot
        notice = notify_member(
            member=booking.member, kind="reservation_reminder", ref=f"booking:{booking.pk}",
            title=_("Reservation reminder"),
            body=_("Reminder: %(name)s on %(when)s.") % {
                "name": slot.resource.name, "when": timezone.localtime(slot.starts_at).strftime("%Y-%m-%d %H:%M")},
        )
        sent += notice is not None
    return sent
