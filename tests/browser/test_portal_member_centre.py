"""The member persona's main task on a phone (issue 16), end to end in Chinese on a 390×844 viewport:
log in by SMS code, see the member centre (balance 19,748, the expiry banner, tier progress, the bottom
tab bar), open 积分商城, order a gift through the confirmation step, see the order.

Screenshots are saved under artifacts/screenshots/portal_member/ (gitignored; the path is printed) so a
person can look at each screen; the test also checks what a look would catch: no sideways scrolling,
the five tabs inside the screen and fixed at its bottom."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.utils import timezone

from points.models import GiftOrder, Lot
from tests.factories import MemberFactory, StoreFactory
from tests.points.test_portal import balance, give, make_gift

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MOBILE = "13912345678"
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots" / "portal_member"
WIDTH, HEIGHT = 390, 844


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _fits_the_phone(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH, "the page scrolls sideways"
    bar = page.locator("nav.tabbar").bounding_box()
    assert bar is not None and round(bar["y"] + bar["height"]) == HEIGHT and bar["width"] == WIDTH
    for tab in page.locator("nav.tabbar a").all():
        box = tab.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH + 0.5, tab.inner_text()


def test_member_logs_in_sees_the_centre_and_orders_a_gift_with_confirmation(page, settings):
    print(f"\nscreenshots: {SHOTS}")
    store = StoreFactory(name="南京西路店")
    member = MemberFactory(name="李娜", mobile=MOBILE, home_store=store)
    give(member, 19_748)
    Lot.objects.filter(member=member).update(expires_on=timezone.localdate() + dt.timedelta(days=1))
    make_gift(name="保温杯", points_cost=5_000, stock=10)

    page.goto("/portal/login/")
    _shot(page, "00-login")
    page.fill("input[name=mobile]", MOBILE)
    from messaging.sms import InMemoryBackend

    before = len(InMemoryBackend.outbox)
    page.click("#send-code")
    page.wait_for_selector("#code-status .code-status.ok")
    code = re.search(r"(\d{6})", InMemoryBackend.outbox[before].text).group(1)
    # the resend countdown (static/portal/sms-countdown.js): disabled, counting down in Chinese
    page.wait_for_function("document.querySelector('#send-code').textContent.includes('秒后可重发')")
    assert page.is_disabled("#send-code")
    _shot(page, "01-login-code-sent")
    page.fill("input[name=sms_code]", code)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(r"/portal/$"))

    # the member centre: balance with separators, the banner, the tier progress, the e-card
    page.wait_for_selector("#home-balance")
    page.wait_for_selector("#home-tier-next")
    assert page.inner_text("#home-balance") == "19,748"
    assert "19,748 分明日过期" in page.inner_text("#expiry-banner") and "去兑换" in page.inner_text("#expiry-banner")
    assert "再消费" in page.inner_text("#home-tier-next")
    assert page.is_visible(".ecard-qr svg")
    assert [t.strip() for t in page.locator("nav.tabbar a").all_inner_texts()] == ["首页", "权益", "积分商城", "服务", "我的"]
    _fits_the_phone(page)
    _shot(page, "02-member-centre")

    page.click("#tab-mall")
    page.wait_for_url(re.compile(r"/portal/gifts/$"))
    assert page.get_attribute("#tab-mall", "aria-current") == "page"
    _fits_the_phone(page)
    _shot(page, "03-points-mall")

    page.click("#gift-catalogue details summary")
    page.fill("#gift-catalogue input[name=quantity]", "2")
    page.select_option("#gift-catalogue select[name=store]", str(store.pk))
    page.click("#gift-catalogue form.gift-order button[type=submit]")
    page.wait_for_selector("#points-confirm")
    assert page.inner_text("#confirm-cost") == "10,000"
    assert page.inner_text("#confirm-after") == "9,748"
    assert not GiftOrder.objects.exists()
    _fits_the_phone(page)
    _shot(page, "04-confirm")

    page.click("#confirm-submit")
    page.wait_for_url(re.compile(r"/portal/gifts/$"))
    order = GiftOrder.objects.get(member=member)
    assert order.quantity == 2 and order.points == 10_000 and balance(member) == 9_748
    assert "保温杯" in page.inner_text(".messages") and "10,000" in page.inner_text(".messages")
    assert "9,748" in page.inner_text("#gift-catalogue")
    _fits_the_phone(page)
    _shot(page, "05-ordered")

    page.click("#tab-me")
    page.wait_for_url(re.compile(r"/portal/me/$"))
    _fits_the_phone(page)
    _shot(page, "06-me")
