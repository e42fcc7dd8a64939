"""The desk personas' main tasks in a real browser (issue 16), 1366x768, zh-hans. Screenshots go to
artifacts/screenshots/desk/ (gitignored); the tests print where.

- 客服: log in, open a complaint from the queue and read its clock in days and hours, then make the follow-up
  visit: the member's context on the page, the mobile revealed in place to dial (audited), the outcome saved
  and shown as a toast.
- 前台: a purchase (补录消费) of two lines chosen from the catalogue: the running total and the points preview
  follow the typing, and the posting's result is a toast."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from care.models import Visit
from core.models import AuditLog
from members import roles
from points.models import PointsAccount
from tests.browser.conftest import desk_login
from tests.factories import MemberFactory, StoreFactory, ensure_catalogue, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots" / "desk"


def shot(page, name: str, *, full_page: bool = False) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    print(f"screenshot: {path}")
    return path


def test_customer_service_opens_a_complaint_and_makes_the_follow_up_visit_with_a_dial(desk_page, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    page = desk_page
    store = StoreFactory(name="南京路店")
    agent = make_staff(roles.CUSTOMER_SERVICE, store=store, username="kefu01")
    member = MemberFactory(home_store=store, mobile="13900139000", name="陈小红")
    from service_desk import services as sd_services

    complaint = sd_services.complaint_file(channel="desk", category="quality", store=store, member=member,
                                           description="外套起球严重，要求换货", contact_name="陈小红", staff=agent)
    today = timezone.localdate()
    visit = Visit.objects.create(member=member, store=store, period_start=today - dt.timedelta(days=3),
                                 due_on=today + dt.timedelta(days=4), assignee=agent, note="投诉处理后回访")

    desk_login(page, agent.username)
    page.goto(reverse("sd_desk:queue"))
    page.click(f"a[href$='?id={complaint.pk}']")
    page.wait_for_selector("#clocks .sd-clock")
    clock = page.inner_text("#clocks")
    assert re.search(r"\d+ ?(天|小时)", clock), clock
    shot(page, "cs-01-complaint-clock")

    page.goto(reverse("care_desk:visit", args=[visit.pk]))
    page.wait_for_selector("#member-summary")
    page.wait_for_selector("#service-complaints")  # the service history loaded in its slot
    assert f"#{complaint.pk}" in page.inner_text("#service-complaints")
    assert member.tier.name in page.inner_text("#member-summary")
    assert "138" not in page.inner_text("#visit-mobile") and "139****9000" in page.inner_text("#visit-mobile")
    shot(page, "cs-02-visit-context")

    page.click("#dial-button")
    page.wait_for_selector("#dial-link")
    assert page.get_attribute("#dial-link", "href") == "tel:13900139000"
    assert page.url.endswith(reverse("care_desk:visit", args=[visit.pk]))  # dialled without leaving the page
    assert AuditLog.objects.filter(action=AuditLog.Action.REVEAL, member=member, actor=agent).count() == 1
    shot(page, "cs-03-visit-dial")

    page.check("input[name=reached][value='1']")
    page.select_option("select[name=satisfaction]", "4")
    page.fill("textarea[name=feedback]", "换货已完成，会员满意")
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(re.compile(re.escape(reverse("care_desk:visits")) + "$"))
    toast = page.locator("#toasts .toast").first
    toast.wait_for()
    shot(page, "cs-04-visit-saved")
    visit.refresh_from_db()
    assert visit.status != Visit.Status.OPEN and visit.satisfaction == 4


def test_front_desk_purchase_with_two_lines_shows_total_and_points_preview(desk_page, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    page = desk_page
    store = StoreFactory(name="南京路店")
    ensure_catalogue(brands=("LANCOME", "NIKE"), categories=("化妆品", "运动"))
    clerk = make_staff(roles.FRONT_DESK, store=store, username="qiantai02")
    member = MemberFactory(home_store=store, name="王小明")

    desk_login(page, clerk.username)
    page.goto(reverse("points_desk:purchase", args=[member.member_no]))
    page.wait_for_selector("#purchase-form")
    at = timezone.localtime() - dt.timedelta(hours=1)
    page.fill("input[name=order_no]", "POS-CS-2L")
    page.fill("input[name=occurred_at]", at.strftime("%Y-%m-%dT%H:%M"))
    page.select_option("select[name='lines-0-brand']", "LANCOME")
    page.select_option("select[name='lines-0-category']", "化妆品")
    page.fill("input[name='lines-0-amount']", "680.00")
    page.click("#add-line")
    page.select_option("select[name='lines-1-brand']", "NIKE")
    page.select_option("select[name='lines-1-category']", "运动")
    page.fill("input[name='lines-1-amount']", "120.50")
    assert page.inner_text("#purchase-total") == "800.50"
    page.wait_for_function("document.querySelector('#preview-points') && "
                           "document.querySelector('#preview-points').textContent.trim() === '800'")
    assert "800.50" in page.inner_text("#preview-total")
    shot(page, "fd-01-purchase-two-lines-preview")

    page.select_option("select[name='tenders-0-type']", "wechat")
    page.fill("input[name='tenders-0-amount']", "800.50")
    page.wait_for_function("!document.querySelector('#preview-assumed')")
    shot(page, "fd-02-purchase-paid")
    page.click("#purchase-form button[type=submit]")

    page.wait_for_url(re.compile(rf"/desk/members/{member.member_no}/"))
    toast = page.locator("#toasts .toast").first
    toast.wait_for()
    text = toast.inner_text()
    assert "POS-CS-2L" in text and "800" in text, text
    page.wait_for_selector("#summary-balance")  # the page's panels loaded behind the toast
    page.wait_for_selector("#points-entries")
    assert "800" in page.inner_text("#summary-balance")
    shot(page, "fd-03-purchase-toast")
    assert PointsAccount.objects.get(member=member).balance == 800
