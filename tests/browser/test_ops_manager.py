"""The operations manager's main task in a real browser (issue 16, 运营经理), on the demo data (seed_demo):
log in as `ops`, build a segment with chips and watch the live count change, open the operations dashboard,
read the RFM heatmap, drill into a cell's members, start a campaign from the cell (segment saved from the
cell, then the campaign form with that segment and its count) and reach the send-now confirmation page
with the recipient count, without sending. 1366x768, zh-hans. Screenshots: artifacts/screenshots/ops/."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.management import call_command

from demo.management.commands.seed_demo import DEMO_PASSWORD
from messaging.models import Campaign, MessageTemplate
from messaging.services import template_get

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots" / "ops"


@pytest.fixture
def ops_page(desk_page):
    desk_page.set_default_timeout(30_000)  # pages over seed_demo data get more time than the desk default
    return desk_page


def shot(page, name: str, full: bool = False) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full)
    print(f"screenshot: {path}")
    return path


def _count(page, selector: str) -> int:
    return int(page.inner_text(selector).strip())


def test_ops_manager_builds_a_segment_reads_the_heatmap_and_starts_a_campaign(ops_page, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    call_command("seed_demo", "--members", "400", "--stores", "2")
    if not MessageTemplate.objects.filter(code="marketing", channel="sms").exists():
        # migration 0002 seeds it; a transaction=True test starts from a flushed database
        template_get(code="marketing", channel="sms").save()
    page = ops_page

    page.goto("/desk/login/")
    page.fill("input[name=username]", "ops")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r"/desk/"))
    nav = page.inner_text("header nav")
    assert "群发活动" in nav and "会员活动" in nav  # campaigns and member events no longer both read 活动

    # 1. a segment with chips and its live count
    page.goto("/desk/evaluation/segments/new/")
    page.wait_for_selector("#segment-count-n")
    everyone = _count(page, "#segment-count-n")
    assert everyone > 0
    assert page.locator("textarea").count() == 0
    page.fill("#seg-name", "高价值会员（浏览器测试）")
    with page.expect_response(re.compile(r"/segments/preview/")):
        page.click("#field-rfm_classes label:has-text('重要价值')")
    page.wait_for_function("n => document.querySelector('#segment-count-n') && "
                           "+document.querySelector('#segment-count-n').textContent < n", arg=everyone)
    one_class = _count(page, "#segment-count-n")
    with page.expect_response(re.compile(r"/segments/preview/")):
        page.click("#field-rfm_classes label:has-text('重要保持')")
    page.wait_for_function("n => +document.querySelector('#segment-count-n').textContent >= n", arg=one_class)
    assert "RFM" in page.inner_text("#segment-count")
    shot(page, "01-segment-chips-count")
    # a bad range is refused in Chinese, live
    page.fill("#id_spend_min", "500")
    page.fill("#id_spend_max", "100")
    page.locator("#id_spend_max").dispatch_event("change")
    page.wait_for_selector("#segment-count .errors")
    assert "下限不能高于上限" in page.inner_text("#segment-count")
    shot(page, "02-segment-bad-range")
    page.fill("#id_spend_min", "")
    page.fill("#id_spend_max", "")
    page.click("#segment-live button[type=submit][value='']")
    page.wait_for_url(re.compile(r"/desk/evaluation/segments/\d+/$"))
    shot(page, "03-segment-saved")

    # 2. the operations dashboard: presets, as-of, arrows, heatmap
    page.goto("/desk/dashboards/")
    page.wait_for_selector("#rfm-heatmap-table")
    page.wait_for_selector("#chart-rfm-heatmap + .chart canvas, [data-chart=chart-rfm-heatmap] canvas")
    assert "数据截至" in page.inner_text("#data-as-of")
    assert "近30天" in page.inner_text("nav.presets")
    shot(page, "04-dashboard-top")
    page.locator("#rfm-heatmap").scroll_into_view_if_needed()
    shot(page, "05-dashboard-heatmap")
    page.locator("#rfm-movement").scroll_into_view_if_needed()
    page.wait_for_selector("[data-chart=chart-rfm-sankey] canvas")
    shot(page, "06-dashboard-sankey")
    page.locator("#lifecycle-over-time").scroll_into_view_if_needed()
    page.wait_for_selector("[data-chart=chart-lifecycle] canvas")
    shot(page, "06b-dashboard-lifecycle")
    page.click("nav.presets a:has-text('本月')")
    page.wait_for_url(re.compile(r"date_from="))
    shot(page, "07-dashboard-this-month")

    # 3. drill into the biggest cell
    page.goto("/desk/dashboards/")
    cells = page.locator("#rfm-heatmap-table a[data-cell]")
    assert cells.count() > 0
    counts = [int(re.sub(r"\D", "", t) or 0) for t in cells.all_inner_texts()]
    cells.nth(counts.index(max(counts))).click()
    page.wait_for_url(re.compile(r"/desk/dashboards/rfm-cell/"))
    page.wait_for_selector("#cell-members tbody tr")
    shot(page, "08-cell-members")
    assert page.locator("#cell-members tbody tr").count() >= 1

    # 4. a campaign from the cell: the segment comes prefilled, then the campaign form with its count
    page.click("#cell-campaign")
    page.wait_for_url(re.compile(r"/desk/evaluation/segments/new/\?"))
    page.wait_for_selector("#segment-count-n")
    assert page.locator("#field-rfm_classes input:checked").count() == 1
    assert page.locator("#field-tiers input:checked").count() == 1
    shot(page, "09-segment-from-cell")
    page.click("#save-then-campaign")
    page.wait_for_url(re.compile(r"/desk/campaigns/new/\?segment=\d+"))
    page.wait_for_selector("#audience-count-n")
    audience = _count(page, "#audience-count-n")
    assert audience >= 1
    page.fill("#id_name", "高价值回馈（浏览器测试）")
    marketing = page.locator("#id_template option", has_text="营销短信").first.get_attribute("value")
    page.select_option("#id_template", value=marketing)
    assert page.locator("#id_params").is_hidden()  # the JSON values are folded away under 高级
    page.fill("#id_text", "会员专享：本周末全场9折")
    page.wait_for_selector("#audience-live:not(.htmx-request)")
    shot(page, "10-campaign-form")
    page.click("#audience-live button[type=submit]")
    page.wait_for_url(re.compile(r"/desk/campaigns/\d+/$"))
    shot(page, "11-campaign-detail", full=True)
    assert "一般" in page.inner_text("#campaign-audience") or "重要" in page.inner_text("#campaign-audience")
    assert "本周末全场9折" in page.inner_text("#sample-text")
    page.click("#send-now-form button[type=submit]")
    page.wait_for_selector("#send-confirmation")
    recipients = _count(page, "#confirm-recipients")
    assert 0 <= recipients <= audience
    shot(page, "12-send-confirmation")
    campaign = Campaign.objects.get(name="高价值回馈（浏览器测试）")
    assert campaign.status == Campaign.Status.DRAFT  # confirmation only: nothing sent
