"""Issue 12: one domain error, one response shape on every page of a surface. A refused action (order,
book, approve) and a refused form both come back as their page with the message and the error's status
(core.web.action_refused / the form's errors), never as a 302 with a flash on some pages only."""
import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from members import roles
from points.models import Adjustment
from tests.factories import MemberFactory, StoreFactory, make_staff
from tests.members.test_portal import login_as

pytestmark = [pytest.mark.django_db, pytest.mark.pinned_at("2026-11-25T12:00+08:00")]


def _is_page_with_message(response, marker: str) -> bool:
    html = response.content.decode()
    return response.status_code in (400, 403, 409) and marker in html and 'class="msg error' in html


def test_portal_refused_booking_is_the_reservations_page_with_status(client):
    from amenities.models import Booking
    from tests.amenities.conftest import make_slot

    store = StoreFactory()
    member = MemberFactory(home_store=store)
    login_as(client, member)
    slot = make_slot(store=store, capacity=1, in_hours=2)
    Booking.objects.create(slot=slot, member=MemberFactory(home_store=store))  # the only place is taken
    response = client.post(reverse("amenities_portal:book"), {"slot": slot.pk})
    assert _is_page_with_message(response, 'name="slot"'), (response.status_code, response.content[:300])


def test_desk_refused_approval_is_the_queue_with_status(client):
    """The requester cannot approve their own adjustment (four eyes): the queue again, with the reason."""
    store = StoreFactory()
    clerk = make_staff(roles.FRONT_DESK, store=store)
    adjustment = Adjustment.objects.create(member=MemberFactory(home_store=store), points=5000, reason="补偿",
                                           requested_by=clerk, store=store)
    supervisor = make_staff(roles.OPERATIONS_MANAGER, store=store)
    client.force_login(supervisor)
    adjustment.requested_by = supervisor
    adjustment.save(update_fields=["requested_by"])
    response = client.post(reverse("points_desk:adjustment_decide", args=[adjustment.pk]), {"decision": "approve"})
    assert response.status_code in (400, 403, 409)
    assert 'class="msg error' in response.content.decode()
    adjustment.refresh_from_db()
    assert adjustment.status == Adjustment.Status.PENDING
    assert timezone.now() - adjustment.created_at < dt.timedelta(minutes=5)
