"""What the operations manager asked of the dashboards (issue 16): 万 figures, ▲▼ against the previous
period, date presets, "数据截至", the RFM heatmap with its drill-down to the members and the
"create segment / send campaign" links, the class movement as a Sankey, lifecycle over time."""
from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import pytest
import time_machine
from django.test import RequestFactory
from django.utils import translation

from dashboards.templatetags.dashboard_format import change, thousands, wan
from dashboards.views import date_presets
from members import roles
from tests.factories import make_staff

from . import test_pages
from .conftest import D
from .test_pages import DAY, OVERVIEW

summaries = test_pages.summaries  # the fixture

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.dashboards.urls")]


def _chart(response, chart_id):
    match = re.search(rf'<script id="{chart_id}" type="application/json">(.*?)</script>', response.content.decode())
    assert match, f"no {chart_id} on the page"
    return json.loads(match.group(1))


def test_figures_in_wan_and_thousands():
    with translation.override("zh-hans"):
        assert wan(12345) == "1.2万" and wan(Decimal("123456789.00")) == "1.2亿" and wan(9876) == "9,876"
        assert wan(Decimal("9876.50")) == "9,876.50" and wan(None) == "—" and wan(-25000) == "-2.5万"
    with translation.override("en"):
        assert wan(12345) == "12.3k"
    assert thousands(1234567) == "1,234,567" and thousands(Decimal("1234.5")) == "1,234.50" and thousands("普通") == "普通"


def test_change_arrow_and_percent():
    assert "▲ 25.0%" in change(125, 100) and 'class="delta up"' in change(125, 100)
    assert "▼ 50.0%" in change(Decimal("50"), Decimal("100"))
    assert "—" in change(5, 0) and "—" in change(5, None)
    assert "—" in change("", 5) and "—" in change(None, None)  # a period without figures (the crawl found it)


def test_date_presets_are_the_six_ranges():
    request = RequestFactory().get(OVERVIEW, {"store": "7", "date_from": "2026-12-01", "date_to": "2026-12-02"})
    with time_machine.travel(dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC), tick=False), \
            translation.override("zh-hans"):
        presets = date_presets(request, "dashboards:overview")
    ranges = {p["label"]: parse_qs(urlparse(p["url"]).query) for p in presets}
    assert list(ranges) == ["今天", "近7天", "近30天", "本月", "上月", "本年"]
    assert ranges["今天"]["date_from"] == ["2026-12-02"] and ranges["近7天"]["date_to"] == ["2026-12-01"]
    assert ranges["上月"]["date_from"] == ["2026-11-01"] and ranges["上月"]["date_to"] == ["2026-11-30"]
    assert ranges["本年"]["date_from"] == ["2026-01-01"] and ranges["本月"]["store"] == ["7"]
    assert [p["active"] for p in presets] == [False, False, False, True, False, False]


def test_overview_heatmap_sankey_lifecycle_arrows_and_as_of(client, summaries):
    client.force_login(make_staff(roles.OPERATIONS_MANAGER, chain_wide=True))
    with translation.override("zh-hans"):
        response = client.get(OVERVIEW, DAY, HTTP_ACCEPT_LANGUAGE="zh-hans")
    body = response.content.decode()
    assert f"数据截至 {D.isoformat()}" in body
    assert "近30天" in body and 'class="delta' in body
    heat = _chart(response, "chart-rfm-heatmap")
    assert heat["kind"] == "heatmap" and len(heat["rows"]) == 8 and sum(c[2] for c in heat["series"][0]["data"]) == 2
    links = re.findall(r'href="(/desk/dashboards/rfm-cell/\?[^"]+)"', body)
    assert len(links) == 2 and all("rfm_class=" in u and "tier=" in u and "as_of=" in u for u in links)
    sankey = _chart(response, "chart-rfm-sankey")
    assert sankey["kind"] == "sankey"
    lifecycle = _chart(response, "chart-lifecycle")
    assert lifecycle["stack"] is True and lifecycle["categories"] == [D.isoformat()]


def test_heatmap_cell_lists_its_members_and_offers_segment_and_campaign(client, summaries):
    a = summaries["a"]
    client.force_login(make_staff(roles.OPERATIONS_MANAGER, chain_wide=True))
    url = f"/desk/dashboards/rfm-cell/?as_of={D.isoformat()}&rfm_class=important_value&tier={a.tier.code}"
    response = client.get(url)
    assert response.status_code == 200
    assert [s.member for s in response.context["page"].object_list] == [a]
    body = response.content.decode().replace("&amp;", "&")
    assert "/desk/evaluation/segments/new/?rfm_classes=important_value&tiers=" in body
    assert "then=campaign" in body
    assert client.get("/desk/dashboards/rfm-cell/?as_of=x&rfm_class=important_value&tier=normal").status_code == 404
    assert client.get(url.replace("important_value", "nope")).status_code == 404
    # a store manager sees only the members of their store in the cell
    other = make_staff(roles.OPERATIONS_MANAGER, store=summaries["s2"])
    client.force_login(other)
    if a.home_store_id != summaries["s2"].pk:
        assert list(client.get(url).context["page"].object_list) == []


def test_cell_page_query_count_is_bounded(client, summaries, django_assert_max_num_queries):
    client.force_login(make_staff(roles.OPERATIONS_MANAGER, chain_wide=True))
    url = f"/desk/dashboards/rfm-cell/?as_of={D.isoformat()}&rfm_class=important_value&tier={summaries['a'].tier.code}"
    with django_assert_max_num_queries(12):
        assert client.get(url).status_code == 200


def test_overview_of_a_period_without_figures_renders(client, summaries):
    client.force_login(make_staff(roles.OPERATIONS_MANAGER, chain_wide=True))
    response = client.get(OVERVIEW, {"date_from": "2020-01-01", "date_to": "2020-01-31"})
    assert response.status_code == 200 and response.context["data"]["last"] is None
