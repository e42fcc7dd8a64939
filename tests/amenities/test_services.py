"""BEN-4 quotas and loans, BEN-5 reservations: the services against the real database."""
import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from amenities import selectors, services
from amenities.models import Booking, Loan, QuotaCounter
from core.errors import Conflict, MemberHubError
from core.jobs import run_job
from members import roles
from members.models import Member
from messaging.models import Notice
from tests.amenities.conftest import make_slot, tier
from tests.factories import MemberFactory, StoreFactory, make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    return StoreFactory()


@pytest.fixture
def member(store):
    return MemberFactory(home_store=store, tier=tier("silver"))


# ---------------------------------------------------------------- quotas (BEN-4)


def test_parking_hours_are_limited_per_day_by_tier(member, store):
    """BEN-4: silver has 3 free hours a day; the next day starts afresh."""
    services.parking_record(member=member, store=store, plate_number="沪A 12345", hours=2)
    assert services.quota_remaining(member=member)["parking_left"] == 1
    with pytest.raises(MemberHubError) as exc:
        services.parking_record(member=member, store=store, plate_number="沪A12345", hours=2)
    assert exc.value.code == "quota_exceeded"
    services.parking_record(member=member, store=store, plate_number="沪A12345", hours=1)
    assert services.quota_remaining(member=member)["parking_left"] == 0
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    use = services.parking_record(member=member, store=store, plate_number="沪A12345", hours=3, day=tomorrow)
    assert use.plate_number == "沪A12345"


def test_gift_wraps_are_limited_per_month(member, store):
    services.gift_wrap_record(member=member, store=store, count=2)
    with pytest.raises(MemberHubError):
        services.gift_wrap_record(member=member, store=store)
    assert services.quota_remaining(member=member)["gift_wraps_left"] == 0


def test_inactive_member_cannot_use_quota(member, store):
    Member.objects.filter(pk=member.pk).update(status=Member.Status.SUSPENDED)
    member.refresh_from_db()
    with pytest.raises(MemberHubError) as exc:
        services.parking_record(member=member, store=store, plate_number="沪A1", hours=1)
    assert exc.value.code == "member_inactive"


@pytest.mark.django_db(transaction=True)
def test_two_desks_cannot_both_grant_the_last_parking_hours():
    """BEN-4: the member's counter row is locked; of two concurrent 2-hour grants on 3 hours, one fails."""
    store = StoreFactory()
    member = MemberFactory(home_store=store, tier=tier("silver"))
    services.parking_record(member=member, store=store, plate_number="沪A1", hours=1)
    barrier = threading.Barrier(2)
    results = []

    def grant():
        try:
            barrier.wait()
            services.parking_record(member=member, store=store, plate_number="沪A1", hours=2)
            results.append("ok")
        except MemberHubError as exc:
            results.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=grant) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["ok", "quota_exceeded"]
    assert QuotaCounter.objects.get(member=member, kind="parking").used == 3


def test_loans_lend_return_and_overdue_list(member, store):
    staff = make_staff(roles.FRONT_DESK, store=store)
    now = timezone.now()
    loan = services.loan_lend(member=member, store=store, item_kind=Loan.ItemKind.UMBRELLA, item_number="u-7",
                              now=now - dt.timedelta(hours=30))
    assert loan.due_at == loan.lent_at + dt.timedelta(hours=24)
    assert list(selectors.loan_list(user=staff, overdue_only=True)) == [loan]
    other = MemberFactory(home_store=store)
    with pytest.raises(Conflict):  # the same umbrella cannot be out twice
        services.loan_lend(member=other, store=store, item_kind="umbrella", item_number="U-7")
    with pytest.raises(MemberHubError) as exc:  # silver: one item at a time
        services.loan_lend(member=member, store=store, item_kind="power_bank", item_number="P-1")
    assert exc.value.code == "loan_limit"
    services.loan_return(loan=loan, staff=staff)
    assert list(selectors.loan_list(user=staff, overdue_only=True)) == []
    with pytest.raises(Conflict):
        services.loan_return(loan=loan)


def test_overdue_list_is_store_scoped(member, store):
    services.loan_lend(member=member, store=store, item_kind="umbrella", item_number="U-1",
                       now=timezone.now() - dt.timedelta(days=3))
    assert selectors.loan_list(user=make_staff(roles.FRONT_DESK), overdue_only=True).count() == 0
    assert selectors.loan_list(user=make_staff(roles.FRONT_DESK, chain_wide=True), overdue_only=True).count() == 1


# ---------------------------------------------------------------- reservations (BEN-5)


def test_booking_respects_tier_eligibility(store):
    slot = make_slot(store=store, tiers=("gold", "platinum"), kind="vip_lounge", name="VIP 休息室")
    with pytest.raises(MemberHubError) as exc:
        services.booking_create(member=MemberFactory(tier=tier("silver")), slot=slot)
    assert exc.value.code == "tier_not_eligible"
    gold = MemberFactory(tier=tier("gold"))
    assert services.booking_create(member=gold, slot=slot).status == Booking.Status.BOOKED
    assert list(selectors.slots_available_for_member(member=gold)) == [slot]
    assert list(selectors.slots_available_for_member(member=MemberFactory(tier=tier("silver")))) == []


def test_booking_closes_at_the_booking_deadline_and_capacity_is_kept(store):
    slot = make_slot(store=store, capacity=1, in_hours=5, booking_deadline_hours=6)
    with pytest.raises(MemberHubError) as exc:
        services.booking_create(member=MemberFactory(), slot=slot)
    assert exc.value.code == "booking_closed"
    slot = make_slot(store=store, capacity=1)
    first = MemberFactory()
    services.booking_create(member=first, slot=slot)
    with pytest.raises(Conflict) as exc:
        services.booking_create(member=first, slot=slot)
    assert exc.value.code == "already_booked"
    with pytest.raises(Conflict) as exc:
        services.booking_create(member=MemberFactory(), slot=slot)
    assert exc.value.code == "slot_full"


def test_cancellation_only_before_the_deadline_and_frees_the_place(store):
    slot = make_slot(store=store, capacity=1, in_hours=10, cancellation_deadline_hours=4)
    member = MemberFactory()
    booking = services.booking_create(member=member, slot=slot)
    late = slot.starts_at - dt.timedelta(hours=3)
    with pytest.raises(MemberHubError) as exc:
        services.booking_cancel(booking=booking, now=late)
    assert exc.value.code == "cancellation_closed"
    services.booking_cancel(booking=booking)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert services.booking_create(member=member, slot=slot).status == Booking.Status.BOOKED  # may book again


def test_no_show_is_marked_by_staff_after_the_start(store):
    slot = make_slot(store=store, capacity=2, in_hours=2)
    booking = services.booking_create(member=MemberFactory(), slot=slot)
    staff = make_staff(roles.FRONT_DESK, store=store)
    with pytest.raises(MemberHubError) as exc:
        services.booking_mark(booking=booking, status="no_show", staff=staff)
    assert exc.value.code == "too_early"
    booking = services.booking_mark(booking=booking, status="no_show", staff=staff,
                                     now=slot.starts_at + dt.timedelta(minutes=20))
    assert booking.status == Booking.Status.NO_SHOW and booking.marked_by == staff


def test_reminder_is_sent_once_per_booking(store):
    soon = make_slot(store=store, capacity=3, in_hours=20)
    later = make_slot(store=store, capacity=3, in_hours=60)
    member = MemberFactory()
    booking = services.booking_create(member=member, slot=soon)
    services.booking_create(member=member, slot=later)
    cancelled = services.booking_create(member=MemberFactory(), slot=soon)
    services.booking_cancel(booking=cancelled)
    run = run_job("remind_reservations")
    assert run.status == "succeeded" and run.counts["reminded"] == 1
    assert run_job("remind_reservations").counts["reminded"] == 0
    assert Notice.objects.filter(kind="reservation_reminder", ref=f"booking:{booking.pk}").count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_bookings_of_the_last_place_exactly_one_succeeds():
    """BEN-5: capacity is never oversold; the slot row is locked."""
    store = StoreFactory()
    slot = make_slot(store=store, capacity=2)
    services.booking_create(member=MemberFactory(), slot=slot)
    members = [MemberFactory() for _ in range(6)]
    barrier = threading.Barrier(len(members))
    results = []

    def book(m):
        try:
            barrier.wait()
            services.booking_create(member=m, slot=slot)
            results.append("ok")
        except MemberHubError as exc:
            results.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=book, args=(m,)) for m in members]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 1 and results.count("slot_full") == 5
    assert Booking.objects.filter(slot=slot, status="booked").count() == 2
