"""Till and staff API of redemption (PTS-6) and manual adjustment (PTS-7)."""
import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from members.api_auth import device_create
from points.models import Adjustment, Coupon, CouponType, Gift, Lottery, PointsAccount, Prize
from points.reconcile import reconcile
from points.services.ledger import Source, credit
from points.services.redemption import coupon_issue
from tests.factories import MemberFactory, StoreFactory, make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def till():
    store = StoreFactory()
    _device, token = device_create(name="Till 1", store=store)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {token}")
    return client, store


def rich_member(points=3000, **kw):
    member = MemberFactory(**kw)
    with transaction.atomic():
        credit(member=member, points=points, idem_key=f"seed:{member.pk}", source=Source(reason="seed"))
    return member


def balance(member) -> int:
    return PointsAccount.objects.get(member=member).balance


def window():
    now = timezone.now()
    return {"valid_from": now - dt.timedelta(days=1), "valid_to": now + dt.timedelta(days=10)}


def staff_client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_gift_catalogue_and_order_through_the_till(till):
    """PTS-6a: catalogue with eligible flags; order 201, retry 200, out of stock 409."""
    client, store = till
    member = rich_member(1200)
    cheap = Gift.objects.create(name="保温杯", points_cost=500, stock=1, **window())
    Gift.objects.create(name="行李箱", points_cost=5000, stock=3, **window())
    r = client.get(f"/api/v1/members/{member.member_no}/gifts/")
    assert r.status_code == 200
    flags = {g["name"]: (g["eligible"], g["code"]) for g in r.json()}
    assert flags == {"保温杯": (True, ""), "行李箱": (False, "insufficient_points")}
    body = {"member": {"card": member.member_no}, "gift": cheap.pk, "quantity": 1, "request_id": "T1-1"}
    first = client.post("/api/v1/gift-orders/", body, format="json")
    assert first.status_code == 201, first.content
    assert first.json()["points"] == 500 and first.json()["store"] == store.code
    retry = client.post("/api/v1/gift-orders/", body, format="json")
    assert retry.status_code == 200 and retry.json()["id"] == first.json()["id"]
    sold_out = client.post("/api/v1/gift-orders/", {**body, "request_id": "T1-2"}, format="json")
    assert sold_out.status_code == 409 and sold_out.json()["code"] == "gift_out_of_stock"
    assert client.post("/api/v1/gift-orders/", {**body, "gift": 999999, "request_id": "T1-3"},
                       format="json").status_code == 404
    cancel = client.post(f"/api/v1/gift-orders/{first.json()['id']}/cancel/", {}, format="json")
    assert cancel.status_code == 200 and cancel.json()["status"] == "cancelled"
    assert balance(member) == 1200 and not reconcile()


def test_gift_collect_and_return_at_the_desk(till):
    client, store = till
    member = rich_member(1000, home_store=store)
    gift = Gift.objects.create(name="雨伞", points_cost=300, stock=2, **window())
    order = client.post("/api/v1/gift-orders/", {"member": {"card": member.member_no}, "gift": gift.pk,
                                                 "request_id": "c1"}, format="json").json()
    assert client.post(f"/api/v1/gift-orders/{order['id']}/collect/").status_code == 403  # a till cannot
    staff = make_staff(None, store=store)
    staff.user_permissions.add(Permission.objects.get(content_type__app_label="points", codename="change_giftorder"))
    desk = staff_client(staff)
    r = desk.post(f"/api/v1/gift-orders/{order['id']}/collect/")
    assert r.status_code == 200 and r.json()["status"] == "collected"
    r = desk.post(f"/api/v1/gift-orders/{order['id']}/cancel/", {}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "gift_order_state"
    r = desk.post(f"/api/v1/gift-orders/{order['id']}/return/", {"reason": "质量问题"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "returned" and balance(member) == 1000
    other = staff_client(make_staff(None, store=StoreFactory()))
    assert other.post(f"/api/v1/gift-orders/{order['id']}/collect/").status_code in (403, 404)


def test_coupon_wallet_redeem_and_single_use_at_the_till(till):
    """PTS-6b: buy a coupon for points, see it in the wallet, use it once."""
    client, store = till
    member = rich_member(1500, home_store=store)  # the home store's till sees the codes in full
    ctype = CouponType.objects.create(name="满200减20", face_value=Decimal("20"), min_spend=Decimal("200"),
                                      validity_days=30, points_cost=1000)
    r = client.post("/api/v1/coupons/redeem/", {"member": {"card": member.member_no}, "coupon_type": ctype.pk,
                                                "request_id": "cr-1"}, format="json")
    assert r.status_code == 201, r.content
    code = r.json()["code"]
    assert client.post("/api/v1/coupons/redeem/", {"member": {"card": member.member_no}, "coupon_type": ctype.pk,
                                                   "request_id": "cr-1"}, format="json").status_code == 200
    wallet = client.get(f"/api/v1/members/{member.member_no}/coupons/").json()
    assert [c["code"] for c in wallet["coupons"]] == [code] and wallet["for_points"][0]["id"] == ctype.pk
    use = {"code": code, "member": {"card": member.member_no}, "order_no": "POS-9", "bill_amount": "150.00"}
    r = client.post("/api/v1/coupons/use/", use, format="json")
    assert r.status_code == 409 and r.json()["code"] == "coupon_min_spend"
    r = client.post("/api/v1/coupons/use/", {**use, "bill_amount": "250.00"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "used"
    assert client.post("/api/v1/coupons/use/", {**use, "bill_amount": "250.00"}, format="json").status_code == 200
    r = client.post("/api/v1/coupons/use/", {**use, "order_no": "POS-10", "bill_amount": "250.00"}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "coupon_used"
    r = client.post("/api/v1/coupons/use/", {**use, "code": "NOPE"}, format="json")
    assert r.status_code == 404 and r.json()["code"] == "coupon_not_found"
    assert balance(member) == 500 and not reconcile()


def test_staff_without_permission_cannot_use_coupons():
    store = StoreFactory()
    member = MemberFactory(home_store=store)
    ctype = CouponType.objects.create(name="x", face_value=Decimal("5"), validity_days=3)
    with transaction.atomic():
        coupon = coupon_issue(member=member, coupon_type=ctype, source=Coupon.Source.MANUAL)
    r = staff_client(make_staff(None, store=store)).post(
        "/api/v1/coupons/use/", {"code": coupon.code, "order_no": "1", "bill_amount": "10"}, format="json")
    assert r.status_code == 403 and r.json()["code"] == "permission"


def test_offset_quote_commit_retry_over_cap_and_cancel(till):
    """PTS-6c at the till."""
    client, store = till
    member = rich_member(3000)
    ref = {"card": member.member_no}
    q = client.post("/api/v1/offsets/quote/", {"member": ref, "bill_amount": "100.00"}, format="json")
    assert q.status_code == 200 and q.json()["max_points"] == 3000 and q.json()["max_amount"] == "30.00"
    over = client.post("/api/v1/offsets/", {"member": ref, "order_no": "O1", "bill_amount": "40.00",
                                            "points": 2001}, format="json")
    assert over.status_code == 400 and over.json()["code"] == "offset_over_cap"
    body = {"member": ref, "order_no": "O1", "bill_amount": "100.00", "points": 2500}
    first = client.post("/api/v1/offsets/", body, format="json")
    assert first.status_code == 201 and first.json()["amount"] == "25.00"
    retry = client.post("/api/v1/offsets/", body, format="json")
    assert retry.status_code == 200 and retry.json() == first.json()
    short = client.post("/api/v1/offsets/", {**body, "order_no": "O2", "bill_amount": "10000.00", "points": 600},
                        format="json")
    assert short.status_code == 409 and short.json()["code"] == "insufficient_points"
    cancel = client.post("/api/v1/offsets/cancel/", {"order_no": "O1"}, format="json")
    assert cancel.status_code == 200 and cancel.json()["status"] == "cancelled"
    assert client.post("/api/v1/offsets/cancel/", {"order_no": "O1"}, format="json").status_code == 200
    assert balance(member) == 3000 and not reconcile()


def test_lottery_list_and_draw(till):
    """PTS-6d."""
    client, store = till
    member = rich_member(100)
    now = timezone.now()
    lottery = Lottery.objects.create(name="抽奖", points_cost=60, starts_at=now - dt.timedelta(hours=1),
                                     ends_at=now + dt.timedelta(hours=1))
    Prize.objects.create(lottery=lottery, name="谢谢参与", kind=Prize.Kind.NOTHING, weight=1)
    r = client.get("/api/v1/lotteries/")
    assert r.status_code == 200 and r.json()[0]["prizes"][0]["in_stock"] is True
    body = {"member": {"card": member.member_no}, "request_id": "dr-1"}
    first = client.post(f"/api/v1/lotteries/{lottery.pk}/draw/", body, format="json")
    assert first.status_code == 201 and first.json()["prize"]["name"] == "谢谢参与"
    assert client.post(f"/api/v1/lotteries/{lottery.pk}/draw/", body, format="json").status_code == 200
    short = client.post(f"/api/v1/lotteries/{lottery.pk}/draw/", {**body, "request_id": "dr-2"}, format="json")
    assert short.status_code == 409 and short.json()["code"] == "insufficient_points"
    assert balance(member) == 40 and not reconcile()


def test_adjustment_request_and_second_approval_by_staff():
    """PTS-7 through the staff API: pending above the threshold, another person approves."""
    store = StoreFactory()
    member = MemberFactory(home_store=store)
    perms = Permission.objects.filter(content_type__app_label="points",
                                      codename__in=["add_adjustment", "approve_adjustment"])
    requester, approver = make_staff(None, store=store), make_staff(None, store=store)
    for user in (requester, approver):
        user.user_permissions.add(*perms)
    r = staff_client(requester).post("/api/v1/adjustments/", {"member_no": member.member_no, "points": 1500,
                                                               "reason": "系统故障补偿"}, format="json")
    assert r.status_code == 201 and r.json()["status"] == "pending"
    pk = r.json()["id"]
    same = staff_client(requester).post(f"/api/v1/adjustments/{pk}/approve/")
    assert same.status_code == 403 and same.json()["code"] == "same_approver"
    ok = staff_client(approver).post(f"/api/v1/adjustments/{pk}/approve/")
    assert ok.status_code == 200 and ok.json()["status"] == "applied"
    assert balance(member) == 1500 and Adjustment.objects.get(pk=pk).entry.points == 1500
    r = staff_client(requester).post("/api/v1/adjustments/", {"member_no": member.member_no, "points": 5000,
                                                               "reason": "x"}, format="json")
    rej = staff_client(approver).post(f"/api/v1/adjustments/{r.json()['id']}/reject/", {"reason": ""}, format="json")
    assert rej.status_code == 400
    rej = staff_client(approver).post(f"/api/v1/adjustments/{r.json()['id']}/reject/", {"reason": "无依据"},
                                      format="json")
    assert rej.status_code == 200 and rej.json()["status"] == "rejected"
    assert not reconcile()


def test_tills_cannot_adjust_points(till):
    client, _store = till
    member = MemberFactory()
    r = client.post("/api/v1/adjustments/", {"member_no": member.member_no, "points": 10, "reason": "x"},
                    format="json")
    assert r.status_code == 403


def test_redemption_endpoints_are_in_the_openapi_document():
    client = APIClient()
    client.force_login(make_staff(None, chain_wide=True))
    r = client.get("/api/schema/", {"format": "json"})
    assert r.status_code == 200
    paths = r.json()["paths"]
    for path in ["/api/v1/gift-orders/", "/api/v1/coupons/use/", "/api/v1/offsets/", "/api/v1/offsets/quote/",
                 "/api/v1/lotteries/{id}/draw/", "/api/v1/adjustments/{id}/approve/"]:
        assert path in paths, path
    assert "409" in paths["/api/v1/coupons/use/"]["post"]["responses"]


def test_admin_lists_points_records_read_only_and_config_editable():
    """Admin surfaces: every points model lists; ledger and redemption records cannot be added,
    changed or deleted; the adjustment approve action goes through the service (four eyes)."""
    from django.contrib.auth.models import User

    admin_user = User.objects.create_superuser("root", "root@example.com", "correct-horse-42")
    client = APIClient()
    client.force_login(admin_user)
    member = rich_member(100)
    for model in ["pointsconfig", "campaign", "gift", "coupontype", "lottery", "pointsaccount", "entry", "lot",
                  "consumption", "purchase", "refund", "giftorder", "coupon", "offset", "draw", "adjustment",
                  "expiryreminder"]:
        r = client.get(f"/admin/points/{model}/")
        assert r.status_code == 200, model
    assert client.get("/admin/points/pointsconfig/1/change/").status_code == 200
    assert client.get("/admin/points/entry/add/").status_code == 403
    assert client.get("/admin/points/pointsconfig/add/").status_code == 403  # a singleton
    entry_id = member.points_entries.get().pk
    assert client.post(f"/admin/points/entry/{entry_id}/delete/", {"post": "yes"}).status_code == 403
    requester = make_staff(None, store=member.home_store)
    requester.user_permissions.add(*Permission.objects.filter(content_type__app_label="points",
                                                              codename="add_adjustment"))
    from points.services.adjustments import adjustment_request

    adj = adjustment_request(member=member, points=2000, reason="x", staff=requester)
    r = client.post("/admin/points/adjustment/", {"action": "approve", "_selected_action": [adj.pk]}, follow=True)
    assert r.status_code == 200
    adj.refresh_from_db()
    assert adj.status == "applied" and adj.approved_by == admin_user and balance(member) == 2100


def test_gift_catalogue_query_count_does_not_grow_with_gifts(till, django_assert_max_num_queries):
    """No query per gift: the catalogue for a member takes the same queries for 2 or 12 gifts."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client, _store = till
    member = rich_member(100)
    counts = []
    for n in (2, 10):
        for i in range(n):
            Gift.objects.create(name=f"g{n}-{i}", points_cost=10, stock=1, **window())
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"/api/v1/members/{member.member_no}/gifts/").status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[1] <= counts[0]
    with django_assert_max_num_queries(counts[1]):
        client.get(f"/api/v1/members/{member.member_no}/gifts/")
