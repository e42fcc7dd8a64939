"""Reservation slots generated in bulk from a weekly pattern (issue 16, admin): set-wise, idempotent on
re-run, through the resource admin's action."""
from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.utils import timezone

from amenities.models import Booking, Resource, Slot
from amenities.services import AmenityError
from amenities.slot_patterns import slots_generate
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

MONDAY = dt.date(2026, 12, 7)


def _resource(name="私人购物顾问", store=None) -> Resource:
    return Resource.objects.create(store=store or StoreFactory(), kind=Resource.Kind.PERSONAL_SHOPPER, name=name)


def _pattern(resources, **kw):
    args = {"resources": resources, "date_from": MONDAY, "date_to": MONDAY + dt.timedelta(days=13),
            "weekdays": {1, 3, 5}, "times": [dt.time(10), dt.time(14, 30)], "duration_minutes": 45, "capacity": 3}
    return slots_generate(**{**args, **kw})


def test_pattern_makes_a_slot_per_chosen_weekday_and_time_in_local_time():
    resource = _resource()
    result = _pattern([resource])
    slots = list(Slot.objects.filter(resource=resource).order_by("starts_at"))
    assert result.created == 12 and result.existing == 0  # 2 weeks × Tue/Thu/Sat × 2 times
    local = [timezone.localtime(s.starts_at) for s in slots]
    assert {d.weekday() for d in local} == {1, 3, 5}
    assert {(d.hour, d.minute) for d in local} == {(10, 0), (14, 30)}
    assert all(s.ends_at - s.starts_at == dt.timedelta(minutes=45) and s.capacity == 3 for s in slots)


def test_re_running_a_pattern_adds_only_what_is_missing_and_keeps_booked_slots():
    resource = _resource()
    _pattern([resource])
    slot = Slot.objects.filter(resource=resource).order_by("starts_at").first()
    Slot.objects.filter(pk=slot.pk).update(capacity=9)  # edited by hand after the first run
    again = _pattern([resource])
    assert again.created == 0 and again.existing == 12
    wider = _pattern([resource], times=[dt.time(10), dt.time(14, 30), dt.time(16)])
    assert wider.created == 6 and wider.existing == 12
    assert Slot.objects.filter(resource=resource).count() == 18
    slot.refresh_from_db()
    assert slot.capacity == 9


def test_pattern_for_several_resources_and_bad_input_is_refused():
    a, b = _resource("A"), _resource("B")
    assert _pattern([a, b]).created == 24
    with pytest.raises(AmenityError):
        _pattern([a], date_to=MONDAY - dt.timedelta(days=1))
    with pytest.raises(AmenityError):
        _pattern([a], date_to=MONDAY + dt.timedelta(days=400))
    with pytest.raises(AmenityError):
        _pattern([a], weekdays=set())


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("root", "root@example.com", "correct-horse-42"))
    return client


def test_admin_action_shows_the_form_then_generates(admin_client):
    resource = _resource()
    url = "/admin/amenities/resource/"
    page = admin_client.post(url, {"action": "generate_slots", "_selected_action": [resource.pk]})
    assert page.status_code == 200 and 'id="slot-pattern"' in page.content.decode()
    data = {"action": "generate_slots", "_selected_action": [resource.pk], "apply": "1",
            "date_from": MONDAY.isoformat(), "date_to": (MONDAY + dt.timedelta(days=6)).isoformat(),
            "weekdays": ["0", "6"], "times": "10:00，15:00", "duration_minutes": "60", "capacity": "2",
            "booking_deadline_hours": "0", "cancellation_deadline_hours": "2"}
    response = admin_client.post(url, data, follow=True)
    assert response.status_code == 200
    assert Slot.objects.filter(resource=resource).count() == 4
    assert LogEntry.objects.filter(object_id=str(resource.pk)).count() == 1
    again = admin_client.post(url, data, follow=True)
    assert Slot.objects.filter(resource=resource).count() == 4
    assert any("0" in str(m) for m in again.context["messages"])
    bad = admin_client.post(url, {**data, "times": "25:99"})
    assert bad.status_code == 200 and "25:99" in bad.content.decode()
    assert not Booking.objects.exists()
