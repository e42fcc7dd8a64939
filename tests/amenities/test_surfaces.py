"""Desk and portal pages of amenities (BEN-4, BEN-5, SEC-3) through the Django test client."""
import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from amenities import services
from amenities.models import Booking, Loan, ParkingUse
from members import roles
from members.portal_auth import SESSION_KEY
from tests.amenities.conftest import make_slot, tier
from tests.factories import MemberFactory, StoreFactory, make_staff

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.amenities.urls")]

DESK_PERMS = ["view_parkinguse", "add_parkinguse", "add_giftwrapuse", "add_loan", "view_loan", "change_loan",
              "view_booking", "change_booking"]


@pytest.fixture
def store():
    return StoreFactory()


@pytest.fixture
def desk(store):
    user = make_staff(roles.FRONT_DESK, store=store)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="amenities", codename__in=DESK_PERMS))
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def member(store):
    return MemberFactory(home_store=store, tier=tier("gold"))


def portal_login(client, member):
    session = client.session
    session[SESSION_KEY] = member.pk
    session.save()


def msgs(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def test_desk_records_parking_and_refuses_over_quota(client, desk, member):
    client.force_login(desk)
    url = reverse("amenities_desk:member_quota", args=[member.pk])
    response = client.post(url, {"action": "parking", "plate_number": "沪a 888", "hours": "3"}, follow=True)
    assert "3 free parking hour(s) recorded for 沪A888" in msgs(response)
    assert response.context["quota"]["parking_left"] == 1
    response = client.post(url, {"action": "parking", "plate_number": "沪A888", "hours": "2"}, follow=True)
    assert "Only 1 free parking hour(s) left today" in msgs(response)
    assert ParkingUse.objects.filter(member=member).count() == 1


def test_desk_lends_returns_and_lists_overdue(client, desk, member, store):
    client.force_login(desk)
    url = reverse("amenities_desk:member_quota", args=[member.pk])
    client.post(url, {"action": "lend", "item_kind": "power_bank", "item_number": "pb-01"})
    loan = Loan.objects.get(member=member)
    assert loan.store == store and loan.lent_by == desk
    Loan.objects.filter(pk=loan.pk).update(lent_at=timezone.now() - dt.timedelta(days=3),
                                           due_at=timezone.now() - dt.timedelta(days=1))
    response = client.get(reverse("amenities_desk:loans") + "?overdue=1")
    assert list(response.context["loans"]) == [loan]
    assert "PB-01" in response.content.decode()
    client.post(reverse("amenities_desk:loan_return", args=[loan.pk]))
    loan.refresh_from_db()
    assert loan.returned_at and loan.returned_to == desk


def test_desk_pages_are_store_scoped(client, desk):
    client.force_login(desk)
    other_store = StoreFactory()
    stranger = MemberFactory(home_store=other_store)
    assert client.get(reverse("amenities_desk:member_quota", args=[stranger.pk])).status_code == 404
    loan = services.loan_lend(member=stranger, store=other_store, item_kind="umbrella", item_number="U-9",
                              now=timezone.now() - dt.timedelta(days=2))
    assert list(client.get(reverse("amenities_desk:loans") + "?overdue=1").context["loans"]) == []
    assert client.post(reverse("amenities_desk:loan_return", args=[loan.pk])).status_code == 403
    slot = make_slot(store=other_store, in_hours=1)
    booking = services.booking_create(member=stranger, slot=slot)
    day = timezone.localtime(slot.starts_at).date().isoformat()
    response = client.get(reverse("amenities_desk:reservations") + f"?day={day}")
    assert list(response.context["by_resource"]) == []
    assert client.post(reverse("amenities_desk:booking_mark", args=[booking.pk]),
                       {"status": "attended"}).status_code == 403


def test_desk_needs_the_permission(client, store, member):
    client.force_login(make_staff(None, store=store))  # staff without a role
    assert client.get(reverse("amenities_desk:member_quota", args=[member.pk])).status_code == 403


def test_desk_reservations_day_list_and_marking(client, desk, member, store):
    client.force_login(desk)
    slot = make_slot(store=store, capacity=2, in_hours=1)
    booking = services.booking_create(member=member, slot=slot)
    day = timezone.localtime(slot.starts_at).date().isoformat()
    response = client.get(reverse("amenities_desk:reservations") + f"?day={day}")
    assert member.name in response.content.decode()
    response = client.post(reverse("amenities_desk:booking_mark", args=[booking.pk]), {"status": "attended"})
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.status == Booking.Status.ATTENDED and booking.marked_by == desk


def test_portal_lists_eligible_slots_books_and_cancels(client, member, store):
    portal_login(client, member)
    open_slot = make_slot(store=store, tiers=("gold",), name="VIP 休息室", kind="vip_lounge")
    make_slot(store=store, tiers=("platinum",), name="白金专属")
    response = client.get(reverse("amenities_portal:reservations"))
    assert list(response.context["slots"]) == [open_slot]
    assert "白金专属" not in response.content.decode()
    response = client.post(reverse("amenities_portal:book"), {"slot": open_slot.pk}, follow=True)
    assert "Your reservation is confirmed." in msgs(response)
    booking = Booking.objects.get(member=member)
    response = client.post(reverse("amenities_portal:cancel"), {"id": booking.pk}, follow=True)
    assert "Your reservation is cancelled." in msgs(response)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED


def test_portal_refuses_other_tiers_slot_with_a_message(client, member, store):
    portal_login(client, member)
    slot = make_slot(store=store, tiers=("platinum",))
    response = client.post(reverse("amenities_portal:book"), {"slot": slot.pk}, follow=True)
    assert "Your tier cannot book this." in msgs(response)
    assert not Booking.objects.exists()


def test_portal_cannot_cancel_another_members_booking(client, member, store):
    other = MemberFactory(home_store=store, tier=tier("gold"))
    booking = services.booking_create(member=other, slot=make_slot(store=store))
    portal_login(client, member)
    assert client.post(reverse("amenities_portal:cancel"), {"id": booking.pk}).status_code == 404
    booking.refresh_from_db()
    assert booking.status == Booking.Status.BOOKED


def test_portal_quotas_page_shows_remaining(client, member, store):
    services.parking_record(member=member, store=store, plate_number="沪A1", hours=1)
    portal_login(client, member)
    response = client.get(reverse("amenities_portal:quotas"))
    assert response.status_code == 200
    assert response.context["quota"]["parking_left"] == 3


def test_portal_needs_login(client):
    response = client.get(reverse("amenities_portal:reservations"))
    assert response.status_code == 302


def test_admin_pages_render(admin_client, member, store):
    slot = make_slot(store=store)
    services.booking_create(member=member, slot=slot)
    for name in ("quotapolicy", "resource", "parkinguse", "loan", "booking"):
        assert admin_client.get(reverse(f"admin:amenities_{name}_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:amenities_resource_change", args=[slot.resource_id])).status_code == 200
