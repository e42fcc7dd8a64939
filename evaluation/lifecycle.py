"""Lifecycle stage per member (EVAL-4), by the rules in LifecycleRule (edited in the admin).

For as-of date D, every active member who had joined by the end of D gets exactly one stage; the
first rule that matches decides, in this order:
1. new — joined within the last N days (`new_days`; the local join date lies in (D − N, D]);
2. high value — RFM class 重要价值 on D (when `high_value_by_class`), or RFM amount (M) in the top
   X% of D's RFM population (`high_value_top_percent`, 0 = not used); the RFM snapshot of D is
   computed first when it is missing;
3. active — a purchase within the last A days (`active_days`: last purchase date in (D − A, D]);
4. at risk — last purchase A to B − 1 days ago (`lapsed_days` = B);
5. lapsed — no purchase within the last B days (including members who never bought).
Purchases are counted as in RFM: fully refunded orders are not purchases.
"""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from functools import cache

from django.db import connection, transaction

from .models import LifecycleRule, LifecycleStage, RfmClass, RfmRun
from .purchase_summary import as_of_window_sql, purchase_summary_refresh, window_params
from .rfm import (
        SOURCE_PURCHASES,
    SOURCE_SUMMARY,
    check_source,
    default_as_of,
    job_settings,
    local_midnight,
    purchases_sql,
    rfm_compute,
)


# Built when a job first runs: the SQL reads the net-paid definition points registers in ready().
def _last_sql(source: str) -> str:
    """Per member, the local date of the last purchase in (D − B, D], refunds by %(end)s."""
    if source == SOURCE_PURCHASES:
        return f"""
    SELECT p.member_id, (MAX(p.occurred_at) AT TIME ZONE 'Asia/Shanghai')::date AS day
    FROM ({purchases_sql("lapsed_start", "end")}) p GROUP BY p.member_id"""
    return f"""
    SELECT s.member_id, MAX(s.last_day) AS day
    FROM ({as_of_window_sql("lapsed", start="lapsed_start", stop="end")}) s
    GROUP BY s.member_id HAVING SUM(s.orders) > 0"""


@cache
def _snapshot_sql(source: str) -> str:
    return f"""
WITH last AS ({_last_sql(source)}
), rfm AS (
    SELECT s.member_id, s.rfm_class,
           CUME_DIST() OVER (ORDER BY s.monetary DESC) AS top_share
    FROM evaluation_rfmsnapshot s WHERE s.as_of = %(day)s
)
INSERT INTO evaluation_lifecyclesnapshot (member_id, as_of, stage, days_since_purchase, store_id, tier_id)
SELECT m.id, %(day)s,
       CASE
           WHEN m.created_at >= %(new_start)s THEN '{LifecycleStage.NEW.value}'
           WHEN (%(by_class)s AND rfm.rfm_class = '{RfmClass.IMPORTANT_VALUE.value}')
                OR (%(top_share)s > 0 AND rfm.top_share <= %(top_share)s) THEN '{LifecycleStage.HIGH_VALUE.value}'
           WHEN last.day > %(day)s::date - %(active_days)s THEN '{LifecycleStage.ACTIVE.value}'
           WHEN last.day IS NOT NULL THEN '{LifecycleStage.AT_RISK.value}'
           ELSE '{LifecycleStage.LAPSED.value}'
       END,
       %(day)s::date - last.day, m.home_store_id, m.tier_id
FROM members_member m
LEFT JOIN last ON last.member_id = m.id
LEFT JOIN rfm ON rfm.member_id = m.id
WHERE m.status = 'active' AND m.created_at < %(end)s
"""


@dataclass(frozen=True)
class LifecycleResult:
    as_of: dt.date
    members: int
    seconds: float


def lifecycle_compute(*, as_of: dt.date | None = None, rule: LifecycleRule | None = None,
                      source: str = SOURCE_SUMMARY) -> LifecycleResult:
    """Compute and store the lifecycle snapshot of `as_of`, replacing any earlier one of that date.
    The last purchase dates come from the purchase summary (refreshed first) unless `source="purchases"`."""
    as_of = as_of or default_as_of()
    rule = rule or LifecycleRule.get()
    check_source(source)
    if not RfmRun.objects.filter(as_of=as_of).exists():
        rfm_compute(as_of=as_of, source=source)
    elif source == SOURCE_SUMMARY:
        purchase_summary_refresh()
    params = {
        "day": as_of,
        "end": local_midnight(as_of + dt.timedelta(days=1)),
        "new_start": local_midnight(as_of - dt.timedelta(days=rule.new_days - 1)) if rule.new_days else
        local_midnight(as_of + dt.timedelta(days=1)),
        "lapsed_start": local_midnight(as_of - dt.timedelta(days=rule.lapsed_days - 1)),
        **window_params("lapsed", as_of - dt.timedelta(days=rule.lapsed_days - 1), as_of),
        "active_days": rule.active_days,
        "by_class": rule.high_value_by_class,
        "top_share": float(rule.high_value_top_percent) / 100,
    }
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        job_settings(cursor)
        cursor.execute("DELETE FROM evaluation_lifecyclesnapshot WHERE as_of = %s", [as_of])
        cursor.execute(_snapshot_sql(source), params)
        members = cursor.rowcount
    return LifecycleResult(as_of=as_of, members=members, seconds=time.perf_counter() - started)
