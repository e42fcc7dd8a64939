"""RFM (EVAL-1), computed set-wise in PostgreSQL and stored as a snapshot per as-of date.

Definitions, for as-of date D and window W days (defaults: yesterday, 365):
- A purchase is a points_purchase row whose local (Asia/Shanghai) date lies in (D − W, D]. Refunds
  are not purchases, and an order refunded in full by the end of D is not a purchase either.
- The population is the members with at least one purchase.
- R = D − local date of the member's last purchase (days); F = number of purchases (orders);
  M = Σ net paid over those purchases: amount_paid × (1 − refunded / amount_total) to the cent, the
  one definition of points.net_paid (refunds are made against the bill, which includes coupons and
  the points offset; the tier engine and the dashboards use the same definition). Only refunds made
  by the end of D count, so recomputing a past date gives the same figures.
- Scores: ceil(5 × CUME_DIST()) over the population, ordered so that a higher score is better
  (R by days descending, F and M ascending). CUME_DIST gives peers the same value, so equal values
  get equal scores.
- Classes: each of R, F, M is "high" or "low" against the population mean (R is high when the days
  are below the mean, F and M when above it; equal to the mean is low), mapped by
  models.RFM_CLASS_BY_FLAGS.

The whole computation is one INSERT ... SELECT in one transaction, after deleting that date's rows:
a re-run replaces the snapshot, and readers never see half of one. It reads the per-member purchase
summary (evaluation.purchase_summary, refreshed first), not the purchases; `source="purchases"` reads
the purchases themselves, the reference the summary is tested equal to.
"""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from django.db import connection, transaction
from django.utils import timezone

from core.errors import ValidationFailed
from core.figures import net_paid_figure

from .models import RFM_CLASS_BY_FLAGS, RfmRun
from .purchase_summary import as_of_window_sql, purchase_summary_refresh, window_params

DEFAULT_WINDOW_DAYS = 365
# Memory for the hash aggregate and the three window sorts of a million members; the default 4 MB
# makes PostgreSQL spill them to disk. Set only inside the job's transaction.
JOB_WORK_MEM = "256MB"


def job_settings(cursor) -> None:
    """The nightly evaluation statements' settings, inside their transaction: work_mem as above, and no
    JIT. The statements are long (closeness joins six components and six window sorts) and the planner
    over-estimates the campaign join, so PostgreSQL JIT-compiled ~250 functions with inlining and
    optimisation: 7.2 s of closeness's 8.3 s at 10k members (EXPLAIN ANALYZE, bench/rfm.py), a fixed
    cost the set-wise plan never wins back."""
    cursor.execute(f"SET LOCAL work_mem = '{JOB_WORK_MEM}'")
    cursor.execute("SET LOCAL jit = off")


def local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def window_bounds(as_of: dt.date, window_days: int) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) as aware datetimes covering the local dates (D − W, D]."""
    return local_midnight(as_of - dt.timedelta(days=window_days - 1)), local_midnight(as_of + dt.timedelta(days=1))


def _class_case() -> str:
    whens = []
    for (r, f, m), cls in RFM_CLASS_BY_FLAGS.items():
        whens.append(f"WHEN {'' if r else 'NOT '}r_high AND {'' if f else 'NOT '}f_high "
                     f"AND {'' if m else 'NOT '}m_high THEN '{cls.value}'")
    return "CASE " + " ".join(whens) + " END"


def purchases_sql(start: str = "start", end: str = "end") -> str:
    """Purchases in [%(start)s, %(end)s) with their net paid (`net`) as of %(end)s: refunds made by then
    deducted by the one definition of net paid (points.net_paid, read through core.figures because
    evaluation sits below points); fully refunded orders left out. Shared with closeness (which also
    reads the previous year) and lifecycle. Built when a job runs, not at import (the definition is
    registered in PointsConfig.ready()). The local date is taken of MAX(occurred_at) per member, not of
    every row: the local date is monotonic in the instant, and the time zone conversion per row costs
    more than the rest."""
    figure = net_paid_figure()
    return f"""
    SELECT p.member_id, p.occurred_at, {figure.net_paid_sql(refunded="rf.amount")} AS net
    FROM points_purchase p
    {figure.refunds_as_of_join(alias="rf", end="end")}
    WHERE p.occurred_at >= %({start})s AND p.occurred_at < %({end})s AND p.member_id IS NOT NULL
      AND (rf.amount IS NULL OR rf.amount < p.amount_total)
"""


# Where the nightly jobs read purchases from: the per-member summary (evaluation.purchase_summary, the
# default) or the purchases themselves (the reference the tests and benches hold the summary equal to).
SOURCE_SUMMARY = "summary"
SOURCE_PURCHASES = "purchases"
SOURCES = (SOURCE_SUMMARY, SOURCE_PURCHASES)


def _agg_sql(source: str) -> str:
    """Per member: recency_days, frequency, monetary over the window, refunds made by %(end)s."""
    if source == SOURCE_PURCHASES:
        return f"""
    SELECT p.member_id,
           %(day)s::date - (MAX(p.occurred_at) AT TIME ZONE 'Asia/Shanghai')::date AS recency_days,
           COUNT(*) AS frequency, SUM(p.net) AS monetary
    FROM ({purchases_sql()}) p
    GROUP BY p.member_id"""
    return f"""
    SELECT s.member_id, %(day)s::date - MAX(s.last_day) AS recency_days,
           SUM(s.orders) AS frequency, SUM(s.net) AS monetary
    FROM ({as_of_window_sql("w", start="start", stop="end")}) s
    GROUP BY s.member_id HAVING SUM(s.orders) > 0"""


def check_source(source: str) -> None:
    if source not in SOURCES:
        raise ValueError(f"unknown purchase source {source!r}")


# ROUND(..., 9) before CEIL: 5 × CUME_DIST is computed in floating point, and a product that is a
# whole number in exact arithmetic (5 × 3/5) must not become 3.0000000000000004 and score 4.
@cache
def _snapshot_sql(source: str) -> str:
    return f"""
WITH agg AS ({_agg_sql(source)}
), scored AS (
    SELECT a.*,
           CEIL(ROUND((5 * CUME_DIST() OVER (ORDER BY a.recency_days DESC))::numeric, 9)) AS r_score,
           CEIL(ROUND((5 * CUME_DIST() OVER (ORDER BY a.frequency))::numeric, 9)) AS f_score,
           CEIL(ROUND((5 * CUME_DIST() OVER (ORDER BY a.monetary))::numeric, 9)) AS m_score,
           a.recency_days < AVG(a.recency_days) OVER () AS r_high,
           a.frequency > AVG(a.frequency) OVER () AS f_high,
           a.monetary > AVG(a.monetary) OVER () AS m_high
    FROM agg a
)
INSERT INTO evaluation_rfmsnapshot (member_id, as_of, window_days, recency_days, frequency, monetary,
                                    r_score, f_score, m_score, rfm_class, store_id, tier_id)
SELECT s.member_id, %(day)s, %(window)s, s.recency_days, s.frequency, s.monetary,
       s.r_score, s.f_score, s.m_score, {_class_case()}, m.home_store_id, m.tier_id
FROM scored s JOIN members_member m ON m.id = s.member_id
"""

_RUN_SQL = """
SELECT COUNT(*), COALESCE(AVG(recency_days), 0), COALESCE(AVG(frequency), 0), COALESCE(AVG(monetary), 0)
FROM evaluation_rfmsnapshot WHERE as_of = %s
"""


@dataclass(frozen=True)
class RfmResult:
    as_of: dt.date
    window_days: int
    population: int
    seconds: float


def default_as_of() -> dt.date:
    return timezone.localdate() - dt.timedelta(days=1)


def rfm_compute(*, as_of: dt.date | None = None, window_days: int = DEFAULT_WINDOW_DAYS,
                source: str = SOURCE_SUMMARY) -> RfmResult:
    """Compute and store the RFM snapshot of `as_of`, replacing any earlier one of that date. With the
    summary (the default) it is brought up to date first: a no-op when another job of the night did."""
    as_of = as_of or default_as_of()
    if window_days < 1 or window_days > 3660:
        raise ValidationFailed("The window must be between 1 and 3660 days.", code="rfm_window")
    check_source(source)
    start, end = window_bounds(as_of, window_days)
    started = time.perf_counter()
    if source == SOURCE_SUMMARY:
        purchase_summary_refresh()
    params = {"day": as_of, "window": window_days, "start": start, "end": end,
              **window_params("w", as_of - dt.timedelta(days=window_days - 1), as_of)}
    with transaction.atomic(), connection.cursor() as cursor:
        job_settings(cursor)
        if source == SOURCE_SUMMARY:
            # The planner cannot estimate how many members a GROUP BY over the summary's UNION ALL gives
            # (it assumes 200) and would join members_member by a million index probes; every join of
            # this statement is a hash join when it knows better.
            cursor.execute("SET LOCAL enable_nestloop = off")
        cursor.execute("DELETE FROM evaluation_rfmsnapshot WHERE as_of = %s", [as_of])
        cursor.execute(_snapshot_sql(source), params)
        cursor.execute(_RUN_SQL, [as_of])
        population, mean_r, mean_f, mean_m = cursor.fetchone()
        seconds = time.perf_counter() - started
        RfmRun.objects.update_or_create(as_of=as_of, defaults={
            "window_days": window_days, "population": population, "seconds": seconds,
            "mean_recency_days": Decimal(mean_r).quantize(Decimal("0.0001")),
            "mean_frequency": Decimal(mean_f).quantize(Decimal("0.0001")),
            "mean_monetary": Decimal(mean_m).quantize(Decimal("0.0001")),
        })
    return RfmResult(as_of=as_of, window_days=window_days, population=population, seconds=seconds)
