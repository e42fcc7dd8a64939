import datetime as dt

import pytest
from django.utils import timezone

from amenities.models import QuotaPolicy, Resource, Slot
from members.models import Tier

# parking hours/day, gift wraps/month, open loans, loan hours (the migration's defaults)
DEFAULTS = {"normal": (2, 0, 1, 24), "silver": (3, 2, 1, 24), "gold": (4, 4, 2, 48), "platinum": (8, 10, 2, 72)}


@pytest.fixture(autouse=True)
def _amenities_reference(request, _reference_data):
    """Quota policies (seeded by the migration; transactional tests flush them) and English messages."""
    marker = request.node.get_closest_marker("django_db")
    if not marker:
        return
    request.getfixturevalue("transactional_db" if marker.kwargs.get("transaction") else "db")
    for tier in Tier.objects.all():
        hours, wraps, loans, loan_hours = DEFAULTS.get(tier.code, (0, 0, 1, 24))
        QuotaPolicy.objects.get_or_create(tier=tier, defaults={
            "parking_hours_per_day": hours, "gift_wraps_per_month": wraps, "max_open_loans": loans,
            "loan_hours": loan_hours})


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def tier(code: str) -> Tier:
    return Tier.objects.get(code=code)


def make_slot(*, store, tiers=("normal", "silver", "gold", "platinum"), capacity=1, in_hours=48,
              kind=Resource.Kind.PERSONAL_SHOPPER, name="私人购物顾问", **kw) -> Slot:
    resource = Resource.objects.create(store=store, kind=kind, name=name)
    resource.eligible_tiers.set(Tier.objects.filter(code__in=tiers))
    start = kw.pop("starts_at", timezone.now() + dt.timedelta(hours=in_hours))
    return Slot.objects.create(resource=resource, starts_at=start, ends_at=start + dt.timedelta(hours=1),
                               capacity=capacity, **kw)
