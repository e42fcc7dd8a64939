"""Issue 13: the leaks and bad inputs found by probing a running server, each through the surface it was
found on (SEC-2..5, PTS-9). Every test here failed on the main of 2026-12-01."""
import datetime as dt
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from members import roles
from members.api_auth import device_create
from members.models import ConsentLog
from points.models import Adjustment, Coupon, CouponType, PointsAccount, PointsConfig, Purchase
from tests.factories import MemberFactory, StoreFactory, make_staff

pytestmark = [pytest.mark.django_db, pytest.mark.pinned_at("2026-11-25T12:00+08:00")]

AT = "2026-11-25T10:15:00+08:00"
LINES = [{"brand": "LANCOME", "category": "化妆品", "amount": "680.00"}]
TENDERS = [{"type": "wechat", "amount": "680.00"}]


def till_for(store):
    _device, token = device_create(name=f"Till {store.code}", store=store)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {token}")
    return client


def staff_client(user):
    client = APIClient()
    client.force_login(user)
    return client


def purchase(client, member, order_no="POS-1", **overrides):
    body = {"member": {"card": member.member_no}, "order_no": order_no, "occurred_at": AT, "lines": LINES,
            "tenders": TENDERS, **overrides}
    return client.post("/api/v1/purchases/", body, format="json")


# ---------------------------------------------------------------- access (SEC-3)


def test_staff_cannot_refund_another_stores_order_through_the_api():
    """Regression: a store-1 front desk naming store 2 as original_store reversed store 2's points (201)."""
    s1, s2 = StoreFactory(), StoreFactory()
    member = MemberFactory(home_store=s2)
    assert purchase(till_for(s2), member).status_code == 201
    desk = staff_client(make_staff(roles.FRONT_DESK, store=s1))
    response = desk.post("/api/v1/refunds/", {"store": s1.code, "refund_no": "RF-X", "original_store": s2.code,
                                              "order_no": "POS-1", "amount": "100.00", "occurred_at": AT},
                         format="json")
    assert response.status_code == 404 and response.json()["code"] == "order_not_found"
    assert Purchase.objects.get(store=s2).amount_refunded == 0


def test_a_till_takes_back_another_stores_order_by_its_receipt_and_both_stores_are_recorded():
    """Decision: cross-store returns are real in a chain; the till names the original store and order."""
    s1, s2 = StoreFactory(), StoreFactory()
    member = MemberFactory(home_store=s2)
    purchase(till_for(s2), member)
    response = till_for(s1).post("/api/v1/refunds/", {"refund_no": "RF-1", "original_store": s2.code,
                                                      "order_no": "POS-1", "amount": "340.00", "occurred_at": AT},
                                 format="json")
    assert response.status_code == 201, response.content
    refund = Purchase.objects.get(store=s2).refunds.get()
    assert refund.store == s1 and refund.purchase.store == s2


@pytest.mark.parametrize("role", [roles.AUDITOR, roles.OPERATIONS_MANAGER])
def test_lookers_cannot_change_consent_through_the_api(role):
    """Regression: the consent API only checked view_member; the desk page refuses these roles."""
    store = StoreFactory()
    member = MemberFactory(home_store=store, marketing_consent=True)
    client = staff_client(make_staff(role, store=store))
    response = client.post(f"/api/v1/members/{member.member_no}/consents/", {"marketing": False}, format="json")
    assert response.status_code == 403
    member.refresh_from_db()
    assert member.marketing_consent is True and not ConsentLog.objects.filter(member=member).exists()


def test_another_stores_till_sees_wallet_codes_masked():
    home, other = StoreFactory(), StoreFactory()
    member = MemberFactory(home_store=home)
    ctype = CouponType.objects.create(name="满100减10", face_value=Decimal("10"), min_spend=Decimal("100"),
                                      validity_days=30)
    from django.utils import timezone

    now = timezone.now()
    Coupon.objects.create(type=ctype, member=member, code="C00000004321", status=Coupon.Status.ISSUED,
                          source=Coupon.Source.MANUAL, valid_from=now - dt.timedelta(days=1),
                          valid_to=now + dt.timedelta(days=9))
    url = f"/api/v1/members/{member.member_no}/coupons/"
    assert till_for(home).get(url).json()["coupons"][0]["code"] == "C00000004321"
    masked = till_for(other).get(url).json()["coupons"][0]["code"]
    assert masked.endswith("4321") and "C0000000" not in masked


# ---------------------------------------------------------------- bad input: a clear 4xx, never a 500


@pytest.mark.parametrize("path", ["/api/v1/purchases/", "/api/v1/refunds/", "/api/v1/checkout/quote/",
                                  "/api/v1/offsets/", "/api/v1/gift-orders/"])
def test_deeply_nested_json_is_refused_before_parsing(path):
    client = till_for(StoreFactory())
    body = "[" * 10_000 + "]" * 10_000
    response = client.post(path, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_a_body_over_the_size_limit_is_413():
    client = till_for(StoreFactory())
    body = '{"order_no": "' + "x" * 300_000 + '"}'
    response = client.post("/api/v1/purchases/", body, content_type="application/json")
    assert response.status_code == 413 and set(response.json()) == {"code", "detail", "fields"}


@pytest.mark.parametrize("when", ["9999-12-31T23:59:59+08:00", "1970-01-01T00:00:00+08:00",
                                  "2026-11-25T13:00:00+08:00"])
def test_purchase_times_outside_the_sane_window_are_refused(when):
    store = StoreFactory()
    response = purchase(till_for(store), MemberFactory(home_store=store), occurred_at=when)
    assert response.status_code == 400, response.content
    assert "occurred_at" in response.json()["fields"]


def test_a_refund_before_its_purchase_is_refused():
    store = StoreFactory()
    client = till_for(store)
    purchase(client, MemberFactory(home_store=store))
    response = client.post("/api/v1/refunds/", {"refund_no": "RF-1", "order_no": "POS-1", "amount": "1.00",
                                                "occurred_at": "2026-11-24T10:00:00+08:00"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "time_out_of_range"


@pytest.mark.parametrize("amount", ["1e5", "１００.００", "١٠٠", "100.001", " NaN", "Infinity"])
def test_only_plain_decimal_amounts_are_accepted(amount):
    store = StoreFactory()
    response = purchase(till_for(store), MemberFactory(home_store=store),
                        lines=[{"amount": amount}], tenders=[{"type": "cash", "amount": amount}])
    assert response.status_code == 400
    assert any(key.startswith("lines[0]") for key in response.json()["fields"]), response.json()


def test_absurd_line_and_bill_amounts_are_refused_with_the_configured_maximum():
    store = StoreFactory()
    member = MemberFactory(home_store=store)
    client = till_for(store)
    huge = purchase(client, member, lines=[{"amount": "9999999999.99"}],
                    tenders=[{"type": "cash", "amount": "9999999999.99"}])
    assert huge.status_code == 400
    config = PointsConfig.get()
    line = purchase(client, member, order_no="POS-2", lines=[{"amount": "5000000.01"}],
                    tenders=[{"type": "cash", "amount": "5000000.01"}])
    assert line.status_code == 400 and str(config.max_line_amount) in line.json()["fields"]["lines[0].amount"][0]
    bill = purchase(client, member, order_no="POS-3", lines=[{"amount": "4000000.00"}] * 3,
                    tenders=[{"type": "cash", "amount": "12000000.00"}])
    assert bill.status_code == 400 and "lines" in bill.json()["fields"]
    assert not PointsAccount.objects.filter(member=member, balance__gt=0).exists()


def test_nested_field_errors_come_back_flat_as_documented():
    store = StoreFactory()
    response = purchase(till_for(store), MemberFactory(home_store=store),
                        lines=[{"amount": "10.00"}, {"brand": "X"}], tenders=[{"type": "cash", "amount": "10.00"}])
    body = response.json()
    assert response.status_code == 400 and set(body) == {"code", "detail", "fields"}
    assert all(isinstance(v, list) and all(isinstance(m, str) for m in v) for v in body["fields"].values())
    assert "lines[1].amount" in body["fields"]


@pytest.mark.parametrize("points", [10**18, 2**63, -(10**18)])
def test_absurd_manual_adjustments_are_refused(points):
    """Regression: 10^18 points were accepted pending, then approved; beyond bigint a 500."""
    store = StoreFactory()
    member = MemberFactory(home_store=store)
    client = staff_client(make_staff(roles.FRONT_DESK, store=store))
    response = client.post("/api/v1/adjustments/", {"member_no": member.member_no, "points": points,
                                                   "reason": "手工调整"}, format="json")
    assert response.status_code == 400 and "points" in response.json()["fields"]
    assert not Adjustment.objects.exists()


def test_the_service_bound_is_the_configured_maximum():
    from points.errors import PointsError
    from points.services.adjustments import adjustment_request

    store = StoreFactory()
    staff = make_staff(roles.FRONT_DESK, store=store)
    member = MemberFactory(home_store=store)
    limit = PointsConfig.get().max_adjustment_points
    with pytest.raises(PointsError) as refused:
        adjustment_request(member=member, points=limit + 1, reason="太多", staff=staff)
    assert str(limit) in refused.value.fields["points"][0]


@pytest.mark.parametrize("query", ["limit=9223372036854775808", "offset=9223372036854775808", "limit=1000000",
                                   "offset=-1", "offset=１"])
def test_list_paging_is_bounded(query):
    store = StoreFactory()
    member = MemberFactory(home_store=store)
    client = staff_client(make_staff(roles.FRONT_DESK, store=store))
    response = client.get(f"/api/v1/members/{member.member_no}/points/history/?{query}")
    assert response.status_code in (200, 400), response.content
    if response.status_code == 200:
        assert response.json().get("results") is not None
    if "offset=" in query:
        assert response.status_code == 400


def test_the_schema_documents_the_errors_any_operation_can_answer(client):
    """401, 413 and 414 on the purchase API (core.api.document_common_errors)."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    responses = schema["paths"]["/api/v1/purchases/"]["post"]["responses"]
    assert {"400", "401", "413", "414"} <= set(responses)
    assert responses["413"]["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/Error"
