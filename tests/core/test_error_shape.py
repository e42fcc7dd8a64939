"""Issue 12: one domain error, one response shape on every page of a surface. A refused action (order,
book, approve) and a refused form both come back as their page with the message and the error's status
(core.web.action_refused / the form's errors), never as a 302 with a flash on some pages only."""

import pytest
from django.urls import reverse

from tests.factories import MemberFactory, StoreFactory
from tests.members.test_portal import login_as

pytestmark = [pytest.mark.django_db, pytest.mark.pinned_at("2026-11-25T12:00+08:00")]


def _is_page_with_message(response, marker: str) -> bool:
    html = response.content.decode()
    return response.status_code in (400, 403, 409) and marker in html and (
        'class="msg msg-error' in html or 'class="msg error' in html)


def test_portal_refused_booking_is_the_reservations_page_with_status(client):
    from amenities.models import Booking
    from tests.amenities.conftest import make_slot

    store = StoreFactory()
    member = MemberFactory(home_store=store)
    login_as(client, member)
    slot = make_slot(store=store, capacity=1, in_hours=2)
    Booking.objects.create(slot=slot, member=MemberFactory(home_store=store))  # the only place is taken
    response = client.post(reverse("amenities_portal:book"), {"slot": slot.pk})
    # The reservations page itself (its list of open slots), with the message and the 409.
    assert _is_page_with_message(response, 'id="open-slots"'), (response.status_code,
                                                               response.content.decode()[-1500:])


# The desk's shape (a refused approval: the queue again with the reason and the error's status) is tested
# where the flow is built: tests/points/test_desk.py::test_requester_cannot_approve_own_adjustment.
