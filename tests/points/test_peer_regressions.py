"""Regression tests named after peers' loyalty bugs (issue 14 "Done means"), each driven through the till API
as a till would: purchases, refunds and points offsets posted with a device token (PTS-1, PTS-5, PTS-6c,
PTS-4). After every story the ledger reconciles (points.reconcile)."""
import datetime as dt

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from core.jobs import run_job
from members.api_auth import device_create
from points.models import Entry, Lot, PointsAccount, PointsConfig, Purchase
from points.reconcile import reconcile
from tests.factories import MemberFactory, StoreFactory

pytestmark = [pytest.mark.django_db, pytest.mark.pinned_at("2026-11-25T12:00+08:00")]


@pytest.fixture
def till():
    store = StoreFactory()
    _device, token = device_create(name="Till R", store=store)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {token}")
    return client, store


def account(member) -> tuple[int, int]:
    a = PointsAccount.objects.filter(member=member).first()
    return (a.balance, a.debt) if a else (0, 0)


def sale(client, member, order_no, amount, *, at="2026-11-24T10:00:00+08:00", tenders=None):
    body = {"member": {"card": member.member_no}, "order_no": order_no, "occurred_at": at,
            "lines": [{"brand": "B", "category": "服装", "amount": amount}],
            "tenders": tenders or [{"type": "wechat", "amount": amount}]}
    r = client.post("/api/v1/purchases/", body, format="json")
    assert r.status_code == 201, r.content
    return r.json()


def refund(client, order_no, refund_no, amount, *, at="2026-11-25T10:00:00+08:00"):
    r = client.post("/api/v1/refunds/", {"refund_no": refund_no, "order_no": order_no, "amount": amount,
                                         "occurred_at": at}, format="json")
    assert r.status_code == 201, r.content
    return r.json()


def test_odoo_257854_a_refund_takes_back_the_earned_points(till):
    """Odoo #257854: a refunded order kept the points it earned. Here a full refund reverses them all."""
    client, _store = till
    member = MemberFactory()
    assert sale(client, member, "O-1", "500.00")["points_earned"] == 500
    assert account(member) == (500, 0)
    body = refund(client, "O-1", "R-1", "500.00")
    assert body["points_reversed"] == 500
    assert account(member) == (0, 0)
    assert Purchase.objects.get(order_no="O-1").points_reversed == 500
    assert not reconcile()


def test_odoo_212922_refund_of_a_points_paid_order_does_not_take_the_points_again(till):
    """Odoo #212922: refunding an order paid partly with points deducted the spent points a second time.
    Here the refund gives the offset points back and reverses only what the order earned."""
    client, _store = till
    member = MemberFactory()
    sale(client, member, "O-0", "300.00", at="2026-11-20T10:00:00+08:00")  # 300 points to spend
    r = client.post("/api/v1/offsets/", {"member": {"card": member.member_no}, "order_no": "O-2",
                                         "bill_amount": "100.00", "points": 200}, format="json")
    assert r.status_code == 201, r.content
    assert account(member) == (100, 0)
    earned = sale(client, member, "O-2", "100.00",
                  tenders=[{"type": "wechat", "amount": "98.00"}, {"type": "points", "amount": "2.00"}])["points_earned"]
    assert account(member) == (100 + earned, 0)
    body = refund(client, "O-2", "R-2", "100.00")
    assert body["offset_points_returned"] == 200 and body["points_reversed"] == earned
    assert account(member) == (300, 0)  # the 200 spent came back; nothing taken twice, no debt
    assert Entry.objects.filter(member=member, kind="debit").count() == 1
    assert not reconcile()


def test_erpnext_32951_returns_are_reversed_in_proportion_and_in_full(till):
    """ERPNext #32951: sales returns did not reverse the loyalty points. Here two partial returns reverse
    their share (rounded down) and the return that completes the bill reverses the rest."""
    client, _store = till
    member = MemberFactory()
    sale(client, member, "O-3", "999.00")
    assert refund(client, "O-3", "R-3a", "333.00")["points_reversed"] == 333
    assert account(member) == (666, 0)
    assert refund(client, "O-3", "R-3b", "100.50", at="2026-11-25T11:00:00+08:00")["points_reversed"] == 100
    assert refund(client, "O-3", "R-3c", "565.50", at="2026-11-25T11:30:00+08:00")["points_reversed"] == 566
    assert account(member) == (0, 0)
    # a retried return is answered from its first result and reverses nothing again
    r = client.post("/api/v1/refunds/", {"refund_no": "R-3c", "order_no": "O-3", "amount": "565.50",
                                         "occurred_at": "2026-11-25T11:30:00+08:00"}, format="json")
    assert r.status_code == 200 and account(member) == (0, 0)
    assert not reconcile()


def test_odoo_247740_expired_points_cannot_be_spent_nor_taken_again(till):
    """Odoo #247740: points past their expiry could still be claimed (spent). Here the nightly expiry takes
    them; the till's offset is refused for lack of points; a later refund of the order that earned them
    does not take them a second time from other points (they are recorded as expired)."""
    client, store = till
    config = PointsConfig.get()
    config.expiry_months = 1
    config.save()
    member = MemberFactory()
    with time_machine.travel(dt.datetime(2026, 8, 3, 12, tzinfo=dt.timezone(dt.timedelta(hours=8)))):
        sale(client, member, "O-4", "400.00", at="2026-08-03T10:00:00+08:00")
    assert Lot.objects.get(member=member).expires_on < timezone.localdate()
    sale(client, member, "O-5", "50.00")  # fresh points, valid
    run = run_job("expire_points", date=timezone.localdate())
    assert run.counts["points"] == 400
    assert account(member) == (50, 0)
    r = client.post("/api/v1/offsets/", {"member": {"card": member.member_no}, "order_no": "O-6",
                                         "bill_amount": "1000.00", "points": 300}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "insufficient_points"
    body = refund(client, "O-4", "R-4", "400.00")
    assert body["points_reversed"] == 0
    assert account(member) == (50, 0)  # the fresh 50 stay
    assert not reconcile()
