"""Desk pages of the dashboards: charts' JSON, filters, exports, store scope, query counts."""
from __future__ import annotations

import datetime as dt
import io
import json
import re
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from core.jobs import run_job
from members import roles
from tests.factories import make_staff

from .conftest import D

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.dashboards.urls")]

OVERVIEW = "/desk/dashboards/"
CONSUMPTION = "/desk/dashboards/consumption/"
DAY = {"date_from": D.isoformat(), "date_to": D.isoformat()}


@pytest.fixture
def summaries(dataset):
    from evaluation.models import LifecycleSnapshot, RfmSnapshot

    for member, cls in ((dataset["a"], "important_value"), (dataset["c"], "general_win_back")):
        RfmSnapshot.objects.create(member=member, as_of=D, window_days=365, recency_days=1, frequency=1, monetary=1,
                                   r_score=3, f_score=3, m_score=3, rfm_class=cls, store=member.home_store,
                                   tier=member.tier)
        LifecycleSnapshot.objects.create(member=member, as_of=D, stage="active", store=member.home_store,
                                         tier=member.tier)
    for job in ("dashboard_daily", "consumption_cube", "dashboard_evaluation"):
        run_job(job, date=D + dt.timedelta(days=1))
    return dataset


def _chart(response, chart_id):
    match = re.search(rf'<script id="{chart_id}" type="application/json">(.*?)</script>', response.content.decode())
    assert match, f"no {chart_id} on the page"
    return json.loads(match.group(1))


def _kpi(response, label):
    return dict((str(k), v) for k, v in response.context["data"]["tables"]["kpis"].rows)[label]


def test_overview_renders_every_chart_and_the_chain_figures(client, summaries):
    """EVAL-5: members, points with liability in yuan, tier mix, RFM, lifecycle, service — charts as JSON."""
    client.force_login(make_staff(roles.OPERATIONS_MANAGER, chain_wide=True))
    response = client.get(OVERVIEW, DAY)
    assert response.status_code == 200
    for chart_id in ("chart-members", "chart-sales", "chart-points", "chart-tier-mix", "chart-rfm-mix",
                     "chart-lifecycle", "chart-service"):
        _chart(response, chart_id)
    assert _chart(response, "chart-members")["series"][0]["data"] == [1]  # b is new on D
    assert "vendor/echarts.min.js" in response.content.decode()
    data = response.context["data"]
    assert data["last"]["members_total"] == 3
    assert data["totals"]["points_issued"] == 1700 and data["totals"]["points_redeemed"] == 50
    assert data["liability_yuan"] == Decimal("12.70")  # (550 + 720 + 0) points at 100 per yuan
    assert data["redemption_rate"] == pytest.approx(2.9)
    tier_mix = {row[0]: row[1] for row in data["tables"]["tier_mix"].rows}
    assert tier_mix == {"普通": 2, "银卡": 1}
    assert [row[1] for row in data["tables"]["rfm_mix"].rows] == [1, 1]


def test_overview_store_filter_narrows_the_figures(client, summaries):
    client.force_login(make_staff(roles.OPERATIONS_MANAGER, chain_wide=True))
    response = client.get(OVERVIEW, {**DAY, "store": summaries["s2"].pk})
    assert response.context["data"]["last"]["members_total"] == 1
    assert response.context["data"]["totals"]["purchases"] == 0


def test_store_manager_sees_only_their_store(client, summaries):
    """SEC-3: a staff member who is not chain-wide sees their store, whatever the store filter says."""
    s1, s2 = summaries["s1"], summaries["s2"]
    client.force_login(make_staff(roles.OPERATIONS_MANAGER, store=s1))
    response = client.get(OVERVIEW, DAY)
    assert response.context["data"]["last"]["members_total"] == 2  # a and b, not c
    assert [s.pk for s in response.context["form"].fields["store"].queryset] == [s1.pk]
    response = client.get(OVERVIEW, {**DAY, "store": s2.pk})
    assert response.context["data"]["last"]["members_total"] == 2  # the other store is refused, scope stays
    response = client.get(CONSUMPTION, {"period": "2026-03", "store": s2.pk})
    assert response.context["data"]["total"]["amount"] == 1100  # s1's purchases only
    csv_text = client.get(OVERVIEW + "export/tier_mix.csv", {**DAY, "store": s2.pk}).content.decode("utf-8-sig")
    assert "普通,1," in csv_text and "银卡,1," in csv_text


def test_staff_without_the_permission_are_refused(client, summaries):
    client.force_login(make_staff(roles.FRONT_DESK, store=summaries["s1"]))
    assert client.get(OVERVIEW).status_code == 403
    assert client.get(CONSUMPTION).status_code == 403
    assert client.get(OVERVIEW + "export/kpis.csv").status_code == 403


def test_consumption_page_charts_and_filters(client, summaries):
    """EVAL-3: every dimension has a chart and a table; tier and tag filters narrow them."""
    client.force_login(make_staff(roles.OPERATIONS_MANAGER, chain_wide=True))
    response = client.get(CONSUMPTION, {"period": "2026-03"})
    assert response.status_code == 200
    for dim in ("province", "city", "age_band", "gender", "frequency_band", "amount_band", "brand", "category",
                "weekday", "hour"):
        _chart(response, f"chart-{dim}")
    assert response.context["data"]["total"]["orders"] == 5
    weekday = _chart(response, "chart-weekday")
    assert weekday["series"][0]["data"] == [1100.0, 400.0, 100.0]  # Tuesday, Wednesday, Sunday in week order
    brand = response.context["data"]["tables"]["brand"].rows
    assert brand[0][:4] == ["B1", 3, 3, 1500]
    tagged = client.get(CONSUMPTION, {"period": "2026-03", "tag": summaries["vip"].pk})
    assert tagged.context["data"]["total"]["amount"] == 600
    silver = client.get(CONSUMPTION, {"period": "2026-03", "tier": summaries["silver"].pk})
    assert silver.context["data"]["total"]["orders"] == 1


def test_exports_contain_the_table_as_csv_and_excel(client, summaries):
    client.force_login(make_staff(roles.AUDITOR, chain_wide=True))
    response = client.get(OVERVIEW + "export/daily.csv", DAY)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    lines = response.content.decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith(f"{D.isoformat()},1,3,")
    response = client.get(CONSUMPTION + "export/gender.xlsx", {"period": "2026-03"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows[0]) == 6
    assert [r[1:3] for r in rows[1:]] == [(3, 4), (1, 1)]
    assert client.get(OVERVIEW + "export/nope.csv", DAY).status_code == 404
    assert client.get(OVERVIEW + "export/daily.pdf", DAY).status_code == 404


def test_pages_query_count_is_bounded(client, summaries, django_assert_max_num_queries):
    """The pages read only the summary tables: session, user, permissions and scope (5), then a
    fixed number of summary queries whatever the number of members, stores or days."""
    client.force_login(make_staff(roles.OPERATIONS_MANAGER, store=summaries["s1"]))
    # 11 summary queries (8, the RFM heatmap, the lifecycle dates, the previous period for ▲▼), points
    # settings, the paid-membership panel (3, plans), the store choices
    with django_assert_max_num_queries(20):
        assert client.get(OVERVIEW, DAY).status_code == 200
    with django_assert_max_num_queries(10):  # the cube and its period's status; store, tier and tag choices
        assert client.get(CONSUMPTION, {"period": "2026-03"}).status_code == 200
    with django_assert_max_num_queries(16):  # the overview's queries without the page's choices and panel
        assert client.get(OVERVIEW + "export/daily.xlsx", DAY).status_code == 200
