"""The portal reservations page (issue 16): each time with its weekday, a slot the member holds shown as
booked (no second Book button), a full slot as full."""
from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from amenities import services
from tests.amenities.conftest import make_slot, tier
from tests.amenities.test_surfaces import portal_login
from tests.factories import MemberFactory, StoreFactory

pytestmark = [pytest.mark.django_db, pytest.mark.pinned_at("2026-11-25T12:00+08:00")]


@pytest.fixture
def zh(settings):
    settings.LANGUAGE_CODE = "zh-hans"


def _at(day: dt.date, hour: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def test_slots_and_bookings_show_weekdays_and_the_booked_state(client, zh):
    store = StoreFactory()
    member = MemberFactory(home_store=store, tier=tier("gold"))
    monday = make_slot(store=store, name="私人购物顾问", starts_at=_at(dt.date(2026, 11, 30), 10))
    friday = make_slot(store=store, name="VIP 休息室", capacity=1, starts_at=_at(dt.date(2026, 11, 27), 15))
    full = make_slot(store=store, name="礼宾车", capacity=1, starts_at=_at(dt.date(2026, 11, 28), 9))
    services.booking_create(member=member, slot=monday)
    services.booking_create(member=MemberFactory(home_store=store, tier=tier("gold")), slot=full)
    portal_login(client, member)
    html = client.get(reverse("amenities_portal:reservations")).content.decode()
    assert '11月30日 <span class="weekday">星期一</span> 10:00–11:00' in html
    assert '11月27日 <span class="weekday">星期五</span> 15:00–16:00' in html
    assert '<span class="weekday">星期六</span>' in html
    open_slots = html[html.index('id="open-slots"'):]
    booked_card = open_slots[open_slots.index("私人购物顾问"):open_slots.index("</li>", open_slots.index("私人购物顾问"))]
    assert "您已预约" in booked_card and 'name="slot"' not in booked_card
    full_card = open_slots[open_slots.index("礼宾车"):open_slots.index("</li>", open_slots.index("礼宾车"))]
    assert "已满" in full_card and 'name="slot"' not in full_card
    friday_card = open_slots[open_slots.index("VIP 休息室"):open_slots.index("</li>", open_slots.index("VIP 休息室"))]
    assert f'name="slot" value="{friday.pk}"' in friday_card
    assert 'id="tab-services" aria-current="page"' in html
