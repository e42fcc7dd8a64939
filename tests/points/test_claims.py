"""Points claims (补积分, PTS-11): a till posts a sale without a member, the member claims it on the portal
and is credited once; unmatched claims go to the desk's review queue; the claim window."""
import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from core.models import AuditLog
from members import roles
from members.api_auth import device_create
from messaging.models import Notice
from points.models import Entry, PointsAccount, PointsClaim, PointsConfig, Purchase
from tests.factories import MemberFactory, StoreFactory, make_staff
from tests.members.test_portal import login_as

pytestmark = [pytest.mark.django_db, pytest.mark.pinned_at("2026-11-25T12:00+08:00")]


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def till():
    store = StoreFactory()
    _device, token = device_create(name="Till 1", store=store)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {token}")
    return client, store


SALE = {
    "order_no": "POS-77", "occurred_at": "2026-11-23T10:15:00+08:00",
    "lines": [{"brand": "LANCOME", "category": "化妆品", "amount": "680.00"}],
    "tenders": [{"type": "wechat", "amount": "680.00"}],
}


def balance(member) -> int:
    account = PointsAccount.objects.filter(member=member).first()
    return account.balance if account else 0


def claim_data(store, **kw) -> dict:
    return {"store": store.pk, "receipt_no": "POS-77", "purchased_on": "2026-11-23", "amount": "680.00", **kw}


def portal_claim(client, member, data):
    login_as(client, member)
    return client.post(reverse("points_portal:claims"), data, follow=True)


def test_till_posts_a_sale_without_member_and_the_portal_claim_credits_it_once(client, till):
    """PTS-11: member optional at the till; the stored sale earns nothing until claimed; claimed once."""
    api, store = till
    r = api.post("/api/v1/purchases/", SALE, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["member_no"] is None and r.json()["points_earned"] == 0
    purchase = Purchase.objects.get()
    assert purchase.member is None and purchase.amount_total == Decimal("680.00")
    assert not Entry.objects.exists()

    member = MemberFactory(home_store=store)
    response = portal_claim(client, member, claim_data(store))
    assert response.status_code == 200
    claim = PointsClaim.objects.get()
    assert claim.status == "credited" and claim.purchase == purchase and claim.points == 680
    purchase.refresh_from_db()
    assert purchase.member == member and purchase.points_earned == 680
    assert balance(member) == 680
    assert Notice.objects.filter(member=member, kind="points_claim").count() == 1
    assert AuditLog.objects.filter(member=member, action="points_claim", field="credited").count() == 1

    # the same claim again: nothing more; the till retrying its post still gets its first answer
    portal_claim(client, member, claim_data(store))
    assert PointsClaim.objects.count() == 1 and balance(member) == 680
    assert api.post("/api/v1/purchases/", SALE, format="json").status_code == 200
    # another member cannot claim the same receipt
    other = MemberFactory(home_store=store)
    response = portal_claim(client, other, claim_data(store))
    assert response.status_code == 409
    assert balance(other) == 0 and Entry.objects.filter(kind="credit").count() == 1


def test_claim_outside_the_window_is_refused(client, till):
    """PTS-11: claims are accepted within PointsConfig.claim_window_days (default 30) of the purchase."""
    api, store = till
    member = MemberFactory(home_store=store)
    login_as(client, member)
    old = {**claim_data(store), "purchased_on": "2026-10-25"}  # 31 days ago
    response = client.post(reverse("points_portal:claims"), old)
    assert response.status_code == 400
    assert "within 30 days" in str(response.context["form"].errors["purchased_on"])
    future = {**claim_data(store), "purchased_on": "2026-11-26"}
    assert client.post(reverse("points_portal:claims"), future).status_code == 400
    assert not PointsClaim.objects.exists()
    PointsConfig.objects.filter(pk=PointsConfig.get().pk).update(claim_window_days=31)
    assert client.post(reverse("points_portal:claims"), old).status_code == 302


def test_unmatched_claim_is_reviewed_at_the_desk_approve_credits_reject_tells_why(client, till):
    """PTS-11: no till record (or details differing) → the review queue; approve credits, reject needs a reason;
    the member hears of both in the inbox."""
    api, store = till
    api.post("/api/v1/purchases/", SALE, format="json")
    member = MemberFactory(home_store=store)
    portal_claim(client, member, claim_data(store, amount="600.00"))  # the till recorded 680.00
    portal_claim(client, member, claim_data(store, receipt_no="PAPER-1", amount="100.00"))
    first, second = PointsClaim.objects.order_by("id")
    assert first.status == second.status == "pending" and balance(member) == 0
    assert "another amount" in first.review_note and "no till record" in second.review_note
    assert Notice.objects.filter(member=member, kind="points_claim").count() == 2

    desk = make_staff(roles.FRONT_DESK, store=store)
    client.force_login(desk)
    assert client.get(reverse("points_desk:claims")).status_code == 200
    assert client.post(reverse("points_desk:claim_decide", args=[first.pk]),
                       {"decision": "approve"}).status_code == 403

    service = make_staff(roles.CUSTOMER_SERVICE, store=store)
    client.force_login(service)
    queue = client.get(reverse("points_desk:claims"))
    assert list(queue.context["rows"]) == [first, second]
    client.post(reverse("points_desk:claim_decide", args=[first.pk]), {"decision": "approve"})
    first.refresh_from_db()
    assert first.status == "credited" and first.decided_by == service
    assert first.purchase.order_no == "POS-77" and first.points == 680  # from the till's record
    assert balance(member) == 680

    client.post(reverse("points_desk:claim_decide", args=[second.pk]), {"decision": "reject"})
    second.refresh_from_db()
    assert second.status == "pending"  # a rejection needs its reason
    client.post(reverse("points_desk:claim_decide", args=[second.pk]), {"decision": "reject", "reason": "无此小票"})
    second.refresh_from_db()
    assert second.status == "rejected" and second.reject_reason == "无此小票"
    assert balance(member) == 680
    notices = Notice.objects.filter(member=member, kind="points_claim")
    assert notices.count() == 4 and any("无此小票" in n.body for n in notices)
    # the portal lists the member's claims with their outcome
    login_as(client, member)
    page = client.get(reverse("points_portal:claims"))
    assert list(page.context["claims"]) == [second, first]


def test_approved_claim_without_any_till_record_posts_the_claimed_amount(client, till):
    api, store = till
    member = MemberFactory(home_store=store)
    portal_claim(client, member, claim_data(store, receipt_no="PAPER-2", amount="250.00"))
    claim = PointsClaim.objects.get()
    client.force_login(make_staff(roles.OPERATIONS_MANAGER, store=store))
    client.post(reverse("points_desk:claim_decide", args=[claim.pk]), {"decision": "approve"})
    claim.refresh_from_db()
    assert claim.status == "credited" and claim.purchase.source == "claim"
    assert claim.purchase.occurred_at.date() == dt.date(2026, 11, 23) and balance(member) == 250


def test_desk_enters_a_claim_for_the_member(client, till):
    api, store = till
    api.post("/api/v1/purchases/", SALE, format="json")
    member = MemberFactory(home_store=store)
    desk = make_staff(roles.FRONT_DESK, store=store)
    client.force_login(desk)
    url = reverse("points_desk:claim", args=[member.member_no])
    assert client.get(url).status_code == 200
    response = client.post(url, claim_data(store), follow=True)
    assert response.status_code == 200
    claim = PointsClaim.objects.get()
    assert claim.channel == "desk" and claim.created_by == desk and claim.status == "credited"
    assert balance(member) == 680


def test_claim_of_a_receipt_that_earned_points_already_is_refused(client, till):
    api, store = till
    member = MemberFactory(home_store=store)
    api.post("/api/v1/purchases/", {**SALE, "member": {"card": member.member_no}}, format="json")
    assert balance(member) == 680
    response = portal_claim(client, member, claim_data(store))
    assert response.status_code == 400
    assert "already earned your points" in str(response.context["form"].non_field_errors())
    assert not PointsClaim.objects.exists() and balance(member) == 680


def test_points_tender_without_member_is_refused(till):
    api, _store = till
    body = {**SALE, "tenders": [{"type": "wechat", "amount": "580.00"}, {"type": "points", "amount": "100.00"}]}
    r = api.post("/api/v1/purchases/", body, format="json")
    assert r.status_code == 400 and not Purchase.objects.exists()


def _refund(api, refund_no: str, amount: str, at: str = "2026-11-24T10:00:00+08:00"):
    r = api.post("/api/v1/refunds/", {"refund_no": refund_no, "order_no": "POS-77", "amount": amount,
                                      "occurred_at": at}, format="json")
    assert r.status_code == 201, r.content
    return r


def test_partly_refunded_sale_is_claimable_for_what_is_left_as_if_the_card_was_shown(client, till):
    """Issue 14: a member-less sale of 680 refunded 180 before the claim earns 500 (680 earned, 180 counted as
    reversed — refund_post's floor(points × refunded / bill)); a later refund of 100 reverses 100 more. The
    member ends where a card shown at the till would have left them."""
    api, store = till
    assert api.post("/api/v1/purchases/", SALE, format="json").status_code == 201
    _refund(api, "R-1", "180.00")
    member = MemberFactory(home_store=store)
    portal_claim(client, member, claim_data(store))
    claim = PointsClaim.objects.get()
    assert claim.status == "credited" and claim.points == 680
    purchase = Purchase.objects.get(order_no="POS-77")
    assert (purchase.points_earned, purchase.points_reversed) == (680, 180)
    assert balance(member) == 500
    _refund(api, "R-2", "100.00", at="2026-11-25T10:00:00+08:00")
    assert balance(member) == 400

    # the same story with the card shown at the till
    shown = MemberFactory(home_store=store)
    assert api.post("/api/v1/purchases/", {**SALE, "order_no": "POS-78", "member": {"card": shown.member_no}},
                    format="json").status_code == 201
    for no, amount, at in (("R-3", "180.00", "2026-11-24T10:00:00+08:00"), ("R-4", "100.00", "2026-11-25T10:00:00+08:00")):
        assert api.post("/api/v1/refunds/", {"refund_no": no, "order_no": "POS-78", "amount": amount,
                                             "occurred_at": at}, format="json").status_code == 201
    assert balance(shown) == balance(member) == 400


def test_fully_refunded_sale_is_not_credited_by_a_claim(client, till):
    """A sale refunded in full earns nothing: the claim waits for review with the reason, and approving it
    is refused with a message."""
    from points.errors import PointsError
    from points.services.claims import claim_approve

    api, store = till
    api.post("/api/v1/purchases/", SALE, format="json")
    _refund(api, "R-1", "680.00")
    member = MemberFactory(home_store=store)
    portal_claim(client, member, claim_data(store))
    claim = PointsClaim.objects.get()
    assert claim.status == "pending" and "refunded in full" in claim.review_note
    reviewer = make_staff(roles.OPERATIONS_MANAGER, chain_wide=True)
    with pytest.raises(PointsError, match="refunded in full"):
        claim_approve(claim=claim, staff=reviewer)
    assert balance(member) == 0
