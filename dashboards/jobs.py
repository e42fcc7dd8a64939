"""Nightly jobs that fill the dashboard summary tables (EVAL-3, EVAL-5), set-wise in SQL.

Run for date R (the beat schedule passes no date, so R is today), each job summarizes the business
day that has just closed, D = R − 1, like evaluate_tiers. Every job deletes and re-inserts its rows
for that day (or period) in one transaction, so a re-run replaces them and changes nothing twice.
To catch up: `manage.py run_job dashboard_daily --date <D + 1>` (or `backfill_dashboards`).

- dashboard_daily: DailyStoreStats, DailyTierMoves and DailyServiceStats for D.
- consumption_cube: the incremental refresh of ConsumptionCube: every computed month and year whose
  purchases, refunds or members changed since the last run, and the month and year of D if they were
  never built. `manage.py backfill_consumption_cube` builds whole periods.
- dashboard_evaluation: RfmStats, RfmMovement and LifecycleStats for every evaluation snapshot
  dated D − 6 … D + 1 (run it after compute_rfm and compute_lifecycle).
"""
from __future__ import annotations

import datetime as dt

from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from core.jobs import JobContext, register_job
from points.net_paid import NET_PAID_SQL, net_paid_sql, refunded_as_of_sql

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

# The day's amount is the net paid of the day's purchases (points.net_paid) with the refunds made by the
# end of D, so a re-run or a backfill gives the nightly figure; later refunds show in their own day's
# refund_amount.
_DAILY_STORE_SQL = f"""
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
    SELECT p.store_id, m.tier_id, 0, 0, 0, COUNT(DISTINCT p.member_id), COUNT(*),
           SUM({net_paid_sql(refunded=refunded_as_of_sql(end='end'))}), 0,
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


@register_job("dashboard_daily", label=gettext_lazy("Compute daily dashboard figures"))
def dashboard_daily(ctx: JobContext) -> dict:
    return dashboard_daily_for(ctx.date - dt.timedelta(days=1))


# ---------------------------------------------------------------- consumption_cube

# The cube is kept in two layers. ConsumptionFact holds, per period, member and store, the cube cells
# that member adds to (a JSON array of [dimension, bucket, orders, amount]) with the member's tier and
# tags; ConsumptionCube is their sum (members = how many fact rows reach the cell). A full build of a
# period fills both from the purchases; the nightly refresh replaces the facts of the members whose
# purchases, refunds or attributes changed since its watermark and moves the cube by the difference,
# so a day's refresh costs that day's members' purchases of the period, not a year's purchases.
#
# What changed is found by points_purchase.changed_at (indexed; purchase_post, refund_post, a claim and a
# held sign-up's release set it) and by the members' own updated_at and tags. Every statement of the
# refresh reaches the touched rows through an index: the touched members are passed as
# `= ANY(ARRAY(SELECT …))`, which the planner turns into index probes of (member_id, occurred_at) and of
# the facts' (period, member_id, store_id) instead of a hash join over the period's whole table (the
# cause of the 23 s measured at 1M purchases before: a seq scan of the year's facts and purchases).

# Amount of one purchase, net of refunds: the one definition of net paid (points.net_paid).
_CUBE_NET_AMOUNT = NET_PAID_SQL  # points.net_paid: the purchase's current refunds deducted

# A change is re-read this long after it was written: a transaction still open when the watermark moves
# commits a changed_at (or updated_at) older than the mark, so the mark stays an hour behind the clock.
# Re-reading a member is harmless (their facts are replaced, not added to).
CUBE_REFRESH_MARGIN = dt.timedelta(hours=1)

_CUBE_FACTS = f"""
INSERT INTO dashboards_consumptionfact (period, member_id, store_id, tier_id, tag_ids, cells)
WITH purchases AS MATERIALIZED (
    SELECT p.id, p.member_id, p.store_id, {_CUBE_NET_AMOUNT} AS amount, timezone(%(tz)s, p.occurred_at) AS local_at,
           p.lines
    FROM points_purchase p
    WHERE p.occurred_at >= %(start)s AND p.occurred_at < %(end)s AND p.amount_refunded < p.amount_total
          {{member_filter}}
), per_member AS (
    SELECT member_id, store_id, COUNT(*) AS orders, SUM(amount) AS amount FROM purchases GROUP BY member_id, store_id
), cells AS (
    SELECT f.member_id, f.store_id, d.dimension, d.bucket, f.orders, f.amount
    FROM per_member f JOIN members_member m ON m.id = f.member_id
    CROSS JOIN LATERAL (SELECT date_part('year', age(%(last_day)s::date, m.birthday)) AS age) a
    CROSS JOIN LATERAL (VALUES
        ('total', 'all'), ('province', m.province), ('city', m.city), ('gender', m.gender),
        ('age_band', {_band_sql("a.age", AGE_BANDS)}),
        ('frequency_band', {_band_sql("f.orders", FREQUENCY_BANDS)}),
        ('amount_band', {_band_sql("f.amount", AMOUNT_BANDS)})
    ) AS d (dimension, bucket)
    UNION ALL
    SELECT f.member_id, f.store_id, d.dimension, d.bucket, COUNT(*), SUM(f.amount)
    FROM purchases f
    CROSS JOIN LATERAL (VALUES ('weekday', extract(isodow FROM f.local_at)::int::text),
                               ('hour', extract(hour FROM f.local_at)::int::text)) AS d (dimension, bucket)
    GROUP BY f.member_id, f.store_id, d.dimension, d.bucket
    UNION ALL
    -- Brand and category preference from the till lines; a line's own amount (partial refunds are not
    -- spread over lines). Lines that are not an array, or amounts that are not numbers, count as nothing.
    SELECT f.member_id, f.store_id, d.dimension, d.bucket, COUNT(DISTINCT f.id), SUM(f.amount)
    FROM (SELECT p.id, p.member_id, p.store_id,
                 left(COALESCE(l.value ->> 'brand', ''), 64) AS brand,
                 left(COALESCE(l.value ->> 'category', ''), 64) AS category,
                 CASE WHEN l.value ->> 'amount' ~ '^-?[0-9]+(\\.[0-9]+)?$' THEN (l.value ->> 'amount')::numeric
                      ELSE 0 END AS amount
          FROM purchases p
          CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(p.lines) = 'array' THEN p.lines
                                                       ELSE '[]'::jsonb END) AS l (value)) f
    CROSS JOIN LATERAL (VALUES ('brand', f.brand), ('category', f.category)) AS d (dimension, bucket)
    GROUP BY f.member_id, f.store_id, d.dimension, d.bucket
)
-- Cells gathered per member and store first, then one member row each (not one per cell).
SELECT %(period)s, c.member_id, c.store_id, m.tier_id,
       COALESCE((SELECT array_agg(mt.tag_id ORDER BY mt.tag_id) FROM members_membertag mt WHERE mt.member_id = m.id),
                '{{{{}}}}'),
       c.cells
FROM (SELECT member_id, store_id, jsonb_agg(jsonb_build_array(dimension, bucket, orders, amount)) AS cells
      FROM cells GROUP BY member_id, store_id) c
JOIN members_member m ON m.id = c.member_id
"""

# The cube cells of fact rows, each fact once for "every member" (tag NULL) and once per tag.
_CUBE_CELLS_OF_FACTS = """
SELECT f.period, f.store_id, f.tier_id, t.tag_id, c.value ->> 0 AS dimension, c.value ->> 1 AS bucket,
       {sign} COUNT(*) AS members, {sign} SUM((c.value ->> 2)::int) AS orders,
       {sign} SUM((c.value ->> 3)::numeric) AS amount
FROM dashboards_consumptionfact f
CROSS JOIN LATERAL jsonb_array_elements(f.cells) AS c (value)
CROSS JOIN LATERAL (SELECT NULL::bigint AS tag_id UNION ALL SELECT unnest(f.tag_ids)) t
WHERE f.period = %(period)s {member_filter}
GROUP BY f.period, f.store_id, f.tier_id, t.tag_id, c.value ->> 0, c.value ->> 1
"""

# Enough memory to aggregate a year's cells in hash tables rather than sorting them on disk.
_CUBE_WORK_MEM = "SET LOCAL work_mem = '256MB'"
_CUBE_COLUMNS = "(period, store_id, tier_id, tag_id, dimension, bucket, members, orders, amount)"
_TOUCHED = "AND {alias}.member_id = ANY(ARRAY(SELECT member_id FROM cube_touched WHERE period = %(period)s))"


def periods_of(day: dt.date) -> list[tuple[str, dt.date, dt.date]]:
    """The month and the year that contain `day`: (period, first day, last day)."""
    return [period_bounds(f"{day:%Y-%m}"), period_bounds(f"{day:%Y}")]


def period_bounds(period: str) -> tuple[str, dt.date, dt.date]:
    """("2026-03" or "2026") -> (period, first day, last day)."""
    if len(period) == 4:
        year = int(period)
        return period, dt.date(year, 1, 1), dt.date(year, 12, 31)
    first = dt.datetime.strptime(period, "%Y-%m").date()
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    return period, first, last


def _period_params(period: str) -> dict:
    period, first, last = period_bounds(period)
    start, _ = _day_bounds(first)
    _, end = _day_bounds(last)
    return {"period": period, "start": start, "end": end, "last_day": last, "tz": settings.TIME_ZONE}


def _lock_period(cursor, period: str, now: dt.datetime) -> bool:
    """Lock the period's status row (made if missing), so a backfill and the nightly refresh take
    turns on one period. True when the period had been computed before."""
    _period, first, last = period_bounds(period)
    cursor.execute("""INSERT INTO dashboards_consumptionperiod (period, first_day, last_day, computed_at, full_built_at)
                      VALUES (%s, %s, %s, %s, %s) ON CONFLICT (period) DO NOTHING""", [period, first, last, now, now])
    made = cursor.rowcount == 1
    cursor.execute("SELECT id FROM dashboards_consumptionperiod WHERE period = %s FOR UPDATE", [period])
    return not made


def consumption_cube_for(period: str, first: dt.date | None = None, last: dt.date | None = None, *,
                         now: dt.datetime | None = None) -> int:
    """Rebuild the cube of one period from its purchases (local dates in the month or year); returns
    the number of cube cells."""
    now = now or timezone.now()
    params = _period_params(period)
    with transaction.atomic(), connection.cursor() as cursor:
        _lock_period(cursor, period, now)
        cursor.execute(_CUBE_WORK_MEM)
        cursor.execute("DELETE FROM dashboards_consumptioncube WHERE period = %s", [period])
        cursor.execute("DELETE FROM dashboards_consumptionfact WHERE period = %s", [period])
        cursor.execute(_CUBE_FACTS.format(member_filter=""), params)
        cursor.execute(f"INSERT INTO dashboards_consumptioncube {_CUBE_COLUMNS} "
                       + _CUBE_CELLS_OF_FACTS.format(sign="", member_filter=""), params)
        rows = cursor.rowcount
        cursor.execute("UPDATE dashboards_consumptionperiod SET computed_at = %s, full_built_at = %s WHERE period = %s",
                       [now, now, period])
    return rows


def _cube_apply_touched(cursor, period: str, now: dt.datetime) -> int:
    """Move one computed period's cube from the old facts of the members in cube_touched to their new
    ones. Returns how many members' facts were replaced."""
    params = _period_params(period)
    cursor.execute("DROP TABLE IF EXISTS cube_delta")
    cursor.execute("CREATE TEMPORARY TABLE cube_delta ON COMMIT DROP AS "
                   + _CUBE_CELLS_OF_FACTS.format(sign="-", member_filter=_TOUCHED.format(alias="f")), params)
    cursor.execute("DELETE FROM dashboards_consumptionfact f WHERE f.period = %(period)s "
                   + _TOUCHED.format(alias="f"), params)
    cursor.execute(_CUBE_FACTS.format(member_filter=_TOUCHED.format(alias="p")), params)
    cursor.execute("SELECT COUNT(*) FROM cube_touched WHERE period = %s", [period])
    (members,) = cursor.fetchone()
    cursor.execute("INSERT INTO cube_delta " + _CUBE_CELLS_OF_FACTS.format(
        sign="", member_filter=_TOUCHED.format(alias="f")), params)
    cursor.execute(f"""
        INSERT INTO dashboards_consumptioncube {_CUBE_COLUMNS}
        SELECT period, store_id, tier_id, tag_id, dimension, bucket, SUM(members), SUM(orders), SUM(amount)
        FROM cube_delta GROUP BY period, store_id, tier_id, tag_id, dimension, bucket
        HAVING SUM(members) <> 0 OR SUM(orders) <> 0 OR SUM(amount) <> 0
        ON CONFLICT ON CONSTRAINT consumption_cube_cell_once DO UPDATE
        SET members = dashboards_consumptioncube.members + EXCLUDED.members,
            orders = dashboards_consumptioncube.orders + EXCLUDED.orders,
            amount = dashboards_consumptioncube.amount + EXCLUDED.amount""")
    # A cell no member reaches any more is gone, as in a full build.
    cursor.execute("DELETE FROM dashboards_consumptioncube WHERE period = %s AND members <= 0", [period])
    cursor.execute("DROP TABLE cube_delta")
    cursor.execute("UPDATE dashboards_consumptionperiod SET computed_at = %s WHERE period = %s", [now, period])
    return members


# (period, member) pairs whose facts are stale: purchases changed since the mark (posted, refunded —
# a refund refreshes the month and year of the purchase it returns —, claimed by a member), and members
# whose tier, region, birthday, status or tags changed, in the periods where they have facts (this also
# catches a purchase taken away from a member: a rejected sign-up's held sales). A removed tag is not
# seen here; the backfill command rebuilds whole periods.
_CUBE_TOUCHED = """
CREATE TEMPORARY TABLE cube_touched ON COMMIT DROP AS
SELECT DISTINCT per.period, p.member_id
FROM points_purchase p
CROSS JOIN LATERAL (VALUES (to_char(timezone(%(tz)s, p.occurred_at), 'YYYY-MM')),
                           (to_char(timezone(%(tz)s, p.occurred_at), 'YYYY'))) AS per (period)
WHERE p.changed_at >= %(since)s AND p.member_id IS NOT NULL
UNION
SELECT f.period, f.member_id
FROM dashboards_consumptionfact f
WHERE f.member_id = ANY(ARRAY(SELECT id FROM members_member WHERE updated_at >= %(since)s
                              UNION SELECT member_id FROM members_membertag WHERE added_at >= %(since)s))
"""


def _cube_mark_init(cursor, now: dt.datetime) -> None:
    """Start the watermark (if there is none): what changes from now on, minus the margin."""
    cursor.execute("""INSERT INTO dashboards_consumptionrefreshmark (name, changes_since, updated_at)
                      VALUES ('consumption_cube', %s, %s) ON CONFLICT (name) DO NOTHING""",
                   [now - CUBE_REFRESH_MARGIN, now])


def consumption_cube_refresh(day: dt.date, *, now: dt.datetime | None = None) -> dict:
    """The nightly refresh, in one transaction with its watermark (a crash leaves both as they were):
    every computed period with stale facts is moved by the difference; the month and year of `day` are
    built in full if they never were; a first run (no watermark yet) builds those two and starts it."""
    now = now or timezone.now()
    cutoff = now - CUBE_REFRESH_MARGIN
    result = {"periods_refreshed": [], "periods_built": [], "members_refreshed": 0, "periods_not_computed": []}
    own = [period for period, _first, _last in periods_of(day)]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("""SELECT changes_since FROM dashboards_consumptionrefreshmark
                          WHERE name = 'consumption_cube' FOR UPDATE""")
        mark = cursor.fetchone()
        if mark is None:
            _cube_mark_init(cursor, now)
            for period in own:
                consumption_cube_for(period, now=now)
                result["periods_built"].append(period)
            return result
        (since,) = mark
        cursor.execute(_CUBE_WORK_MEM)
        cursor.execute("DROP TABLE IF EXISTS cube_touched")
        cursor.execute(_CUBE_TOUCHED, {"since": since, "tz": settings.TIME_ZONE})
        cursor.execute("CREATE INDEX ON cube_touched (period, member_id)")
        cursor.execute("ANALYZE cube_touched")
        cursor.execute("SELECT DISTINCT t.period FROM cube_touched t ORDER BY 1")
        touched = [period for (period,) in cursor.fetchall()]
        cursor.execute("SELECT period FROM dashboards_consumptionperiod WHERE period = ANY(%s)", [touched + own])
        computed = {period for (period,) in cursor.fetchall()}
        for period in sorted(set(touched) | set(own)):
            if period not in computed:
                if period in own:
                    consumption_cube_for(period, now=now)
                    result["periods_built"].append(period)
                else:
                    result["periods_not_computed"].append(period)
            elif period in touched:
                _lock_period(cursor, period, now)
                result["members_refreshed"] += _cube_apply_touched(cursor, period, now)
                result["periods_refreshed"].append(period)
        cursor.execute("DROP TABLE cube_touched")
        cursor.execute("""UPDATE dashboards_consumptionrefreshmark SET changes_since = %s, updated_at = %s
                          WHERE name = 'consumption_cube'""", [max(since, cutoff), now])
    return result


def consumption_cube_backfill(periods: list[str], *, now: dt.datetime | None = None) -> dict[str, int]:
    """Rebuild `periods` in full, one transaction each (cube cells per period). Starts the nightly
    refresh's watermark first if there is none, so what is written meanwhile is refreshed later."""
    now = now or timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        _cube_mark_init(cursor, now)
    return {period: consumption_cube_for(period, now=timezone.now()) for period in periods}


def backfill_periods(first_month: dt.date, last_month: dt.date) -> list[str]:
    """Every month from `first_month` to `last_month` and every year they touch (newest first)."""
    months, y, m = [], last_month.year, last_month.month
    while (y, m) >= (first_month.year, first_month.month):
        months.append(f"{y}-{m:02d}")
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    years = sorted({month[:4] for month in months}, reverse=True)
    return months + years


@register_job("consumption_cube", label=gettext_lazy("Build the consumption cube"))
def consumption_cube(ctx: JobContext) -> dict:
    return consumption_cube_refresh(ctx.date - dt.timedelta(days=1))


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


@register_job("dashboard_evaluation", label=gettext_lazy("Compute dashboard evaluation figures"))
def dashboard_evaluation(ctx: JobContext) -> dict:
    return dashboard_evaluation_for(ctx.date - dt.timedelta(days=7), ctx.date)
