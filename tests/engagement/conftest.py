import datetime as dt

import pytest
from django.utils import timezone

from engagement.models import Event, Partner, PartnerOffer
from members.models import Tier


@pytest.fixture
def tiers(db):
    if not Tier.objects.exists():  # a reused database flushed by a transactional test
        from django.apps import apps

        from members.reference import ensure_reference_data

        ensure_reference_data(apps)
    return {t.code: t for t in Tier.objects.order_by("rank")}


def make_offer(*, partner=None, tiers=(), limit=1, **kw) -> PartnerOffer:
    partner = partner or Partner.objects.create(name=kw.pop("partner_name", "海底捞"), kind="restaurant")
    now = timezone.now()
    offer = PartnerOffer.objects.create(partner=partner, title=kw.pop("title", "九折"),
                                        valid_from=kw.pop("valid_from", now - dt.timedelta(days=1)),
                                        valid_until=kw.pop("valid_until", now + dt.timedelta(days=30)),
                                        per_member_limit=limit, **kw)
    offer.tiers.set(tiers)
    return offer


def make_event(*, store, capacity=10, guests=1, starts_in=dt.timedelta(days=2), tiers=(), **kw) -> Event:
    starts = timezone.now() + starts_in
    event = Event.objects.create(title=kw.pop("title", "春季新品沙龙"), store=store, starts_at=starts,
                                 ends_at=starts + dt.timedelta(hours=2), capacity=capacity, guest_allowance=guests,
                                 **kw)
    event.audience_tiers.set(tiers)
    return event
