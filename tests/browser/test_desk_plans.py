"""Paid membership seen as a person sees it (issue 18), in Chinese: the front desk sells a plan from the
member page's panel and sees it there; the member sees the plan on the member centre and its page.
Screenshots go to tmp/browser-artifacts/plans/ (gitignored); the test prints where."""
from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from members import roles
from plans.models import MembershipPlan, PaidMembership
from tests.factories import MemberFactory, StoreFactory, make_staff
from tests.members.test_portal import login_as

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "tmp" / "browser-artifacts" / "plans"
PASSWORD = "correct-horse-42"  # tests.factories.UserFactory


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def test_desk_sells_a_plan_and_the_member_sees_it(browser, live_server, settings, client):
    settings.LANGUAGE_CODE = "zh-hans"
    store = StoreFactory(name="南京路店")
    clerk = make_staff(roles.FRONT_DESK, store=store, username="qiantai02")
    member = MemberFactory(home_store=store, name="王小明")
    MembershipPlan.objects.create(name="黑金年卡", code="annual", price=Decimal("299.00"), duration_months=12,
                                  extra_points_rate=Decimal("0.50"), offset_cap_increase=20, free_parking_hours=2)
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1366, "height": 900},
                                  locale="zh-CN", extra_http_headers={"Accept-Language": "zh-Hans,zh;q=0.9"})
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        page.goto("/desk/login/")
        page.fill("input[name=username]", clerk.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_url(re.compile(r"/desk/$"))
        page.goto(f"/desk/members/{member.member_no}/")
        page.wait_for_selector("#plan-none")
        page.click("#plan-buy-link")
        page.wait_for_selector("#plan-buy-form")
        page.fill("input[name=amount]", "299.00")
        page.fill("input[name=receipt_no]", "RC-0001")
        shot(page, "01-desk-sell")
        page.click("#plan-buy-form button[type=submit]")
        page.wait_for_selector("#plan-status")
        page.locator("#panel-plan").scroll_into_view_if_needed()
        shot(page, "02-desk-panel")
        panel = page.inner_text("#panel-plan")
        assert "黑金年卡" in panel and "续费" in panel and "299.00" in panel
    finally:
        context.close()
    assert PaidMembership.objects.get(member=member).purchase_ref == "desk:" + store.code + ":RC-0001"

    login_as(client, member)  # the member's session cookie, handed to a phone-sized browser
    phone = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844}, locale="zh-CN",
                                is_mobile=True, has_touch=True)
    phone.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                        "url": live_server.url}])
    page = phone.new_page()
    try:
        page.goto("/portal/")
        page.wait_for_selector("#home-plan-name")
        assert page.inner_text("#home-plan-name") == "黑金年卡"
        shot(page, "03-portal-centre")
        page.click("#home-plan a.centre-row")
        page.wait_for_selector("#plan-benefits")
        shot(page, "04-portal-plan")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert "每日多 2 小时免费停车" in page.inner_text("#plan-benefits")
    finally:
        phone.close()
