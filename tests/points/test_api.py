"""Till API of points (PTS-9, PTS-5, PTS-8)."""
import pytest
from rest_framework.test import APIClient

from members.api_auth import device_create
from points.models import PointsAccount
from tests.factories import MemberFactory, StoreFactory, make_staff

# Orders of 2026-11-23 and refunds of 2026-11-24: the tests run just after them.
pytestmark = [pytest.mark.django_db, pytest.mark.pinned_at("2026-11-25T12:00+08:00")]

BODY = {
    "order_no": "POS-1", "occurred_at": "2026-11-23T10:15:00+08:00",
    "lines": [{"brand": "LANCOME", "category": "化妆品", "amount": "680.00"}],
    "tenders": [{"type": "wechat", "amount": "580.00"}, {"type": "coupon", "amount": "100.00"}],
}


@pytest.fixture
def till():
    store = StoreFactory()
    device, token = device_create(name="Till 1", store=store)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {token}")
    return client, store


def test_till_posts_purchase_and_retry_returns_first_result(till):
    client, store = till
    member = MemberFactory()
    body = {**BODY, "member": {"card": member.member_no}}
    first = client.post("/api/v1/purchases/", body, format="json")
    assert first.status_code == 201, first.content
    assert first.json()["points_earned"] == 580 and first.json()["balance"] == 580
    retry = client.post("/api/v1/purchases/", body, format="json")
    assert retry.status_code == 200 and retry.json() == first.json()
    changed = client.post("/api/v1/purchases/", {**body, "lines": [{"amount": "681.00"}],
                                                 "tenders": [{"type": "cash", "amount": "681.00"}]}, format="json")
    assert changed.status_code == 409 and changed.json()["code"] == "idempotency_conflict"
    assert PointsAccount.objects.get(member=member).balance == 580


def test_bad_purchase_input_is_400_with_fields(till):
    client, _ = till
    member = MemberFactory()
    r = client.post("/api/v1/purchases/", {**BODY, "member": {"card": member.member_no},
                                           "tenders": [{"type": "cash", "amount": "1.00"}]}, format="json")
    assert r.status_code == 400 and "tenders" in r.json()["fields"]
    r = client.post("/api/v1/purchases/", {**BODY, "member": {}}, format="json")
    assert r.status_code == 400
    r = client.post("/api/v1/purchases/", {**BODY, "member": {"card": "nope"}}, format="json")
    assert r.status_code == 404


def test_refund_via_api_and_over_refund_refused(till):
    client, store = till
    member = MemberFactory()
    client.post("/api/v1/purchases/", {**BODY, "member": {"card": member.member_no}}, format="json")
    r = client.post("/api/v1/refunds/", {"refund_no": "RF-1", "order_no": "POS-1", "amount": "340.00",
                                         "occurred_at": "2026-11-24T10:00:00+08:00"}, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["points_reversed"] == 290
    r = client.post("/api/v1/refunds/", {"refund_no": "RF-2", "order_no": "POS-1", "amount": "341.00",
                                         "occurred_at": "2026-11-24T10:00:00+08:00"}, format="json")
    assert r.status_code == 400 and r.json()["code"] == "refund_exceeds"
    r = client.post("/api/v1/refunds/", {"refund_no": "RF-3", "order_no": "NOPE", "amount": "1.00",
                                         "occurred_at": "2026-11-24T10:00:00+08:00"}, format="json")
    assert r.status_code == 404


def test_points_summary_and_history(till):
    client, store = till
    member = MemberFactory()
    client.post("/api/v1/purchases/", {**BODY, "member": {"card": member.member_no}}, format="json")
    r = client.get(f"/api/v1/members/{member.member_no}/points/")
    assert r.status_code == 200 and r.json()["balance"] == 580 and r.json()["cash_value"] == "5.80"
    h = client.get(f"/api/v1/members/{member.member_no}/points/history/")
    assert h.status_code == 200
    assert h.json()["results"][0]["order_no"] == "POS-1" and h.json()["results"][0]["store"] == store.code


def test_staff_of_another_store_cannot_read_points():
    member = MemberFactory()
    staff = make_staff()
    client = APIClient()
    client.force_login(staff)
    assert client.get(f"/api/v1/members/{member.member_no}/points/").status_code == 404


def test_staff_without_permission_cannot_post(client):
    from members import roles

    auditor = make_staff(roles.AUDITOR, chain_wide=True)
    api = APIClient()
    api.force_login(auditor)
    member = MemberFactory()
    r = api.post("/api/v1/purchases/", {**BODY, "member": {"card": member.member_no}, "store": member.home_store.code},
                 format="json")
    assert r.status_code == 403
