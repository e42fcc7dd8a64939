"""Relationship closeness (会员关系紧密度, EVAL-2), computed set-wise per as-of date D.

Components, for the year (D − 365, D] (local dates) and each active member with any of them:
- amount: net paid in the year (refunds by the end of D deducted, as in RFM);
- amount change: amount − the previous year's (D − 730, D − 365] net paid, in yuan;
- frequency: purchases in the year (fully refunded orders left out);
- response to campaigns: what the ledger shows of a member answering an offer: purchases made while
  a points campaign that covers the purchase's store ran (points_campaign windows, active campaigns;
  the brand, category and tier conditions are not checked), plus gift orders (not cancelled) and
  lottery draws;
- response to events (seed 000 会员关系紧密度 对活动的响应, 002 六 会员活动): member events attended in the
  year, i.e. check-ins at the door (engagement.attendance, read through core.figures because engagement
  sits above evaluation), with its own weight;
- referrals: members this member referred in the year (evaluation.Referral).

Each component becomes the member's PERCENT_RANK in the population (0 = lowest, 1 = highest; ties
share a rank), the score is 100 × Σ wᵢ·rankᵢ / Σ wᵢ with the ClosenessWeights of the admin, and the
percentile is 100 × CUME_DIST of the score. A re-run replaces that date's rows in one transaction.
"""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from functools import cache

from django.db import connection, transaction

from core.errors import ValidationFailed
from core.figures import event_attendance_figure

from .models import ClosenessWeights
from .purchase_summary import as_of_window_sql, purchase_summary_refresh, window_params
from .rfm import (
        SOURCE_PURCHASES,
    SOURCE_SUMMARY,
    check_source,
    default_as_of,
    job_settings,
    local_midnight,
    purchases_sql,
)

YEAR_DAYS = 365

# Built when a job first runs: purchases_sql reads the net-paid definition points registers in ready().
def _years_sql(source: str) -> str:
    """The cur (this year: amount, frequency) and prev (previous year: amount) CTEs, refunds by %(end)s."""
    if source == SOURCE_PURCHASES:
        return f"""
cur AS (
    SELECT p.member_id, SUM(p.net) AS amount, COUNT(*) AS frequency
    FROM ({purchases_sql("start", "end")}) p GROUP BY p.member_id
), prev AS (
    SELECT p.member_id, SUM(p.net) AS amount
    FROM ({purchases_sql("prev_start", "start")}) p GROUP BY p.member_id
)"""
    return f"""
cur AS (
    SELECT s.member_id, SUM(s.net) AS amount, SUM(s.orders) AS frequency
    FROM ({as_of_window_sql("cur", start="start", stop="end")}) s GROUP BY s.member_id HAVING SUM(s.orders) > 0
), prev AS (
    SELECT s.member_id, SUM(s.net) AS amount
    FROM ({as_of_window_sql("prev", start="prev_start", stop="start")}) s GROUP BY s.member_id
    HAVING SUM(s.orders) > 0
)"""


@cache
def _snapshot_sql(source: str) -> str:
    return f"""
WITH {_years_sql(source)}, campaign_purchases AS (
    SELECT p.member_id, COUNT(DISTINCT p.id) AS n
    FROM points_campaign c
    JOIN points_purchase p ON p.occurred_at >= GREATEST(c.starts_at, %(start)s)
                          AND p.occurred_at < LEAST(c.ends_at, %(end)s)
    WHERE c.is_active
      AND (NOT EXISTS (SELECT 1 FROM points_campaign_stores cs WHERE cs.campaign_id = c.id)
           OR EXISTS (SELECT 1 FROM points_campaign_stores cs WHERE cs.campaign_id = c.id
                      AND cs.store_id = p.store_id))
    GROUP BY p.member_id
), redemptions AS (
    SELECT g.member_id, COUNT(*) AS n FROM points_giftorder g
    WHERE g.created_at >= %(start)s AND g.created_at < %(end)s AND g.status <> 'cancelled'
    GROUP BY g.member_id
    UNION ALL
    SELECT d.member_id, COUNT(*) FROM points_draw d
    WHERE d.created_at >= %(start)s AND d.created_at < %(end)s GROUP BY d.member_id
), responses AS (
    SELECT member_id, SUM(n) AS n FROM (SELECT * FROM campaign_purchases UNION ALL SELECT * FROM redemptions) r
    GROUP BY member_id
), events AS (
    {event_attendance_figure().attendance_by_member_sql(start="start", end="end")}
), referrals AS (
    SELECT r.referrer_id AS member_id, COUNT(*) AS n FROM evaluation_referral r
    WHERE r.created_at >= %(start)s AND r.created_at < %(end)s GROUP BY r.referrer_id
), ids AS (
    SELECT member_id FROM cur UNION SELECT member_id FROM prev UNION SELECT member_id FROM responses
    UNION SELECT member_id FROM events UNION SELECT member_id FROM referrals
), components AS (
    SELECT m.id AS member_id, m.home_store_id, m.tier_id,
           COALESCE(cur.amount, 0) AS amount, COALESCE(prev.amount, 0) AS amount_previous,
           COALESCE(cur.frequency, 0) AS frequency, COALESCE(responses.n, 0) AS responses,
           COALESCE(events.n, 0) AS events, COALESCE(referrals.n, 0) AS referrals
    FROM ids JOIN members_member m ON m.id = ids.member_id AND m.status = 'active'
    LEFT JOIN cur ON cur.member_id = ids.member_id
    LEFT JOIN prev ON prev.member_id = ids.member_id
    LEFT JOIN responses ON responses.member_id = ids.member_id
    LEFT JOIN events ON events.member_id = ids.member_id
    LEFT JOIN referrals ON referrals.member_id = ids.member_id
), scored AS (
    SELECT c.*, ROUND((100 * (
               %(w_amount)s * PERCENT_RANK() OVER (ORDER BY c.amount)
             + %(w_change)s * PERCENT_RANK() OVER (ORDER BY c.amount - c.amount_previous)
             + %(w_frequency)s * PERCENT_RANK() OVER (ORDER BY c.frequency)
             + %(w_response)s * PERCENT_RANK() OVER (ORDER BY c.responses)
             + %(w_events)s * PERCENT_RANK() OVER (ORDER BY c.events)
             + %(w_referrals)s * PERCENT_RANK() OVER (ORDER BY c.referrals)) / %(w_total)s)::numeric, 2) AS score
    FROM components c
)
INSERT INTO evaluation_closenesssnapshot (member_id, as_of, amount, amount_previous, frequency, responses,
                                          events, referrals, score, percentile, store_id, tier_id)
SELECT s.member_id, %(day)s, s.amount, s.amount_previous, s.frequency, s.responses, s.events, s.referrals, s.score,
       ROUND((100 * CUME_DIST() OVER (ORDER BY s.score))::numeric, 2), s.home_store_id, s.tier_id
FROM scored s
"""


@dataclass(frozen=True)
class ClosenessResult:
    as_of: dt.date
    members: int
    seconds: float


def closeness_compute(*, as_of: dt.date | None = None, weights: ClosenessWeights | None = None,
                      source: str = SOURCE_SUMMARY) -> ClosenessResult:
    """Compute and store the closeness snapshot of `as_of`, replacing any earlier one of that date.
    The two years' amounts and frequency come from the purchase summary (refreshed first) unless
    `source="purchases"`."""
    as_of = as_of or default_as_of()
    check_source(source)
    weights = weights or ClosenessWeights.get()
    w = {"w_amount": float(weights.amount), "w_change": float(weights.amount_change),
         "w_frequency": float(weights.frequency), "w_response": float(weights.response),
         "w_events": float(weights.events), "w_referrals": float(weights.referrals)}
    w["w_total"] = sum(w.values())
    if w["w_total"] <= 0:
        raise ValidationFailed("At least one closeness weight must be above 0.", code="closeness_weights")
    end = local_midnight(as_of + dt.timedelta(days=1))
    start = local_midnight(as_of - dt.timedelta(days=YEAR_DAYS - 1))
    prev_start = local_midnight(as_of - dt.timedelta(days=2 * YEAR_DAYS - 1))
    started = time.perf_counter()
    if source == SOURCE_SUMMARY:
        purchase_summary_refresh()
    params = {"day": as_of, "start": start, "end": end, "prev_start": prev_start, **w,
              **window_params("cur", as_of - dt.timedelta(days=YEAR_DAYS - 1), as_of),
              **window_params("prev", as_of - dt.timedelta(days=2 * YEAR_DAYS - 1), as_of - dt.timedelta(days=YEAR_DAYS))}
    with transaction.atomic(), connection.cursor() as cursor:
        job_settings(cursor)
        cursor.execute("DELETE FROM evaluation_closenesssnapshot WHERE as_of = %s", [as_of])
        cursor.execute(_snapshot_sql(source), params)
        members = cursor.rowcount
    return ClosenessResult(as_of=as_of, members=members, seconds=time.perf_counter() - started)
