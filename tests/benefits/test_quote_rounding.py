"""PTS-1 rounding through the checkout quote (BEN-2): the quote predicts exactly the points the purchase
credits on a multi-line basket paid mostly by coupon (the case that earned one point too few)."""
import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from benefits.quote import checkout_quote
from members.models import Tier
from tests.benefits.test_quote import make_coupon, post_quote
from tests.factories import MemberFactory, StoreFactory

pytestmark = [pytest.mark.django_db, pytest.mark.pinned_at("2026-11-23T12:00+08:00")]


def test_quote_and_credit_agree_on_three_lines_paid_one_third_by_wechat():
    store = StoreFactory()
    member = MemberFactory(tier=Tier.objects.get(code="normal"), birthday=None)
    coupon = make_coupon(member, face="200.00", min_spend="0")
    lines = [{"brand": f"X{i}", "category": "家居", "amount": "100.00"} for i in range(3)]
    quote = checkout_quote(member=member, store=store, lines=lines, coupon_codes=[coupon.code],
                           at=timezone.make_aware(dt.datetime(2026, 11, 23, 12), ZoneInfo("Asia/Shanghai")))
    assert quote.problems == [] and quote.amount_to_pay == Decimal("100.00")
    assert quote.points_to_earn == 100
    purchase = post_quote(quote, member=member, store=store, order_no="QR-1")
    assert purchase.points_earned == quote.points_to_earn == 100
