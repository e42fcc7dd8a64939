"""The confirmation before points are spent on the portal (issue 16): gift orders, coupons bought with
points and lottery draws show what is spent and the balance after; only the confirmed POST spends, and
the service still checks it."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from points.models import Coupon, Draw, GiftOrder, Prize
from tests.factories import MemberFactory, StoreFactory
from tests.members.test_portal import login_as
from tests.points.test_portal import balance, give, make_coupon_type, make_gift, make_lottery

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(client):
    m = MemberFactory()
    login_as(client, m)
    give(m, 12_000)
    return m


def _confirm_fields(html: str) -> dict:

    form = html[html.index('id="confirm-form"'):]
    form = form[:form.index("</form>")]
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))
    fields.pop("csrfmiddlewaretoken", None)
    return fields


def test_gift_form_goes_to_the_confirmation_first(client, member):
    make_gift()
    html = client.get(reverse("points_portal:gifts")).content.decode()
    assert f'method="get" action="{reverse("points_portal:gift_order_confirm")}"' in html


def test_gift_confirmation_shows_cost_and_balance_after_and_spends_nothing(client, member):
    gift, store = make_gift(points_cost=5_000), StoreFactory(name="徐汇店")
    response = client.get(reverse("points_portal:gift_order_confirm"),
                          {"gift": gift.pk, "quantity": "2", "store": store.pk, "request_id": "portal-c1"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "保温杯 × 2" in html and "徐汇店" in html
    assert 'id="confirm-cost"><strong>10,000</strong>' in html
    assert 'id="confirm-have">12,000<' in html and 'id="confirm-after">2,000<' in html
    assert "确认使用 10,000 积分" in html
    assert not GiftOrder.objects.exists() and balance(member) == 12_000
    fields = _confirm_fields(html)
    assert fields.pop("confirm")  # the signed token the action requires
    assert fields == {"gift": str(gift.pk), "quantity": "2", "store": str(store.pk), "request_id": "portal-c1"}
    fields = _confirm_fields(html)
    response = client.post(reverse("points_portal:gift_order"), fields, follow=True)
    assert "共 10,000 积分" in response.content.decode()  # the message formats points like the pages
    order = GiftOrder.objects.get(member=member)
    assert order.points == 10_000 and balance(member) == 2_000


def test_gift_confirmation_refuses_what_the_service_would_refuse(client, member):
    gift = make_gift(points_cost=5_000)
    html = client.get(reverse("points_portal:gift_order_confirm"), {
        "gift": gift.pk, "quantity": "3", "store": StoreFactory().pk, "request_id": "portal-c2"}).content.decode()
    assert 'id="confirm-refusal"' in html and 'id="confirm-form"' not in html
    assert "15,000" in html and "12,000" in html
    # server-side still validated: posting the action directly is refused by the service
    client.post(reverse("points_portal:gift_order"), {"gift": gift.pk, "quantity": "3",
                                                      "store": StoreFactory().pk, "request_id": "portal-c2"})
    assert not GiftOrder.objects.exists() and balance(member) == 12_000


def test_gift_confirmation_with_a_bad_quantity_goes_back_with_the_error(client, member):
    gift = make_gift()
    response = client.get(reverse("points_portal:gift_order_confirm"), {
        "gift": gift.pk, "quantity": "0", "store": StoreFactory().pk, "request_id": "portal-c3"})
    assert response.status_code == 302 and response["Location"] == reverse("points_portal:gifts")


def test_coupon_confirmation_then_redeem(client, member):
    ctype = make_coupon_type(points_cost=1_000)
    html = client.get(reverse("points_portal:coupons")).content.decode()
    assert f'action="{reverse("points_portal:coupon_redeem_confirm")}"' in html
    html = client.get(reverse("points_portal:coupon_redeem_confirm"),
                      {"coupon_type": ctype.pk, "request_id": "portal-k1"}).content.decode()
    assert "满200减20" in html and 'id="confirm-after">11,000<' in html
    assert not Coupon.objects.exists()
    client.post(reverse("points_portal:coupon_redeem"), _confirm_fields(html))
    assert Coupon.objects.filter(member=member).count() == 1 and balance(member) == 11_000


def test_lottery_confirmation_then_draw(client, member):
    lot = make_lottery(points_cost=100)
    Prize.objects.create(lottery=lot, name="谢谢参与", kind=Prize.Kind.NOTHING, weight=1)
    html = client.get(reverse("points_portal:lottery")).content.decode()
    assert f'action="{reverse("points_portal:lottery_draw_confirm")}"' in html
    html = client.get(reverse("points_portal:lottery_draw_confirm"),
                      {"lottery": lot.pk, "request_id": "portal-d1"}).content.decode()
    assert "周年庆抽奖" in html and 'id="confirm-after">11,900<' in html
    assert not Draw.objects.exists()
    client.post(reverse("points_portal:lottery_draw"), _confirm_fields(html))
    assert Draw.objects.filter(member=member).count() == 1 and balance(member) == 11_900


def test_confirm_pages_need_a_logged_in_member(client):
    for name in ("points_portal:gift_order_confirm", "points_portal:coupon_redeem_confirm",
                 "points_portal:lottery_draw_confirm"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and response["Location"] == reverse("portal:login")


# ---------------------------------------------------------------- the step is enforced by the server


def test_a_direct_gift_post_without_the_confirm_token_spends_nothing_and_goes_to_the_confirmation(client, member):
    gift, store = make_gift(points_cost=5_000), StoreFactory()
    data = {"gift": gift.pk, "quantity": "1", "store": store.pk, "request_id": "portal-direct"}
    response = client.post(reverse("points_portal:gift_order"), data)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("points_portal:gift_order_confirm") + "?")
    assert f"gift={gift.pk}" in response["Location"] and "request_id=portal-direct" in response["Location"]
    assert not GiftOrder.objects.exists() and balance(member) == 12_000
    page = client.get(response["Location"]).content.decode()
    assert "请先确认" in page or 'id="confirm-form"' in page


def test_a_confirm_token_for_one_quantity_does_not_buy_another(client, member):
    gift, store = make_gift(points_cost=1_000), StoreFactory()
    html = client.get(reverse("points_portal:gift_order_confirm"),
                      {"gift": gift.pk, "quantity": "1", "store": store.pk, "request_id": "portal-q"}).content.decode()
    fields = _confirm_fields(html)
    client.post(reverse("points_portal:gift_order"), {**fields, "quantity": "5"})
    assert not GiftOrder.objects.exists() and balance(member) == 12_000
    other = make_gift(name="雨伞", points_cost=1_000)
    client.post(reverse("points_portal:gift_order"), {**fields, "gift": other.pk})
    assert not GiftOrder.objects.exists()
    client.post(reverse("points_portal:gift_order"), fields)
    assert GiftOrder.objects.get().quantity == 1 and balance(member) == 11_000


def test_another_members_confirm_token_is_refused(client, member):
    gift, store = make_gift(points_cost=1_000), StoreFactory()
    fields = {"gift": gift.pk, "quantity": "1", "store": store.pk, "request_id": "portal-other"}
    from points.views_portal import confirm_token
    token = confirm_token(member_id=MemberFactory().pk, action=reverse("points_portal:gift_order"), fields=fields)
    client.post(reverse("points_portal:gift_order"), {**fields, "confirm": token})
    assert not GiftOrder.objects.exists() and balance(member) == 12_000


def test_an_expired_confirm_token_sends_the_member_back_to_confirm(client, member):
    import time_machine

    gift, store = make_gift(points_cost=1_000), StoreFactory()
    html = client.get(reverse("points_portal:gift_order_confirm"),
                      {"gift": gift.pk, "quantity": "1", "store": store.pk, "request_id": "portal-old"}).content.decode()
    fields = _confirm_fields(html)
    with time_machine.travel(dt.datetime.now(tz=dt.UTC) + dt.timedelta(minutes=11)):
        response = client.post(reverse("points_portal:gift_order"), fields)
    assert response["Location"].startswith(reverse("points_portal:gift_order_confirm"))
    assert not GiftOrder.objects.exists() and balance(member) == 12_000


def test_a_direct_coupon_or_draw_post_without_the_token_spends_nothing(client, member):
    ctype = make_coupon_type(points_cost=1_000)
    response = client.post(reverse("points_portal:coupon_redeem"), {"coupon_type": ctype.pk, "request_id": "k-direct"})
    assert response["Location"].startswith(reverse("points_portal:coupon_redeem_confirm") + "?")
    lot = make_lottery(points_cost=100)
    Prize.objects.create(lottery=lot, name="谢谢参与", kind=Prize.Kind.NOTHING, weight=1)
    response = client.post(reverse("points_portal:lottery_draw"), {"lottery": lot.pk, "request_id": "d-direct"})
    assert response["Location"].startswith(reverse("points_portal:lottery_draw_confirm") + "?")
    # a token issued for the coupon does not pay for the draw
    html = client.get(reverse("points_portal:coupon_redeem_confirm"),
                      {"coupon_type": ctype.pk, "request_id": "k-direct"}).content.decode()
    token = _confirm_fields(html)["confirm"]
    client.post(reverse("points_portal:lottery_draw"), {"lottery": lot.pk, "request_id": "k-direct", "confirm": token})
    assert not Coupon.objects.exists() and not Draw.objects.exists() and balance(member) == 12_000
