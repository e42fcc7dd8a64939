import datetime as dt

import pytest
from django.utils import timezone

from members.models import Tier


@pytest.fixture
def tiers(db):
    return {t.code: t for t in Tier.objects.order_by("rank")}


@pytest.fixture
def day():
    """The closed business day the nightly job evaluates (yesterday)."""
    return timezone.localdate() - dt.timedelta(days=1)
