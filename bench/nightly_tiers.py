#!/usr/bin/env python3
"""Nightly tier evaluation (TIER-2/3) timed against the plain SQL scan it cannot beat.

    .venv/bin/python bench/nightly_tiers.py --members 100000 [--purchases 8] [--compare] [--import-rows 100000] [--keep]

Runs against the PostgreSQL server of DATABASE_URL (or, when unset, a throwaway embedded server as
dev.py starts it), in a fresh database created for the run and dropped afterwards. It creates N
members and N × purchases purchases spread over the last 400 days (set-wise in SQL), then times:
  0. the per-member purchase summary's first build (one scan; evaluation.purchase_summary), before the
     night's purchases (1% of members buy big yesterday), then its nightly incremental refresh;
  1. the plain scan: SELECT member_id, SUM(amount_paid) FROM points_purchase WHERE <window> GROUP BY member_id;
  2. tiers_evaluate for yesterday (the evaluate_tiers job body): the summary refresh (re-reading the
     last hour's changes), every batch, lock, upgrades, downgrades, history rows and notices;
  3. the same evaluation again (the idempotent re-run: nothing changes);
  4. with --compare, what the evaluation decides from the summary against the purchase scan (exit 1 if
     they differ), and that scan's time;
  5. optionally `import_transactions` of a generated CSV (history path, no points) in rows/s.
Goal (issue 17): evaluate_tiers ≤ 3× the plain scan.
"""
from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import admin_sql, server_url, with_database  # noqa: E402


def fill_members(cursor, n: int, store_id: int, tier_ids: list[int]) -> None:
    """N active members in one INSERT; other NOT NULL columns get '' / false."""
    cursor.execute("""
        SELECT column_name, data_type FROM information_schema.columns
        WHERE table_name = 'members_member' AND is_nullable = 'NO' AND column_default IS NULL
    """)
    given = {"id", "member_no", "kind", "status", "name", "gender", "home_store_id", "tier_id", "channel",
             "created_at", "updated_at"}
    extra = {}
    for name, dtype in cursor.fetchall():
        if name in given:
            continue
        extra[name] = "false" if dtype == "boolean" else "''"
    cols = ", ".join(["member_no", "kind", "status", "name", "gender", "home_store_id", "tier_id", "channel",
                      "created_at", "updated_at", *extra])
    # Tier mix: 70% normal, 20% silver, 8% gold, 2% platinum; sign-up dates over the last 3 years.
    cursor.execute(f"""
        INSERT INTO members_member ({cols})
        SELECT '99' || lpad(g::text, 10, '0'), 'personal', 'active', '会员' || g, 'U', %(store)s,
               CASE WHEN g %% 50 = 0 THEN %(t3)s WHEN g %% 12 = 0 THEN %(t2)s WHEN g %% 5 = 0 THEN %(t1)s ELSE %(t0)s END,
               'import', now() - (g %% 1095) * interval '1 day', now() - interval '2 days'
               {''.join(', ' + v for v in extra.values())}
        FROM generate_series(1, %(n)s) g
    """, {"store": store_id, "n": n, "t0": tier_ids[0], "t1": tier_ids[1], "t2": tier_ids[2], "t3": tier_ids[3]})


def fill_purchases(cursor, per_member: int, store_id: int) -> None:
    """per_member purchases each over the last 400 days; amounts skewed so some members cross thresholds."""
    cursor.execute("""
        INSERT INTO points_purchase (store_id, order_no, member_id, occurred_at, amount_total, amount_paid,
                                     amount_refunded, points_earned, points_reversed, lines, tenders, campaigns,
                                     request_hash, source, created_at, changed_at, points_held)
        SELECT %(store)s, 'B' || m.id || '-' || k, m.id, t, a, a,
               CASE WHEN k = 1 AND m.id %% 10 = 0 THEN round(a / 2, 2) ELSE 0 END, 0, 0, '[]', '[]', '[]', '', 'bench',
               t, t, 0
        FROM (SELECT m.id, k, now() - random() * interval '400 days' AS t,
                     round((10 + power(random(), 3) * 6000)::numeric, 2) AS a
              FROM members_member m CROSS JOIN generate_series(1, %(k)s) k) m
    """, {"store": store_id, "k": per_member})


def steady_state(cursor, store_id: int) -> None:
    """A normal night, not the first one: every member already holds the tier their last 12 months
    earn, then 1% of members make a large purchase yesterday (upgrades) and sign-up anniversaries
    bring about 1/365 of members to their yearly evaluation (downgrades of those below retention)."""
    cursor.execute("""
        WITH s AS (SELECT member_id, SUM(amount_paid) AS amount FROM points_purchase
                   WHERE occurred_at >= now() - interval '365 days' GROUP BY member_id)
        UPDATE members_member m SET tier_id = (
            SELECT t.id FROM members_tier t WHERE t.upgrade_amount <= COALESCE(s.amount, 0) * 1.3
            ORDER BY t.rank DESC LIMIT 1)
        FROM s WHERE s.member_id = m.id
    """)
    cursor.execute("""
        INSERT INTO points_purchase (store_id, order_no, member_id, occurred_at, amount_total, amount_paid,
                                     amount_refunded, points_earned, points_reversed, lines, tenders, campaigns,
                                     request_hash, source, created_at, changed_at, points_held)
        SELECT %s, 'BIG' || m.id, m.id, date_trunc('day', now()) - interval '12 hours', 30000, 30000, 0, 0, 0,
               '[]', '[]', '[]', '', 'bench', now(), now(), 0
        FROM members_member m WHERE m.id %% 100 = 7
    """, [store_id])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=10000)
    parser.add_argument("--purchases", type=int, default=8, help="purchases per member (over 400 days)")
    parser.add_argument("--compare", action="store_true",
                        help="also decide from the purchases (the old path) and check the decisions are equal")
    parser.add_argument("--import-rows", type=int, default=0, help="also time import_transactions on this many rows")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    failed: list[str] = []
    base_url = server_url()
    db_name = f"memberhub_bench_tiers_{os.getpid()}"
    # BENCH_TEMPLATE_DB: copy a migrated database instead of migrating one (minutes on a loaded machine).
    template = os.environ.get("BENCH_TEMPLATE_DB")
    admin_sql(base_url, f'CREATE DATABASE "{db_name}"' + (f' TEMPLATE "{template}"' if template else ""))
    os.environ["DATABASE_URL"] = with_database(base_url, db_name)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "memberhub.settings.local")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection, connections
        from django.utils import timezone

        call_command("migrate", verbosity=0, stdout=io.StringIO())
        from evaluation.purchase_summary import purchase_summary_refresh
        from members.models import Store, Tier
        from messaging.models import Notice
        from tiers.models import TierChange
        from tiers.selectors import window_bounds
        from tiers.services import tier_evaluation_candidates, tiers_evaluate

        store = Store.objects.create(code="B001", name="基准店")
        tier_ids = list(Tier.objects.order_by("rank").values_list("pk", flat=True))
        t0 = time.perf_counter()
        with connection.cursor() as cursor:
            fill_members(cursor, args.members, store.pk, tier_ids)
            fill_purchases(cursor, args.purchases, store.pk)
            cursor.execute("ANALYZE members_member; ANALYZE points_purchase")
        t_gen = time.perf_counter() - t0
        t0 = time.perf_counter()
        build = purchase_summary_refresh(rebuild=True)
        t_build = time.perf_counter() - t0
        with connection.cursor() as cursor:
            steady_state(cursor, store.pk)
            cursor.execute("ANALYZE members_member; ANALYZE points_purchase")
            cursor.execute("SELECT count(*) FROM points_purchase")
            n_purchases = cursor.fetchone()[0]
        print(f"generated {args.members:,} members, {n_purchases:,} purchases in {t_gen:.1f} s")
        print(f"machine: {os.cpu_count()} cores, load {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        print(f"summary first build (one scan)                  {t_build:7.2f} s  {build.cells:,} day rows")
        t0 = time.perf_counter()
        refresh = purchase_summary_refresh()
        print(f"nightly summary refresh ({refresh.cells:,} cells)          {time.perf_counter() - t0:7.2f} s")

        day = timezone.localdate() - dt.timedelta(days=1)
        start, end = window_bounds(day)
        t0 = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM (SELECT member_id, SUM(amount_paid) FROM points_purchase "
                           "WHERE occurred_at >= %s AND occurred_at < %s GROUP BY member_id) s", [start, end])
            scanned = cursor.fetchone()[0]
        t_plain = time.perf_counter() - t0

        failed = []
        if args.compare:
            t0 = time.perf_counter()
            reference = tier_evaluation_candidates(day=day, source="purchases")
            t_old = time.perf_counter() - t0
            decided = tier_evaluation_candidates(day=day)
            if decided != reference:
                failed.append("the decisions from the summary differ from the purchase scan's")
            else:
                print(f"check: decisions from the summary == purchase scan ({len(decided):,} changes)")
            print(f"decisions from the purchases (old path, no writes) {t_old:7.2f} s  ratio {t_old / t_plain:5.1f}x")

        t0 = time.perf_counter()
        counts = tiers_evaluate(day=day)
        t_eval = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = tiers_evaluate(day=day)
        t_rerun = time.perf_counter() - t0
        if not again["upgrades"] == again["downgrades"] == again["notices"] == 0:
            failed.append(f"the re-run changed something: {again}")
        if TierChange.objects.count() != counts["upgrades"] + counts["downgrades"]:
            failed.append("tier changes recorded differ from the counts")
        if Notice.objects.filter(kind="tier_change").count() != counts["notices"]:
            failed.append("notices differ from the counts")

        print(f"plain scan SUM(amount_paid) GROUP BY member ({scanned:,} members): {t_plain:7.2f} s")
        print(f"evaluate_tiers                                  {t_eval:7.2f} s  "
              f"ratio {t_eval / t_plain:5.1f}x  {counts}")
        print(f"evaluate_tiers re-run (no changes)              {t_rerun:7.2f} s  ratio {t_rerun / t_plain:5.1f}x")
        per_million = t_eval / args.members * 1_000_000
        print(f"extrapolated to 1,000,000 members:              {per_million:7.1f} s")
        print(f"goal evaluate_tiers ≤ 3× plain scan: {'met' if t_eval <= 3 * t_plain else 'NOT met'}")
        for problem in failed:
            print("FAILED:", problem)

        if args.import_rows:
            with connection.cursor() as cursor:
                cursor.execute("SELECT member_no FROM members_member ORDER BY id LIMIT 5000")
                numbers = [r[0] for r in cursor.fetchall()]
            path = Path(tempfile.mkdtemp()) / "tx.csv"
            with open(path, "w", encoding="utf-8") as fh:
                fh.write("member_ref,store,order_no,datetime,amount_paid,brand,category\n")
                for i in range(args.import_rows):
                    fh.write(f"{numbers[i % len(numbers)]},B001,IMP-{i},2026-0{1 + i % 9}-1{i % 10}T1{i % 10}:00:00,"
                             f"{10 + i % 997}.50,BRAND{i % 30},服装\n")
            out = io.StringIO()
            call_command("import_transactions", str(path), stdout=out)
            print("import_transactions (history, bulk):", out.getvalue().strip().splitlines()[-1])
            out = io.StringIO()
            call_command("import_transactions", str(path), stdout=out)
            print("import_transactions re-run:         ", out.getvalue().strip().splitlines()[-1])
        connections.close_all()
    finally:
        from django.db import connections

        connections.close_all()
        if args.keep:
            print(f"kept database {db_name}")
        else:
            admin_sql(base_url, f'DROP DATABASE IF EXISTS "{db_name}"')
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
