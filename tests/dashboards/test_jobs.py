"""The nightly summary jobs (EVAL-3, EVAL-5): correct on the hand-checked data set, idempotent."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Sum

from core.jobs import run_job
from core.models import JobRun
from dashboards.models import (
    ConsumptionCube,
    DailyServiceStats,
    DailyStoreStats,
    DailyTierMoves,
    LifecycleStats,
    RfmMovement,
    RfmStats,
)

from .conftest import D, at

pytestmark = pytest.mark.django_db

NEXT = D + dt.timedelta(days=1)


def _rows(model, **filters):
    rows = [tuple(v for k, v in row.items() if k != "id") for row in model.objects.filter(**filters).values()]
    return sorted(rows, key=lambda r: tuple((v is None, v if v is not None else 0) for v in r))


def test_daily_figures_match_the_hand_checked_day(dataset):
    """EVAL-5: members by home store and tier, purchases by store, ledger lines of the day and the
    balance at the end of the day."""
    run = run_job("dashboard_daily", date=NEXT)
    assert run.status == JobRun.Status.SUCCEEDED, run.error
    s1, s2, normal, silver = dataset["s1"], dataset["s2"], dataset["normal"], dataset["silver"]
    got = {(r.store_id, r.tier_id): r for r in DailyStoreStats.objects.filter(date=D)}
    assert set(got) == {(s1.pk, normal.pk), (s1.pk, silver.pk), (s2.pk, normal.pk)}

    a_row = got[(s1.pk, normal.pk)]  # member a: two purchases 300 + 200, 500 points, 50 spent on a coupon
    assert (a_row.members_total, a_row.members_new, a_row.members_active, a_row.buyers) == (1, 0, 1, 1)
    assert (a_row.purchases, a_row.amount, a_row.refund_amount) == (2, Decimal("500.00"), 0)
    assert (a_row.points_issued, a_row.points_redeemed, a_row.points_expired) == (500, 50, 0)
    assert a_row.points_outstanding == 100 + 500 - 50  # its 1 March purchase earned 100 (at s2)

    b_row = got[(s1.pk, silver.pk)]  # member b: new on D, 1000 at 1.2 points per yuan, 400 refunded
    assert (b_row.members_total, b_row.members_new, b_row.members_active, b_row.buyers) == (1, 1, 1, 1)
    # the day's amount is net paid with the day's refunds (points.net_paid): 1000 × (1 − 400 / 1000)
    assert (b_row.purchases, b_row.amount, b_row.refund_amount) == (1, Decimal("600.00"), Decimal("400.00"))
    assert (b_row.points_issued, b_row.points_reversed) == (1200, 480)
    assert b_row.points_outstanding == 720

    c_row = got[(s2.pk, normal.pk)]  # member c: bought on 5 March (refunded) and on 11 March (after D)
    assert (c_row.members_total, c_row.members_new, c_row.members_active, c_row.purchases) == (1, 0, 1, 0)
    assert c_row.points_outstanding == 0  # the 400 points of 11 March came after the end of D

    assert _rows(DailyTierMoves, date=D) == [(D, s1.pk, normal.pk, silver.pk, "upgrade", 1)]


def test_daily_job_rerun_replaces_the_day(dataset):
    run_job("dashboard_daily", date=NEXT)
    first = (_rows(DailyStoreStats), _rows(DailyTierMoves), _rows(DailyServiceStats))
    run_job("dashboard_daily", date=NEXT)
    assert (_rows(DailyStoreStats), _rows(DailyTierMoves), _rows(DailyServiceStats)) == first
    run_job("dashboard_daily", date=D)  # another day adds its own rows, leaves D's alone
    assert DailyStoreStats.objects.filter(date=D).count() == 3
    assert DailyStoreStats.objects.filter(date=D - dt.timedelta(days=1)).exists()


def test_service_figures_count_on_time_complaints_csi_and_visits(dataset):
    """SD figures on the dashboard: on time = by the complaint's deadline; CSI = satisfied ÷ answered
    on the overall question; visits due on D done by then."""
    from care.models import Answer, Question, Response, Survey, Visit
    from service_desk.models import Complaint

    s1 = dataset["s1"]
    Complaint.objects.create(
        channel="desk", category="quality", store=s1, description="x", received_at=at(D, 9),
        accept_due=at(D, 10), reply_due=at(D, 12), close_due=at(D + dt.timedelta(days=2), 9),
        accepted_at=at(D, 9, 30), first_replied_at=at(D, 13), closed_at=at(D, 15))
    survey = Survey.objects.create(title="s", opens_at=at(D, 0), closes_at=at(NEXT, 0))
    overall = Question.objects.create(survey=survey, text="overall", kind="rating", is_overall=True)
    for member, rating in ((dataset["a"], 5), (dataset["b"], 3)):
        response = Response.objects.create(survey=survey, member=member, store=s1, submitted_at=at(D, 11))
        Answer.objects.create(response=response, question=overall, rating=rating)
    Visit.objects.create(member=dataset["a"], store=s1, period_start=D - dt.timedelta(days=30), due_on=D,
                         status="done", outcome="reached", done_at=at(D, 11))
    Visit.objects.create(member=dataset["b"], store=s1, period_start=D - dt.timedelta(days=30), due_on=D)

    run_job("dashboard_daily", date=NEXT)
    row = DailyServiceStats.objects.get(date=D, store=s1)
    assert (row.complaints_received, row.complaints_accepted, row.accepted_on_time) == (1, 1, 1)
    assert (row.complaints_replied, row.replied_on_time, row.complaints_closed, row.closed_on_time) == (1, 0, 1, 1)
    assert (row.csi_answered, row.csi_satisfied) == (2, 1)
    assert (row.visits_due, row.visits_done_on_time) == (2, 1)


def _cube(period="2026-03", **filters):
    qs = ConsumptionCube.objects.filter(period=period, **filters)
    return {(r["dimension"], r["bucket"]): (r["members"], r["orders"], r["amount"])
            for r in qs.values("dimension", "bucket").annotate(
                members=Sum("members"), orders=Sum("orders"), amount=Sum("amount"))}


def test_consumption_cube_matches_the_hand_checked_month(dataset):
    """EVAL-3 for March 2026 (members are counted per store: a buys in s1 and s2)."""
    run = run_job("consumption_cube", date=NEXT)
    assert run.status == JobRun.Status.SUCCEEDED, run.error
    cube = _cube(tag__isnull=True)
    assert cube[("total", "all")] == (4, 5, Decimal("1600.00"))  # c's refunded order left out, b's net 600
    assert cube[("gender", "F")] == (3, 4, Decimal("1000.00"))
    assert cube[("gender", "M")] == (1, 1, Decimal("600.00"))
    assert cube[("age_band", "35-44")] == (2, 3, Decimal("600.00"))  # a is 35 on 31 March
    assert cube[("age_band", "0-24")] == (1, 1, Decimal("600.00"))
    assert cube[("age_band", "")] == (1, 1, Decimal("400.00"))
    assert cube[("province", "广东")] == (2, 3, Decimal("600.00"))
    assert cube[("city", "")] == (1, 1, Decimal("400.00"))
    assert cube[("frequency_band", "1")] == (3, 3, Decimal("1100.00"))
    assert cube[("frequency_band", "2-3")] == (1, 2, Decimal("500.00"))
    assert cube[("amount_band", "500-1999")] == (2, 3, Decimal("1100.00"))
    assert cube[("amount_band", "0-499")] == (2, 2, Decimal("500.00"))
    assert cube[("weekday", "2")] == (2, 3, Decimal("1100.00"))
    assert cube[("weekday", "3")] == (1, 1, Decimal("400.00"))
    assert cube[("weekday", "7")] == (1, 1, Decimal("100.00"))
    assert cube[("hour", "19")] == (2, 2, Decimal("800.00"))
    assert cube[("hour", "10")] == (1, 1, Decimal("300.00"))
    assert cube[("brand", "L")] == (1, 2, Decimal("400.00"))
    assert cube[("brand", "B1")] == (3, 3, Decimal("1500.00"))  # line amounts, before the partial refund
    assert cube[("category", "服装")] == (4, 4, Decimal("1600.00"))
    assert _cube(tag=dataset["vip"])[("total", "all")] == (2, 3, Decimal("600.00"))
    assert _cube(tag__isnull=True, tier=dataset["silver"])[("total", "all")] == (1, 1, Decimal("600.00"))
    assert _cube(tag__isnull=True, store=dataset["s2"])[("total", "all")] == (2, 2, Decimal("500.00"))
    assert _cube("2026", tag__isnull=True)[("total", "all")] == (4, 5, Decimal("1600.00"))


def test_consumption_cube_rerun_replaces_the_period(dataset):
    run_job("consumption_cube", date=NEXT)
    first = _rows(ConsumptionCube)
    run_job("consumption_cube", date=NEXT)
    assert _rows(ConsumptionCube) == first


def test_evaluation_summaries_count_classes_movement_and_stages(dataset):
    """RFM class mix and movement between snapshots, lifecycle counts (read from evaluation)."""
    from evaluation.models import LifecycleSnapshot, RfmSnapshot

    a, b, c, s1, s2 = dataset["a"], dataset["b"], dataset["c"], dataset["s1"], dataset["s2"]
    normal, silver = dataset["normal"], dataset["silver"]

    def snap(member, as_of, cls, store, tier, monetary):
        RfmSnapshot.objects.create(member=member, as_of=as_of, window_days=365, recency_days=1, frequency=1,
                                   monetary=monetary, r_score=3, f_score=3, m_score=3, rfm_class=cls, store=store,
                                   tier=tier)

    before = dt.date(2026, 3, 1)
    snap(a, before, "general_win_back", s1, normal, 100)
    snap(c, before, "general_value", s2, normal, 50)
    snap(a, D, "important_value", s1, normal, 600)
    snap(b, D, "important_develop", s1, silver, 600)
    LifecycleSnapshot.objects.create(member=a, as_of=D, stage="active", store=s1, tier=normal)
    LifecycleSnapshot.objects.create(member=b, as_of=D, stage="new", store=s1, tier=silver)

    for _ in range(2):  # idempotent
        run = run_job("dashboard_evaluation", date=NEXT)
        assert run.status == JobRun.Status.SUCCEEDED, run.error
    assert _rows(RfmStats) == [(D, 365, s1.pk, normal.pk, "important_value", 1, Decimal("600.00")),
                               (D, 365, s1.pk, silver.pk, "important_develop", 1, Decimal("600.00"))]
    assert _rows(RfmMovement) == [
        (D, before, 365, s1.pk, normal.pk, "general_win_back", "important_value", 1),
        (D, before, 365, s1.pk, silver.pk, "", "important_develop", 1),
        (D, before, 365, s2.pk, normal.pk, "general_value", "", 1),
    ]
    assert _rows(LifecycleStats) == [(D, s1.pk, normal.pk, "active", 1), (D, s1.pk, silver.pk, "new", 1)]
