"""PTS-1 rounding (issue 14): the amount paid is spread over the lines in whole cents by the largest
remainder, so the shares add up to the amount paid and a multi-line order paid partly by coupon earns
floor(paid × rate), not a point less (33.333… × 3 = 99.999… floored to 99)."""
import datetime as dt
from decimal import ROUND_FLOOR, Decimal

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from members.models import Tier
from points.calculation import calculate_points, paid_shares
from tests.factories import MemberFactory, StoreFactory
from tests.points.helpers import buy

pytestmark = [pytest.mark.django_db, pytest.mark.pinned_at("2026-11-23T12:00+08:00")]


def lines_of(*amounts):
    return [{"brand": f"B{i}", "category": "服装", "amount": a} for i, a in enumerate(amounts)]


def test_three_lines_paid_one_third_by_wechat_earn_the_whole_100_points():
    """PTS-1: 3 × ¥100.00 paid wechat ¥100.00 + coupon ¥200.00 earns 100 (it earned 99)."""
    member, store = MemberFactory(tier=Tier.objects.get(code="normal"), birthday=None), StoreFactory()
    assert member.tier.points_rate == 1
    purchase = buy(member, store, "300.00", order_no="R-100", lines=lines_of("100.00", "100.00", "100.00"),
                   tenders=[{"type": "wechat", "amount": "100.00"}, {"type": "coupon", "amount": "200.00"}])
    assert purchase.amount_paid == Decimal("100.00") and purchase.points_earned == 100


def test_three_lines_paid_by_cash_and_a_small_coupon_earn_880():
    """PTS-1: 3 × ¥300.00 paid cash ¥880.00 + coupon ¥20.00 earns 880 (it earned 879)."""
    member, store = MemberFactory(tier=Tier.objects.get(code="normal"), birthday=None), StoreFactory()
    purchase = buy(member, store, "900.00", order_no="R-880", lines=lines_of("300.00", "300.00", "300.00"),
                   tenders=[{"type": "cash", "amount": "880.00"}, {"type": "coupon", "amount": "20.00"}])
    assert purchase.points_earned == 880


def test_largest_remainder_gives_the_leftover_cents_to_the_largest_remainders_then_the_earlier_line():
    assert paid_shares([Decimal("100.00")] * 3, Decimal("100.00")) == [Decimal("33.34"), Decimal("33.33"),
                                                                        Decimal("33.33")]
    # 10 × 1/3 = 3.33…, 20 × 1/3 = 6.66…: the larger remainder (the second line) takes the cent
    assert paid_shares([Decimal("10.00"), Decimal("20.00")], Decimal("10.00")) == [Decimal("3.33"), Decimal("6.67")]
    assert paid_shares([Decimal("5.00")], Decimal("0.00")) == [Decimal("0")]


@pytest.fixture
def members_by_tier():
    """One member per tier (no birthday: no birthday campaign) and one store, shared by every example."""
    store = StoreFactory()
    return {t.code: (MemberFactory(tier=t, birthday=None), store) for t in Tier.objects.all()}


# The fixture runs once for all examples on purpose: the examples only read the members.
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(line_cents=st.lists(st.integers(1, 500_000), min_size=1, max_size=6), data=st.data(),
       tier_code=st.sampled_from(["normal", "silver", "gold", "platinum"]),
       tender=st.sampled_from(["coupon", "gift_card", "points"]))
def test_shares_add_up_to_the_paid_cents_and_points_are_floor_of_paid_times_rate(members_by_tier, line_cents, data,
                                                                                  tier_code, tender):
    """Property, over random baskets with no campaign: Σ shares == the eligible amount paid, to the cent,
    and the points are floor(paid × tier rate)."""
    total = sum(line_cents)
    paid_cents = data.draw(st.integers(0, total), label="paid_cents")
    amounts = [Decimal(c) / 100 for c in line_cents]
    paid = Decimal(paid_cents) / 100
    shares = paid_shares(amounts, paid)
    assert sum(shares) == paid and all(s >= 0 for s in shares)
    assert all(s == s.quantize(Decimal("0.01")) for s in shares)

    member, store = members_by_tier[tier_code]
    tenders = [{"type": "wechat", "amount": str(paid)}]
    if paid_cents < total:
        tenders.append({"type": tender, "amount": str(Decimal(total - paid_cents) / 100)})
    calc = calculate_points(member=member, store=store, at=timezone.now() - dt.timedelta(minutes=1),
                            lines=lines_of(*map(str, amounts)), tenders=tenders)
    assert calc.campaigns == []
    assert calc.points == int((paid * member.tier.points_rate).to_integral_value(rounding=ROUND_FLOOR))
