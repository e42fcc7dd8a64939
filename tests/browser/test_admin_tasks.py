"""The administrator persona's tasks of issue 16 at 1366×768 in Chinese: generate reservation slots in bulk
from a weekly pattern (the resource admin's action), edit a gift with a picture (the tabbed gift form with
its preview, fitting the screen), set a severity's default time limits.

Screenshots go to artifacts/screenshots/admin/ (gitignored; the path is printed)."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from PIL import Image

from amenities.models import Resource, Slot
from points.models import Gift
from tests.factories import StoreFactory
from tests.points.test_portal import make_gift

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots" / "admin"
WIDTH, HEIGHT = 1366, 768


@pytest.fixture
def admin_page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": WIDTH, "height": HEIGHT},
                                  locale="zh-CN", extra_http_headers={"Accept-Language": "zh-Hans,zh;q=0.9"})
    user = User.objects.create_superuser("admin16", "admin16@example.com", "correct-horse-42")
    client = Client()
    client.force_login(user)
    context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME,
                          "value": client.cookies[django_settings.SESSION_COOKIE_NAME].value, "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        yield page
    finally:
        context.close()


def _shot(page, name: str, full: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full)


def _fits(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    widest = page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && e.offsetParent !== null)
        .slice(-3).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))""")
    assert width <= WIDTH, f"the page scrolls sideways: {widest}"


def test_administrator_generates_slots_from_a_weekly_pattern(admin_page):
    print(f"\nscreenshots: {SHOTS}")
    page = admin_page
    store = StoreFactory(name="上海南京路店")
    lounge = Resource.objects.create(store=store, kind=Resource.Kind.VIP_LOUNGE, name="贵宾休息室")
    Resource.objects.create(store=store, kind=Resource.Kind.ALTERATION, name="服装修改")
    page.goto("/admin/amenities/resource/")
    page.check(f"input[name=_selected_action][value='{lounge.pk}']")
    page.select_option("select[name=action]", "generate_slots")
    page.click("#changelist-actions button[name=index]")
    page.wait_for_selector("#slot-pattern")
    assert "按每周规律批量生成预约时段" in page.inner_text("#slot-pattern")
    first = timezone.localdate() + dt.timedelta(days=1)
    page.fill("input[name=date_from]", first.isoformat())
    page.fill("input[name=date_to]", (first + dt.timedelta(days=13)).isoformat())
    for box in page.locator("input[name=weekdays]").all():
        box.uncheck()
    for day in ("5", "6"):  # Saturday and Sunday
        page.check(f"input[name=weekdays][value='{day}']")
    page.fill("input[name=times]", "10:00, 14:00, 16:30")
    page.fill("input[name=capacity]", "4")
    _fits(page)
    _shot(page, "10-slot-pattern-form", full=True)
    page.click("#generate-slots")
    page.wait_for_url(re.compile(r"/admin/amenities/resource/$"))
    slots = Slot.objects.filter(resource=lounge)
    assert slots.count() == 12 and {timezone.localtime(s.starts_at).weekday() for s in slots} == {5, 6}
    assert "已新增 12 个时段" in page.inner_text("body")
    _shot(page, "11-slots-generated")

    # the same pattern again: nothing doubled, the message says so
    page.check(f"input[name=_selected_action][value='{lounge.pk}']")
    page.select_option("select[name=action]", "generate_slots")
    page.click("#changelist-actions button[name=index]")
    page.wait_for_selector("#slot-pattern")
    page.fill("input[name=date_from]", first.isoformat())
    page.fill("input[name=date_to]", (first + dt.timedelta(days=13)).isoformat())
    for box in page.locator("input[name=weekdays]").all():
        box.uncheck()
    for day in ("5", "6"):
        page.check(f"input[name=weekdays][value='{day}']")
    page.fill("input[name=times]", "10:00, 14:00, 16:30")
    page.click("#generate-slots")
    page.wait_for_url(re.compile(r"/admin/amenities/resource/$"))
    assert Slot.objects.filter(resource=lounge).count() == 12
    assert "已新增 0 个时段" in page.inner_text("body") and "12 个时段已存在" in page.inner_text("body")

    page.goto(f"/admin/amenities/resource/{lounge.pk}/change/")
    _shot(page, "12-resource-with-slots", full=True)
    _fits(page)


def _png_file(tmp_path: Path) -> Path:
    path = tmp_path / "cup.png"
    Image.new("RGB", (400, 400), "#1f6f8b").save(path, format="PNG")
    return path


def test_administrator_edits_a_gift_with_a_picture_at_1366(admin_page, settings, tmp_path):
    page = admin_page
    settings.MEDIA_ROOT = str(tmp_path / "media")
    gift = make_gift(name="保温杯", description="304不锈钢真空保温杯 500ml", points_cost=1500, stock=200)
    page.goto(f"/admin/points/gift/{gift.pk}/change/")
    _fits(page)
    _shot(page, "20-gift-form-tab-1")
    big = tmp_path / "tiny.png"
    Image.new("RGB", (60, 60), "#000").save(big, format="PNG")
    page.set_input_files("input[name=image]", str(big))
    page.click("button[name=_continue]")
    page.wait_for_selector(".errorlist, .text-red-600, [class*=error]")
    assert "60 × 60" in page.inner_text("body")
    _shot(page, "21-gift-picture-refused")
    page.set_input_files("input[name=image]", str(_png_file(tmp_path)))
    page.click("button[name=_continue]")
    page.wait_for_url(re.compile(rf"/admin/points/gift/{gift.pk}/change/$"))
    gift = Gift.objects.get(pk=gift.pk)
    assert gift.image and gift.image.name.startswith("gifts/")
    preview = page.locator("img[src*='/media/gifts/']").first  # unfold's picture widget previews it
    assert preview.is_visible()
    assert page.evaluate("(img) => img.complete && img.naturalWidth", preview.element_handle()) == 400
    _shot(page, "22-gift-with-picture")
    _fits(page)
    # the other tabs of the form: price and stock, who and when
    for index, tab in enumerate(page.locator("a[href^='#']:has-text('积分与库存'), a:has-text('兑换对象与时间')").all()):
        tab.click()
        _fits(page)
        _shot(page, f"23-gift-tab-{index + 2}")
    page.goto("/admin/points/gift/")
    _shot(page, "24-gift-list-thumbnails")


def test_administrator_sees_severities_with_their_own_time_limits(admin_page):
    import importlib

    from service_desk.models import SeverityLevel

    seeded = importlib.import_module("service_desk.migrations.0008_severity_level_defaults").DEFAULTS
    for severity, (accept, reply, close, description) in seeded.items():  # a transactional test flushed them
        SeverityLevel.objects.get_or_create(severity=severity, defaults={
            "accept_hours": accept, "reply_hours": reply, "close_hours": close, "description": description})
    page = admin_page
    page.goto("/admin/service_desk/severitylevel/")
    body = page.inner_text("body")
    _shot(page, "30-severities")
    assert "紧急" in body and "严重" in body and "涉及人身安全" in body
    assert page.locator("input[name$='-accept_hours']").count() == 3  # the hours editable in the list
    _fits(page)
