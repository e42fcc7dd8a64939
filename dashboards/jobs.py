"""Nightly jobs that fill the dashboard summary tables (EVAL-3, EVAL-5), set-wise in SQL.

Run for date R (the beat schedule passes no date, so R is today), each job summarizes the business
day that has just closed, D = R − 1, like evaluate_tiers. Every job deletes and re-inserts its rows
for that day (or period) in one transaction, so a re-run replaces them and changes nothing twice.
To catch up: `manage.py run_job dashboard_daily --date <D + 1>` (or `backfill_dashboards`).

- dashboard_daily: DailyStoreStats, DailyTierMoves and DailyServiceStats for D.
- consumption_cube: ConsumptionCube for the month and the year that contain D.
- dashboard_evaluation: RfmStats, RfmMovement and LifecycleStats for every evaluation snapshot
  dated D − 6 … D + 1 (run it after compute_rfm and compute_lifecycle).
"""
from __future__ import annotations

import datetime as dt

from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.jobs import JobContext, register_job

ACTIVE_DAYS = 90
# Members who count as members in the figures (pending sign-ups, rejected and closed do not).
COUNTED_STATUSES = ("active", "suspended")

# Bands of the consumption analysis: (bucket code, lower bound inclusive). The labels live in
# dashboards.selectors so the UI can translate them.
AGE_BANDS = [("0-24", 0), ("25-34", 25), ("35-44", 35), ("45-54", 45), ("55-64", 55), ("65+", 65)]
FREQUENCY_BANDS = [("1", 1), ("2-3", 2), ("4-6", 4), ("7-12", 7), ("13+", 13)]
AMOUNT_BANDS = [("0-499", 0), ("500-1999", 500), ("2000-4999", 2000), ("5000-19999", 5000), ("20000+", 20000)]


def _band_sql(expr: str, bands: list[tuple[str, int]], unknown: str = "''") -> str:
    """CASE expression that maps a number to its band code (bands in ascending order)."""
    whens = " ".join(f"WHEN {expr} >= {low} THEN '{code}'" for code, low in reversed(bands))
    return f"CASE WHEN {expr} IS NULL THEN {unknown} {whens} ELSE '{bands[0][0]}' END"


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_default_timezone()
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min), tz)
    end = timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min), tz)
    return start, end


def _table(app_label: str, model: str) -> str | None:
    """The table of another app's model, or None while that app has not got it (yet)."""
    try:
        return apps.get_model(app_label, model)._meta.db_table
    except LookupError:
        return None


# ---------------------------------------------------------------- dashboard_daily

_DAILY_STORE_SQL = """
INSERT INTO dashboards_dailystorestats
    (date, store_id, tier_id, members_total, members_new, members_active, buyers, purchases, amount,
     refund_amount, points_issued, points_redeemed, points_expired, points_reversed, points_adjusted,
     points_outstanding)
SELECT %(day)s, store_id, tier_id, SUM(members_total), SUM(members_new), SUM(members_active), SUM(buyers),
       SUM(purchases), SUM(amount), SUM(refund_amount), SUM(issued), SUM(redeemed), SUM(expired), SUM(reversed),
       SUM(adjusted), SUM(outstanding)
FROM (
    -- members by home store and tier
    SELECT m.home_store_id AS store_id, m.tier_id, COUNT(*) AS members_total,
           COUNT(*) FILTER (WHERE m.created_at >= %(start)s) AS members_new,
           COUNT(*) FILTER (WHERE m.id IN (SELECT member_id FROM points_purchase
                                           WHERE occurred_at >= %(active_start)s AND occurred_at < %(end)s))
               AS members_active,
           0 AS buyers, 0 AS purchases, 0 AS amount, 0 AS refund_amount, 0 AS issued, 0 AS redeemed,
           0 AS expired, 0 AS reversed, 0 AS adjusted, 0 AS outstanding
    FROM members_member m
    WHERE m.status = ANY(%(statuses)s) AND m.created_at < %(end)s
    GROUP BY 1, 2
    UNION ALL
    -- purchases of the day by the store they were made in
    SELECT p.store_id, m.tier_id, 0, 0, 0, COUNT(DISTINCT p.member_id), COUNT(*), SUM(p.amount_paid), 0,
           0, 0, 0, 0, 0, 0
    FROM points_purchase p JOIN members_member m ON m.id = p.member_id
    WHERE p.occurred_at >= %(start)s AND p.occurred_at < %(end)s
    GROUP BY 1, 2
    UNION ALL
    SELECT r.store_id, m.tier_id, 0, 0, 0, 0, 0, 0, SUM(r.amount), 0, 0, 0, 0, 0, 0
    FROM points_refund r JOIN points_purchase p ON p.id = r.purchase_id JOIN members_member m ON m.id = p.member_id
    WHERE r.occurred_at >= %(start)s AND r.occurred_at < %(end)s
    GROUP BY 1, 2
    UNION ALL
    -- ledger entries of the day (spent points are positive numbers here)
    SELECT COALESCE(e.store_id, m.home_store_id), m.tier_id, 0, 0, 0, 0, 0, 0, 0,
           COALESCE(SUM(e.points) FILTER (WHERE e.kind = 'credit'), 0),
           COALESCE(-SUM(e.points) FILTER (WHERE e.kind = 'debit'), 0),
           COALESCE(-SUM(e.points) FILTER (WHERE e.kind = 'expiry'), 0),
           COALESCE(-SUM(e.points) FILTER (WHERE e.kind = 'reversal'), 0),
           COALESCE(SUM(e.points) FILTER (WHERE e.kind = 'adjustment'), 0), 0
    FROM points_entry e JOIN members_member m ON m.id = e.member_id
    WHERE e.created_at >= %(start)s AND e.created_at < %(end)s
    GROUP BY 1, 2
    UNION ALL
    -- balances at the end of the day = balances now − entries written since
    SELECT m.home_store_id, m.tier_id, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, SUM(x.points)
    FROM (SELECT member_id, balance AS points FROM points_pointsaccount
          UNION ALL
          SELECT member_id, -points FROM points_entry WHERE created_at >= %(end)s) x
    JOIN members_member m ON m.id = x.member_id
    GROUP BY 1, 2
) parts
GROUP BY store_id, tier_id
"""

_DAILY_TIER_SQL = """
INSERT INTO dashboards_dailytiermoves (date, store_id, from_tier_id, to_tier_id, kind, members)
SELECT c.effective_on, m.home_store_id, c.from_tier_id, c.to_tier_id, c.kind, COUNT(*)
FROM tiers_tierchange c JOIN members_member m ON m.id = c.member_id
WHERE c.effective_on = %(day)s
GROUP BY 1, 2, 3, 4, 5
"""


def _service_parts() -> list[str]:
    """SQL selects of (store_id, 11 figures) from service_desk and care. Extension point: each part
    is included only when its app's model is installed, so the dashboard shows "no data" rather than
    a made-up zero rate while an app is missing."""
    parts = []
    complaint = _table("service_desk", "Complaint")
    if complaint:
        parts.append(f"""
    SELECT store_id,
           COUNT(*) FILTER (WHERE received_at >= %(start)s AND received_at < %(end)s),
           COUNT(*) FILTER (WHERE accepted_at >= %(start)s AND accepted_at < %(end)s),
           COUNT(*) FILTER (WHERE accepted_at >= %(start)s AND accepted_at < %(end)s AND accepted_at <= accept_due),
           COUNT(*) FILTER (WHERE first_replied_at >= %(start)s AND first_replied_at < %(end)s),
           COUNT(*) FILTER (WHERE first_replied_at >= %(start)s AND first_replied_at < %(end)s
                                  AND first_replied_at <= reply_due),
           COUNT(*) FILTER (WHERE closed_at >= %(start)s AND closed_at < %(end)s),
           COUNT(*) FILTER (WHERE closed_at >= %(start)s AND closed_at < %(end)s AND closed_at <= close_due),
           0, 0, 0, 0
    FROM {complaint}
    WHERE (received_at >= %(start)s AND received_at < %(end)s) OR (accepted_at >= %(start)s AND accepted_at < %(end)s)
       OR (first_replied_at >= %(start)s AND first_replied_at < %(end)s) OR (closed_at >= %(start)s AND closed_at < %(end)s)
    GROUP BY store_id""")
    answer, question = _table("care", "Answer"), _table("care", "Question")
    response, survey = _table("care", "Response"), _table("care", "Survey")
    if answer and question and response and survey:
        # CSI as care.selectors defines it: answers to the overall question, satisfied at or above
        # the survey's threshold.
        parts.append(f"""
    SELECT r.store_id, 0, 0, 0, 0, 0, 0, 0, COUNT(*), COUNT(*) FILTER (WHERE a.rating >= s.satisfied_threshold), 0, 0
    FROM {answer} a
    JOIN {question} q ON q.id = a.question_id AND q.is_overall
    JOIN {response} r ON r.id = a.response_id
    JOIN {survey} s ON s.id = r.survey_id
    WHERE r.submitted_at >= %(start)s AND r.submitted_at < %(end)s AND a.rating IS NOT NULL
    GROUP BY r.store_id""")
    visit = _table("care", "Visit")
    if visit:
        parts.append(f"""
    SELECT store_id, 0, 0, 0, 0, 0, 0, 0, 0, 0, COUNT(*),
           COUNT(*) FILTER (WHERE status = 'done' AND done_at < %(end)s)
    FROM {visit} WHERE due_on = %(day)s
    GROUP BY store_id""")
    return parts


def service_sources() -> dict[str, bool]:
    """Which service figures the installed apps provide (the page says which are missing)."""
    return {"complaints": bool(_table("service_desk", "Complaint")), "csi": bool(_table("care", "Answer")),
            "visits": bool(_table("care", "Visit"))}


def dashboard_daily_for(day: dt.date) -> dict:
    """Replace the daily figures of business day `day`."""
    start, end = _day_bounds(day)
    params = {"day": day, "start": start, "end": end, "active_start": end - dt.timedelta(days=ACTIVE_DAYS),
              "statuses": list(COUNTED_STATUSES)}
    counts = {}
    with transaction.atomic(), connection.cursor() as cursor:
        for table in ("dashboards_dailystorestats", "dashboards_dailytiermoves", "dashboards_dailyservicestats"):
            cursor.execute(f"DELETE FROM {table} WHERE date = %s", [day])
        cursor.execute(_DAILY_STORE_SQL, params)
        counts["store_rows"] = cursor.rowcount
        cursor.execute(_DAILY_TIER_SQL, params)
        counts["tier_move_rows"] = cursor.rowcount
        parts = _service_parts()
        if parts:
            cursor.execute(f"""
                INSERT INTO dashboards_dailyservicestats
                    (date, store_id, complaints_received, complaints_accepted, accepted_on_time, complaints_replied,
                     replied_on_time, complaints_closed, closed_on_time, csi_answered, csi_satisfied, visits_due,
                     visits_done_on_time)
                SELECT %(day)s, store_id, SUM(c1), SUM(c2), SUM(c3), SUM(c4), SUM(c5), SUM(c6), SUM(c7), SUM(c8),
                       SUM(c9), SUM(c10), SUM(c11)
                FROM ({" UNION ALL ".join(parts)}) AS parts (store_id, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11)
                GROUP BY store_id""", params)
            counts["service_rows"] = cursor.rowcount
    return counts


@register_job("dashboard_daily")
def dashboard_daily(ctx: JobContext) -> dict:
    return dashboard_daily_for(ctx.date - dt.timedelta(days=1))


# ---------------------------------------------------------------- consumption_cube

# Tag expansion: every fact once for "every member" (tag NULL) and once per tag of its member.
_TAGS = """CROSS JOIN LATERAL (SELECT NULL::bigint AS tag_id
                             UNION ALL SELECT mt.tag_id FROM members_membertag mt WHERE mt.member_id = f.member_id) t"""

_CUBE_MEMBER_FACTS = """
CREATE TEMPORARY TABLE cube_member_facts ON COMMIT DROP AS
SELECT p.member_id, p.store_id, m.tier_id, COUNT(*) AS orders, SUM(p.amount_paid - p.amount_refunded) AS amount,
       m.province, m.city, m.gender,
       date_part('year', age(%(last_day)s::date, m.birthday)) AS age
FROM points_purchase p JOIN members_member m ON m.id = p.member_id
WHERE p.occurred_at >= %(start)s AND p.occurred_at < %(end)s AND p.amount_refunded < p.amount_total
GROUP BY p.member_id, p.store_id, m.tier_id, m.province, m.city, m.gender, m.birthday
"""

_CUBE_INSERT = """
INSERT INTO dashboards_consumptioncube (period, store_id, tier_id, tag_id, dimension, bucket, members, orders, amount)
"""

_CUBE_MEMBER_DIMENSIONS = _CUBE_INSERT + f"""
SELECT %(period)s, f.store_id, f.tier_id, t.tag_id, d.dimension, d.bucket, COUNT(*), SUM(f.orders), SUM(f.amount)
FROM cube_member_facts f
{_TAGS}
CROSS JOIN LATERAL (VALUES
    ('total', 'all'), ('province', f.province), ('city', f.city), ('gender', f.gender),
    ('age_band', {_band_sql("f.age", AGE_BANDS)}),
    ('frequency_band', {_band_sql("f.orders", FREQUENCY_BANDS)}),
    ('amount_band', {_band_sql("f.amount", AMOUNT_BANDS)})
) AS d (dimension, bucket)
GROUP BY f.store_id, f.tier_id, t.tag_id, d.dimension, d.bucket
"""

_CUBE_HABITS = _CUBE_INSERT + f"""
SELECT %(period)s, f.store_id, f.tier_id, t.tag_id, d.dimension, d.bucket,
       COUNT(DISTINCT f.member_id), COUNT(*), SUM(f.amount)
FROM (SELECT p.member_id, p.store_id, m.tier_id, p.amount_paid - p.amount_refunded AS amount,
             timezone(%(tz)s, p.occurred_at) AS local_at
      FROM points_purchase p JOIN members_member m ON m.id = p.member_id
      WHERE p.occurred_at >= %(start)s AND p.occurred_at < %(end)s AND p.amount_refunded < p.amount_total) f
{_TAGS}
CROSS JOIN LATERAL (VALUES ('weekday', extract(isodow FROM f.local_at)::int::text),
                           ('hour', extract(hour FROM f.local_at)::int::text)) AS d (dimension, bucket)
GROUP BY f.store_id, f.tier_id, t.tag_id, d.dimension, d.bucket
"""

# Brand and category preference from the till lines; a line's own amount (partial refunds are not
# spread over lines). Lines that are not an array, or amounts that are not numbers, count as nothing.
_CUBE_LINES = _CUBE_INSERT + f"""
SELECT %(period)s, f.store_id, f.tier_id, t.tag_id, d.dimension, d.bucket,
       COUNT(DISTINCT f.member_id), COUNT(DISTINCT f.purchase_id), SUM(f.amount)
FROM (SELECT p.id AS purchase_id, p.member_id, p.store_id, m.tier_id,
             left(COALESCE(l.value ->> 'brand', ''), 64) AS brand, left(COALESCE(l.value ->> 'category', ''), 64) AS category,
             CASE WHEN l.value ->> 'amount' ~ '^-?[0-9]+(\\.[0-9]+)?$' THEN (l.value ->> 'amount')::numeric ELSE 0 END
                 AS amount
      FROM points_purchase p JOIN members_member m ON m.id = p.member_id
      CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(p.lines) = 'array' THEN p.lines
                                                   ELSE '[]'::jsonb END) AS l (value)
      WHERE p.occurred_at >= %(start)s AND p.occurred_at < %(end)s AND p.amount_refunded < p.amount_total) f
{_TAGS}
CROSS JOIN LATERAL (VALUES ('brand', f.brand), ('category', f.category)) AS d (dimension, bucket)
GROUP BY f.store_id, f.tier_id, t.tag_id, d.dimension, d.bucket
"""


def periods_of(day: dt.date) -> list[tuple[str, dt.date, dt.date]]:
    """The month and the year that contain `day`: (period, first day, last day)."""
    month_first = day.replace(day=1)
    month_last = (month_first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    return [(f"{day:%Y-%m}", month_first, month_last), (f"{day:%Y}", dt.date(day.year, 1, 1), dt.date(day.year, 12, 31))]


def consumption_cube_for(period: str, first: dt.date, last: dt.date) -> int:
    """Replace the cube of one period (purchases whose local date lies in [first, last])."""
    start, _ = _day_bounds(first)
    _, end = _day_bounds(last)
    params = {"period": period, "start": start, "end": end, "last_day": last, "tz": settings.TIME_ZONE}
    rows = 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM dashboards_consumptioncube WHERE period = %s", [period])
        # Dropped explicitly too: inside an outer transaction (tests, a caller's atomic block) the
        # ON COMMIT clause would only fire at the outer commit.
        cursor.execute("DROP TABLE IF EXISTS cube_member_facts")
        cursor.execute(_CUBE_MEMBER_FACTS, params)
        for sql in (_CUBE_MEMBER_DIMENSIONS, _CUBE_HABITS, _CUBE_LINES):
            cursor.execute(sql, params)
            rows += cursor.rowcount
        cursor.execute("DROP TABLE cube_member_facts")
    return rows


@register_job("consumption_cube")
def consumption_cube(ctx: JobContext) -> dict:
    day = ctx.date - dt.timedelta(days=1)
    return {period: consumption_cube_for(period, first, last) for period, first, last in periods_of(day)}


# ---------------------------------------------------------------- dashboard_evaluation

def dashboard_evaluation_for(first: dt.date, last: dt.date) -> dict:
    """Replace the RFM and lifecycle summaries of every snapshot dated first … last."""
    rfm, lifecycle = _table("evaluation", "RfmSnapshot"), _table("evaluation", "LifecycleSnapshot")
    counts = {"rfm_dates": 0, "lifecycle_dates": 0}
    with transaction.atomic(), connection.cursor() as cursor:
        if rfm:
            cursor.execute(f"SELECT DISTINCT as_of, window_days FROM {rfm} WHERE as_of BETWEEN %s AND %s "
                           "ORDER BY as_of", [first, last])
            for as_of, window in cursor.fetchall():
                cursor.execute("DELETE FROM dashboards_rfmstats WHERE as_of = %s AND window_days = %s", [as_of, window])
                cursor.execute("DELETE FROM dashboards_rfmmovement WHERE as_of = %s AND window_days = %s",
                               [as_of, window])
                cursor.execute(f"""
                    INSERT INTO dashboards_rfmstats (as_of, window_days, store_id, tier_id, rfm_class, members, monetary)
                    SELECT as_of, window_days, store_id, tier_id, rfm_class, COUNT(*), SUM(monetary)
                    FROM {rfm} WHERE as_of = %s AND window_days = %s
                    GROUP BY as_of, window_days, store_id, tier_id, rfm_class""", [as_of, window])
                cursor.execute(f"SELECT MAX(as_of) FROM {rfm} WHERE as_of < %s AND window_days = %s", [as_of, window])
                (previous,) = cursor.fetchone()
                if previous:
                    # Members who left the population have "" as their new class, newcomers "" as the old.
                    cursor.execute(f"""
                        INSERT INTO dashboards_rfmmovement
                            (as_of, previous_as_of, window_days, store_id, tier_id, from_class, to_class, members)
                        SELECT %(as_of)s, %(previous)s, %(window)s, COALESCE(c.store_id, p.store_id),
                               COALESCE(c.tier_id, p.tier_id), COALESCE(p.rfm_class, ''), COALESCE(c.rfm_class, ''),
                               COUNT(*)
                        FROM (SELECT * FROM {rfm} WHERE as_of = %(as_of)s AND window_days = %(window)s) c
                        FULL JOIN (SELECT * FROM {rfm} WHERE as_of = %(previous)s AND window_days = %(window)s) p
                            ON p.member_id = c.member_id
                        GROUP BY 4, 5, 6, 7""", {"as_of": as_of, "previous": previous, "window": window})
                counts["rfm_dates"] += 1
        if lifecycle:
            cursor.execute(f"SELECT DISTINCT as_of FROM {lifecycle} WHERE as_of BETWEEN %s AND %s", [first, last])
            for (as_of,) in cursor.fetchall():
                cursor.execute("DELETE FROM dashboards_lifecyclestats WHERE as_of = %s", [as_of])
                cursor.execute(f"""
                    INSERT INTO dashboards_lifecyclestats (as_of, store_id, tier_id, stage, members)
                    SELECT as_of, store_id, tier_id, stage, COUNT(*) FROM {lifecycle} WHERE as_of = %s
                    GROUP BY as_of, store_id, tier_id, stage""", [as_of])
                counts["lifecycle_dates"] += 1
    return counts


@register_job("dashboard_evaluation")
def dashboard_evaluation(ctx: JobContext) -> dict:
    return dashboard_evaluation_for(ctx.date - dt.timedelta(days=7), ctx.date)
