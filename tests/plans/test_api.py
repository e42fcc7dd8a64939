"""The till and the checkout quote with paid membership (issue 18): a membership-fee line earns no points
and buys the plan once however often the till retries; a paid member's quote and purchase apply the
plan's extra rate and higher offset cap through points' one rate engine, and stop after end + grace."""
import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from plans.models import MembershipEvent, PaidMembership
from points.models import PointsAccount, Purchase
from points.services.ledger import Source, credit
from tests.factories import MemberFactory

pytestmark = [pytest.mark.django_db, pytest.mark.pinned_at("2026-03-10T12:00+08:00")]
SH = timezone.get_fixed_timezone(8 * 60)


def fee_body(member, order_no="FEE-1", plan="annual", amount="299.00", goods=None, at="2026-03-10T11:00:00+08:00"):
    lines = [{"kind": "membership_fee", "plan": plan, "amount": amount}]
    tenders_total = Decimal(amount)
    if goods:
        lines.append({"brand": "LANCOME", "category": "化妆品", "amount": goods})
        tenders_total += Decimal(goods)
    return {"member": {"card": member.member_no}, "order_no": order_no, "occurred_at": at, "lines": lines,
            "tenders": [{"type": "wechat", "amount": str(tenders_total)}]}


def goods_body(member, order_no, amount="1000.00", at="2026-03-10T11:00:00+08:00", tenders=None):
    return {"member": {"card": member.member_no}, "order_no": order_no, "occurred_at": at,
            "lines": [{"brand": "LANCOME", "category": "化妆品", "amount": amount}],
            "tenders": tenders or [{"type": "wechat", "amount": amount}]}


def balance(member) -> int:
    return PointsAccount.objects.filter(member=member).values_list("balance", flat=True).first() or 0


def test_membership_fee_line_buys_the_plan_earns_no_points_and_is_idempotent(till, plan):
    member = MemberFactory()
    r = till.post("/api/v1/purchases/", fee_body(member, goods="100.00"), format="json")
    assert r.status_code == 201, r.json()
    # The fee earns nothing and is not net paid; the goods beside it earn at the rate the quote showed
    # before the sale (the tier's): the plan's rate applies from the next sale, so quote and purchase agree.
    assert r.json()["points_earned"] == 100 and r.json()["amount_paid"] == "100.00"
    m = PaidMembership.objects.get(member=member)
    assert m.source == "till" and m.price_paid == Decimal("299.00") and m.ends_on == dt.date(2027, 3, 9)
    retry = till.post("/api/v1/purchases/", fee_body(member, goods="100.00"), format="json")
    assert retry.status_code == 200 and retry.json() == r.json()
    assert PaidMembership.objects.filter(member=member).count() == 1 and MembershipEvent.objects.count() == 1
    renew = till.post("/api/v1/purchases/", fee_body(member, order_no="FEE-2"), format="json")
    assert renew.status_code == 201 and renew.json()["points_earned"] == 0
    m.refresh_from_db()
    assert m.ends_on == dt.date(2028, 3, 9)
    assert list(MembershipEvent.objects.values_list("kind", flat=True).order_by("id")) == ["bought", "renewed"]


def test_membership_fee_line_errors_roll_the_sale_back(till, plan):
    member = MemberFactory()
    wrong = till.post("/api/v1/purchases/", fee_body(member, amount="199.00"), format="json")
    assert wrong.status_code == 400 and wrong.json()["code"] == "plan_price_mismatch"
    unknown = till.post("/api/v1/purchases/", fee_body(member, plan="nope"), format="json")
    assert unknown.status_code == 400 and unknown.json()["code"] == "plan_unknown"
    body = fee_body(member)
    del body["member"]
    anonymous = till.post("/api/v1/purchases/", body, format="json")
    assert anonymous.status_code == 400 and anonymous.json()["code"] == "membership_needs_member"
    assert not Purchase.objects.exists() and not PaidMembership.objects.exists()


def _give_points(member, points):
    with transaction.atomic():
        credit(member=member, points=points, idem_key=f"gift:{member.pk}", source=Source(reason="test"),
               earned_on=timezone.localdate())


def _quote(till, member, at, offset_points=0):
    return till.post("/api/v1/checkout/quote/", {
        "member": {"card": member.member_no}, "lines": [{"brand": "APPLE", "category": "数码", "amount": "100.00"}],
        "offset_points": offset_points, "occurred_at": at}, format="json")


def test_paid_members_quote_and_purchase_apply_the_extra_rate_and_higher_cap_until_end_plus_grace(till, plan):
    member = MemberFactory()
    plain = MemberFactory()
    _give_points(member, 20000)
    _give_points(plain, 20000)
    assert till.post("/api/v1/purchases/", fee_body(member), format="json").status_code == 201
    at = "2026-03-10T11:30:00+08:00"
    # Quote: rate 1 + 0.5; offset cap 50% + 20% of the bill (100 points per yuan).
    q = _quote(till, member, at, offset_points=7000)
    assert q.status_code == 200, q.json()
    assert q.json()["offset_points"] == 7000 and q.json()["amount_to_pay"] == "30.00" and not q.json()["problems"]
    assert q.json()["points_to_earn"] == 45  # 30 yuan paid × 1.5
    assert any(s["rule"] == "plan:annual" for s in q.json()["steps"])
    over = _quote(till, plain, at, offset_points=7000)
    assert over.json()["problems"][0]["code"] == "offset_over_cap"
    # The till posts what the quote returned: the offset at the higher cap, then the purchase.
    offset = till.post("/api/v1/offsets/", {"member": {"card": member.member_no}, "order_no": "P-1",
                                            "bill_amount": "100.00", "points": 7000}, format="json")
    assert offset.status_code == 201, offset.json()
    p = till.post("/api/v1/purchases/", {"member": {"card": member.member_no}, "order_no": "P-1", "occurred_at": at,
                                         "lines": q.json()["lines"], "tenders": q.json()["tenders"]}, format="json")
    assert p.status_code == 201 and p.json()["points_earned"] == q.json()["points_to_earn"] == 45
    assert till.post("/api/v1/purchases/", goods_body(plain, "P-2", at=at), format="json").json()["points_earned"] == 1000
    assert till.post("/api/v1/purchases/", goods_body(member, "P-3", at=at), format="json").json()["points_earned"] == 1500
    # Last day of grace (end 2027-03-09 + 15 days): still applies, even before the nightly job.
    with time_machine.travel(dt.datetime(2027, 3, 24, 12, tzinfo=SH)):
        at = "2027-03-24T11:00:00+08:00"
        assert _quote(till, member, at).json()["points_to_earn"] == 150
        assert till.post("/api/v1/purchases/", goods_body(member, "P-4", at=at),
                         format="json").json()["points_earned"] == 1500
    with time_machine.travel(dt.datetime(2027, 3, 25, 12, tzinfo=SH)):
        at = "2027-03-25T11:00:00+08:00"
        q = _quote(till, member, at, offset_points=7000)
        assert q.json()["points_to_earn"] == 100 and q.json()["problems"][0]["code"] == "offset_over_cap"
        assert not any(s["rule"] == "plan:annual" for s in q.json()["steps"])
        assert till.post("/api/v1/purchases/", goods_body(member, "P-5", at=at),
                         format="json").json()["points_earned"] == 1000
        over = till.post("/api/v1/offsets/", {"member": {"card": member.member_no}, "order_no": "P-6",
                                              "bill_amount": "100.00", "points": 7000}, format="json")
        assert over.status_code == 400 and over.json()["code"] == "offset_over_cap"


def test_refunded_membership_stops_the_benefits_at_once(till, plan):
    from plans.services import membership_refund

    member = MemberFactory()
    till.post("/api/v1/purchases/", fee_body(member), format="json")
    membership_refund(membership=PaidMembership.objects.get(member=member), actor="command", reason="退卡")
    r = till.post("/api/v1/purchases/", goods_body(member, "P-1", at="2026-03-10T11:30:00+08:00"), format="json")
    assert r.json()["points_earned"] == 1000


def test_unknown_line_kind_is_a_400(till, plan):
    member = MemberFactory()
    body = goods_body(member, "P-1")
    body["lines"][0]["kind"] = "gift_wrap"
    assert till.post("/api/v1/purchases/", body, format="json").status_code == 400
