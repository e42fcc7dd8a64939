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

# The cube is kept in three layers. ConsumptionFact holds, per period, member and store, the member's
# total there (orders, amount), their attributes (tier, tags, province, city, gender, age band) and
# the purchase-level cells as a JSON object {"dimension:bucket": [orders, amount]} (weekday, hour, brand,
# category); ConsumptionCube is their sum (members = how many fact rows reach the cell);
# ConsumptionCounted says, per period and purchase, for whom and with what amount the purchase is in
# the facts. A full build of a period fills all three from the purchases.
#
# The nightly refresh is a delta merge: each purchase changed since the watermark (posted, refunded,
# claimed, released: points_purchase.changed_at, indexed) contributes −(its counted state) +(its state
# now) to its member's fact in its month and year; the counted state is then replaced, so re-reading a
# purchase (the margin, a re-run after a crash) adds nothing. Only the facts those purchases reach are
# read and rewritten, and the cube moves by the difference of just the cells that changed in them:
# the member-level cells and the cells of the changed keys. A member whose tier, tags, region, gender
# or age band changed moves as a whole (all the fact's old cells out, all the new ones in). So a day's
# refresh costs the day's changed purchases and the facts they touch, not anyone's year.

# Amount of one purchase, net of refunds: the one definition of net paid (points.net_paid).
_CUBE_NET_AMOUNT = NET_PAID_SQL  # points.net_paid: the purchase's current refunds deducted

# A change is re-read this long after it was written: a transaction still open when the watermark moves
# commits a changed_at (or updated_at) older than the mark, so the mark stays an hour behind the clock.
# Re-reading is harmless (ConsumptionCounted holds what is already counted).
CUBE_REFRESH_MARGIN = dt.timedelta(hours=1)

def _age_band_sql(last_day: str, birthday: str) -> str:
    """The age band of `birthday` at `last_day` (SQL expressions)."""
    return _band_sql(f"date_part('year', age({last_day}, {birthday}))", AGE_BANDS)


# A member's attributes as a fact keeps them (alias m; the age band at the period's last day).
_MEMBER_ATTRS_BUT_AGE = """m.tier_id AS tier_id,
       COALESCE((SELECT array_agg(mt.tag_id ORDER BY mt.tag_id) FROM members_membertag mt WHERE mt.member_id = m.id),
                '{}'::bigint[]) AS tag_ids,
       m.province AS province, m.city AS city, m.gender AS gender"""
_MEMBER_ATTRS = f"""{_MEMBER_ATTRS_BUT_AGE},
       {_age_band_sql("%(last_day)s::date", "m.birthday")} AS age_band"""


def _purchase_cells_sql(source: str) -> str:
    """(member_id, store_id, key, orders, amount) of the purchase-level cells of the rows of `source`
    (purchase_id, member_id, store_id, sign, amount, local_at, lines), each purchase once per key, times
    its sign. Brand and category come from the till lines with a line's own amount (partial refunds are
    not spread over lines); lines that are not an array, or amounts that are not numbers, count as nothing."""
    return f"""
    SELECT s.member_id, s.store_id, 'weekday:' || extract(isodow FROM s.local_at)::int AS key, s.sign AS orders,
           s.sign * s.amount AS amount
    FROM {source} s
    UNION ALL
    SELECT s.member_id, s.store_id, 'hour:' || extract(hour FROM s.local_at)::int, s.sign, s.sign * s.amount
    FROM {source} s
    UNION ALL
    SELECT s.member_id, s.store_id, d.key, s.sign, s.sign * SUM(l.amount)
    FROM {source} s
    CROSS JOIN LATERAL (
        SELECT left(COALESCE(e.value ->> 'brand', ''), 64) AS brand, left(COALESCE(e.value ->> 'category', ''), 64) AS category,
               CASE WHEN e.value ->> 'amount' ~ '^-?[0-9]+(\\.[0-9]+)?$' THEN (e.value ->> 'amount')::numeric
                    ELSE 0 END AS amount
        FROM jsonb_array_elements(CASE WHEN jsonb_typeof(s.lines) = 'array' THEN s.lines ELSE '[]'::jsonb END) e) l
    CROSS JOIN LATERAL (VALUES ('brand:' || l.brand), ('category:' || l.category)) AS d (key)
    GROUP BY s.purchase_id, s.sign, s.member_id, s.store_id, d.key"""


_CUBE_FACTS = f"""
WITH purchases AS MATERIALIZED (
    SELECT p.id AS purchase_id, p.member_id, p.store_id, 1 AS sign, {_CUBE_NET_AMOUNT} AS amount,
           timezone(%(tz)s, p.occurred_at) AS local_at, p.lines
    FROM points_purchase p
    WHERE p.occurred_at >= %(start)s AND p.occurred_at < %(end)s AND p.amount_refunded < p.amount_total
          AND p.member_id IS NOT NULL
), counted AS (
    INSERT INTO dashboards_consumptioncounted (period, purchase_id, member_id, amount)
    SELECT %(period)s, purchase_id, member_id, amount FROM purchases
), per_member AS (
    SELECT member_id, store_id, COUNT(*) AS orders, SUM(amount) AS amount FROM purchases GROUP BY member_id, store_id
), cells AS (
    SELECT member_id, store_id, jsonb_object_agg(key, jsonb_build_array(orders, amount)) AS cells
    FROM (SELECT member_id, store_id, key, SUM(orders) AS orders, SUM(amount) AS amount
          FROM ({_purchase_cells_sql("purchases")}) c
          GROUP BY member_id, store_id, key) c
    GROUP BY member_id, store_id
)
INSERT INTO dashboards_consumptionfact
    (period, member_id, store_id, tier_id, tag_ids, province, city, gender, age_band, orders, amount, cells)
SELECT %(period)s, f.member_id, f.store_id, {_MEMBER_ATTRS}, f.orders, f.amount, COALESCE(c.cells, '{{}}'::jsonb)
FROM per_member f JOIN members_member m ON m.id = f.member_id
LEFT JOIN cells c ON c.member_id = f.member_id AND c.store_id = f.store_id
"""


def _cube_rows_sql(source: str) -> str:
    """Cube cells of fact-shaped rows (period, store_id, tier_id, tag_ids, province, city, gender,
    age_band, orders, amount, cells, sign): the member-level cells from the totals and attributes, the
    purchase-level cells from `cells`, each row once for "every member" (tag NULL) and once per tag,
    a row counting `sign` members."""
    return f"""
SELECT f.period, f.store_id, f.tier_id, t.tag_id, c.dimension, c.bucket, SUM(f.sign) AS members,
       SUM(f.sign * c.orders) AS orders, SUM(f.sign * c.amount) AS amount
FROM ({source}) f
CROSS JOIN LATERAL (
    SELECT v.dimension, v.bucket, f.orders, f.amount
    FROM (VALUES ('total', 'all'), ('province', f.province), ('city', f.city), ('gender', f.gender),
                 ('age_band', f.age_band), ('frequency_band', {_band_sql("f.orders", FREQUENCY_BANDS)}),
                 ('amount_band', {_band_sql("f.amount", AMOUNT_BANDS)})) AS v (dimension, bucket)
    UNION ALL
    SELECT split_part(e.key, ':', 1), substr(e.key, strpos(e.key, ':') + 1), (e.value ->> 0)::int,
           (e.value ->> 1)::numeric
    FROM jsonb_each(f.cells) e
) AS c (dimension, bucket, orders, amount)
CROSS JOIN LATERAL (SELECT NULL::bigint AS tag_id UNION ALL SELECT unnest(f.tag_ids)) t
GROUP BY f.period, f.store_id, f.tier_id, t.tag_id, c.dimension, c.bucket"""


def _cube_delta_rows_sql(source: str) -> str:
    """The cells of _cube_rows_sql for the refresh's few thousand changed facts, grouped without first
    spreading each row over its seven member-level cells: the member-level cells by grouping sets (one
    pass over the rows), the purchase-level cells from `cells`; the two never share a cell (their
    dimensions differ), so their rows are simply put together."""
    return f"""
SELECT f.period, f.store_id, f.tier_id, t.tag_id,
       CASE WHEN GROUPING(f.province) = 0 THEN 'province' WHEN GROUPING(f.city) = 0 THEN 'city'
            WHEN GROUPING(f.gender) = 0 THEN 'gender' WHEN GROUPING(f.age_band) = 0 THEN 'age_band'
            WHEN GROUPING(f.frequency_band) = 0 THEN 'frequency_band'
            WHEN GROUPING(f.amount_band) = 0 THEN 'amount_band' ELSE 'total' END AS dimension,
       CASE WHEN GROUPING(f.province) = 0 THEN f.province WHEN GROUPING(f.city) = 0 THEN f.city
            WHEN GROUPING(f.gender) = 0 THEN f.gender WHEN GROUPING(f.age_band) = 0 THEN f.age_band
            WHEN GROUPING(f.frequency_band) = 0 THEN f.frequency_band
            WHEN GROUPING(f.amount_band) = 0 THEN f.amount_band ELSE 'all' END AS bucket,
       SUM(f.sign) AS members, SUM(f.sign * f.orders) AS orders, SUM(f.sign * f.amount) AS amount
FROM (SELECT s.*, {_band_sql("s.orders", FREQUENCY_BANDS)} AS frequency_band,
             {_band_sql("s.amount", AMOUNT_BANDS)} AS amount_band FROM ({source}) s) f
CROSS JOIN LATERAL (SELECT NULL::bigint AS tag_id UNION ALL SELECT unnest(f.tag_ids)) t
GROUP BY f.period, f.store_id, f.tier_id, t.tag_id,
         GROUPING SETS ((f.province), (f.city), (f.gender), (f.age_band), (f.frequency_band), (f.amount_band), ())
UNION ALL
SELECT f.period, f.store_id, f.tier_id, t.tag_id, split_part(e.key, ':', 1), substr(e.key, strpos(e.key, ':') + 1),
       SUM(f.sign), SUM(f.sign * (e.value ->> 0)::int), SUM(f.sign * (e.value ->> 1)::numeric)
FROM ({source}) f
CROSS JOIN LATERAL jsonb_each(f.cells) e
CROSS JOIN LATERAL (SELECT NULL::bigint AS tag_id UNION ALL SELECT unnest(f.tag_ids)) t
GROUP BY f.period, f.store_id, f.tier_id, t.tag_id, split_part(e.key, ':', 1), substr(e.key, strpos(e.key, ':') + 1)"""


# Enough memory to aggregate a year's cells in hash tables rather than sorting them on disk.
_CUBE_WORK_MEM = "SET LOCAL work_mem = '256MB'"
_CUBE_COLUMNS = "(period, store_id, tier_id, tag_id, dimension, bucket, members, orders, amount)"


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
    the number of cube cells. The facts and the counted purchases are written by one statement, so
    they agree with each other whatever is posted meanwhile (the next refresh folds that in)."""
    now = now or timezone.now()
    params = _period_params(period)
    with transaction.atomic(), connection.cursor() as cursor:
        _lock_period(cursor, period, now)
        cursor.execute(_CUBE_WORK_MEM)
        cursor.execute("DELETE FROM dashboards_consumptioncube WHERE period = %s", [period])
        cursor.execute("DELETE FROM dashboards_consumptionfact WHERE period = %s", [period])
        cursor.execute("DELETE FROM dashboards_consumptioncounted WHERE period = %s", [period])
        cursor.execute(_CUBE_FACTS, params)
        cursor.execute(f"INSERT INTO dashboards_consumptioncube {_CUBE_COLUMNS} " + _cube_rows_sql(
            "SELECT f.*, 1 AS sign FROM dashboards_consumptionfact f WHERE f.period = %(period)s"), params)
        rows = cursor.rowcount
        cursor.execute("UPDATE dashboards_consumptionperiod SET computed_at = %s, full_built_at = %s WHERE period = %s",
                       [now, now, period])
    with connection.cursor() as cursor:
        # A full build writes a period's facts and counted purchases at once: fresh statistics keep the
        # refresh's plans on index probes.
        cursor.execute("ANALYZE dashboards_consumptionfact")
        cursor.execute("ANALYZE dashboards_consumptioncounted")
    return rows


# The periods one refresh folds its changes into (period, last day), all in one pass: a day's purchase
# belongs to its month and its year, so the changed purchases, their keys and the members are read once
# and applied to both.
_CUBE_PERIODS = """
CREATE TEMPORARY TABLE cube_periods (period varchar(7) PRIMARY KEY, last_day date NOT NULL) ON COMMIT DROP
"""

# Per refreshed period: each changed purchase of the period whose counted state differs from its state
# now, as −1 × (counted member, amount) and +1 × (member, amount now); a purchase not counted
# (member-less, fully refunded) has no row on that side.
_CUBE_PURCHASE_CHANGES = """
CREATE TEMPORARY TABLE cube_pchange ON COMMIT DROP AS
SELECT p.period, t.purchase_id, x.member_id, t.store_id, x.sign, x.amount
FROM cube_tp t
JOIN cube_periods p ON p.period = t.month OR p.period = t.year
LEFT JOIN LATERAL (SELECT c.member_id, c.amount FROM dashboards_consumptioncounted c
                   WHERE c.period = p.period AND c.purchase_id = t.purchase_id OFFSET 0) c ON true
CROSS JOIN LATERAL (
    SELECT c.member_id, -1 AS sign, c.amount WHERE c.member_id IS NOT NULL
    UNION ALL
    SELECT t.member_id, 1, t.amount WHERE t.member_id IS NOT NULL
) x
WHERE c.member_id IS DISTINCT FROM t.member_id OR c.amount IS DISTINCT FROM t.amount
"""


def _purchase_keys_sql(source: str) -> str:
    """(purchase_id, key, amount) of the purchase-level keys of the rows of `source` (purchase_id,
    local_at, lines), once per purchase whatever the periods and signs it is folded with: amount is the
    lines' amount for brand and category, NULL for the keys that take the purchase's amount (weekday,
    hour). The same cells as _purchase_cells_sql."""
    return f"""
    SELECT s.purchase_id, 'weekday:' || extract(isodow FROM s.local_at)::int AS key, NULL::numeric AS amount
    FROM {source} s
    UNION ALL
    SELECT s.purchase_id, 'hour:' || extract(hour FROM s.local_at)::int, NULL::numeric
    FROM {source} s
    UNION ALL
    SELECT s.purchase_id, d.key, SUM(l.amount)
    FROM {source} s
    CROSS JOIN LATERAL (
        SELECT left(COALESCE(e.value ->> 'brand', ''), 64) AS brand, left(COALESCE(e.value ->> 'category', ''), 64) AS category,
               CASE WHEN e.value ->> 'amount' ~ '^-?[0-9]+(\\.[0-9]+)?$' THEN (e.value ->> 'amount')::numeric
                    ELSE 0 END AS amount
        FROM jsonb_array_elements(CASE WHEN jsonb_typeof(s.lines) = 'array' THEN s.lines ELSE '[]'::jsonb END) e) l
    CROSS JOIN LATERAL (VALUES ('brand:' || l.brand), ('category:' || l.category)) AS d (key)
    GROUP BY s.purchase_id, d.key"""


_CUBE_PURCHASE_KEYS = f"""
CREATE TEMPORARY TABLE cube_pkeys ON COMMIT DROP AS
{_purchase_keys_sql("(SELECT * FROM cube_tp WHERE purchase_id IN (SELECT purchase_id FROM cube_pchange))")}
"""

# Per period: the facts the changes reach, with the change of their totals and of their keys
# (delta: {"key": [orders, amount]}), and the facts of the members whose attributes may have changed.
_CUBE_AFFECTED = """
CREATE TEMPORARY TABLE cube_affected ON COMMIT DROP AS
WITH totals AS (
    SELECT period, member_id, store_id, SUM(sign) AS orders, SUM(sign * amount) AS amount
    FROM cube_pchange GROUP BY period, member_id, store_id
), keys AS (
    SELECT period, member_id, store_id, jsonb_object_agg(key, jsonb_build_array(orders, amount)) AS delta
    FROM (SELECT c.period, c.member_id, c.store_id, k.key, SUM(c.sign) AS orders,
                 SUM(c.sign * COALESCE(k.amount, c.amount)) AS amount
          FROM cube_pchange c JOIN cube_pkeys k ON k.purchase_id = c.purchase_id
          GROUP BY c.period, c.member_id, c.store_id, k.key) c
    GROUP BY period, member_id, store_id
)
SELECT t.period, t.member_id, t.store_id, t.orders, t.amount, COALESCE(k.delta, '{}'::jsonb) AS delta,
       true AS purchases_changed
FROM totals t LEFT JOIN keys k ON k.period = t.period AND k.member_id = t.member_id AND k.store_id = t.store_id
UNION ALL
SELECT f.period, f.member_id, f.store_id, 0, 0, '{}'::jsonb, false
FROM dashboards_consumptionfact f
WHERE f.member_id = ANY(ARRAY(SELECT member_id FROM cube_tm)) AND f.period IN (SELECT period FROM cube_periods)
  AND NOT EXISTS (SELECT 1 FROM totals t WHERE t.period = f.period AND t.member_id = f.member_id
                                            AND t.store_id = f.store_id)
"""

# Each affected member's attributes, read once for all the periods (the age band is the period's).
_CUBE_MEMBERS = f"""
CREATE TEMPORARY TABLE cube_member ON COMMIT DROP AS
SELECT m.*
FROM (SELECT DISTINCT member_id FROM cube_affected) a
CROSS JOIN LATERAL (SELECT m.id AS member_id, {_MEMBER_ATTRS_BUT_AGE}, m.birthday
                    FROM members_member m WHERE m.id = a.member_id OFFSET 0) m
"""

# Per period: each affected fact's old state, its new state, and the old and new values of the keys that
# changed. `whole` marks the facts that move as a whole: new, emptied, or whose attributes changed. The
# old fact is fetched per row through its unique index (LATERAL … OFFSET 0 keeps the planner from
# hashing the period's facts).
_CUBE_FACT_CHANGES = f"""
CREATE TEMPORARY TABLE cube_fchange ON COMMIT DROP AS
WITH states AS (
    SELECT a.period, a.member_id, a.store_id, f.id AS fact_id, f.tier_id AS old_tier_id, f.tag_ids AS old_tag_ids,
           f.province AS old_province, f.city AS old_city, f.gender AS old_gender, f.age_band AS old_age_band,
           f.orders AS old_orders, f.amount AS old_amount, COALESCE(f.cells, '{{}}'::jsonb) AS old_cells,
           m.tier_id, m.tag_ids, m.province, m.city, m.gender, {_age_band_sql("p.last_day", "m.birthday")} AS age_band,
           COALESCE(f.orders, 0) + a.orders AS orders, COALESCE(f.amount, 0) + a.amount AS amount,
           a.delta, a.purchases_changed
    FROM cube_affected a
    JOIN cube_periods p ON p.period = a.period
    JOIN cube_member m ON m.member_id = a.member_id
    LEFT JOIN LATERAL (SELECT * FROM dashboards_consumptionfact f WHERE f.period = a.period
                       AND f.member_id = a.member_id AND f.store_id = a.store_id OFFSET 0) f ON true
)
SELECT s.*, n.old_kv, n.new_kv, (s.old_cells - n.emptied) || n.new_kv AS cells,
       s.fact_id IS NULL OR s.orders <= 0
       OR (s.old_tier_id, s.old_tag_ids, s.old_province, s.old_city, s.old_gender, s.old_age_band)
          IS DISTINCT FROM (s.tier_id, s.tag_ids, s.province, s.city, s.gender, s.age_band) AS whole
FROM states s
CROSS JOIN LATERAL (
    SELECT COALESCE(jsonb_object_agg(d.key, s.old_cells -> d.key) FILTER (WHERE s.old_cells ? d.key), '{{}}') AS old_kv,
           COALESCE(jsonb_object_agg(d.key, jsonb_build_array(v.orders, v.amount)) FILTER (WHERE v.orders > 0),
                    '{{}}') AS new_kv,
           COALESCE(array_agg(d.key) FILTER (WHERE v.orders <= 0), '{{}}') AS emptied
    FROM jsonb_each(s.delta) d
    CROSS JOIN LATERAL (SELECT COALESCE((s.old_cells -> d.key ->> 0)::int, 0) + (d.value ->> 0)::int AS orders,
                               COALESCE((s.old_cells -> d.key ->> 1)::numeric, 0) + (d.value ->> 1)::numeric AS amount) v
) n
WHERE s.purchases_changed
   OR (s.old_tier_id, s.old_tag_ids, s.old_province, s.old_city, s.old_gender, s.old_age_band)
      IS DISTINCT FROM (s.tier_id, s.tag_ids, s.province, s.city, s.gender, s.age_band)
"""

# The two sides of each changed fact for the cube: the old state out (−1), the new one in (+1), with
# all cells when the fact moves as a whole, else only the changed keys (the others cancel out).
_CUBE_SIDES = """
SELECT period, store_id, old_tier_id AS tier_id, old_tag_ids AS tag_ids, old_province AS province,
       old_city AS city, old_gender AS gender, old_age_band AS age_band, old_orders AS orders, old_amount AS amount,
       CASE WHEN whole THEN old_cells ELSE old_kv END AS cells, -1 AS sign
FROM cube_fchange WHERE fact_id IS NOT NULL
UNION ALL
SELECT period, store_id, tier_id, tag_ids, province, city, gender, age_band, orders, amount,
       CASE WHEN whole THEN cells ELSE new_kv END, 1
FROM cube_fchange WHERE orders > 0"""

_CUBE_FOLD_TABLES = ("cube_periods", "cube_pchange", "cube_pkeys", "cube_affected", "cube_member", "cube_fchange")


def _cube_apply_touched(cursor, periods: list[str], now: dt.datetime) -> int:
    """Fold the changed purchases (cube_tp) and changed members (cube_tm) into computed periods (their
    status rows locked), in one pass for all of them: their counted purchases, facts and cubes. Returns
    how many facts changed (a member's fact in the month and in the year count two)."""
    for table in _CUBE_FOLD_TABLES:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
    # The planner takes jsonb_each() and jsonb_array_elements() for 100 rows (they yield a handful) and
    # would sort the day's cells to group them; they fit in hash tables many times over (12.5 → 3 s of
    # grouping at 10M purchases).
    cursor.execute("SET LOCAL enable_sort = off")
    cursor.execute(_CUBE_PERIODS)
    cursor.execute("INSERT INTO cube_periods (period, last_day) SELECT * FROM unnest(%s::varchar[], %s::date[])",
                   [periods, [period_bounds(period)[2] for period in periods]])
    cursor.execute(_CUBE_PURCHASE_CHANGES)
    cursor.execute(_CUBE_PURCHASE_KEYS)
    cursor.execute(_CUBE_AFFECTED)
    cursor.execute(_CUBE_MEMBERS)
    cursor.execute(_CUBE_FACT_CHANGES)
    facts = cursor.rowcount
    if facts:
        for period in periods:  # by the primary key, period by period
            cursor.execute("""DELETE FROM dashboards_consumptioncounted c WHERE c.period = %(period)s
                              AND c.purchase_id = ANY(ARRAY(SELECT purchase_id FROM cube_pchange
                                                            WHERE period = %(period)s AND sign = -1))""",
                           {"period": period})
        cursor.execute("""INSERT INTO dashboards_consumptioncounted (period, purchase_id, member_id, amount)
                          SELECT period, purchase_id, member_id, amount FROM cube_pchange WHERE sign = 1""")
        cursor.execute(f"""
            INSERT INTO dashboards_consumptioncube {_CUBE_COLUMNS}
            SELECT period, store_id, tier_id, tag_id, dimension, bucket, members, orders, amount
            FROM ({_cube_delta_rows_sql(_CUBE_SIDES)}) d
            WHERE members <> 0 OR orders <> 0 OR amount <> 0
            ON CONFLICT ON CONSTRAINT consumption_cube_cell_once DO UPDATE
            SET members = dashboards_consumptioncube.members + EXCLUDED.members,
                orders = dashboards_consumptioncube.orders + EXCLUDED.orders,
                amount = dashboards_consumptioncube.amount + EXCLUDED.amount""")
        # A cell no member reaches any more is gone, as in a full build.
        cursor.execute("DELETE FROM dashboards_consumptioncube WHERE period = ANY(%s) AND members <= 0", [periods])
        cursor.execute("""DELETE FROM dashboards_consumptionfact
                          WHERE id = ANY(ARRAY(SELECT fact_id FROM cube_fchange WHERE orders <= 0))""")
        cursor.execute("""
            INSERT INTO dashboards_consumptionfact
                (period, member_id, store_id, tier_id, tag_ids, province, city, gender, age_band, orders, amount, cells)
            SELECT period, member_id, store_id, tier_id, tag_ids, province, city, gender, age_band, orders, amount,
                   cells
            FROM cube_fchange WHERE orders > 0
            ON CONFLICT ON CONSTRAINT consumption_fact_once DO UPDATE
            SET tier_id = EXCLUDED.tier_id, tag_ids = EXCLUDED.tag_ids, province = EXCLUDED.province,
                city = EXCLUDED.city, gender = EXCLUDED.gender, age_band = EXCLUDED.age_band,
                orders = EXCLUDED.orders, amount = EXCLUDED.amount, cells = EXCLUDED.cells""")
    for table in _CUBE_FOLD_TABLES:
        cursor.execute(f"DROP TABLE {table}")
    cursor.execute("SET LOCAL enable_sort = on")
    cursor.execute("UPDATE dashboards_consumptionperiod SET computed_at = %s WHERE period = ANY(%s)", [now, periods])
    return facts


# What changed since the mark: purchases by changed_at (posted, refunded — a refund refreshes the month
# and year of the purchase it returns —, claimed by a member, released from a rejected sign-up), with
# their state now (member NULL when not counted: member-less or fully refunded); and members whose
# tier, region, gender, birthday or tags changed. A removed tag is not seen here (it leaves no row);
# the backfill command rebuilds whole periods.
_CUBE_TOUCHED_PURCHASES = f"""
CREATE TEMPORARY TABLE cube_tp ON COMMIT DROP AS
SELECT p.id AS purchase_id, CASE WHEN p.amount_refunded < p.amount_total THEN p.member_id END AS member_id,
       p.store_id, {_CUBE_NET_AMOUNT} AS amount, timezone(%(tz)s, p.occurred_at) AS local_at, p.lines,
       to_char(timezone(%(tz)s, p.occurred_at), 'YYYY-MM') AS month, to_char(timezone(%(tz)s, p.occurred_at), 'YYYY') AS year
FROM points_purchase p
WHERE p.changed_at >= %(since)s
"""
_CUBE_TOUCHED_MEMBERS = """
CREATE TEMPORARY TABLE cube_tm ON COMMIT DROP AS
SELECT id AS member_id FROM members_member WHERE updated_at >= %(since)s
UNION SELECT member_id FROM members_membertag WHERE added_at >= %(since)s
"""


def _cube_mark_init(cursor, now: dt.datetime) -> None:
    """Start the watermark (if there is none): what changes from now on, minus the margin."""
    cursor.execute("""INSERT INTO dashboards_consumptionrefreshmark (name, changes_since, updated_at)
                      VALUES ('consumption_cube', %s, %s) ON CONFLICT (name) DO NOTHING""",
                   [now - CUBE_REFRESH_MARGIN, now])


def consumption_cube_refresh(day: dt.date, *, now: dt.datetime | None = None) -> dict:
    """The nightly refresh, in one transaction with its watermark (a crash leaves both as they were):
    every computed period with changed purchases or members is moved by the difference; the month and
    year of `day` are built in full if they never were; a first run (no watermark yet) builds those two
    and starts it."""
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
        # The statements touch a few thousand rows; JIT compiling them (planned on guesses about the
        # temporary tables) cost seconds at 1M purchases.
        cursor.execute("SET LOCAL jit = off")
        for table in ("cube_tp", "cube_tm"):
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(_CUBE_TOUCHED_PURCHASES, {"since": since, "tz": settings.TIME_ZONE})
        cursor.execute(_CUBE_TOUCHED_MEMBERS, {"since": since})
        cursor.execute("""SELECT month FROM cube_tp UNION SELECT year FROM cube_tp
                          UNION SELECT f.period FROM dashboards_consumptionfact f
                          WHERE f.member_id = ANY(ARRAY(SELECT member_id FROM cube_tm))""")
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
                result["periods_refreshed"].append(period)
        if result["periods_refreshed"]:
            result["members_refreshed"] = _cube_apply_touched(cursor, result["periods_refreshed"], now)
        for table in ("cube_tp", "cube_tm"):
            cursor.execute(f"DROP TABLE {table}")
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
