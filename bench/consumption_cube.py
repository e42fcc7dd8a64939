#!/usr/bin/env python3
"""The consumption cube's nightly incremental refresh at scale (EVAL-3, EVAL-5; issue 14).

    .venv/bin/python bench/consumption_cube.py --members 1000000 --purchases 10000000 [--day-purchases N]

Generating 10M purchases and building a year of the cube takes a long while on two shared cores, so
the data lives in a KEPT database, `memberhub_bench_cube_<members>_<purchases>` on DATABASE_URL's
server: the first run generates it set-wise (INSERT … SELECT from generate_series in chunks of 2M
purchases, points_purchase's secondary indexes and constraints dropped during the load and rebuilt
with their own definitions afterwards; the tables stay logged, as in production) and builds the cube of yesterday's month and year in full (manage.py backfill_consumption_cube's
function); later runs reuse it (`--drop` removes it at the end). Rows are kept small: one or two
till lines per purchase, 85 % of a member's purchases in the home store.

Each run then measures what the nightly job does after a day's business:
  1. a day: --day-purchases purchases on yesterday (default purchases / 400) by members spread over
     the population, and a tenth as many partial refunds of older purchases (through the columns
     refund_post writes, changed_at included);
  2. the floor: a plain join of what the delta refresh cannot avoid reading — the day's changed
     purchases (by changed_at) and, in the month and the year, the counted row and the fact each one
     reaches; and, for comparison, the re-read floor: the touched members' purchases of the month
     and the year aggregated by member and store (what a rebuild of their facts could not go under);
  3. the refresh (dashboards.jobs.consumption_cube_refresh), its re-run, and a check that the year's
     cube counts every purchase of the year.
Goal: a day's refresh at 10M purchases < 10 s. The figure is printed next to the floor and the ratio;
`--generate-only` stops after generating (the full build then runs at the start of the next run);
running it with a smaller --day-purchases on the same table shows that it follows the day's volume,
not the table's size.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import admin_sql, django_setup, server_url, with_database  # noqa: E402
from bench.dashboards import BRANDS, CATEGORIES, PROVINCES, _insert  # noqa: E402

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def _database_exists(base: str, name: str) -> bool:
    import psycopg

    from core.dburl import psycopg_kwargs

    with psycopg.connect(**psycopg_kwargs(base, dbname="postgres"), autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def _drop_secondary(cursor, table: str) -> list[str]:
    """Drop `table`'s indexes, unique and foreign-key constraints except the primary key (a bulk load
    into a fresh table is several times faster without them); returns the statements that restore
    them, to run after the load (the same definitions, so the measured table is as in production)."""
    cursor.execute("""SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
                      WHERE conrelid = %s::regclass AND contype IN ('u', 'f')""", [table])
    constraints = cursor.fetchall()
    cursor.execute("""SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT IN
                          (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)""", [table, table])
    indexes = cursor.fetchall()
    for name, _definition in constraints:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _definition in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    return [definition for _name, definition in indexes] + [
        f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}' for name, definition in constraints]


def generate(n_members: int, n_purchases: int, n_stores: int, chunk: int = 2_000_000) -> None:
    """Members, tags and purchases, set-wise. The purchases are numbered g = 1 … N and purchase g goes to
    member (g × 7919) mod N_members: every member gets N / N_members purchases, scattered over the
    table as a till's stream of sales leaves them (a member-ordered heap would flatter the refresh),
    without sorting anything. Loaded in chunks of `chunk` rows with points_purchase's secondary indexes
    and constraints dropped (the database is fresh), then rebuilt with their own definitions."""
    from django.db import connection, transaction

    from members.models import Store, Tag, Tier

    stores = [Store.objects.create(code=f"C{i:03d}", name=f"基准店{i}").pk for i in range(n_stores)]
    tiers = list(Tier.objects.order_by("rank").values_list("pk", flat=True))
    tags = [Tag.objects.create(name=f"标签{i}").pk for i in range(5)]
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
        cursor.execute("SET maintenance_work_mem = '512MB'")
        _insert(cursor, "members_member",
                ["member_no", "kind", "status", "name", "gender", "birthday", "province", "city", "home_store_id",
                 "tier_id", "channel", "created_at", "updated_at"],
                """'9' || lpad(g::text, 11, '0'), 'personal', 'active', '会员' || g, (ARRAY['F', 'M', 'U'])[1 + g %% 3],
                   CASE WHEN g %% 10 = 0 THEN NULL ELSE date '1950-01-01' + (g::bigint * 7919 %% 20000)::int END,
                   (%(provinces)s::text[])[1 + g %% 10], (%(provinces)s::text[])[1 + g %% 10] || '市' || (g %% 7),
                   (%(stores)s::bigint[])[1 + g %% %(n_stores)s],
                   (%(tiers)s::bigint[])[CASE WHEN g %% 50 = 0 THEN 4 WHEN g %% 12 = 0 THEN 3 WHEN g %% 5 = 0 THEN 2 ELSE 1 END],
                   'import', now() - (g %% 1095) * interval '1 day', now() - interval '2 days'
                   FROM generate_series(1, %(n)s) g""",
                {"n": n_members, "stores": stores, "n_stores": n_stores, "tiers": tiers, "provinces": PROVINCES})
        cursor.execute("SELECT MIN(id), MAX(id) FROM members_member")
        low, high = cursor.fetchone()
        cursor.execute("""INSERT INTO members_membertag (member_id, tag_id, added_at)
                          SELECT m.id, (%s::bigint[])[1 + m.id %% 5], now() - interval '2 days' FROM members_member m
                          WHERE m.id %% 20 = 0""", [tags])
        cursor.execute("ANALYZE members_member")
        restore = _drop_secondary(cursor, "points_purchase")
    n_members = high - low + 1
    n_purchases = max(1, n_purchases // n_members) * n_members
    t0 = time.perf_counter()
    for first in range(1, n_purchases + 1, chunk):
        last = min(n_purchases, first + chunk - 1)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")
            _insert(cursor, "points_purchase",
                    ["store_id", "order_no", "member_id", "occurred_at", "amount_total", "amount_paid",
                     "amount_refunded", "points_earned", "points_reversed", "lines", "tenders", "campaigns",
                     "request_hash", "source", "created_at", "changed_at"],
                    """CASE WHEN (m.id + k) %% 7 = 0 THEN (%(stores)s::bigint[])[1 + (m.id + k) %% %(n_stores)s]
                            ELSE m.home_store_id END,
                       'P' || m.id || '-' || k, m.id, now() - random() * interval '400 days', a, a,
                       CASE WHEN k = 1 AND m.id %% 20 = 0 THEN round(a / 2, 2) ELSE 0 END, floor(a), 0,
                       CASE WHEN k %% 3 = 0 THEN
                           jsonb_build_array(
                               jsonb_build_object('brand', (%(brands)s::text[])[1 + (m.id * k) %% 12],
                                                  'category', (%(cats)s::text[])[1 + (m.id + k) %% 8],
                                                  'amount', round(a * 0.6, 2)::text),
                               jsonb_build_object('brand', (%(brands)s::text[])[1 + (m.id + 3 * k) %% 12],
                                                  'category', (%(cats)s::text[])[1 + (m.id * 3 + k) %% 8],
                                                  'amount', round(a * 0.4, 2)::text))
                       ELSE jsonb_build_array(
                               jsonb_build_object('brand', (%(brands)s::text[])[1 + (m.id * k) %% 12],
                                                  'category', (%(cats)s::text[])[1 + (m.id + k) %% 8],
                                                  'amount', a::text)) END,
                       '[]', '[]', '', 'bench', now() - interval '2 days', now() - interval '2 days'
                       FROM generate_series(%(first)s::bigint, %(last)s::bigint) g
                       CROSS JOIN LATERAL (SELECT (g - 1) / %(n_members)s + 1 AS k,
                                                  %(low)s + (g * 7919) %% %(n_members)s AS member_id) x
                       JOIN members_member m ON m.id = x.member_id
                       CROSS JOIN LATERAL (SELECT round((10 + power(random(), 3) * 6000)::numeric, 2) AS a) amt""",
                    {"stores": stores, "n_stores": n_stores, "brands": BRANDS, "cats": CATEGORIES, "first": first,
                     "last": last, "n_members": n_members, "low": low})
        print(f"  {last:,} purchases ({time.perf_counter() - t0:.0f} s)", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '512MB'")
        for statement in restore:
            t1 = time.perf_counter()
            cursor.execute(statement)
            print(f"  {statement[:90]} ({time.perf_counter() - t1:.0f} s)", flush=True)
        cursor.execute("VACUUM ANALYZE points_purchase")
        cursor.execute("ANALYZE")


def timed(label: str, func, *args, **kwargs):
    t0 = time.perf_counter()
    result = func(*args, **kwargs)
    seconds = time.perf_counter() - t0
    print(f"  {label:<52} {seconds:8.2f} s   {result}", flush=True)
    return seconds, result


def add_a_day(day: dt.date, n_purchases: int, n_refunds: int, run: str) -> None:
    """A day's business: purchases on `day` by members spread over the population, and partial refunds
    (half the bill) of older purchases, written now with the columns purchase_post and refund_post set."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT MIN(id), MAX(id) FROM members_member")
        low, high = cursor.fetchone()
        start = dt.datetime.combine(day, dt.time(9), tzinfo=SHANGHAI)
        _insert(cursor, "points_purchase",
                ["store_id", "order_no", "member_id", "occurred_at", "amount_total", "amount_paid", "amount_refunded",
                 "points_earned", "points_reversed", "lines", "tenders", "campaigns", "request_hash", "source",
                 "created_at", "changed_at"],
                """m.home_store_id, 'D' || %(run)s || '-' || g, m.id, %(start)s + (g %% 720) * interval '1 minute',
                   199, 199, 0, 199, 0,
                   jsonb_build_array(jsonb_build_object('brand', 'NIKE', 'category', '鞋包', 'amount', '199')),
                   '[]', '[]', '', 'bench', now(), now()
                   FROM generate_series(1, %(n)s) g
                   JOIN members_member m ON m.id = %(low)s + (g * 7919 + %(salt)s) %% (%(high)s - %(low)s + 1)""",
                {"start": start, "n": n_purchases, "low": low, "high": high, "run": run, "salt": int(run) % 100_003})
        cursor.execute("""CREATE TEMPORARY TABLE bench_picked ON COMMIT DROP AS
                          SELECT p.id, p.store_id, round(p.amount_total / 2, 2) AS amount FROM points_purchase p
                          WHERE p.id %% 997 = %(salt)s AND p.amount_refunded = 0 AND p.occurred_at < %(start)s
                          LIMIT %(n)s""", {"salt": int(run) % 997, "n": n_refunds, "start": start})
        _insert(cursor, "points_refund",
                ["purchase_id", "refund_no", "store_id", "amount", "occurred_at", "points_reversed", "points_as_debt",
                 "cash_deducted", "request_hash", "created_at"],
                """id, 'R' || %(run)s || '-' || id, store_id, amount, now(), 0, 0, 0, '', now()
                   FROM bench_picked""", {"run": run})
        cursor.execute("""UPDATE points_purchase p SET amount_refunded = b.amount, changed_at = now()
                          FROM bench_picked b WHERE p.id = b.id""")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE points_purchase")
        cursor.execute("ANALYZE points_refund")


def _period_range(first: dt.date, last: dt.date) -> dict:
    return {"start": dt.datetime.combine(first, dt.time(), tzinfo=SHANGHAI),
            "end": dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=SHANGHAI)}


def floor_of_day(since: dt.datetime, periods: list[tuple[str, dt.date, dt.date]]) -> int:
    """The work no delta refresh can skip: read the day's changed purchases (changed_at index, their
    lines included) and, per period, the counted row and the fact each one reaches (one index probe
    each, as the refresh does), as a plain join and aggregate."""
    from django.db import connection

    from points.net_paid import NET_PAID_SQL

    rows = 0
    with connection.cursor() as cursor:
        for period, first, last in periods:
            cursor.execute(f"""
                SELECT COUNT(*), SUM(c.amount), SUM(f.orders), SUM(t.amount), SUM(t.line_count) FROM (
                    SELECT p.id, p.member_id, p.store_id, {NET_PAID_SQL} AS amount,
                           jsonb_array_length(p.lines) AS line_count
                    FROM points_purchase p
                    WHERE p.changed_at >= %(since)s AND p.occurred_at >= %(start)s AND p.occurred_at < %(end)s) t
                LEFT JOIN LATERAL (SELECT c.amount FROM dashboards_consumptioncounted c
                                   WHERE c.period = %(period)s AND c.purchase_id = t.id OFFSET 0) c ON true
                LEFT JOIN LATERAL (SELECT f.orders FROM dashboards_consumptionfact f WHERE f.period = %(period)s
                                   AND f.member_id = t.member_id AND f.store_id = t.store_id OFFSET 0) f ON true""",
                           {"since": since, "period": period, **_period_range(first, last)})
            rows += cursor.fetchone()[0]
    return rows


def reread_floor(since: dt.datetime, periods: list[tuple[str, dt.date, dt.date]]) -> int:
    """What a refresh that rebuilds each touched member's facts could not go under: the touched members'
    purchases of each period, net paid summed by member and store (for comparison: the delta merge
    does not read these)."""
    from django.db import connection

    from points.net_paid import NET_PAID_SQL

    rows = 0
    with connection.cursor() as cursor:
        for _period, first, last in periods:
            cursor.execute(f"""
                SELECT COUNT(*) FROM (
                    SELECT p.member_id, p.store_id, COUNT(*), SUM({NET_PAID_SQL})
                    FROM (SELECT DISTINCT member_id FROM points_purchase WHERE changed_at >= %(since)s) t
                    CROSS JOIN LATERAL (SELECT * FROM points_purchase p WHERE p.member_id = t.member_id
                                        AND p.occurred_at >= %(start)s AND p.occurred_at < %(end)s) p
                    GROUP BY 1, 2) x""", {"since": since, **_period_range(first, last)})
            rows += cursor.fetchone()[0]
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--purchases", type=int, default=1_000_000)
    parser.add_argument("--stores", type=int, default=20)
    parser.add_argument("--day-purchases", type=int, default=0, help="the day's purchases (default purchases / 400)")
    parser.add_argument("--day", type=dt.date.fromisoformat, default=None,
                        help="the business day (default yesterday); a day mid-month measures a month full of facts")
    parser.add_argument("--drop", action="store_true", help="drop the kept database at the end")
    parser.add_argument("--generate-only", action="store_true",
                        help="stop after generating a fresh database (the full build runs on the next run)")
    args = parser.parse_args()

    base = server_url()
    name = f"memberhub_bench_cube_{args.members}_{args.purchases}"
    fresh = not _database_exists(base, name)
    if fresh:
        admin_sql(base, f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = with_database(base, name)
    try:
        django_setup()
        from django.db import connection

        from dashboards.jobs import consumption_cube_backfill, consumption_cube_refresh, periods_of

        yesterday = args.day or dt.date.today() - dt.timedelta(days=1)
        periods = periods_of(yesterday)
        if fresh:
            print(f"generating {args.members:,} members, {args.purchases:,} purchases, {args.stores} stores "
                  f"into {name} (kept) ...", flush=True)
            seconds, _ = timed("generated", generate, args.members, args.purchases, args.stores)
            if args.generate_only:
                return 0
            timed("full build of the month and the year (backfill)", consumption_cube_backfill,
                  [p for p, _f, _l in periods])
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM points_purchase")
            (total,) = cursor.fetchone()
            cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('points_purchase')), "
                           "pg_size_pretty(pg_total_relation_size('dashboards_consumptionfact'))")
            sizes = cursor.fetchone()
            cursor.execute("SELECT period FROM dashboards_consumptionperiod")
            built = {p for (p,) in cursor.fetchall()}
        print(f"database {name}: {total:,} purchases ({sizes[0]}), cube facts {sizes[1]}")
        missing = [p for p, _f, _l in periods if p not in built]
        if missing:
            timed(f"full build of {', '.join(missing)}", consumption_cube_backfill, missing)

        per_day = args.day_purchases or max(1, args.purchases // 400)
        n_refunds = max(1, per_day // 10)
        # The previous nightly run "ended" just before this day's business: only the day is touched.
        with connection.cursor() as cursor:
            cursor.execute("SELECT now() - interval '1 second'")
            (since,) = cursor.fetchone()
            cursor.execute("UPDATE dashboards_consumptionrefreshmark SET changes_since = %s", [since])
        run = str(int(time.time()))
        timed(f"a day's business: {per_day:,} purchases, {n_refunds:,} refunds", add_a_day, yesterday, per_day,
              n_refunds, run)
        floor, _rows = timed("floor: changed purchases + their counted rows and facts", floor_of_day, since, periods)
        reread, _rows = timed("(re-read floor: touched members' month + year)", reread_floor, since, periods)
        refresh, _r = timed("incremental refresh (consumption_cube job)", consumption_cube_refresh, yesterday)
        timed("re-run (the last hour's rows re-read)", consumption_cube_refresh, yesterday)
        print(f"a day's refresh at {total:,} purchases ({per_day:,} new, {n_refunds:,} refunds): {refresh:.2f} s; "
              f"floor {floor:.2f} s; ratio {refresh / floor:.1f}x; re-read floor {reread:.2f} s "
              f"(goal < 10 s at 10M)")
        (year, first, last) = periods[1]
        with connection.cursor() as cursor:
            cursor.execute("""SELECT (SELECT SUM(orders) FROM dashboards_consumptioncube WHERE period = %s
                                      AND dimension = 'total' AND tag_id IS NULL),
                                     (SELECT COUNT(*) FROM points_purchase WHERE occurred_at >= %s AND occurred_at < %s
                                      AND amount_refunded < amount_total AND member_id IS NOT NULL)""",
                           [year, dt.datetime.combine(first, dt.time(), tzinfo=SHANGHAI),
                            dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=SHANGHAI)])
            cube_orders, orders = cursor.fetchone()
        print(f"check: the year's cube counts {cube_orders:,} orders, the purchases table {orders:,}")
        assert cube_orders == orders
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        if args.drop:
            admin_sql(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
