"""Desk and hotline staff book and cancel reservations for a member (seed 000 热线电话平台: 专属权益预约、取消服务):
the portal's booking service with its rules, the staff member on the booking and in the audit log."""
import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from amenities import services
from amenities.models import Booking
from core.errors import Conflict, NotFound, PermissionDenied
from core.models import AuditLog
from members import roles
from messaging.models import Message
from tests.amenities.conftest import make_slot, tier
from tests.factories import MemberFactory, StoreFactory, make_staff

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.amenities.urls")]


@pytest.fixture
def store():
    return StoreFactory()


@pytest.fixture
def hotline(store):
    return make_staff(roles.CUSTOMER_SERVICE, store=store)


@pytest.fixture
def member(store):
    return MemberFactory(home_store=store, tier=tier("gold"))


def msgs(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def test_staff_booking_records_the_staff_member_and_is_audited(hotline, member, store):
    slot = make_slot(store=store, tiers=("gold",))
    booking = services.booking_create(member=member, slot=slot, staff=hotline)
    assert booking.booked_by == hotline and booking.status == Booking.Status.BOOKED
    log = AuditLog.objects.get(action=services.BOOKING_AUDIT, member=member)
    assert log.actor == hotline and f"booked {booking.pk}" in log.detail
    # The member is told, as after a portal booking.
    assert Message.objects.filter(member=member, event_key=f"reservation_booked:booking:{booking.pk}").exists()

    services.booking_cancel(booking=booking, staff=hotline)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED and booking.cancelled_by == hotline
    assert AuditLog.objects.filter(action=services.BOOKING_AUDIT, member=member, detail__startswith="cancelled").exists()


def test_staff_booking_keeps_the_portal_rules(hotline, member, store):
    """Same tier, capacity and deadline rules as the member's own booking (one service, not a copy)."""
    other_tier = make_slot(store=store, tiers=("platinum",))
    with pytest.raises(services.AmenityError) as exc:
        services.booking_create(member=member, slot=other_tier, staff=hotline)
    assert exc.value.code == "tier_not_eligible"
    full = make_slot(store=store, tiers=("gold",), capacity=1)
    services.booking_create(member=MemberFactory(home_store=store, tier=tier("gold")), slot=full)
    with pytest.raises(Conflict) as exc:
        services.booking_create(member=member, slot=full, staff=hotline)
    assert exc.value.code == "slot_full"
    late = make_slot(store=store, tiers=("gold",), in_hours=1, cancellation_deadline_hours=2)
    booking = services.booking_create(member=member, slot=late, staff=hotline)
    with pytest.raises(services.AmenityError) as exc:
        services.booking_cancel(booking=booking, staff=hotline)
    assert exc.value.code == "cancellation_closed"
    assert not AuditLog.objects.filter(detail__startswith="cancelled").exists()


def test_staff_booking_needs_the_permission_and_the_member_in_scope(member, store):
    slot = make_slot(store=store, tiers=("gold",))
    with pytest.raises(PermissionDenied):
        services.booking_create(member=member, slot=slot, staff=make_staff(roles.AUDITOR, store=store))
    with pytest.raises(NotFound):
        services.booking_create(member=member, slot=slot, staff=make_staff(roles.CUSTOMER_SERVICE))
    assert not Booking.objects.exists()


def test_desk_page_books_and_cancels_for_the_member(client, hotline, member, store):
    slot = make_slot(store=store, tiers=("gold",))
    client.force_login(hotline)
    url = reverse("amenities_desk:member_reservations", args=[member.pk])
    page = client.get(url)
    assert page.status_code == 200 and f'id="slot-{slot.pk}"' in page.content.decode()
    response = client.post(url, {"action": "book", "slot": slot.pk}, follow=True)
    assert "The reservation is confirmed." in msgs(response)
    booking = Booking.objects.get(member=member)
    assert booking.booked_by == hotline
    assert f"booked by {hotline.username}" in response.content.decode()
    response = client.post(url, {"action": "cancel", "booking": booking.pk}, follow=True)
    assert "The reservation is cancelled." in msgs(response)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED and booking.cancelled_by == hotline


def test_desk_page_shows_a_refused_booking_with_its_status(client, hotline, member, store):
    slot = make_slot(store=store, tiers=("platinum",))
    client.force_login(hotline)
    response = client.post(reverse("amenities_desk:member_reservations", args=[member.pk]),
                           {"action": "book", "slot": slot.pk})
    assert response.status_code == 400
    assert "The member's tier cannot book this." in msgs(response)
    assert not Booking.objects.exists()


def test_desk_page_is_scoped_and_needs_the_permission(client, member, store):
    url = reverse("amenities_desk:member_reservations", args=[member.pk])
    client.force_login(make_staff(roles.CUSTOMER_SERVICE))  # another store
    assert client.get(url).status_code == 404
    client.force_login(make_staff(roles.AUDITOR, store=store))
    assert client.get(url).status_code == 403
    # Another member's booking cannot be cancelled through this member's page.
    other = MemberFactory(home_store=store, tier=tier("gold"))
    booking = services.booking_create(member=other, slot=make_slot(store=store, tiers=("gold",)))
    client.force_login(make_staff(roles.FRONT_DESK, store=store))
    assert client.post(url, {"action": "cancel", "booking": booking.pk}).status_code == 404
    booking.refresh_from_db()
    assert booking.status == Booking.Status.BOOKED


def test_member_page_links_to_booking_for_the_member(client, hotline, member):
    client.force_login(hotline)
    page = client.get(reverse("desk:member", args=[member.member_no])).content.decode()
    assert reverse("amenities_desk:member_reservations", args=[member.pk]) in page


def test_slots_listed_once_started_are_not_offered(client, hotline, member, store):
    past = make_slot(store=store, tiers=("gold",), starts_at=timezone.now() - dt.timedelta(hours=1))
    client.force_login(hotline)
    page = client.get(reverse("amenities_desk:member_reservations", args=[member.pk])).content.decode()
    assert f'id="slot-{past.pk}"' not in page
