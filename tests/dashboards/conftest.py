"""A small hand-checked data set for the dashboard tests (figures worked out in the test docstrings).

Business day D = 2026-03-10 (a Tuesday), Asia/Shanghai. Stores s1, s2.
  a: s1, F, born 1990-06-01, 广东/深圳, normal, registered 2026-01-05, tag VIP
  b: s1, M, born 2003-01-01, 浙江/杭州, silver, registered on D (upgrade normal → silver on D)
  c: s2, F, no birthday, no region, normal, registered 2026-02-01
  d: s1, pending sign-up (never counted)
Purchases (the ledger lines are placed at the purchase / refund time):
  a@s2 2026-03-01 12:00 (Sun) 100 (lines B1 服装 100)
  c@s2 2026-03-05 12:00 50, fully refunded the same day
  a@s1 D 10:30 300 (L 化妆品 200, N 服装 100);  a@s1 D 19:15 200 (L 化妆品 200)
  b@s1 D 19:45 1000 (B1 服装 1000), refunded 400 on D 20:00 at s1
  c@s2 2026-03-11 09:00 (Wed) 400 (B1 服装 400)
  a buys a coupon for 50 points on D 21:00.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from members.models import Member, MemberTag, Tag, Tier
from points.models import CouponType, Entry
from points.services.purchases import refund_post
from points.services.redemption import coupon_redeem_for_points
from tests.factories import MemberFactory, StoreFactory
from tests.points.helpers import buy
from tiers.models import TierChange

D = dt.date(2026, 3, 10)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def _place_entries(purchase, when):
    Entry.objects.filter(purchase=purchase, refund__isnull=True).update(created_at=when)


@pytest.fixture
def dataset(db):
    s1, s2 = StoreFactory(code="DS1"), StoreFactory(code="DS2")
    normal, silver = Tier.objects.get(code="normal"), Tier.objects.get(code="silver")
    a = MemberFactory(home_store=s1, gender="F", birthday=dt.date(1990, 6, 1), province="广东", city="深圳", tier=normal)
    b = MemberFactory(home_store=s1, gender="M", birthday=dt.date(2003, 1, 1), province="浙江", city="杭州", tier=silver)
    c = MemberFactory(home_store=s2, gender="F", birthday=None, province="", city="", tier=normal)
    d = MemberFactory(home_store=s1, status=Member.Status.PENDING, tier=normal)
    for member, when in ((a, at(dt.date(2026, 1, 5), 9)), (b, at(D, 8)), (c, at(dt.date(2026, 2, 1), 9)),
                         (d, at(D, 9))):
        Member.objects.filter(pk=member.pk).update(created_at=when)
    vip = Tag.objects.create(name="VIP")
    MemberTag.objects.create(member=a, tag=vip)

    p = buy(a, s2, "100", order_no="A0", at=at(dt.date(2026, 3, 1), 12))
    _place_entries(p, p.occurred_at)
    p = buy(c, s2, "50", order_no="C0", at=at(dt.date(2026, 3, 5), 12))
    _place_entries(p, p.occurred_at)
    refund = refund_post(store=s2, refund_no="RC0", purchase=p, amount=Decimal("50"),
                         occurred_at=at(dt.date(2026, 3, 5), 13)).refund
    Entry.objects.filter(refund=refund).update(created_at=at(dt.date(2026, 3, 5), 13))
    p = buy(a, s1, "300", order_no="A1", at=at(D, 10, 30), lines=[
        {"brand": "L", "category": "化妆品", "amount": "200"}, {"brand": "N", "category": "服装", "amount": "100"}])
    _place_entries(p, p.occurred_at)
    p = buy(a, s1, "200", order_no="A2", at=at(D, 19, 15), lines=[{"brand": "L", "category": "化妆品", "amount": "200"}])
    _place_entries(p, p.occurred_at)
    p = buy(b, s1, "1000", order_no="B1", at=at(D, 19, 45))
    _place_entries(p, p.occurred_at)
    refund = refund_post(store=s1, refund_no="RB1", purchase=p, amount=Decimal("400"), occurred_at=at(D, 20)).refund
    Entry.objects.filter(refund=refund).update(created_at=at(D, 20))
    p = buy(c, s2, "400", order_no="C1", at=at(dt.date(2026, 3, 11), 9))
    _place_entries(p, p.occurred_at)
    ctype = CouponType.objects.create(name="10元券", face_value=10, validity_days=30, points_cost=50)
    coupon, _created = coupon_redeem_for_points(member=a, coupon_type=ctype, request_id="cp-a")
    Entry.objects.filter(pk=coupon.entry_id).update(created_at=at(D, 21))
    TierChange.objects.create(member=b, from_tier=normal, to_tier=silver, kind="upgrade", effective_on=D)
    return {"s1": s1, "s2": s2, "a": a, "b": b, "c": c, "d": d, "normal": normal, "silver": silver, "vip": vip}
