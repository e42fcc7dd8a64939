"""A pending desk sign-up's till purchases are held and credited once on approval (issue 15, MEM-2 / PTS-1;
seed 000 会员注册, 积分累计): the till records the sale with its points held; the second staff member's
approval credits them (audited, idempotent, set-wise); a rejection leaves the sales member-less and
claimable once. Held points show on the desk member page and the portal."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from core.errors import MemberHubError
from core.models import AuditLog
from members import roles
from members.api_auth import device_create
from members.models import Member
from members.services import member_register_desk, member_review
from messaging.models import Notice
from points.models import Entry, PointsAccount, PointsClaim, Purchase
from points.reconcile import reconcile
from points.services.held import held_points_settle
from tests.factories import MemberFactory, StoreFactory, make_staff
from tests.members.test_portal import login_as
from tests.support import race

pytestmark = pytest.mark.pinned_at("2026-11-25T12:00+08:00")

SALE = {
    "order_no": "POS-H1", "occurred_at": "2026-11-24T10:15:00+08:00",
    "lines": [{"brand": "LANCOME", "category": "化妆品", "amount": "680.00"}],
    "tenders": [{"type": "wechat", "amount": "680.00"}],
}


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def balance(member) -> int:
    account = PointsAccount.objects.filter(member=member).first()
    return account.balance if account else 0


def _setup():
    store = StoreFactory()
    _device, token = device_create(name="Till H", store=store)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Device {token}")
    clerk = make_staff(roles.FRONT_DESK, store=store)
    pending = member_register_desk(data={"name": "孙八", "mobile": "13800001111"}, staff=clerk, marketing=False,
                                   privacy_accepted=True)
    assert pending.status == Member.Status.PENDING
    return store, api, pending


def _post(api, member, **kw):
    return api.post("/api/v1/purchases/", {**SALE, "member": {"card": member.member_no}, **kw}, format="json")


@pytest.mark.django_db
def test_pending_signup_purchase_is_held_then_credited_once_on_approval(client):
    store, api, pending = _setup()
    r = _post(api, pending)
    assert r.status_code == 201, r.content
    assert r.json()["points_earned"] == 0 and r.json()["points_held"] == 680
    assert not Entry.objects.exists() and balance(pending) == 0

    # the desk member page and the portal show what is held
    reviewer = make_staff(roles.CUSTOMER_SERVICE, store=store)
    client.force_login(reviewer)
    panel = client.get(reverse("points_desk:panel", args=[pending.member_no]))
    assert panel.status_code == 200 and 'id="points-held">680<' in panel.content.decode()
    client.logout()
    login_as(client, pending)
    page = client.get(reverse("points_portal:overview"))
    assert page.status_code == 200 and 'id="points-held">680<' in page.content.decode()
    client.logout()

    # approval through the desk's review page
    client.force_login(reviewer)
    response = client.post(reverse("desk:review_signup", args=[pending.member_no]), {"decision": "approve"})
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == Member.Status.ACTIVE
    purchase = Purchase.objects.get(order_no="POS-H1")
    assert (purchase.points_earned, purchase.points_held) == (680, 0)
    entry = Entry.objects.get(kind="credit")
    assert entry.idem_key == f"purchase:{purchase.pk}" and entry.points == 680 and entry.purchase_id == purchase.pk
    assert balance(pending) == 680
    assert AuditLog.objects.filter(member=pending, field="held_points", detail__contains="680").count() == 1
    assert Notice.objects.filter(member=pending, kind="points_held").count() == 1
    # settling again (a re-run of the hook) finds nothing held and changes nothing
    from django.db import transaction

    with transaction.atomic():
        again = held_points_settle(member=pending, approved=True, reviewer=reviewer)
    assert again.purchases == 0 and balance(pending) == 680 and Entry.objects.count() == 1
    assert not reconcile()


@pytest.mark.django_db
def test_held_sale_refunded_in_part_before_approval_earns_what_is_left():
    """As if the member had been active at the till: 680 held, 180 refunded → 500 credited, 180 counted as
    reversed; the refund itself reversed nothing, as nothing was credited yet."""
    store, api, pending = _setup()
    assert _post(api, pending).status_code == 201
    r = api.post("/api/v1/refunds/", {"refund_no": "R-H1", "order_no": "POS-H1", "amount": "180.00",
                                      "occurred_at": "2026-11-24T18:00:00+08:00"}, format="json")
    assert r.status_code == 201, r.content
    member_review(member=pending, reviewer=make_staff(roles.CUSTOMER_SERVICE, store=store), approve=True)
    purchase = Purchase.objects.get(order_no="POS-H1")
    assert (purchase.points_earned, purchase.points_reversed, purchase.points_held) == (680, 180, 0)
    assert balance(pending) == 500
    assert not reconcile()


@pytest.mark.django_db
def test_rejected_signup_sales_become_member_less_and_are_claimable_once(client):
    store, api, pending = _setup()
    assert _post(api, pending).status_code == 201
    reviewer = make_staff(roles.CUSTOMER_SERVICE, store=store)
    member_review(member=pending, reviewer=reviewer, approve=False, reason="证件不符")
    purchase = Purchase.objects.get(order_no="POS-H1")
    assert purchase.member_id is None and purchase.points_held == 0 and purchase.points_earned == 0
    assert AuditLog.objects.filter(member=pending, field="held_points", detail__contains="POS-H1").exists()
    assert not Entry.objects.exists()

    # the person's corrected sign-up (now a member) claims the receipt: credited once
    member = MemberFactory(home_store=store)
    login_as(client, member)
    data = {"store": store.pk, "receipt_no": "POS-H1", "purchased_on": "2026-11-24", "amount": "680.00"}
    client.post(reverse("points_portal:claims"), data, follow=True)
    client.post(reverse("points_portal:claims"), data, follow=True)
    assert PointsClaim.objects.get().status == "credited"
    assert balance(member) == 680 and Entry.objects.count() == 1


@pytest.mark.django_db
def test_active_members_purchases_are_not_held():
    store, api, _pending = _setup()
    member = MemberFactory(home_store=store)
    r = _post(api, member, order_no="POS-A1")
    assert r.json()["points_earned"] == 680 and r.json()["points_held"] == 0


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_approvals_credit_the_held_sales_once():
    """Approval run twice at the same moment by two reviewers: one wins, the other is told the sign-up was
    already reviewed; the held points are credited exactly once."""
    store, api, pending = _setup()
    assert _post(api, pending).status_code == 201
    assert _post(api, pending, order_no="POS-H2").status_code == 201
    reviewers = [make_staff(roles.CUSTOMER_SERVICE, store=store) for _ in range(2)]
    results = race([lambda r=r: member_review(member=pending, reviewer=r, approve=True) for r in reviewers])
    errors = [r for r in results if isinstance(r, MemberHubError)]
    assert len(errors) == 1 and errors[0].code == "already_reviewed", results
    assert Entry.objects.filter(kind="credit").count() == 2
    assert balance(pending) == 1360
    assert not Purchase.objects.filter(points_held__gt=0).exists()
    assert AuditLog.objects.filter(field="held_points").count() == 1
    assert not reconcile()
