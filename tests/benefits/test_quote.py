"""Checkout quote (BEN-2, BEN-3): itemised steps, and the points it predicts are the points the
purchase API credits for the same posting."""
import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from benefits.models import MemberDayConfig
from benefits.quote import checkout_quote, in_birthday_window
from benefits.services import member_day_config_update
from members.models import Member, Tier
from points.errors import MemberCannotTransact
from points.models import Campaign, Coupon, CouponType
from points.services.ledger import Source, credit
from points.services.purchases import purchase_post
from points.services.redemption import coupon_use, offset_commit
from tests.factories import MemberFactory, StoreFactory

# Coupons, points and members are made at this instant and the quotes are asked at it (or travel on from it).
pytestmark = [pytest.mark.django_db, pytest.mark.pinned_at("2026-11-23T12:00+08:00")]
SH = ZoneInfo("Asia/Shanghai")

BASKET = [
    {"brand": "LANCOME", "category": "化妆品", "amount": "680.00"},  # a designated category: tier discount
    {"brand": "APPLE", "category": "数码", "amount": "333.33"},      # not designated
]


def give_points(member, points):
    with transaction.atomic():
        credit(member=member, points=points, idem_key=f"test-gift:{member.pk}:{points}", source=Source(reason="test"),
               earned_on=timezone.localdate() - dt.timedelta(days=60))


def make_coupon(member, *, face="50.00", min_spend="0", code=None, status=Coupon.Status.ISSUED, **kw):
    ctype = CouponType.objects.create(name=f"满{min_spend}减{face}", face_value=Decimal(face),
                                      min_spend=Decimal(min_spend), validity_days=30)
    now = timezone.now()
    return Coupon.objects.create(type=ctype, member=member, code=code or f"C{Coupon.objects.count():011d}",
                                 status=status, source=Coupon.Source.MANUAL, valid_from=now - dt.timedelta(days=1),
                                 valid_to=now + dt.timedelta(days=10), **kw)


def post_quote(quote, *, member, store, order_no):
    """Do what the till does after the quote: use the coupons, commit the offset, post the purchase."""
    for code in quote.coupons:
        coupon_use(code=code, store=store, order_no=order_no, bill_amount=quote.coupon_bill_amount, member=member)
    if quote.offset_points:
        offset_commit(member=member, store=store, order_no=order_no, points=quote.offset_points,
                      bill_amount=quote.offset_bill_amount)
    return purchase_post(store=store, order_no=order_no, member=member, occurred_at=quote.occurred_at,
                         lines=quote.lines, tenders=quote.tenders).purchase


@pytest.mark.parametrize("tier_code", ["normal", "silver", "gold", "platinum"])
def test_quoted_points_equal_credited_points_across_tiers(tier_code):
    """BEN-2: the purchase API credits exactly the quoted points, coupons and offset included."""
    store = StoreFactory()
    member = MemberFactory(tier=Tier.objects.get(code=tier_code), birthday=dt.date(1990, 1, 1))
    give_points(member, 5000)
    coupon = make_coupon(member, face="50.00", min_spend="100")
    at = timezone.make_aware(dt.datetime(2026, 11, 23, 12), SH)
    quote = checkout_quote(member=member, store=store, lines=BASKET, coupon_codes=[coupon.code], offset_points=1000,
                           at=at)
    assert quote.problems == []
    steps = [s["step"] for s in quote.steps]
    assert steps.index("coupon") < steps.index("points_offset") < steps.index("amount_to_pay")
    if tier_code == "normal":
        assert "tier_discount" not in steps and quote.amount_discounted == Decimal("1013.33")
    else:
        assert steps[0] == "tier_discount" and quote.steps[0]["line"] == 0  # only the designated line
        assert quote.lines[1]["amount"] == "333.33" and Decimal(quote.lines[0]["amount"]) < Decimal("680.00")
    assert quote.offset_amount == Decimal("10.00")
    assert quote.amount_to_pay == quote.amount_discounted - Decimal("50.00") - Decimal("10.00")
    purchase = post_quote(quote, member=member, store=store, order_no=f"Q-{tier_code}")
    assert purchase.points_earned == quote.points_to_earn > 0


def test_gold_discount_is_itemised_with_its_rule():
    member = MemberFactory(tier=Tier.objects.get(code="gold"))
    quote = checkout_quote(member=member, store=StoreFactory(), lines=BASKET[:1])
    step = quote.steps[0]
    assert step["rule"] == "tier_benefit:discount:gold" and step["amount"] == "-68.00"
    assert quote.amount_to_pay == Decimal("612.00") and quote.tenders == [{"type": "wechat", "amount": "612.00"}]


def test_quoted_points_equal_credited_with_points_campaign_active():
    store = StoreFactory()
    member = MemberFactory(tier=Tier.objects.get(code="silver"))
    now = timezone.now()
    Campaign.objects.create(name="LANCOME ×3", starts_at=now - dt.timedelta(days=1), ends_at=now + dt.timedelta(days=1),
                            brands=["LANCOME"], multiplier=Decimal("3"), bonus_points=88)
    quote = checkout_quote(member=member, store=store, lines=BASKET)
    assert [c["name"] for c in quote.campaigns] == ["LANCOME ×3"]
    plain = checkout_quote(member=MemberFactory(tier=member.tier), store=store, lines=BASKET[1:])
    assert quote.points_to_earn > plain.points_to_earn
    assert post_quote(quote, member=member, store=store, order_no="Q-camp").points_earned == quote.points_to_earn


def test_member_day_extra_discount_and_multiplier_are_credited():
    """BEN-3: on the member day (the 18th) the extra discount applies and the multiplier is credited."""
    member_day_config_update(member_day_discount_percent="5", member_day_points_multiplier="2",
                             birthday_window="day", birthday_discount_percent="0")
    store = StoreFactory()
    member = MemberFactory(tier=Tier.objects.get(code="normal"), birthday=dt.date(1990, 1, 1))
    with time_machine.travel(dt.datetime(2026, 12, 18, 11, 0, tzinfo=SH), tick=False):
        quote = checkout_quote(member=member, store=store, lines=[{"brand": "X", "category": "数码", "amount": "100"}])
        assert [s["step"] for s in quote.steps][:1] == ["member_day_discount"]
        assert quote.amount_to_pay == Decimal("95.00") and quote.points_to_earn == 190
        assert post_quote(quote, member=member, store=store, order_no="Q-md").points_earned == 190
    with time_machine.travel(dt.datetime(2026, 12, 17, 11, 0, tzinfo=SH), tick=False):
        quote = checkout_quote(member=member, store=store, lines=[{"brand": "X", "category": "数码", "amount": "100"}])
        assert quote.amount_to_pay == Decimal("100.00") and quote.points_to_earn == 100


def test_member_day_multiplier_back_to_one_deactivates_its_campaign():
    config = member_day_config_update(member_day_discount_percent="0", member_day_points_multiplier="2",
                                      birthday_window="day", birthday_discount_percent="0")
    assert config.member_day_campaign.is_active and config.member_day_campaign.member_day_only
    config = member_day_config_update(member_day_discount_percent="0", member_day_points_multiplier="1",
                                      birthday_window="day", birthday_discount_percent="0")
    config.member_day_campaign.refresh_from_db()
    assert not config.member_day_campaign.is_active


def test_birthday_extra_discount_and_birthday_campaign_are_credited():
    member_day_config_update(member_day_discount_percent="0", member_day_points_multiplier="1",
                             birthday_window="week", birthday_discount_percent="10")
    store = StoreFactory()
    member = MemberFactory(tier=Tier.objects.get(code="gold"), birthday=dt.date(1988, 12, 2))
    with time_machine.travel(dt.datetime(2026, 12, 2, 15, 0, tzinfo=SH), tick=False):
        now = timezone.now()
        Campaign.objects.create(name="生日双倍", starts_at=now - dt.timedelta(days=1), ends_at=now + dt.timedelta(days=1),
                                birthday_only=True, multiplier=Decimal("2"))
        quote = checkout_quote(member=member, store=store, lines=BASKET)
        steps = [s["step"] for s in quote.steps]
        assert steps.index("tier_discount") < steps.index("birthday_discount")
        # gold 10% on 680 -> 612, then birthday 10% on both lines: 612 -> 550.80, 333.33 -> 300.00
        assert [line["amount"] for line in quote.lines] == ["550.80", "300.00"]
        assert quote.campaigns and quote.campaigns[0]["name"] == "生日双倍"
        assert post_quote(quote, member=member, store=store, order_no="Q-bday").points_earned == quote.points_to_earn


@pytest.mark.parametrize(("window", "day", "expected"), [
    ("day", dt.date(2026, 12, 2), True), ("day", dt.date(2026, 12, 3), False),
    ("week", dt.date(2026, 12, 6), True), ("week", dt.date(2026, 12, 7), False),
    ("month", dt.date(2026, 12, 31), True), ("month", dt.date(2026, 11, 30), False),
])
def test_birthday_window(window, day, expected):
    member = Member(birthday=dt.date(1988, 12, 2))  # Wednesday 2 December 2026
    assert in_birthday_window(member, day, window) is expected


def test_invalid_coupons_are_left_out_with_their_reasons():
    store = StoreFactory()
    member = MemberFactory()
    good = make_coupon(member, face="20.00")
    high = make_coupon(member, face="100.00", min_spend="5000")
    used = make_coupon(member, status=Coupon.Status.USED, used_at=timezone.now(), used_store=store, used_order_no="X")
    other = make_coupon(MemberFactory())
    quote = checkout_quote(member=member, store=store, lines=BASKET,
                           coupon_codes=[good.code, high.code, used.code, other.code, "NOPE", good.code])
    assert quote.coupons == [good.code] and quote.coupon_amount == Decimal("20.00")
    assert [(p["field"], p["code"]) for p in quote.problems] == [
        ("coupons[1]", "coupon_min_spend"), ("coupons[2]", "coupon_used"), ("coupons[3]", "coupon_not_found"),
        ("coupons[4]", "coupon_not_found"), ("coupons[5]", "coupon_duplicate")]
    assert all(p["reason"] for p in quote.problems)
    assert post_quote(quote, member=member, store=store, order_no="Q-c").points_earned == quote.points_to_earn


def test_offset_over_the_cap_is_refused_with_its_reason():
    store = StoreFactory()
    member = MemberFactory(tier=Tier.objects.get(code="normal"))  # cap 50 % of the bill
    give_points(member, 100_000)
    quote = checkout_quote(member=member, store=store, lines=[{"amount": "100.00"}], offset_points=5001)
    assert quote.offset_points == 0 and quote.amount_to_pay == Decimal("100.00")
    assert quote.problems[0]["code"] == "offset_over_cap" and "5000" in quote.problems[0]["reason"]
    ok = checkout_quote(member=member, store=store, lines=[{"amount": "100.00"}], offset_points=5000)
    assert ok.problems == [] and ok.amount_to_pay == Decimal("50.00")
    assert post_quote(ok, member=member, store=store, order_no="Q-o").points_earned == ok.points_to_earn == 50


def test_offset_beyond_spendable_points_is_refused_with_its_reason():
    member = MemberFactory()
    give_points(member, 300)
    quote = checkout_quote(member=member, store=StoreFactory(), lines=[{"amount": "100.00"}], offset_points=400)
    assert quote.problems[0]["code"] == "insufficient_points"


def test_suspended_member_is_refused():
    member = MemberFactory(status=Member.Status.SUSPENDED)
    with pytest.raises(MemberCannotTransact):
        checkout_quote(member=member, store=StoreFactory(), lines=BASKET)


def test_config_is_seeded_neutral():
    config = MemberDayConfig.get()
    assert config.member_day_discount_percent == 0 and config.member_day_points_multiplier == 1
