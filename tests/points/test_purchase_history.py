"""Purchase history (PTS-8; the standard's 会员消费详细信息, seed 000 §查询: members query their 消费记录 on
the portal, at the service desk and through the API): one selector, three surfaces, each scoped."""
import datetime as dt

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from members import roles
from members.api_auth import device_create
from points.services.purchases import refund_post
from tests.factories import MemberFactory, StoreFactory, make_staff
from tests.members.test_portal import login_as, zh
from tests.points.helpers import buy

pytestmark = [pytest.mark.django_db, pytest.mark.pinned_at("2026-11-25T12:00+08:00")]

AT = dt.datetime.fromisoformat("2026-11-23T10:15:00+08:00")
MIXED_TENDERS = [{"type": "wechat", "amount": "580.00"}, {"type": "coupon", "amount": "100.00"}]


@pytest.fixture
def stores():
    return StoreFactory(name="王府井店"), StoreFactory(name="西单店")


@pytest.fixture
def member(stores):
    return MemberFactory(home_store=stores[0])


@pytest.fixture
def orders(member, stores):
    """Two orders at the home store (one partly refunded) and one at the other store."""
    home, other = stores
    first = buy(member, home, "680.00", order_no="A-1", at=AT, tenders=MIXED_TENDERS)
    refund_post(store=home, refund_no="RF-1", purchase=first, amount="340.00", occurred_at=AT + dt.timedelta(days=1))
    buy(member, home, "100.00", order_no="A-2", at=AT + dt.timedelta(hours=1))
    buy(member, other, "50.00", order_no="B-1", at=AT + dt.timedelta(hours=2))
    return first


def till_client(store) -> APIClient:
    _device, token = device_create(name="Till", store=store)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {token}")
    return client


# ---------------------------------------------------------------- portal


def test_portal_lists_own_orders_with_amounts_points_and_refunds(client, member, orders):
    login_as(client, member)
    r = client.get(reverse("points_portal:purchases"))
    assert r.status_code == 200
    html = r.content.decode()
    assert [p.order_no for p in r.context["page"].object_list] == ["B-1", "A-2", "A-1"]
    assert "¥680.00" in html and "¥580.00" in html and "+580" in html and "-290" in html
    assert "王府井店" in html and "西单店" in html
    assert "2026-11-23 10:15" in html  # local time, Asia/Shanghai
    assert "?store=" in html and "&amp;order=A-1" in html


def test_portal_order_detail_shows_lines_tender_labels_and_refunds(client, member, orders, stores):
    login_as(client, member)
    r = client.get(reverse("points_portal:purchase"), {"store": stores[0].code, "order": "A-1"})
    assert r.status_code == 200
    html = r.content.decode()
    assert zh("WeChat Pay") in html and zh("Coupon") in html
    assert ">wechat<" not in html and ">coupon<" not in html  # labels, never raw codes
    assert "¥340.00" in html and "LANCOME" not in html and "服装" in html
    assert r.context["purchase"].refund_list[0].refund_no == "RF-1"


def test_portal_another_members_order_is_404(client, member, orders, stores):
    other = MemberFactory(home_store=stores[0])
    buy(other, stores[0], "10.00", order_no="X-9", at=AT)
    login_as(client, member)
    assert client.get(reverse("points_portal:purchase"), {"store": stores[0].code, "order": "X-9"}).status_code == 404
    assert client.get(reverse("points_portal:purchase"), {"store": stores[0].code}).status_code == 404
    assert client.get(reverse("points_portal:purchase"), {"store": "NOPE", "order": "A-1"}).status_code == 404
    login_as(client, other)
    r = client.get(reverse("points_portal:purchases"))
    assert [p.order_no for p in r.context["page"].object_list] == ["X-9"]


def test_portal_purchases_need_a_login(client):
    r = client.get(reverse("points_portal:purchases"))
    assert r.status_code == 302


def test_portal_purchase_list_query_count_is_bounded(client, member, stores, django_assert_max_num_queries):
    for i in range(25):
        buy(member, stores[i % 2], "10.00", order_no=f"Q-{i}", at=AT + dt.timedelta(minutes=i))
    login_as(client, member)
    with django_assert_max_num_queries(12):
        r = client.get(reverse("points_portal:purchases"))
    assert len(r.context["page"].object_list) == 20


# ---------------------------------------------------------------- desk


def test_desk_panel_and_list_show_orders_of_the_staff_members_stores(client, member, orders, stores):
    desk = make_staff(roles.FRONT_DESK, store=stores[0])
    client.force_login(desk)
    page = client.get(reverse("desk:member", args=[member.member_no]))
    assert page.status_code == 200
    assert reverse("points_desk:purchases_panel", args=[member.member_no]) in page.content.decode()
    panel = client.get(reverse("points_desk:purchases_panel", args=[member.member_no]))
    assert [p.order_no for p in panel.context["purchases"]] == ["A-2", "A-1"]  # not B-1 of the other store
    listing = client.get(reverse("points_desk:purchases", args=[member.member_no]))
    assert listing.status_code == 200 and listing.context["page"].paginator.count == 2
    detail = client.get(reverse("points_desk:purchase_detail", args=[member.member_no]),
                        {"store": stores[0].code, "order": "A-1"})
    assert detail.status_code == 200 and "RF-1" in detail.content.decode()
    assert client.get(reverse("points_desk:purchase_detail", args=[member.member_no]),
                      {"store": stores[1].code, "order": "B-1"}).status_code == 404


def test_chain_wide_staff_see_every_stores_orders(client, member, orders):
    client.force_login(make_staff(roles.FRONT_DESK, chain_wide=True))
    r = client.get(reverse("points_desk:purchases", args=[member.member_no]))
    assert r.context["page"].paginator.count == 3


def test_desk_staff_of_another_store_get_404(client, member, orders, stores):
    client.force_login(make_staff(roles.FRONT_DESK, store=StoreFactory()))
    for name in ("points_desk:purchases_panel", "points_desk:purchases", "points_desk:purchase_detail"):
        assert client.get(reverse(name, args=[member.member_no])).status_code == 404


def test_desk_purchase_pages_query_counts_are_bounded(client, member, stores, django_assert_max_num_queries):
    for i in range(30):
        buy(member, stores[0], "10.00", order_no=f"Q-{i}", at=AT + dt.timedelta(minutes=i))
    client.force_login(make_staff(roles.FRONT_DESK, store=stores[0]))
    with django_assert_max_num_queries(14):
        client.get(reverse("points_desk:purchases_panel", args=[member.member_no]))
    with django_assert_max_num_queries(15):
        r = client.get(reverse("points_desk:purchases", args=[member.member_no]))
    assert r.status_code == 200 and len(r.context["page"].object_list) == 30


# ---------------------------------------------------------------- API


def test_till_sees_the_members_orders_of_its_own_store_only(member, orders, stores):
    client = till_client(stores[0])
    r = client.get(f"/api/v1/members/{member.member_no}/purchases/")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["count"] == 2 and [o["order_no"] for o in body["results"]] == ["A-2", "A-1"]
    first = body["results"][1]
    assert first["amount_total"] == "680.00" and first["amount_paid"] == "580.00"
    assert first["points_earned"] == 580 and first["points_reversed"] == 290
    assert first["tenders"][0] == {"type": "wechat", "label": zh("WeChat Pay"), "amount": "580.00"}
    assert first["refunds"][0]["refund_no"] == "RF-1" and first["refunds"][0]["amount"] == "340.00"
    assert first["lines"][0]["amount"] == "680.00"
    other_till = till_client(stores[1])
    r = other_till.get(f"/api/v1/members/{member.member_no}/purchases/")
    assert [o["order_no"] for o in r.json()["results"]] == ["B-1"]
    assert other_till.get(f"/api/v1/members/{member.member_no}/purchases/{stores[0].code}/A-1/").status_code == 404
    r = client.get(f"/api/v1/members/{member.member_no}/purchases/{stores[0].code}/A-1/")
    assert r.status_code == 200 and r.json()["refunds"][0]["points_reversed"] == 290


def test_staff_api_is_scoped_and_pagination_bounded(member, stores, django_assert_max_num_queries):
    for i in range(205):
        buy(member, stores[0], "1.00", order_no=f"P-{i}", at=AT + dt.timedelta(seconds=i))
    buy(member, stores[1], "1.00", order_no="OTHER", at=AT)
    client = APIClient()
    client.force_login(make_staff(roles.FRONT_DESK, store=stores[0]))
    with django_assert_max_num_queries(10):
        r = client.get(f"/api/v1/members/{member.member_no}/purchases/?limit=1000")
    assert r.status_code == 200 and r.json()["count"] == 205 and len(r.json()["results"]) == 200
    assert client.get(f"/api/v1/members/{member.member_no}/purchases/?offset=99999999999").status_code == 400
    assert client.get(f"/api/v1/members/{member.member_no}/purchases/{stores[1].code}/OTHER/").status_code == 404
    outsider = APIClient()
    outsider.force_login(make_staff(roles.FRONT_DESK, store=stores[1]))  # the member is not in their scope
    assert outsider.get(f"/api/v1/members/{member.member_no}/purchases/").status_code == 404


def test_purchases_api_is_in_the_openapi_schema(client):
    client.force_login(make_staff(roles.ADMINISTRATOR, chain_wide=True))
    r = client.get("/api/schema/", {"format": "json"})
    paths = r.json()["paths"] if r.status_code == 200 else {}
    assert "/api/v1/members/{member_no}/purchases/" in paths
    assert "/api/v1/members/{member_no}/purchases/{store}/{order_no}/" in paths
    page = paths["/api/v1/members/{member_no}/purchases/"]["get"]["responses"]["200"]
    assert "PurchaseRecordPage" in str(page)
