#!/usr/bin/env python3
"""Dashboards at scale (EVAL-3, EVAL-5): the nightly summary jobs and the p95 of every page.

    .venv/bin/python bench/dashboards.py --members 100000 --purchases 1000000 [--days 30] [--requests 30] [--keep]

Runs in a throwaway database (bench/common.py). It generates, set-wise in SQL: S stores, N members
(gender, birthday, region, tier, home store and sign-up date spread), M purchases over the last 400
days with till lines (brand, category), a credit ledger line per purchase of the last --days days,
points balances, tags on 5 % of members, and two RFM and lifecycle snapshots for every member. Then:
  1. times dashboard_daily for each of the last --days days (what the pages need for that period),
     and dashboard_evaluation; the consumption cube: a full build of yesterday's year (and month) against
     a plain aggregate of the same purchases, then a day's business (M / 400 purchases, a tenth as many
     refunds of older purchases) and the nightly incremental refresh against a plain aggregate of what
     it re-reads;
  2. requests each dashboard page --requests times through the Django test client (a chain-wide
     operations manager and a store manager) and prints p50 / p95 / max in milliseconds.
Goal: p95 < 500 ms per page with 1M members and 10M purchases.
"""
from __future__ import annotations

import argparse
import datetime as dt
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import _not_null_fillers, django_setup, throwaway_database  # noqa: E402

PROVINCES = ["广东", "浙江", "江苏", "上海", "北京", "四川", "湖北", "山东", "福建", "河南"]
BRANDS = ["LANCOME", "ESTEE", "NIKE", "ADIDAS", "UNIQLO", "APPLE", "HUAWEI", "LEGO", "ZARA", "MUJI", "SK-II", "DIOR"]
CATEGORIES = ["化妆品", "服装", "鞋包", "数码", "玩具", "家居", "食品", "珠宝"]


def _insert(cursor, table: str, columns: list[str], select_sql: str, params: dict) -> None:
    fill = _not_null_fillers(cursor, table, set(columns) | {"id"})
    cols = ", ".join([*columns, *fill])
    extra = "".join(f", {v}" for v in fill.values())
    # The fillers go after the given columns, before the FROM of the select (none has a nested FROM).
    head, tail = re.split(r"\n\s*FROM ", select_sql, maxsplit=1)
    cursor.execute(f"INSERT INTO {table} ({cols}) SELECT {head}{extra} FROM {tail}", params)


def generate(n_members: int, n_purchases: int, n_stores: int, days: int) -> None:
    from django.db import connection

    from members.models import Store, Tag, Tier

    stores = [Store.objects.create(code=f"B{i:03d}", name=f"基准店{i}") for i in range(n_stores)]
    tiers = list(Tier.objects.order_by("rank").values_list("pk", flat=True))
    tags = [Tag.objects.create(name=f"标签{i}").pk for i in range(5)]
    store_ids = [s.pk for s in stores]
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::bigint[], %s::bigint[], %s::text[]", [store_ids, tiers, PROVINCES])
        _insert(cursor, "members_member",
                ["member_no", "kind", "status", "name", "gender", "birthday", "province", "city", "home_store_id",
                 "tier_id", "channel", "created_at", "updated_at"],
                """'9' || lpad(g::text, 11, '0'), 'personal', CASE WHEN g %% 97 = 0 THEN 'closed' ELSE 'active' END,
                   '会员' || g, (ARRAY['F', 'M', 'U'])[1 + g %% 3],
                   CASE WHEN g %% 10 = 0 THEN NULL ELSE date '1950-01-01' + (g * 7919 %% 20000) END,
                   (%(provinces)s::text[])[1 + g %% 10], (%(provinces)s::text[])[1 + g %% 10] || '市' || (g %% 7),
                   (%(stores)s::bigint[])[1 + g %% %(n_stores)s],
                   (%(tiers)s::bigint[])[CASE WHEN g %% 50 = 0 THEN 4 WHEN g %% 12 = 0 THEN 3 WHEN g %% 5 = 0 THEN 2 ELSE 1 END],
                   'import', now() - (g %% 1095) * interval '1 day', now() - interval '2 days'
                   FROM generate_series(1, %(n)s) g""",
                {"n": n_members, "stores": store_ids, "n_stores": n_stores, "tiers": tiers, "provinces": PROVINCES})
        cursor.execute("SELECT MIN(id) FROM members_member")
        (first_id,) = cursor.fetchone()
        per = max(1, n_purchases // n_members)
        _insert(cursor, "points_purchase",
                ["store_id", "order_no", "member_id", "occurred_at", "amount_total", "amount_paid", "amount_refunded",
                 "points_earned", "points_reversed", "lines", "tenders", "campaigns", "request_hash", "source",
                 "created_at", "changed_at"],
                """CASE WHEN k = 1 THEN m.home_store_id ELSE (%(stores)s::bigint[])[1 + (m.id + k) %% %(n_stores)s] END,
                   'P' || m.id || '-' || k, m.id, now() - random() * interval '400 days', a, a,
                   CASE WHEN k = 1 AND m.id %% 20 = 0 THEN round(a / 2, 2) ELSE 0 END, floor(a), 0,
                   jsonb_build_array(
                       jsonb_build_object('brand', (%(brands)s::text[])[1 + (m.id * k) %% 12],
                                          'category', (%(cats)s::text[])[1 + (m.id + k) %% 8], 'amount', round(a * 0.6, 2)::text),
                       jsonb_build_object('brand', (%(brands)s::text[])[1 + (m.id + 3 * k) %% 12],
                                          'category', (%(cats)s::text[])[1 + (m.id * 3 + k) %% 8], 'amount', round(a * 0.4, 2)::text)),
                   '[]', '[]', '', 'bench', now() - interval '2 days', now() - interval '2 days'
                   FROM members_member m CROSS JOIN generate_series(1, %(per)s) k
                   CROSS JOIN LATERAL (SELECT round((10 + power(random(), 3) * 6000)::numeric, 2) AS a) amt""",
                {"stores": store_ids, "n_stores": n_stores, "brands": BRANDS, "cats": CATEGORIES, "per": per})
        cursor.execute("""INSERT INTO points_pointsaccount (member_id, balance, debt, updated_at)
                          SELECT id, (id * 37) % 5000, 0, now() FROM members_member""")
        _insert(cursor, "points_entry",
                ["member_id", "kind", "points", "debt_delta", "balance_after", "created_at", "campaigns", "reason",
                 "source_ref", "idem_key", "store_id", "purchase_id"],
                """p.member_id, CASE WHEN p.id %% 10 = 0 THEN 'debit' ELSE 'credit' END,
                   CASE WHEN p.id %% 10 = 0 THEN -100 ELSE p.points_earned END, 0, 0, p.occurred_at, '[]', '', '',
                   'bench:' || p.id, p.store_id, p.id
                   FROM points_purchase p WHERE p.occurred_at >= now() - %(days)s * interval '1 day'""",
                {"days": days + 1})
        cursor.execute("""INSERT INTO members_membertag (member_id, tag_id, added_at)
                          SELECT m.id, (%s::bigint[])[1 + m.id %% 5], now() - interval '2 days' FROM members_member m
                          WHERE m.id %% 20 = 0""",
                       [tags])
        yesterday = dt.date.today() - dt.timedelta(days=1)
        classes = ["important_value", "important_develop", "important_retain", "important_win_back",
                   "general_value", "general_develop", "general_retain", "general_win_back"]
        for shift, as_of in enumerate((yesterday - dt.timedelta(days=7), yesterday)):
            cursor.execute("""
                INSERT INTO evaluation_rfmsnapshot (member_id, as_of, window_days, recency_days, frequency, monetary,
                    r_score, f_score, m_score, rfm_class, store_id, tier_id)
                SELECT id, %s, 365, id %% 365, 1 + id %% 9, (id %% 5000)::numeric, 1 + id %% 5, 1 + (id / 5) %% 5,
                       1 + (id / 25) %% 5, (%s::text[])[1 + (id + %s * (id %% 3)) %% 8], home_store_id, tier_id
                FROM members_member WHERE id %% 5 <> 0""", [as_of, classes, shift])
            cursor.execute("""
                INSERT INTO evaluation_lifecyclesnapshot (member_id, as_of, stage, days_since_purchase, store_id, tier_id)
                SELECT id, %s, (ARRAY['new', 'active', 'at_risk', 'lapsed', 'high_value'])[1 + (id + %s) %% 5],
                       id %% 400, home_store_id, tier_id FROM members_member""", [as_of, shift])
        cursor.execute("ANALYZE")
        cursor.execute("SELECT COUNT(*) FROM points_purchase")
        print(f"  purchases: {cursor.fetchone()[0]:,}  (member ids from {first_id})")


def timed(label: str, func, *args):
    t0 = time.perf_counter()
    result = func(*args)
    seconds = time.perf_counter() - t0
    print(f"  {label:<44} {seconds:8.2f} s   {result}")
    return seconds


def add_a_day(day: dt.date, n_purchases: int, n_refunds: int) -> None:
    """A day's business after the cube was built: new purchases on `day` by members spread over the
    population, and refunds (half of the bill) of older purchases, written now."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT MIN(id), MAX(id) FROM members_member")
        low, high = cursor.fetchone()
        start = dt.datetime.combine(day, dt.time(9), tzinfo=dt.timezone(dt.timedelta(hours=8)))
        _insert(cursor, "points_purchase",
                ["store_id", "order_no", "member_id", "occurred_at", "amount_total", "amount_paid", "amount_refunded",
                 "points_earned", "points_reversed", "lines", "tenders", "campaigns", "request_hash", "source",
                 "created_at"],
                """m.home_store_id, 'D' || g, m.id, %(start)s + (g %% 720) * interval '1 minute', 199, 199, 0, 199, 0,
                   jsonb_build_array(jsonb_build_object('brand', 'NIKE', 'category', '鞋包', 'amount', '199')),
                   '[]', '[]', '', 'bench', now()
                   FROM generate_series(1, %(n)s) g
                   JOIN members_member m ON m.id = %(low)s + (g * 7919) %% (%(high)s - %(low)s + 1)""",
                {"start": start, "n": n_purchases, "low": low, "high": high})
        cursor.execute("""CREATE TEMPORARY TABLE bench_picked AS
                          SELECT p.id, p.store_id, round(p.amount_total / 2, 2) AS amount FROM points_purchase p
                          WHERE p.source = 'bench' AND p.amount_refunded = 0 AND p.id %% 97 = 3 AND p.occurred_at < %s
                          LIMIT %s""", [start, n_refunds])
        _insert(cursor, "points_refund",
                ["purchase_id", "refund_no", "store_id", "amount", "occurred_at", "points_reversed", "points_as_debt",
                 "cash_deducted", "request_hash", "created_at"],
                """id, 'R' || id, store_id, amount, now(), 0, 0, 0, '', now()
                   FROM bench_picked""", {})
        cursor.execute("UPDATE points_purchase p SET amount_refunded = b.amount, changed_at = now() "
                       "FROM bench_picked b WHERE p.id = b.id")
        cursor.execute("DROP TABLE bench_picked")
        cursor.execute("ANALYZE points_purchase")
        cursor.execute("ANALYZE points_refund")


def consumption_bench(yesterday: dt.date, n_purchases: int) -> None:
    """The consumption cube: a full build of yesterday's year and month against a plain aggregate of
    the same purchases, then a day's incremental refresh against a plain aggregate of what it must
    re-read (the touched members' purchases of the year)."""
    from django.db import connection

    from dashboards.jobs import consumption_cube_backfill, consumption_cube_for, consumption_cube_refresh, periods_of

    (month, *_m), (year, first, last) = periods_of(yesterday)
    year_range = [dt.datetime.combine(first, dt.time(), tzinfo=dt.timezone(dt.timedelta(hours=8))),
                  dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=dt.timezone(dt.timedelta(hours=8)))]

    def year_floor() -> int:
        with connection.cursor() as cursor:
            cursor.execute("""SELECT COUNT(*) FROM (SELECT member_id, store_id, COUNT(*), SUM(amount_paid - amount_refunded)
                              FROM points_purchase WHERE occurred_at >= %s AND occurred_at < %s
                              AND amount_refunded < amount_total GROUP BY 1, 2) x""", year_range)
            return cursor.fetchone()[0]

    print("consumption cube:")
    floor = timed(f"plain aggregate of {year} by member, store", year_floor)
    consumption_cube_backfill([])  # starts the refresh's watermark
    build = timed(f"full build {year}", consumption_cube_for, year)
    print(f"  full-year build: {build:.2f} s = {build / floor:.0f}x the plain aggregate")
    timed(f"full build {month}", consumption_cube_for, month)

    per_day = max(1, n_purchases // 400)
    add_a_day(yesterday, per_day, max(1, per_day // 10))
    print(f"  a day's business: {per_day:,} purchases on {yesterday}, {max(1, per_day // 10):,} refunds of older ones")

    def day_floor() -> int:
        with connection.cursor() as cursor:
            cursor.execute("""SELECT COUNT(*) FROM (SELECT member_id, store_id, COUNT(*), SUM(amount_paid - amount_refunded)
                              FROM points_purchase WHERE occurred_at >= %s AND occurred_at < %s
                              AND member_id IN (SELECT member_id FROM points_purchase WHERE changed_at > now() - interval '1 day')
                              GROUP BY 1, 2) x""", year_range)
            return cursor.fetchone()[0]

    floor_day = timed("plain aggregate of the touched members' year", day_floor)
    day = timed("incremental refresh (consumption_cube job)", consumption_cube_refresh, yesterday)
    print(f"  a day's refresh at {n_purchases:,} purchases: {day:.2f} s = {day / floor_day:.0f}x the plain aggregate "
          f"(goal < 10 s at 10M)")
    timed("re-run (the last hour's rows re-read)", consumption_cube_refresh, yesterday)
    with connection.cursor() as cursor:
        cursor.execute("""SELECT (SELECT SUM(orders) FROM dashboards_consumptioncube WHERE period = %s AND dimension = 'total'
                                  AND tag_id IS NULL),
                                 (SELECT COUNT(*) FROM points_purchase WHERE occurred_at >= %s AND occurred_at < %s
                                  AND amount_refunded < amount_total)""", [year, *year_range])
        cube_orders, orders = cursor.fetchone()
    print(f"  check: the year's cube counts {cube_orders:,} orders, the purchases table {orders:,}")
    assert cube_orders == orders


def pages(n_requests: int, days: int) -> list[tuple[str, float, float, float]]:
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import include, path

    from members import roles
    from members.models import Store, Tag, Tier
    from tests.factories import make_staff

    setup_test_environment()
    # The routes may not be mounted in memberhub.urls yet: serve them from a bench URLconf.
    import types

    import memberhub.urls

    urlconf = types.ModuleType("bench_dashboard_urls")
    urlconf.urlpatterns = [path("desk/dashboards/", include("dashboards.urls")), *memberhub.urls.urlpatterns]
    sys.modules["bench_dashboard_urls"] = urlconf
    from django.conf import settings

    settings.ROOT_URLCONF = "bench_dashboard_urls"

    chain = make_staff(roles.OPERATIONS_MANAGER, chain_wide=True, username="bench-chain")
    store = Store.objects.order_by("code").first()
    local = make_staff(roles.OPERATIONS_MANAGER, store=store, username="bench-store")
    yesterday = dt.date.today() - dt.timedelta(days=1)
    month = f"{yesterday:%Y-%m}"
    period = {"date_from": (yesterday - dt.timedelta(days=days - 1)).isoformat(), "date_to": yesterday.isoformat()}
    tier = Tier.objects.order_by("rank").last()
    tag = Tag.objects.order_by("pk").first()
    cases = [
        (f"overview, chain, {days} days", chain, "/desk/dashboards/", period),
        ("overview, one store", local, "/desk/dashboards/", period),
        ("overview, chain, filtered to a store", chain, "/desk/dashboards/", {**period, "store": store.pk}),
        ("consumption, chain, month", chain, "/desk/dashboards/consumption/", {"period": month}),
        ("consumption, chain, year", chain, "/desk/dashboards/consumption/", {"period": str(yesterday.year)}),
        ("consumption, tier + tag", chain, "/desk/dashboards/consumption/",
         {"period": str(yesterday.year), "tier": tier.pk, "tag": tag.pk}),
        ("consumption, one store", local, "/desk/dashboards/consumption/", {"period": month}),
        ("export daily.xlsx", chain, "/desk/dashboards/export/daily.xlsx", period),
        ("export city.csv", chain, "/desk/dashboards/consumption/export/city.csv", {"period": str(yesterday.year)}),
    ]
    results = []
    for label, user, url, params in cases:
        client = Client()
        client.force_login(user)
        assert client.get(url, params).status_code == 200, (label, url)  # warm-up
        samples = []
        for _ in range(n_requests):
            t0 = time.perf_counter()
            response = client.get(url, params)
            samples.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200
        samples.sort()
        p95 = samples[min(len(samples) - 1, int(round(0.95 * len(samples))) - 1)]
        results.append((label, statistics.median(samples), p95, samples[-1]))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=10000)
    parser.add_argument("--purchases", type=int, default=100000)
    parser.add_argument("--stores", type=int, default=20)
    parser.add_argument("--days", type=int, default=30, help="days of daily figures to fill (the page period)")
    parser.add_argument("--requests", type=int, default=30, help="requests per page")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    with throwaway_database("dashboards", keep=args.keep):
        django_setup()
        from dashboards.jobs import dashboard_daily_for, dashboard_evaluation_for

        print(f"generating {args.members:,} members, {args.purchases:,} purchases, {args.stores} stores ...")
        t0 = time.perf_counter()
        generate(args.members, args.purchases, args.stores, args.days)
        print(f"  generated in {time.perf_counter() - t0:.1f} s")

        print("nightly jobs:")
        yesterday = dt.date.today() - dt.timedelta(days=1)
        daily = [timed(f"dashboard_daily {day}", dashboard_daily_for, day)
                 for day in (yesterday - dt.timedelta(days=i) for i in range(args.days))]
        print(f"  dashboard_daily: mean {statistics.mean(daily):.2f} s per day, max {max(daily):.2f} s")
        consumption_bench(yesterday, args.purchases)
        timed("dashboard_evaluation (2 snapshots)", dashboard_evaluation_for, yesterday - dt.timedelta(days=7),
              yesterday)

        print(f"pages ({args.requests} requests each, Django test client, ms):")
        print(f"  {'page':<44} {'p50':>8} {'p95':>8} {'max':>8}")
        worst = 0.0
        for label, p50, p95, top in pages(args.requests, args.days):
            worst = max(worst, p95)
            print(f"  {label:<44} {p50:8.1f} {p95:8.1f} {top:8.1f}")
        print(f"worst p95: {worst:.1f} ms (goal < 500 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
