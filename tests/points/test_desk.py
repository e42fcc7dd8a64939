"""Desk pages of points (PTS-5..9) through the Django test client."""
import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from members import roles
from points.models import Adjustment, Entry, Gift, GiftOrder, PointsAccount, PointsConfig, Purchase
from points.services.ledger import Source, consume, credit
from tests.factories import MemberFactory, StoreFactory, ensure_catalogue, make_staff
from tests.points.helpers import buy

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def store():
    return StoreFactory()


@pytest.fixture
def desk(store):
    return make_staff(roles.FRONT_DESK, store=store)


@pytest.fixture
def manager(store):
    return make_staff(roles.OPERATIONS_MANAGER, store=store)


@pytest.fixture
def member(store):
    return MemberFactory(home_store=store, name="王小明")


def url(name, *args):
    """A desk URL by name: the member pages are members' (desk:), the rest points' (points_desk:)."""
    return reverse(name if ":" in name else f"points_desk:{name}", args=args)


def page_messages(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def balance(member) -> int:
    account = PointsAccount.objects.filter(member=member).first()
    return account.balance if account else 0


def give(member, points: int, key: str = "seed"):
    with transaction.atomic():
        credit(member=member, points=points, idem_key=f"test:{key}:{member.pk}", source=Source(reason="test"))


def purchase_data(order_no: str, amount: str = "680.00", **extra) -> dict:
    ensure_catalogue()
    at = timezone.localtime().replace(second=0, microsecond=0) - dt.timedelta(hours=1)
    data = {
        "order_no": order_no, "occurred_at": at.strftime("%Y-%m-%dT%H:%M"),
        "lines-TOTAL_FORMS": "4", "lines-INITIAL_FORMS": "0",
        "lines-0-brand": "LANCOME", "lines-0-category": "化妆品", "lines-0-amount": amount,
        "tenders-TOTAL_FORMS": "3", "tenders-INITIAL_FORMS": "0",
        "tenders-0-type": "wechat", "tenders-0-amount": amount,
    }
    data.update(extra)
    return data


# ---------------------------------------------------------------- panel and history (PTS-8, TIER-5)


def test_points_panel_shows_figures_entries_with_source(client, desk, member, store):
    """PTS-8: balance, spendable, cash value, expiring lots and history with store and order. The member
    360 page (members) loads the panel from points' URL: the panel is registered, not imported."""
    buy(member, store, "500.00", order_no="POS-9001")
    client.force_login(desk)
    page = client.get(url("desk:member", member.member_no))
    assert url("panel", member.member_no) in page.content.decode()
    response = client.get(url("panel", member.member_no))
    assert response.status_code == 200
    body = response.content.decode()
    assert response.context["summary"]["balance"] == 500
    assert '<strong id="points-balance">500</strong>' in body
    assert "5.00" in body  # cash value at 100 points per yuan
    assert "POS-9001" in body and store.code in body
    assert 'id="tier-history"' not in body  # the tier panel is tiers' own (tests/tiers/test_desk.py)
    assert url("history", member.member_no) in body
    assert url("purchase", member.member_no) in body


def test_history_is_paginated_and_filters_by_kind(client, desk, member, store):
    for i in range(55):
        give(member, 10, key=f"h{i}")
    buy(member, store, "100.00", order_no="POS-H1")
    client.force_login(desk)
    response = client.get(url("history", member.member_no))
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 56
    assert len(response.context["page"].object_list) == 50
    response = client.get(url("history", member.member_no), {"kind": "credit", "page": 2})
    assert len(response.context["page"].object_list) == 6
    response = client.get(url("history", member.member_no), {"kind": "adjustment"})
    assert response.context["page"].paginator.count == 0


def test_member_page_and_points_panel_query_counts_are_bounded(client, desk, member, store,
                                                               django_assert_max_num_queries):
    for i in range(25):
        buy(member, store, "100.00", order_no=f"POS-Q{i}")
    client.force_login(desk)
    client.get(url("desk:home"))  # warm the session
    with django_assert_max_num_queries(14):
        assert client.get(url("desk:member", member.member_no)).status_code == 200
    with django_assert_max_num_queries(18):  # 17 today, whatever the number of entries
        response = client.get(url("panel", member.member_no))
    assert response.status_code == 200
    assert len(response.context["entries"]) == 20


# ---------------------------------------------------------------- offline purchase and refund


def test_offline_purchase_credits_points_once_per_order_number(client, desk, member, store):
    """PTS-9: a repeated submit with the same order number does not credit twice."""
    client.force_login(desk)
    assert client.get(url("purchase", member.member_no)).status_code == 200
    data = purchase_data("OFF-0001")
    response = client.post(url("purchase", member.member_no), data, follow=True)
    assert response.status_code == 200
    assert "680 points earned" in page_messages(response)
    assert balance(member) == 680
    purchase = Purchase.objects.get(order_no="OFF-0001")
    assert purchase.store == store and purchase.source == "desk"

    response = client.post(url("purchase", member.member_no), data, follow=True)
    assert "already posted" in page_messages(response)
    assert balance(member) == 680
    assert Entry.objects.filter(member=member, kind="credit").count() == 1

    # the same number with other content is refused on the field, not a 500
    response = client.post(url("purchase", member.member_no), purchase_data("OFF-0001", amount="99.00"))
    assert response.status_code == 400
    assert response.context["form"].errors["order_no"]
    assert balance(member) == 680


def test_offline_purchase_excludes_coupon_tender_and_reports_bad_tenders(client, desk, member):
    client.force_login(desk)
    data = purchase_data("OFF-0002", amount="300.00", **{"tenders-0-amount": "200.00", "tenders-1-type": "coupon",
                                                       "tenders-1-amount": "100.00"})
    client.post(url("purchase", member.member_no), data)
    assert balance(member) == 200
    bad = purchase_data("OFF-0003", amount="300.00", **{"tenders-0-amount": "10.00"})
    response = client.post(url("purchase", member.member_no), bad)
    assert response.status_code == 400
    assert response.context["form"].non_field_errors()
    assert not Purchase.objects.filter(order_no="OFF-0003").exists()


def test_chain_wide_staff_pick_the_store(client, member, store):
    other = StoreFactory()
    staff = make_staff(roles.FRONT_DESK, chain_wide=True)
    client.force_login(staff)
    client.post(url("purchase", member.member_no), purchase_data("OFF-CW", store=other.pk))
    assert Purchase.objects.get(order_no="OFF-CW").store == other


def test_offline_refund_reverses_points_and_reports_debt(client, desk, member, store):
    """PTS-5: reversed in proportion; spent points become a debt under the default policy."""
    # The purchase an hour ago: a refund cannot come before its purchase, and the form has minutes only.
    buy(member, store, "1000.00", order_no="POS-R1", at=timezone.now() - dt.timedelta(hours=1))
    client.force_login(desk)
    at = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    response = client.post(url("refund", member.member_no),
                           {"order_no": "POS-R1", "refund_no": "RF-1", "amount": "400.00", "occurred_at": at},
                           follow=True)
    assert "400 points reversed" in page_messages(response)
    assert balance(member) == 600

    with transaction.atomic():  # the member spends what is left
        consume(member=member, points=600, idem_key="spend-all", source=Source(reason="spend"))
    response = client.post(url("refund", member.member_no),
                           {"order_no": "POS-R1", "refund_no": "RF-2", "amount": "600.00", "occurred_at": at},
                           follow=True)
    text = page_messages(response)
    assert "owed" in text and "600" in text
    assert PointsAccount.objects.get(member=member).debt == 600

    response = client.post(url("refund", member.member_no),
                           {"order_no": "NOPE", "refund_no": "RF-3", "amount": "1.00", "occurred_at": at})
    assert response.status_code == 400 and response.context["form"].errors["order_no"]
    response = client.post(url("refund", member.member_no),
                           {"order_no": "POS-R1", "refund_no": "RF-4", "amount": "1.00", "occurred_at": at})
    assert response.status_code == 400  # nothing left to refund: a form error, not a 500


# ---------------------------------------------------------------- redemption at the desk (PTS-6)


def make_gift(**kw) -> Gift:
    now = timezone.now()
    defaults = {"name": "保温杯", "points_cost": 500, "stock": 10, "valid_from": now - dt.timedelta(days=1),
                "valid_to": now + dt.timedelta(days=30)}
    return Gift.objects.create(**{**defaults, **kw})


def test_gift_order_at_the_desk_is_idempotent_and_can_be_cancelled(client, desk, member, store):
    give(member, 1200)
    gift = make_gift()
    expensive = make_gift(name="行李箱", points_cost=5000)
    client.force_login(desk)
    page = client.get(url("redeem", member.member_no))
    assert page.status_code == 200
    form = page.context["gift_form"]
    assert list(form.fields["gift"].queryset) == [gift]  # eligible gifts only
    assert expensive.name in page.content.decode()  # listed with the reason
    request_id = form["request_id"].value()
    data = {"gift": gift.pk, "quantity": 2, "request_id": request_id}
    response = client.post(url("gift_order", member.member_no), data, follow=True)
    assert "placed" in page_messages(response)
    client.post(url("gift_order", member.member_no), data)  # double click
    order = GiftOrder.objects.get(member=member)
    assert order.points == 1000 and order.store == store and order.created_by == desk
    assert balance(member) == 200

    response = client.post(url("gift_order", member.member_no),
                           {"gift": expensive.pk, "quantity": 1, "request_id": "x-2"})
    assert response.status_code == 400  # not an eligible choice

    response = client.post(url("gift_order_action", member.member_no, order.pk, "cancel"),
                           {"reason": "changed mind"}, follow=True)
    assert "cancelled" in page_messages(response)
    order.refresh_from_db()
    assert order.status == "cancelled" and balance(member) == 1200
    response = client.post(url("gift_order_action", member.member_no, order.pk, "collect"), follow=True)
    assert "cancelled" in page_messages(response).lower()  # refused as a message, not a 500
    order.refresh_from_db()
    assert order.status == "cancelled"


def test_coupon_for_points_at_the_desk(client, desk, member):
    from points.models import CouponType

    ctype = CouponType.objects.create(name="满200减20", face_value=Decimal("20.00"), min_spend=Decimal("200.00"),
                                      validity_days=30, points_cost=300)
    give(member, 500)
    client.force_login(desk)
    response = client.post(url("coupon", member.member_no), {"coupon_type": ctype.pk, "request_id": "c-1"},
                           follow=True)
    assert "issued for 300 points" in page_messages(response)
    assert balance(member) == 200
    assert len(response.context["coupons"]) == 1
    response = client.post(url("coupon", member.member_no), {"coupon_type": ctype.pk, "request_id": "c-2"})
    assert response.status_code == 400  # not enough points: on the form
    assert response.context["coupon_form"].non_field_errors()


# ---------------------------------------------------------------- manual adjustment (PTS-7)


def test_adjustment_under_threshold_applies_at_once(client, desk, member):
    client.force_login(desk)
    response = client.post(url("adjust", member.member_no), {"points": 200, "reason": "补录积分"}, follow=True)
    assert "applied" in page_messages(response)
    assert balance(member) == 200
    response = client.post(url("adjust", member.member_no), {"points": 5, "reason": "  "})
    assert response.status_code == 400 and response.context["form"].errors["reason"]


def test_adjustment_above_threshold_waits_for_a_second_approver(client, desk, manager, member, store):
    """PTS-7: above the threshold a different staff member with the approval permission approves."""
    threshold = PointsConfig.get().adjustment_approval_threshold
    client.force_login(desk)
    response = client.post(url("adjust", member.member_no),
                           {"points": threshold + 1, "reason": "活动补偿"}, follow=True)
    assert "waits" in page_messages(response)
    adjustment = Adjustment.objects.get(member=member)
    assert adjustment.status == "pending" and balance(member) == 0
    panel = client.get(url("panel", member.member_no))
    assert panel.context["pending_adjustments"] == [adjustment]

    # the front desk cannot approve at all
    assert client.get(url("adjustments")).status_code == 200
    assert client.post(url("adjustment_decide", adjustment.pk), {"decision": "approve"}).status_code == 403

    client.force_login(manager)
    queue = client.get(url("adjustments"))
    assert list(queue.context["adjustments"]) == [adjustment]
    response = client.post(url("adjustment_decide", adjustment.pk), {"decision": "approve"}, follow=True)
    assert "approved" in page_messages(response)
    adjustment.refresh_from_db()
    assert adjustment.status == "applied" and adjustment.approved_by == manager
    assert balance(member) == threshold + 1


def test_requester_cannot_approve_own_adjustment(client, manager, member):
    threshold = PointsConfig.get().adjustment_approval_threshold
    client.force_login(manager)
    client.post(url("adjust", member.member_no), {"points": -(threshold + 5), "reason": "误录"})
    adjustment = Adjustment.objects.get(member=member)
    queue = client.get(url("adjustments"))
    assert "another staff member must approve" in queue.content.decode()
    response = client.post(url("adjustment_decide", adjustment.pk), {"decision": "approve"})
    assert response.status_code in (400, 403, 409)  # the queue again with the reason (core.web.action_refused)
    assert "you requested this adjustment" in page_messages(response)
    adjustment.refresh_from_db()
    assert adjustment.status == "pending"
    # rejecting needs a reason
    other = make_staff(roles.OPERATIONS_MANAGER, store=member.home_store)
    client.force_login(other)
    response = client.post(url("adjustment_decide", adjustment.pk), {"decision": "reject", "reason": ""},
                           follow=True)
    assert "rejected" in page_messages(response)
    adjustment.refresh_from_db()
    assert adjustment.status == "pending"
    client.post(url("adjustment_decide", adjustment.pk), {"decision": "reject", "reason": "无依据"})
    adjustment.refresh_from_db()
    assert adjustment.status == "rejected" and adjustment.reject_reason == "无依据"


# ---------------------------------------------------------------- scope and permissions (SEC-3, MEM-10)


def test_other_stores_member_is_404_everywhere(client, desk):
    stranger = MemberFactory()
    give(stranger, 100)
    client.force_login(desk)
    for name in ("panel", "history", "purchase", "refund", "redeem", "adjust"):
        assert client.get(url(name, stranger.member_no)).status_code == 404, name
    assert client.post(url("purchase", stranger.member_no), purchase_data("X-1")).status_code == 404
    assert client.post(url("adjust", stranger.member_no), {"points": 5, "reason": "x"}).status_code == 404
    assert not Purchase.objects.exists() and not Adjustment.objects.exists()


def test_roles_without_the_permission_get_403(client, store, member):
    service = make_staff(roles.CUSTOMER_SERVICE, store=store)
    client.force_login(service)
    assert client.get(url("panel", member.member_no)).status_code == 200
    assert client.get(url("purchase", member.member_no)).status_code == 403
    assert client.post(url("purchase", member.member_no), purchase_data("X-2")).status_code == 403
    assert client.get(url("refund", member.member_no)).status_code == 403
    assert client.post(url("gift_order", member.member_no), {"gift": 1}).status_code == 403

    auditor = make_staff(roles.AUDITOR, store=store)
    client.force_login(auditor)
    assert client.get(url("adjust", member.member_no)).status_code == 403
    assert not Purchase.objects.exists()
