"""Member portal pages of points: points, gifts, coupons, lottery (PTS-6, PTS-8, SEC-3)."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from members.models import Member
from messaging.models import Notice
from points.models import Coupon, CouponType, Draw, Entry, Gift, GiftOrder, Lottery, PointsAccount, Prize
from points.services import redemption
from points.services.ledger import Source, credit
from tests.factories import MemberFactory, StoreFactory
from tests.members.test_portal import login_as, zh
from tests.points.helpers import buy

pytestmark = pytest.mark.django_db

# The portal nav (members' portal/base.html) links the pages of points, tiers and the inbox.
PAGES = ["points_portal:overview", "tiers_portal:status", "points_portal:gifts", "points_portal:coupons",
         "points_portal:lottery", "messaging_portal:inbox"]


def balance(member) -> int:
    account = PointsAccount.objects.filter(member=member).first()
    return account.balance if account else 0


def give(member, points: int, key: str = "seed") -> None:
    with transaction.atomic():
        credit(member=member, points=points, idem_key=f"test:{key}:{member.pk}", source=Source(reason="test"))


def make_gift(**kw) -> Gift:
    now = timezone.now()
    defaults = {"name": "保温杯", "points_cost": 500, "stock": 10, "valid_from": now - dt.timedelta(days=1),
                "valid_to": now + dt.timedelta(days=30)}
    return Gift.objects.create(**{**defaults, **kw})


def make_coupon_type(**kw) -> CouponType:
    defaults = {"name": "满200减20", "face_value": Decimal("20.00"), "min_spend": Decimal("200.00"),
                "validity_days": 30, "points_cost": 1000}
    return CouponType.objects.create(**{**defaults, **kw})


def make_lottery(**kw) -> Lottery:
    now = timezone.now()
    defaults = {"name": "周年庆抽奖", "points_cost": 100, "starts_at": now - dt.timedelta(days=1),
                "ends_at": now + dt.timedelta(days=7)}
    return Lottery.objects.create(**{**defaults, **kw})


def hidden(html: str, name: str, scope: str = "") -> str:
    """The value of a hidden input (the first one after `scope` in the page)."""
    start = html.index(scope) if scope else 0
    return re.search(rf'name="{name}" value="([^"]+)"', html[start:]).group(1)


def confirmed(member, url_name: str, data: dict) -> dict:
    """The POST data of a spend action as its confirmation page sends it: with the confirm token
    (points.views_portal.confirm_token) bound to the member, the action and these fields."""
    from points.views_portal import confirm_token

    return {**data, "confirm": confirm_token(member_id=member.pk, action=reverse(url_name), fields=data)}


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.fixture
def member(client) -> Member:
    m = MemberFactory()
    login_as(client, m)
    return m


# ---------------------------------------------------------------- access


@pytest.mark.parametrize("name", PAGES)
def test_points_pages_redirect_anonymous_to_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and response["Location"] == reverse("portal:login")


@pytest.mark.parametrize("name", PAGES)
def test_points_pages_render_for_a_logged_in_member(client, member, name):
    response = client.get(reverse(name))
    assert response.status_code == 200
    html = response.content.decode()
    tab = "me" if name == "messaging_portal:inbox" else "perks" if name == "tiers_portal:status" else "mall"
    assert f'id="tab-{tab}" aria-current="page"' in html  # the bottom tab bar lights the page's tab
    if tab == "mall":  # the 积分商城 strip links its pages (tests/members/test_portal_tabbar.py: two taps to all)
        for nav in ("points_portal:gifts", "points_portal:coupons", "points_portal:lottery", "points_portal:overview"):
            assert reverse(nav) in html


def test_actions_redirect_anonymous_to_login(client):
    for name in ("points_portal:gift_order", "points_portal:gift_order_cancel", "points_portal:coupon_redeem",
                 "points_portal:lottery_draw"):
        assert client.post(reverse(name)).status_code == 302
    for name in ("points_portal:coupon", "points_portal:draw"):
        assert client.get(reverse(name)).status_code == 302


# ---------------------------------------------------------------- points (PTS-8)


def test_points_page_shows_balance_expiring_lots_history_and_the_tier_slot(client, member):
    """PTS-8: balance, lots expiring soon with dates, history with store and order; the tier summary
    is tiers' panel (core.panels PORTAL_POINTS), loaded from its own URL."""
    store = StoreFactory(name="南京路店")
    buy(member, store, 300, order_no="POS-1")
    lot = member.points_lots.get()
    lot.expires_on = timezone.localdate() + dt.timedelta(days=20)
    lot.save(update_fields=["expires_on"])
    response = client.get(reverse("points_portal:overview"))
    html = response.content.decode()
    assert response.context["summary"]["balance"] == 300
    assert lot.expires_on.isoformat() in html
    assert "POS-1" in html and "南京路店" in html and "+300" in html
    assert 'id="tier-summary"' in html and reverse("tiers_portal:summary") in html


def test_points_history_is_paginated(client, member):
    for i in range(25):
        give(member, 10, key=f"k{i}")
    first = client.get(reverse("points_portal:overview"))
    assert len(first.context["history"]) == 20
    second = client.get(reverse("points_portal:overview"), {"page": 2})
    assert len(second.context["history"]) == 5


def test_points_page_query_count_does_not_grow_with_history(client, member, django_assert_max_num_queries):
    for i in range(25):
        give(member, 10, key=f"q{i}")
    with django_assert_max_num_queries(20):
        client.get(reverse("points_portal:overview"))


# ---------------------------------------------------------------- gifts (PTS-6a)


def test_gift_order_reduces_balance_and_stock_and_a_double_submit_orders_once(client, member):
    give(member, 2000)
    gift = make_gift(stock=5)
    store = StoreFactory()
    page = client.get(reverse("points_portal:gifts")).content.decode()
    data = {"gift": gift.pk, "quantity": "2", "store": store.pk,
            "request_id": hidden(page, "request_id", f'id="gift-{gift.pk}"')}
    first = client.post(reverse("points_portal:gift_order"), confirmed(member, "points_portal:gift_order", data), follow=True)
    second = client.post(reverse("points_portal:gift_order"), confirmed(member, "points_portal:gift_order", data), follow=True)
    gift.refresh_from_db()
    assert GiftOrder.objects.filter(member=member).count() == 1
    assert gift.stock == 3 and balance(member) == 1000
    assert any("保温杯" in m for m in messages_of(first))
    assert messages_of(second) == [zh("This order was already placed.")]
    assert GiftOrder.objects.get().store == store


def test_each_render_of_the_gift_page_gives_a_new_request_id(client, member):
    give(member, 2000)
    gift = make_gift()
    a = hidden(client.get(reverse("points_portal:gifts")).content.decode(), "request_id", f'id="gift-{gift.pk}"')
    b = hidden(client.get(reverse("points_portal:gifts")).content.decode(), "request_id", f'id="gift-{gift.pk}"')
    assert a != b


def test_gift_without_enough_points_shows_the_reason_and_an_order_shows_a_message(client, member):
    give(member, 100)
    gift = make_gift(points_cost=500)
    page = client.get(reverse("points_portal:gifts")).content.decode()
    assert 'data-code="insufficient_points"' in page
    response = client.post(reverse("points_portal:gift_order"), confirmed(member, "points_portal:gift_order", {
        "gift": gift.pk, "quantity": "1", "store": StoreFactory().pk, "request_id": "portal-test-1"}))
    # issue 12: a refused action re-renders its page with the message and the error's status (no 302)
    assert response.status_code in (400, 409) and f'id="gift-{gift.pk}"' in response.content.decode()
    assert messages_of(response) == [zh("Not enough points: %(need)s needed, %(have)s available.")
                                     % {"need": 500, "have": 100}]
    assert not GiftOrder.objects.exists() and balance(member) == 100


def test_gift_catalogue_shows_tier_limit_and_stock_reasons(client, member):
    from members.models import Tier

    give(member, 5000)
    other_tier = Tier.objects.exclude(pk=member.tier_id).first()
    restricted = make_gift(name="金卡专享")
    restricted.tiers.add(other_tier)
    make_gift(name="售罄", stock=0)
    limited = make_gift(name="限购", per_member_limit=1)
    with transaction.atomic():
        redemption.gift_order_place(member=member, gift=limited, quantity=1, store=StoreFactory(),
                                    request_id="seed-limit")
    page = client.get(reverse("points_portal:gifts")).content.decode()
    for code in ("gift_tier_not_allowed", "gift_out_of_stock", "gift_limit_reached"):
        assert f'data-code="{code}"' in page


def test_bad_quantity_is_a_message_not_an_error(client, member):
    gift = make_gift()
    response = client.post(reverse("points_portal:gift_order"), {
        "gift": gift.pk, "quantity": "0", "store": StoreFactory().pk, "request_id": "r-1"}, follow=True)
    assert response.status_code == 200 and messages_of(response)
    assert not GiftOrder.objects.exists()


def test_cancel_returns_points_and_stock(client, member):
    give(member, 1000)
    gift = make_gift(stock=2)
    order, _ = redemption.gift_order_place(member=member, gift=gift, quantity=1, store=StoreFactory(),
                                           request_id="seed-cancel")
    assert balance(member) == 500
    response = client.post(reverse("points_portal:gift_order_cancel"), {"order": order.pk}, follow=True)
    assert response.status_code == 200
    order.refresh_from_db()
    gift.refresh_from_db()
    assert order.status == GiftOrder.Status.CANCELLED
    assert balance(member) == 1000 and gift.stock == 2
    # Cancelling again is refused with a message, never a 500, and gives nothing back twice.
    again = client.post(reverse("points_portal:gift_order_cancel"), {"order": order.pk}, follow=True)
    assert again.status_code in (200, 409) and balance(member) == 1000


def test_collected_order_cannot_be_cancelled_on_the_portal(client, member):
    from tests.factories import make_staff

    give(member, 1000)
    store = StoreFactory()
    order, _ = redemption.gift_order_place(member=member, gift=make_gift(), quantity=1, store=store,
                                           request_id="seed-collect")
    redemption.gift_order_collect(order=order, staff=make_staff(store=store))
    response = client.post(reverse("points_portal:gift_order_cancel"), {"order": order.pk}, follow=True)
    assert response.status_code in (400, 409) and messages_of(response)
    order.refresh_from_db()
    assert order.status == GiftOrder.Status.COLLECTED and balance(member) == 500


def test_another_members_gift_order_cannot_be_cancelled(client, member):
    """SEC-3: the order is looked up within the logged-in member's orders."""
    other = MemberFactory()
    give(other, 1000)
    order, _ = redemption.gift_order_place(member=other, gift=make_gift(), quantity=1, store=StoreFactory(),
                                           request_id="seed-other")
    assert client.post(reverse("points_portal:gift_order_cancel"), {"order": order.pk}).status_code == 404
    assert client.post(reverse("points_portal:gift_order_cancel"), {"order": "x"}).status_code == 404
    order.refresh_from_db()
    assert order.status == GiftOrder.Status.RESERVED and balance(other) == 500


def test_another_members_request_id_is_refused_with_a_message(client, member):
    other = MemberFactory()
    give(other, 1000)
    give(member, 1000)
    gift = make_gift()
    redemption.gift_order_place(member=other, gift=gift, quantity=1, store=StoreFactory(), request_id="shared-id")
    response = client.post(reverse("points_portal:gift_order"), confirmed(member, "points_portal:gift_order", {
        "gift": gift.pk, "quantity": "1", "store": StoreFactory().pk, "request_id": "shared-id"}), follow=True)
    assert response.status_code in (400, 409) and messages_of(response)
    assert GiftOrder.objects.filter(member=member).count() == 0 and balance(member) == 1000


# ---------------------------------------------------------------- coupons (PTS-6b)


def test_coupon_redeem_puts_it_in_the_wallet_once(client, member):
    give(member, 3000)
    ctype = make_coupon_type(points_cost=1000)
    page = client.get(reverse("points_portal:coupons")).content.decode()
    data = {"coupon_type": ctype.pk, "request_id": hidden(page, "request_id", f'id="coupon-type-{ctype.pk}"')}
    data = confirmed(member, "points_portal:coupon_redeem", data)
    client.post(reverse("points_portal:coupon_redeem"), data)
    client.post(reverse("points_portal:coupon_redeem"), data)
    coupon = Coupon.objects.get(member=member)
    assert coupon.source == Coupon.Source.POINTS and balance(member) == 2000
    wallet = client.get(reverse("points_portal:coupons"))
    assert coupon in wallet.context["usable"]
    assert coupon.code in wallet.content.decode()
    detail = client.get(reverse("points_portal:coupon"), {"code": coupon.code})
    assert detail.status_code == 200 and coupon.code in detail.content.decode()


def test_coupon_without_enough_points_is_a_message(client, member):
    give(member, 10)
    ctype = make_coupon_type(points_cost=1000)
    page = client.get(reverse("points_portal:coupons")).content.decode()
    not_enough = zh("Not enough points: %(need)s needed, %(have)s available.") % {"need": 1000, "have": 10}
    assert not_enough in page
    response = client.post(reverse("points_portal:coupon_redeem"), confirmed(member, "points_portal:coupon_redeem", {
        "coupon_type": ctype.pk, "request_id": "r-c1"}),
                           follow=True)
    assert response.status_code in (400, 409) and messages_of(response) == [not_enough]
    assert not Coupon.objects.exists() and balance(member) == 10


def test_wallet_groups_used_and_expired_coupons(client, member):
    ctype = make_coupon_type(points_cost=0)
    with transaction.atomic():
        expired = redemption.coupon_issue(member=member, coupon_type=ctype, source=Coupon.Source.MANUAL)
        used = redemption.coupon_issue(member=member, coupon_type=ctype, source=Coupon.Source.MANUAL)
    Coupon.objects.filter(pk=expired.pk).update(valid_from=timezone.now() - dt.timedelta(days=40),
                                                valid_to=timezone.now() - dt.timedelta(days=1))
    redemption.coupon_use(code=used.code, store=StoreFactory(), order_no="O-1", bill_amount=Decimal("300"))
    response = client.get(reverse("points_portal:coupons"))
    assert [c.pk for c in response.context["used"]] == [used.pk]
    assert [c.pk for c in response.context["expired"]] == [expired.pk]
    assert response.context["usable"] == []


def test_another_members_coupon_is_not_found(client, member):
    other = MemberFactory()
    with transaction.atomic():
        coupon = redemption.coupon_issue(member=other, coupon_type=make_coupon_type(), source=Coupon.Source.MANUAL)
    assert client.get(reverse("points_portal:coupon"), {"code": coupon.code}).status_code == 404
    assert client.get(reverse("points_portal:coupon")).status_code == 404
    assert coupon.code not in client.get(reverse("points_portal:coupons")).content.decode()


# ---------------------------------------------------------------- lottery (PTS-6d)


def test_lottery_draw_with_a_single_certain_prize(client, member):
    give(member, 500)
    lottery = make_lottery(points_cost=100)
    Prize.objects.create(lottery=lottery, name="50积分", kind=Prize.Kind.POINTS, weight=1, points=50)
    page = client.get(reverse("points_portal:lottery"))
    assert "100.00%" in page.content.decode()
    request_id = hidden(page.content.decode(), "request_id", f'id="lottery-{lottery.pk}"')
    data = confirmed(member, "points_portal:lottery_draw", {"lottery": lottery.pk, "request_id": request_id})
    response = client.post(reverse("points_portal:lottery_draw"), data, follow=True)
    draw = Draw.objects.get(member=member)
    assert response.status_code == 200 and response.context["draw"] == draw
    assert "50积分" in response.content.decode()
    assert balance(member) == 500 - 100 + 50
    # The same form posted again does not draw twice.
    client.post(reverse("points_portal:lottery_draw"), data)
    assert Draw.objects.filter(member=member).count() == 1 and balance(member) == 450
    assert draw in client.get(reverse("points_portal:lottery")).context["draws"]


def test_lottery_draw_without_enough_points_is_a_message(client, member):
    lottery = make_lottery(points_cost=100)
    Prize.objects.create(lottery=lottery, name="谢谢参与", kind=Prize.Kind.NOTHING, weight=1)
    page = client.get(reverse("points_portal:lottery")).content.decode()
    not_enough = zh("Not enough points: %(need)s needed, %(have)s available.") % {"need": 100, "have": 0}
    assert not_enough in page
    response = client.post(reverse("points_portal:lottery_draw"), confirmed(member, "points_portal:lottery_draw", {
        "lottery": lottery.pk, "request_id": "r-d1"}),
                           follow=True)
    assert response.status_code in (400, 409) and messages_of(response) == [not_enough]
    assert not Draw.objects.exists()


def test_another_members_draw_is_not_found(client, member):
    other = MemberFactory()
    give(other, 500)
    lottery = make_lottery()
    Prize.objects.create(lottery=lottery, name="谢谢参与", kind=Prize.Kind.NOTHING, weight=1)
    draw, _ = redemption.lottery_draw(member=other, lottery=lottery, request_id="seed-draw")
    assert client.get(reverse("points_portal:draw"), {"draw": draw.pk}).status_code == 404
    assert client.post(reverse("points_portal:lottery_draw"), {"lottery": 999999, "request_id": "x"}).status_code == 404


def test_coupon_redeemed_on_the_portal_arrives_in_the_inbox(client, member):
    give(member, 2000)
    ctype = make_coupon_type()
    client.post(reverse("points_portal:coupon_redeem"), confirmed(member, "points_portal:coupon_redeem", {
        "coupon_type": ctype.pk, "request_id": "r-inbox"}))
    # One notice for one redemption (issue 15): coupon_redeemed, with the points spent, not also coupon_issued.
    assert Notice.objects.filter(member=member, kind="coupon_redeemed").exists()
    assert not Notice.objects.filter(member=member, kind="coupon_issued").exists()
    assert client.get(reverse("points_portal:coupons")).context["inbox_unread"] == 1


def test_entries_of_another_member_never_show(client, member):
    other = MemberFactory()
    give(other, 777, key="other")
    html = client.get(reverse("points_portal:overview"), {"member": other.pk}).content.decode()
    assert "777" not in html
    assert not Entry.objects.filter(member=member).exists()


def test_portal_points_urls_carry_no_converters():
    """SEC-3: no points portal URL names a member or any row in its path."""
    from points import portal_urls

    for pattern in portal_urls.urlpatterns:
        assert not pattern.pattern.converters, pattern
