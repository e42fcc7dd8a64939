"""Till quote API (BEN-2) and the public benefits table (BEN-1)."""
import pytest
from django.test import Client
from rest_framework.test import APIClient

from members.api_auth import device_create
from members.models import Member, Tier
from members.portal_auth import SESSION_KEY
from points.models import PointsAccount
from tests.factories import MemberFactory, StoreFactory, make_staff

# The quote and the purchase are posted with 2026-11-23 times: run at that day.
pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.benefits.urls"), pytest.mark.pinned_at("2026-11-25T12:00+08:00")]
URL = "/api/v1/checkout/quote/"


@pytest.fixture
def till():
    store = StoreFactory()
    _device, token = device_create(name="Till 1", store=store)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {token}")
    return client, store


def test_till_quote_then_purchase_credits_the_quoted_points(till):
    client, _store = till
    member = MemberFactory(tier=Tier.objects.get(code="platinum"))
    body = {"member": {"card": member.member_no}, "occurred_at": "2026-11-23T10:15:00+08:00",
            "lines": [{"brand": "LANCOME", "category": "化妆品", "amount": "680.00"},
                      {"brand": "APPLE", "category": "数码", "amount": "99.90"}]}
    r = client.post(URL, body, format="json")
    assert r.status_code == 200, r.content
    quote = r.json()
    assert quote["problems"] == [] and quote["steps"][0]["rule"] == "tier_benefit:discount:platinum"
    posted = client.post("/api/v1/purchases/", {"member": {"card": member.member_no}, "order_no": "Q-1",
                                                "occurred_at": quote["occurred_at"], "lines": quote["lines"],
                                                "tenders": quote["tenders"]}, format="json")
    assert posted.status_code == 201, posted.content
    assert posted.json()["points_earned"] == quote["points_to_earn"] > 0
    assert PointsAccount.objects.get(member=member).balance == quote["points_to_earn"]


def test_quote_problems_are_200_with_reasons(till):
    client, _store = till
    member = MemberFactory()
    r = client.post(URL, {"member": {"card": member.member_no}, "lines": [{"amount": "100"}],
                          "coupons": ["NOSUCHCODE"], "offset_points": 100}, format="json")
    assert r.status_code == 200, r.content
    assert {p["code"] for p in r.json()["problems"]} == {"coupon_not_found", "insufficient_points"}


def test_suspended_member_bad_basket_and_unknown_member_are_not_500(till):
    client, _store = till
    suspended = MemberFactory(status=Member.Status.SUSPENDED)
    r = client.post(URL, {"member": {"card": suspended.member_no}, "lines": [{"amount": "100"}]}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "member_inactive"
    member = MemberFactory()
    r = client.post(URL, {"member": {"card": member.member_no}, "lines": [{"amount": "-1"}]}, format="json")
    assert r.status_code == 400 and "lines[0].amount" in r.json()["fields"]
    r = client.post(URL, {"member": {"card": member.member_no}, "lines": []}, format="json")
    assert r.status_code == 400
    r = client.post(URL, {"member": {"card": member.member_no}, "lines": [{"amount": "1"}], "offset_points": -5},
                    format="json")
    assert r.status_code == 400
    r = client.post(URL, {"member": {"card": "nope"}, "lines": [{"amount": "1"}]}, format="json")
    assert r.status_code == 404


def test_quote_needs_a_till_or_staff_who_may_post_purchases():
    member = MemberFactory()
    body = {"member": {"card": member.member_no}, "lines": [{"amount": "1"}]}
    assert APIClient().post(URL, body, format="json").status_code in (401, 403)
    client = APIClient()
    client.force_login(make_staff(role=None))
    assert client.post(URL, body, format="json").status_code == 403


def test_quote_query_count_is_bounded(till, django_assert_max_num_queries):
    client, _store = till
    member = MemberFactory()
    with django_assert_max_num_queries(16):
        r = client.post(URL, {"member": {"card": member.member_no}, "lines": [{"amount": "100"}] * 20},
                        format="json")
    assert r.status_code == 200


def test_benefit_table_is_public():
    r = Client().get("/portal/benefits/")
    assert r.status_code == 200
    html = r.content.decode()
    for name in ("普通", "银卡", "金卡", "白金卡", "指定品牌折扣", "贵宾休息室", "9折"):
        assert name in html
    assert 'class="mine"' not in html


def test_benefit_table_highlights_the_members_tier():
    member = MemberFactory(tier=Tier.objects.get(code="gold"))
    client = Client()
    session = client.session
    session[SESSION_KEY] = member.pk
    session.save()
    html = client.get("/portal/benefits/").content.decode()
    assert 'data-tier="gold" class="mine" aria-current="true"' in html
    assert 'data-tier="silver" class="mine"' not in html
    assert html.count('<td class="mine">') == 12  # one per published benefit
