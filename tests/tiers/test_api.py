"""Tier API and admin (TIER-2..5) through the client."""
import datetime as dt

import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from members import roles
from members.api_auth import device_create
from members.models import Member
from tests.factories import MemberFactory, StoreFactory, make_staff
from tests.points.helpers import buy
from tiers import services
from tiers.models import TierChange, TierProposal

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.tiers.urls")]


def staff_client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def manual_silver(tiers):
    tiers["silver"].confirmation = "manual"
    tiers["silver"].save()
    return tiers["silver"]


def test_member_tier_status_api_for_till(tiers):
    """TIER-2: a till reads tier, rolling amount and the amount to the next tier."""
    store = StoreFactory()
    _device, token = device_create(name="Till", store=store)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {token}")
    member = MemberFactory(home_store=store)
    buy(member, store, "1000.00", order_no="T1")
    r = client.get(f"/api/v1/members/{member.member_no}/tier/")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["tier"]["code"] == "normal" and body["rolling_amount"] == "1000.00"
    assert body["next_tier"]["code"] == "silver" and body["amount_to_next"] == "4000.00"
    assert client.get("/api/v1/members/000/tier/").status_code == 404


def test_member_tier_history_api_scoped(tiers, django_assert_max_num_queries):
    """TIER-5: history newest first; staff of another store get 404."""
    ops = make_staff(roles.OPERATIONS_MANAGER, chain_wide=True)
    member = MemberFactory()
    services.tier_floor_grant(member=member, tier=tiers["gold"], until=timezone.localdate(), reason="r", staff=ops)
    desk = make_staff(roles.FRONT_DESK, store=member.home_store)
    client = staff_client(desk)
    with django_assert_max_num_queries(12):
        r = client.get(f"/api/v1/members/{member.member_no}/tier/history/")
    assert r.status_code == 200, r.content
    assert r.json()["results"][0]["kind"] == "manual" and r.json()["results"][0]["to_tier"]["code"] == "gold"
    other = staff_client(make_staff(roles.FRONT_DESK, store=StoreFactory()))
    assert other.get(f"/api/v1/members/{member.member_no}/tier/history/").status_code == 404


def test_tier_grant_api_validates_and_checks_role(tiers):
    """TIER-4: manual grant needs the permission, a reason, a future end date and a known tier."""
    member = MemberFactory()
    ops = staff_client(make_staff(roles.OPERATIONS_MANAGER, chain_wide=True))
    url = f"/api/v1/members/{member.member_no}/tier/grant/"
    until = (timezone.localdate() + dt.timedelta(days=30)).isoformat()
    r = ops.post(url, {"tier": "platinum", "until": until, "reason": "board member"}, format="json")
    assert r.status_code == 201, r.content
    assert Member.objects.get(pk=member.pk).tier.code == "platinum"
    assert ops.post(url, {"tier": "nope", "until": until, "reason": "x"}, format="json").status_code == 400
    r = ops.post(url, {"tier": "gold", "until": "2000-01-01", "reason": "x"}, format="json")
    assert r.status_code == 400 and "until" in r.json()["fields"]
    desk = staff_client(make_staff(roles.FRONT_DESK, store=member.home_store))
    assert desk.post(url, {"tier": "gold", "until": until, "reason": "x"}, format="json").status_code == 403


def test_proposal_queue_api_scope_and_decisions(manual_silver):
    """TIER-4: queue scoped to the manager's store; approve, reject (reason required), bulk."""
    day = timezone.localdate() - dt.timedelta(days=1)
    store_a, store_b = StoreFactory(), StoreFactory()
    a1, a2, a3 = (MemberFactory(home_store=store_a) for _ in range(3))
    b1 = MemberFactory(home_store=store_b)
    for i, m in enumerate([a1, a2, a3, b1]):
        buy(m, m.home_store, "5000.00", order_no=f"Q{i}", at=day)
    services.tiers_evaluate(day=day)
    client = staff_client(make_staff(roles.OPERATIONS_MANAGER, store=store_a))
    r = client.get("/api/v1/tier-proposals/")
    assert r.status_code == 200, r.content
    listed = {p["member_no"] for p in r.json()["results"]}
    assert listed == {a1.member_no, a2.member_no, a3.member_no}
    pid = {m.pk: TierProposal.objects.get(member=m).pk for m in [a1, a2, a3, b1]}
    assert client.post(f"/api/v1/tier-proposals/{pid[b1.pk]}/approve/", {}, format="json").status_code == 404
    r = client.post(f"/api/v1/tier-proposals/{pid[a1.pk]}/approve/", {"reason": "ok"}, format="json")
    assert r.status_code == 200 and r.json()["to_tier"]["code"] == "silver"
    assert client.post(f"/api/v1/tier-proposals/{pid[a1.pk]}/approve/", {}, format="json").status_code == 409
    r = client.post(f"/api/v1/tier-proposals/{pid[a2.pk]}/reject/", {}, format="json")
    assert r.status_code == 400 and "reason" in r.json()["fields"]
    r = client.post(f"/api/v1/tier-proposals/{pid[a2.pk]}/reject/", {"reason": "company purchases"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "rejected" and r.json()["reason"] == "company purchases"
    r = client.post("/api/v1/tier-proposals/decide/", {"ids": [pid[a3.pk], pid[b1.pk]], "approve": True},
                    format="json")
    assert r.status_code == 200 and r.json()["done"] == [pid[a3.pk]] and str(pid[b1.pk]) in r.json()["errors"]
    assert Member.objects.get(pk=b1.pk).tier.code == "normal"
    desk = staff_client(make_staff(roles.FRONT_DESK, store=store_a))
    assert desk.get("/api/v1/tier-proposals/").status_code == 403


def test_tier_endpoints_are_in_the_openapi_document():
    """API surface: every tier endpoint is documented with its error responses."""
    schema = SchemaGenerator(urlconf="tests.tiers.urls").get_schema(request=None, public=True)
    paths = schema["paths"]
    assert "404" in paths["/api/v1/members/{member_no}/tier/"]["get"]["responses"]
    assert "409" in paths["/api/v1/tier-proposals/{id}/approve/"]["post"]["responses"]
    assert "/api/v1/tier-proposals/decide/" in paths


def test_admin_pages_and_actions(manual_silver, client):
    """Admin: history read-only, proposals approved / rejected through the services."""
    day = timezone.localdate() - dt.timedelta(days=1)
    m1, m2 = MemberFactory(), MemberFactory()
    buy(m1, m1.home_store, "5000.00", order_no="AD1", at=day)
    buy(m2, m2.home_store, "5000.00", order_no="AD2", at=day)
    services.tiers_evaluate(day=day)
    ops = make_staff(roles.OPERATIONS_MANAGER, chain_wide=True)
    client.force_login(ops)
    url = "/admin/tiers/tierproposal/"
    assert client.get(url).status_code == 200
    p1, p2 = TierProposal.objects.get(member=m1), TierProposal.objects.get(member=m2)
    r = client.post(url, {"action": "approve_proposals", "_selected_action": [p1.pk]})
    assert r.status_code == 302
    assert Member.objects.get(pk=m1.pk).tier.code == "silver" and TierChange.objects.filter(member=m1).exists()
    r = client.post(url, {"action": "reject_proposals", "_selected_action": [p2.pk]})
    assert r.status_code == 200  # asks for the reason
    client.post(url, {"action": "reject_proposals", "_selected_action": [p2.pk], "apply": "1",
                      "reason": "not eligible"})
    p2.refresh_from_db()
    assert p2.status == "rejected" and p2.reason == "not eligible"
    r = client.get("/admin/tiers/tierchange/")
    assert r.status_code == 200
    assert client.get(f"/admin/tiers/tierchange/{TierChange.objects.get(member=m1).pk}/change/").status_code == 200
    assert client.get("/admin/tiers/tierchange/add/").status_code == 403
