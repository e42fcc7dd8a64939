"""Refunds give back what the order spent (PTS-5, PTS-6c), and points tenders, voids and given-back points
balance (issue 14). Every scenario ends with the ledger whole (`reconcile() == []`)."""
import datetime as dt
import threading
from decimal import Decimal

import pytest
import time_machine
from django.db import connection, transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from core.errors import Conflict
from members import roles
from members.api_auth import device_create
from messaging.models import Notice
from points.errors import PointsError
from points.jobs import expire_points_for
from points.models import Coupon, CouponType, Entry, Gift, Lot, Offset, PointsAccount, PointsConfig, Refund
from points.reconcile import reconcile
from points.services import redemption
from points.services.ledger import Source, consume, credit
from points.services.purchases import refund_post
from tests.factories import MemberFactory, StoreFactory, make_staff
from tests.points.helpers import buy

pytestmark = pytest.mark.django_db


def balance(member) -> int:
    account = PointsAccount.objects.filter(member=member).first()
    return account.balance if account else 0


def seed_lot(member, points: int, *, expires_in_days: int, key: str) -> Lot:
    """A lot with a known expiry (given-back style: spendable at once)."""
    with transaction.atomic():
        entry = credit(member=member, points=points, idem_key=f"seed:{key}:{member.pk}", source=Source(reason="seed"),
                       expires_on=timezone.localdate() + dt.timedelta(days=expires_in_days))
    return entry.lot


def offset_sale(member, store, *, order_no: str, bill: str, points: int, at=None, coupon: str | None = None):
    """Offset `points` at the till, then post the sale paying the rest by wechat (and a coupon)."""
    offset, _ = redemption.offset_commit(member=member, store=store, order_no=order_no, points=points,
                                         bill_amount=Decimal(bill))
    tenders = [{"type": "points", "amount": str(offset.amount)}]
    rest = Decimal(bill) - offset.amount
    if coupon:
        tenders.append({"type": "coupon", "amount": coupon})
        rest -= Decimal(coupon)
    tenders.append({"type": "wechat", "amount": str(rest)})
    return offset, buy(member, store, bill, order_no=order_no, tenders=tenders,
                       at=at or timezone.now() - dt.timedelta(hours=1))


def refund(purchase, refund_no: str, amount: str, at=None):
    return refund_post(store=purchase.store, refund_no=refund_no, purchase=purchase, amount=Decimal(amount),
                       occurred_at=at or timezone.now())


def returned_lots(refund_obj: Refund) -> list[Lot]:
    return list(Lot.objects.filter(entry__refund=refund_obj, entry__kind=Entry.Kind.RETURNED).order_by("expires_on"))


# ---------------------------------------------------------------- 1. offset points come back in proportion


def test_refund_gives_back_offset_points_in_proportion_keeping_each_lots_expiry():
    """PTS-5, PTS-6c: a half refund gives back half the offset points (amount_total basis), the rest comes
    with the refund completing the bill; each share keeps the expiry of the lot it was spent from."""
    member, store = MemberFactory(), StoreFactory()
    soon = seed_lot(member, 3000, expires_in_days=10, key="soon")
    late = seed_lot(member, 5000, expires_in_days=400, key="late")
    offset, purchase = offset_sale(member, store, order_no="OF-1", bill="100.00", points=4000)  # 40 yuan
    earned = purchase.points_earned
    assert earned > 0 and balance(member) == 4000 + earned

    half = refund(purchase, "RF-1", "50.00").refund
    assert half.offset_points_returned == 2000 and half.points_reversed == earned // 2
    assert [(lot.points, lot.expires_on) for lot in returned_lots(half)] == [(2000, soon.expires_on)]

    rest = refund(purchase, "RF-2", "50.00").refund
    assert rest.offset_points_returned == 2000 and rest.points_reversed == earned - earned // 2
    assert [(lot.points, lot.expires_on) for lot in returned_lots(rest)] == [(1000, soon.expires_on),
                                                                            (1000, late.expires_on)]
    # Odoo #212922: refunding a points-paid order never takes the points a second time.
    assert balance(member) == 8000 and PointsAccount.objects.get(member=member).debt == 0
    offset.refresh_from_db()
    assert offset.status == Offset.Status.COMMITTED
    assert reconcile() == []


def test_retried_refund_gives_back_nothing_twice():
    """PTS-5, PTS-9: the refund's own key makes a retry a no-op (nothing given back or reversed again)."""
    member, store = MemberFactory(), StoreFactory()
    seed_lot(member, 5000, expires_in_days=100, key="a")
    _offset, purchase = offset_sale(member, store, order_no="OF-2", bill="200.00", points=5000)
    at = timezone.now()
    first = refund(purchase, "RF-1", "200.00", at)
    entries = Entry.objects.filter(member=member).count()
    again = refund(purchase, "RF-1", "200.00", at)
    assert first.created and not again.created and again.refund.pk == first.refund.pk
    assert Entry.objects.filter(member=member).count() == entries and balance(member) == 5000
    assert Notice.objects.filter(member=member, kind="refund_reversal").count() == 1
    assert reconcile() == []


def test_offset_points_whose_expiry_passed_come_back_with_the_grace_period():
    """PTS-5 rule: a spent share whose lot expired meanwhile comes back valid give_back_grace_days from today."""
    member, store = MemberFactory(), StoreFactory()
    seed_lot(member, 1000, expires_in_days=1, key="short")
    _offset, purchase = offset_sale(member, store, order_no="OF-3", bill="100.00", points=1000)
    with time_machine.travel(timezone.now() + dt.timedelta(days=5), tick=False):
        done = refund(purchase, "RF-1", "100.00").refund
        lots = returned_lots(done)
        grace = PointsConfig.get().give_back_grace_days
        assert grace == 30 and done.offset_points_returned == 1000 and done.offset_points_lapsed == 0
        assert [(lot.points, lot.expires_on) for lot in lots] == [(1000, timezone.localdate() + dt.timedelta(days=30))]
        assert reconcile() == []


def test_offset_points_whose_expiry_passed_are_recorded_not_given_back_with_no_grace():
    """PTS-5 rule with give_back_grace_days = 0: the expired share is recorded on the refund, not given back."""
    member, store = MemberFactory(), StoreFactory()
    PointsConfig.get()
    PointsConfig.objects.filter(pk=1).update(give_back_grace_days=0)
    seed_lot(member, 600, expires_in_days=1, key="short")
    seed_lot(member, 1000, expires_in_days=300, key="long")
    _offset, purchase = offset_sale(member, store, order_no="OF-4", bill="100.00", points=1000)
    with time_machine.travel(timezone.now() + dt.timedelta(days=5), tick=False):
        done = refund(purchase, "RF-1", "100.00").refund
        assert done.offset_points_returned == 400 and done.offset_points_lapsed == 600
        assert "600" in Notice.objects.get(member=member, kind="refund_reversal").body
        assert reconcile() == []


# ---------------------------------------------------------------- coupons on a full refund


def _coupon(member, **kw) -> Coupon:
    ctype = CouponType.objects.create(name="满100减10", face_value=Decimal("10.00"), validity_days=30, **kw)
    with transaction.atomic():
        return redemption.coupon_issue(member=member, coupon_type=ctype, source=Coupon.Source.COMPENSATION)


def test_full_refund_reinstates_valid_coupons_and_tells_why_not_for_expired_ones():
    """PTS-5 (PTS-10): coupons used on the order come back on the full refund while valid; an expired one is
    recorded with the reason and the member is told (inbox notice)."""
    member, store = MemberFactory(), StoreFactory()
    valid, lapsed = _coupon(member), _coupon(member)
    for code in (valid.code, lapsed.code):
        redemption.coupon_use(code=code, store=store, order_no="CP-1", bill_amount=Decimal("300.00"), member=member)
    purchase = buy(member, store, "300.00", order_no="CP-1", at=timezone.now() - dt.timedelta(hours=1),
                   tenders=[{"type": "coupon", "amount": "20.00"}, {"type": "wechat", "amount": "280.00"}])
    Coupon.objects.filter(pk=lapsed.pk).update(valid_from=timezone.now() - dt.timedelta(days=2),
                                               valid_to=timezone.now() - dt.timedelta(minutes=1))

    partial = refund(purchase, "RF-1", "100.00").refund
    assert partial.coupons_reinstated == [] and partial.coupons_not_reinstated == []
    full = refund(purchase, "RF-2", "200.00").refund
    assert full.coupons_reinstated == [valid.code]
    assert [item["code"] for item in full.coupons_not_reinstated] == [lapsed.code]
    valid.refresh_from_db()
    lapsed.refresh_from_db()
    assert valid.status == Coupon.Status.ISSUED and valid.used_order_no == "" and valid.used_at is None
    assert lapsed.status == Coupon.Status.USED
    notice = Notice.objects.get(member=member, kind="refund_reversal", ref=str(full.pk))
    assert valid.code in notice.body and lapsed.code in notice.body
    # The reinstated coupon is usable again, once.
    redemption.coupon_use(code=valid.code, store=store, order_no="CP-2", bill_amount=Decimal("100"), member=member)
    assert reconcile() == []


# ---------------------------------------------------------------- 3. voids and points tenders


def test_offset_cancel_refused_once_the_purchase_is_posted():
    """PTS-6c: after the sale is posted a void would give the points back while the points tender stands."""
    member, store = MemberFactory(), StoreFactory()
    seed_lot(member, 2000, expires_in_days=100, key="a")
    _offset, purchase = offset_sale(member, store, order_no="OF-5", bill="100.00", points=2000)
    before = balance(member)
    with pytest.raises(Conflict) as exc:
        redemption.offset_cancel(store=store, order_no="OF-5")
    assert exc.value.code == "offset_already_posted" and balance(member) == before
    assert reconcile() == []


def test_points_tender_must_match_a_committed_offset_of_member_store_and_order():
    """PTS-6c: a points tender with no offset, another member's, another amount or a voided one is refused."""
    member, other, store = MemberFactory(), MemberFactory(), StoreFactory()
    seed_lot(member, 5000, expires_in_days=100, key="a")
    seed_lot(other, 5000, expires_in_days=100, key="b")
    tenders = [{"type": "points", "amount": "20.00"}, {"type": "wechat", "amount": "80.00"}]

    def refused(order_no, who=member):
        with pytest.raises(PointsError) as exc:
            buy(who, store, "100.00", order_no=order_no, tenders=tenders)
        assert exc.value.code == "points_tender_unmatched" and "tenders" in exc.value.fields

    refused("PT-1")  # no offset at all
    redemption.offset_commit(member=other, store=store, order_no="PT-2", points=2000, bill_amount=Decimal("100"))
    refused("PT-2")  # another member's offset
    redemption.offset_commit(member=member, store=store, order_no="PT-3", points=1000, bill_amount=Decimal("100"))
    refused("PT-3")  # 10 yuan offset, 20 yuan tender
    redemption.offset_commit(member=member, store=store, order_no="PT-4", points=2000, bill_amount=Decimal("100"))
    redemption.offset_cancel(store=store, order_no="PT-4")
    refused("PT-4")  # voided
    redemption.offset_commit(member=member, store=store, order_no="PT-5", points=2000, bill_amount=Decimal("100"))
    assert buy(member, store, "100.00", order_no="PT-5", tenders=tenders).amount_paid == Decimal("80.00")
    assert reconcile() == []


def test_reposting_a_voided_offset_answers_offset_voided():
    """PTS-6c: the key of a voided offset answers "voided" (409), it does not pass for a success."""
    member, store = MemberFactory(), StoreFactory()
    seed_lot(member, 2000, expires_in_days=100, key="a")
    redemption.offset_commit(member=member, store=store, order_no="OV-1", points=500, bill_amount=Decimal("100"))
    redemption.offset_cancel(store=store, order_no="OV-1")
    with pytest.raises(Conflict) as exc:
        redemption.offset_commit(member=member, store=store, order_no="OV-1", points=500, bill_amount=Decimal("100"))
    assert exc.value.code == "offset_voided" and balance(member) == 2000
    assert reconcile() == []


# ---------------------------------------------------------------- 4. expired earned points are not reversed again


def _expire_lot_of(purchase):
    Lot.objects.filter(entry__purchase=purchase, entry__kind=Entry.Kind.CREDIT).update(
        expires_on=timezone.localdate() - dt.timedelta(days=1))
    expire_points_for(timezone.localdate())


def test_refund_after_own_points_expired_keeps_the_other_purchases_points():
    """PTS-5 rule: only what is left of the purchase's own lot, plus what was spent from it, is reversed;
    points that expired there are not taken again from other lots (a member once ended with 0 of 200)."""
    member, store = MemberFactory(), StoreFactory()
    first = buy(member, store, "100.00", order_no="EX-1", at=timezone.now() - dt.timedelta(days=3))
    buy(member, store, "100.00", order_no="EX-2", at=timezone.now() - dt.timedelta(days=1))
    assert first.points_earned == 100 and balance(member) == 200
    _expire_lot_of(first)
    assert balance(member) == 100
    done = refund(first, "RF-1", "100.00").refund
    assert done.points_reversed == 0 and done.points_expired == 100 and done.points_as_debt == 0
    assert balance(member) == 100
    first.refresh_from_db()
    assert first.points_reversed == 100  # never due again
    assert reconcile() == []


def test_refund_of_a_partly_spent_then_expired_lot_charges_only_the_spent_part():
    """PTS-5 rule: earned 100, 30 spent, 70 expired: a full refund reverses the 30 spent (from other lots) and
    leaves the 70 expired."""
    member, store = MemberFactory(), StoreFactory()
    first = buy(member, store, "100.00", order_no="EX-3", at=timezone.now() - dt.timedelta(days=3))
    with transaction.atomic():
        consume(member=member, points=30, idem_key="spend-30", source=Source(reason="gift"))
    buy(member, store, "100.00", order_no="EX-4", at=timezone.now() - dt.timedelta(days=1))
    _expire_lot_of(first)
    assert balance(member) == 100
    done = refund(first, "RF-1", "100.00").refund
    assert (done.points_reversed, done.points_expired) == (30, 70)
    assert balance(member) == 70
    assert reconcile() == []


# ---------------------------------------------------------------- 5. given back per source lot


def test_gift_cancel_gives_back_each_lot_with_its_own_expiry():
    """PTS-6a: 200 points from two lots come back as two lots with their own expiries, gaining no validity."""
    member, store = MemberFactory(), StoreFactory()
    soon = seed_lot(member, 100, expires_in_days=20, key="soon")
    late = seed_lot(member, 100, expires_in_days=120, key="late")
    now = timezone.now()
    gift = Gift.objects.create(name="保温杯", points_cost=200, stock=5, valid_from=now - dt.timedelta(days=1),
                               valid_to=now + dt.timedelta(days=30))
    order, _ = redemption.gift_order_place(member=member, gift=gift, quantity=1, store=store, request_id="g-1")
    redemption.gift_order_cancel(order=order)
    redemption.gift_order_cancel(order=order)  # a retry
    lots = Lot.objects.filter(entry__idem_key__startswith=f"gift-return:{order.pk}:").order_by("expires_on")
    assert [(lot.points, lot.expires_on) for lot in lots] == [(100, soon.expires_on), (100, late.expires_on)]
    assert balance(member) == 200 and reconcile() == []


def test_offset_void_gives_back_each_lot_with_its_own_expiry():
    """PTS-6c: a voided offset's points come back per source lot."""
    member, store = MemberFactory(), StoreFactory()
    soon = seed_lot(member, 300, expires_in_days=20, key="soon")
    late = seed_lot(member, 300, expires_in_days=120, key="late")
    offset, _ = redemption.offset_commit(member=member, store=store, order_no="OV-2", points=500,
                                         bill_amount=Decimal("100"))
    redemption.offset_cancel(store=store, order_no="OV-2")
    lots = Lot.objects.filter(entry__idem_key__startswith=f"offset-cancel:{offset.pk}:").order_by("expires_on")
    assert [(lot.points, lot.expires_on) for lot in lots] == [(300, soon.expires_on), (200, late.expires_on)]
    assert balance(member) == 600 and reconcile() == []


# ---------------------------------------------------------------- 2. the same itemisation: API, desk, inbox


@pytest.fixture
def till():
    store = StoreFactory()
    _device, token = device_create(name="Till 1", store=store)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {token}")
    return client, store


def test_refund_api_itemises_what_was_reversed_and_given_back(till):
    """PTS-5: the response lists points reversed, offset points returned, coupons, debt and cash deducted;
    the API schema states the amount_total basis; a points tender without an offset is a field error."""
    client, store = till
    member = MemberFactory()
    seed_lot(member, 3000, expires_in_days=100, key="a")
    coupon = _coupon(member)
    redemption.coupon_use(code=coupon.code, store=store, order_no="API-1", bill_amount=Decimal("100"), member=member)
    at = (timezone.now() - dt.timedelta(hours=1)).isoformat()
    body = {"member": {"card": member.member_no}, "order_no": "API-1", "occurred_at": at,
            "lines": [{"amount": "100.00"}],
            "tenders": [{"type": "points", "amount": "30.00"}, {"type": "coupon", "amount": "10.00"},
                        {"type": "wechat", "amount": "60.00"}]}
    r = client.post("/api/v1/purchases/", body, format="json")
    assert r.status_code == 400 and "tenders" in r.json()["fields"]
    client.post("/api/v1/offsets/", {"member": {"card": member.member_no}, "order_no": "API-1", "points": 3000,
                                     "bill_amount": "100.00"}, format="json")
    assert client.post("/api/v1/purchases/", body, format="json").status_code == 201
    r = client.post("/api/v1/refunds/", {"refund_no": "RF-API", "order_no": "API-1", "amount": "100.00",
                                         "occurred_at": timezone.now().isoformat()}, format="json")
    assert r.status_code == 201, r.content
    data = r.json()
    assert data["offset_points_returned"] == 3000 and data["points_reversed"] == 60
    assert data["coupons_reinstated"] == [coupon.code] and data["coupons_not_reinstated"] == []
    assert data["points_as_debt"] == 0 and data["cash_deducted"] == "0.00" and data["points_expired"] == 0
    # Re-posting the voided-offset key of another order answers 409 through the API too.
    client.post("/api/v1/offsets/", {"member": {"card": member.member_no}, "order_no": "API-2", "points": 100,
                                     "bill_amount": "100.00"}, format="json")
    client.post("/api/v1/offsets/cancel/", {"order_no": "API-2"}, format="json")
    r = client.post("/api/v1/offsets/", {"member": {"card": member.member_no}, "order_no": "API-2", "points": 100,
                                         "bill_amount": "100.00"}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "offset_voided"
    r = client.post("/api/v1/offsets/cancel/", {"order_no": "API-1"}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "offset_already_posted"
    assert reconcile() == []


def test_refund_schema_states_the_bill_basis():
    from points.api import RefundCreateApi

    assert "amount_total" in RefundCreateApi.InputSerializer().fields["amount"].help_text
    fields = RefundCreateApi.OutputSerializer().fields
    assert {"offset_points_returned", "coupons_reinstated", "coupons_not_reinstated", "points_as_debt",
            "cash_deducted", "points_reversed"} <= set(fields)


def test_desk_refund_page_shows_the_same_itemisation(client):
    """PTS-5: after posting, the desk page lists the refund's items as the API and the notice do."""
    store = StoreFactory()
    member = MemberFactory(home_store=store)
    seed_lot(member, 2000, expires_in_days=100, key="a")
    offset_sale(member, store, order_no="DK-1", bill="100.00", points=2000)
    client.force_login(make_staff(roles.FRONT_DESK, store=store))
    at = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    response = client.post(reverse("points_desk:refund", args=[member.member_no]),
                           {"order_no": "DK-1", "refund_no": "RF-D", "amount": "100.00", "occurred_at": at},
                           follow=True)
    html = response.content.decode()
    assert response.status_code == 200 and 'id="refund-items"' in html
    assert "Offset points given back" in html or "抵现积分退回" in html
    assert "2000" in html
    notice = Notice.objects.get(member=member, kind="refund_reversal")
    assert "2000" in notice.body


# ---------------------------------------------------------------- concurrency (PostgreSQL)


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_retries_of_a_refund_give_back_once():
    """PTS-5, PTS-9: two tills retry the same refund at the same moment; the offset points come back once."""
    member, store = MemberFactory(), StoreFactory()
    seed_lot(member, 4000, expires_in_days=100, key="a")
    _offset, purchase = offset_sale(member, store, order_no="CC-1", bill="100.00", points=4000)
    at = timezone.now()
    barrier = threading.Barrier(2)
    results: list = [None, None]

    def worker(i):
        try:
            barrier.wait(5)
            results[i] = refund_post(store=store, refund_no="RF-CC", purchase=purchase, amount=Decimal("100.00"),
                                     occurred_at=at).created
        except Exception as exc:  # noqa: BLE001 - the test inspects what each thread got
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    [t.start() for t in threads]
    [t.join(30) for t in threads]
    assert sorted(results) == [False, True], results
    assert Refund.objects.filter(purchase=purchase).count() == 1
    assert Entry.objects.filter(member=member, kind=Entry.Kind.RETURNED).aggregate(s=Sum("points"))["s"] == 4000
    assert balance(member) == 4000 and reconcile() == []
