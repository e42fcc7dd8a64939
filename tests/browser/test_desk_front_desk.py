"""The front desk's main task in a real browser (issue 16, 前台): log in at /desk/login/, find the member by a
mobile written "138 0013 8000", see the summary bar, post a desk purchase (补录消费) and see the result as a
toast at the top of the member page. 1366x768, zh-hans. Screenshots go to tmp/browser-artifacts/desk/
(gitignored); the test prints where."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.utils import timezone

from members import roles
from points.models import PointsAccount
from tests.browser.conftest import STAFF_PASSWORD
from tests.factories import MemberFactory, StoreFactory, ensure_catalogue, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "tmp" / "browser-artifacts" / "desk"


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    print(f"screenshot: {path}")
    return path


def test_front_desk_finds_a_member_by_written_mobile_and_posts_a_purchase(desk_page, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    page = desk_page
    store = StoreFactory(name="南京路店")
    clerk = make_staff(roles.FRONT_DESK, store=store, username="qiantai01")
    member = MemberFactory(home_store=store, mobile="13800138000", name="王小明")
    ensure_catalogue()
    from service_desk import services as sd_services

    complaint = sd_services.complaint_file(channel="desk", category="quality", store=store, member=member,
                                           description="鞋子开胶了，要求退货", contact_name="王小明", staff=clerk)

    page.goto("/desk/login/")
    shot(page, "01-login")
    page.fill("input[name=username]", clerk.username)
    page.fill("input[name=password]", STAFF_PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r"/desk/$"))

    # the workspace search in the top bar, a mobile as people write it
    page.fill("#quick-search-q", "138 0013 8000")
    shot(page, "02-search-typed")
    page.press("#quick-search-q", "Enter")
    page.wait_for_url(re.compile(rf"/desk/members/{member.member_no}/"))
    page.wait_for_selector("#summary-balance")
    page.wait_for_selector("#summary-complaints")
    page.wait_for_selector("#points-panel-body")
    page.wait_for_selector("#service-history")
    summary = page.inner_text("#member-summary")
    assert "王小明" in summary and member.tier.name in summary
    assert "余额" in summary and "未结投诉" in summary
    assert page.inner_text("#summary-complaints strong").strip() == "1"
    assert f"#{complaint.pk}" in page.inner_text("#service-complaints")
    shot(page, "03-member")

    # 补录消费
    page.click("#summary-actions a[href$='/purchase/']")
    page.wait_for_selector("#purchase-form")
    at = timezone.localtime() - dt.timedelta(hours=1)
    page.fill("input[name=order_no]", "POS-BROWSER-1")
    page.fill("input[name=occurred_at]", at.strftime("%Y-%m-%dT%H:%M"))
    page.select_option("select[name='lines-0-brand']", "LANCOME")
    page.select_option("select[name='lines-0-category']", "化妆品")
    page.fill("input[name='lines-0-amount']", "680.00")
    page.select_option("select[name='tenders-0-type']", "wechat")
    page.fill("input[name='tenders-0-amount']", "680.00")
    shot(page, "04-purchase-form")
    page.click("#purchase-form button[type=submit]")

    page.wait_for_url(re.compile(rf"/desk/members/{member.member_no}/"))
    toast = page.locator("#toasts .toast").first
    toast.wait_for()
    text = toast.inner_text()
    assert "POS-BROWSER-1" in text and "680" in text, text
    # the toast is on screen although the page jumped to the points panel
    box = toast.bounding_box()
    assert box is not None and 0 <= box["y"] < 768, box
    page.wait_for_selector("#summary-balance")
    shot(page, "05-purchase-toast")
    assert PointsAccount.objects.get(member=member).balance == 680
    assert "680" in page.inner_text("#summary-balance")

    # the ledger: full width, each date on one line
    page.wait_for_selector("#points-entries tbody tr.entry-credit")
    page.locator("#points-entries").scroll_into_view_if_needed()
    cell = page.locator("#points-entries tbody tr.entry-credit td").first
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", cell.inner_text().strip())
    lines = cell.evaluate("el => { const r = document.createRange(); r.selectNodeContents(el); "
                          "return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size; }")
    assert lines == 1, "the date wraps"
    ledger = page.locator("#points-entries").bounding_box()
    assert ledger["width"] > 1000, ledger
    # the summary stays at the top while the page scrolls
    assert abs(page.locator("#member-summary").bounding_box()["y"]) < 5
    shot(page, "06-ledger")

    page.click("#toasts [data-dismiss=toast]")
    assert page.locator("#toasts .toast").count() == 0
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_selector("#service-history")
    shot(page, "07-member-top")
    page.locator("#panel-service").scroll_into_view_if_needed()
    shot(page, "08-service-panel")
