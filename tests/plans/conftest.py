import datetime as dt
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from core import reference_cache
from members.api_auth import device_create
from plans.models import MembershipPlan
from points.models import CouponType
from tests.factories import StoreFactory


@pytest.fixture(autouse=True)
def _fresh_reference_cache():
    reference_cache.clear()  # plans_exist() is cached per process: each test sees its own plans
    yield
    reference_cache.clear()


@pytest.fixture
def coupon_types(db):
    return {
        "join": CouponType.objects.create(name="入会礼券", face_value=Decimal("50.00"), validity_days=30),
        "month": CouponType.objects.create(name="月度礼券", face_value=Decimal("20.00"), validity_days=30),
    }


@pytest.fixture
def plan(coupon_types):
    return MembershipPlan.objects.create(
        name="年卡", code="annual", price=Decimal("299.00"), duration_months=12, grace_days=15, reminder_days=15,
        extra_points_rate=Decimal("0.50"), offset_cap_increase=20, free_parking_hours=3,
        joining_coupon_type=coupon_types["join"], joining_coupon_count=2,
        monthly_coupon_type=coupon_types["month"], monthly_coupon_count=1)


@pytest.fixture
def till(db):
    store = StoreFactory()
    _device, token = device_create(name="Till 1", store=store)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {token}")
    client.store = store
    return client


def days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)
