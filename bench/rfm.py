#!/usr/bin/env python3
"""compute_rfm (EVAL-1) timed against a bare SQL aggregate over the same purchases.

    .venv/bin/python bench/rfm.py --members 100000 --purchases 1000000 [--all] [--keep]

Runs in a throwaway database on DATABASE_URL's server (bench.common). Generates N members and M
purchases set-wise (spread over the last 400 days, amounts skewed, 2% of purchases half refunded
with a points_refund row), ANALYZEs, then times:
  1. the bare aggregate: SELECT member_id, MAX(occurred_at), COUNT(*), SUM(amount_paid) FROM
     points_purchase WHERE <window> GROUP BY member_id — the floor any RFM must pay to read them;
  2. rfm_compute for yesterday (the compute_rfm job body: refunds, three CUME_DIST scores, the means,
     classes and the snapshot insert, in one transaction), then its idempotent re-run;
  3. with --all, closeness_compute and lifecycle_compute for the same date.
Goal (issue 8): 1M members / 10M purchases, compute_rfm < 30 s.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import _not_null_fillers, django_setup, load_members, throwaway_database  # noqa: E402


def fill_purchases(cursor, n_purchases: int, store_id: int) -> None:
    """M purchases over the members (ids spread by a multiplicative step, so counts vary a little),
    then 2% of them refunded by half, with the refund rows the RFM reads."""
    cursor.execute("SELECT MIN(id), COUNT(*) FROM members_member")
    first, n_members = cursor.fetchone()
    cursor.execute("""
        INSERT INTO points_purchase (store_id, order_no, member_id, occurred_at, amount_total, amount_paid,
                                     amount_refunded, points_earned, points_reversed, lines, tenders, campaigns,
                                     request_hash, source, created_at, changed_at, points_held)
        SELECT %(store)s, 'B' || g, %(first)s + ((g::bigint * 7919 + (g / %(n)s)) %% %(n)s),
               now() - random() * interval '400 days', a, a, 0, 0, 0, '[]', '[]', '[]', '', 'bench', now(), now(), 0
        FROM generate_series(1, %(m)s) g
        CROSS JOIN LATERAL (SELECT round((10 + power(random(), 3) * 6000)::numeric, 2) AS a) amt
    """, {"store": store_id, "first": first, "n": n_members, "m": n_purchases})
    given = {"id", "purchase_id", "refund_no", "store_id", "amount", "occurred_at", "points_reversed",
             "points_as_debt", "cash_deducted", "request_hash", "created_at"}
    extra = _not_null_fillers(cursor, "points_refund", given)  # columns other work added since
    extra_cols = "".join(f", {c}" for c in extra)
    extra_vals = "".join(f", {v}" for v in extra.values())
    cursor.execute(f"""
        WITH r AS (
            INSERT INTO points_refund (purchase_id, refund_no, store_id, amount, occurred_at, points_reversed,
                                       points_as_debt, cash_deducted, request_hash, created_at{extra_cols})
            SELECT p.id, 'R' || p.id, p.store_id, round(p.amount_total / 2, 2), p.occurred_at + interval '1 day',
                   0, 0, 0, '', now(){extra_vals}
            FROM points_purchase p WHERE p.id % 50 = 0
            RETURNING purchase_id, amount
        )
        UPDATE points_purchase p SET amount_refunded = r.amount FROM r WHERE p.id = r.purchase_id
    """)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--purchases", type=int, default=1_000_000)
    parser.add_argument("--all", action="store_true", help="also time closeness and lifecycle")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()

    with throwaway_database("rfm", keep=args.keep):
        django_setup()
        from django.db import connection
        from django.utils import timezone

        from evaluation.rfm import rfm_compute, window_bounds

        t0 = time.perf_counter()
        store_id, _cards = load_members(args.members, with_mobile=False)
        with connection.cursor() as cursor:
            fill_purchases(cursor, args.purchases, store_id)
            cursor.execute("ANALYZE points_purchase; ANALYZE members_member; ANALYZE points_refund")
            cursor.execute("SELECT count(*) FROM points_purchase")
            n_purchases = cursor.fetchone()[0]
        print(f"generated {args.members:,} members, {n_purchases:,} purchases in {time.perf_counter() - t0:.1f} s")

        day = timezone.localdate() - dt.timedelta(days=1)
        start, end = window_bounds(day, 365)
        bare = []
        for _ in range(2):  # the first run also warms the cache for what follows
            t0 = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM (SELECT member_id, MAX(occurred_at), COUNT(*), SUM(amount_paid) "
                               "FROM points_purchase WHERE occurred_at >= %s AND occurred_at < %s "
                               "GROUP BY member_id) s", [start, end])
                groups = cursor.fetchone()[0]
            bare.append(time.perf_counter() - t0)
        t_bare = min(bare)
        print(f"bare SQL aggregate ({groups:,} members)        {t_bare:7.2f} s")

        t0 = time.perf_counter()
        result = rfm_compute(as_of=day)
        t_rfm = time.perf_counter() - t0
        print(f"compute_rfm ({result.population:,} members)          {t_rfm:7.2f} s  ratio {t_rfm / t_bare:5.1f}x")
        t0 = time.perf_counter()
        rfm_compute(as_of=day)
        t_rerun = time.perf_counter() - t0
        print(f"compute_rfm re-run (replaces the snapshot)  {t_rerun:7.2f} s  ratio {t_rerun / t_bare:5.1f}x")
        if args.all:
            from evaluation.closeness import closeness_compute
            from evaluation.lifecycle import lifecycle_compute

            t0 = time.perf_counter()
            c = closeness_compute(as_of=day)
            print(f"closeness ({c.members:,} members)              {time.perf_counter() - t0:7.2f} s")
            t0 = time.perf_counter()
            lc = lifecycle_compute(as_of=day)
            print(f"lifecycle ({lc.members:,} members)              {time.perf_counter() - t0:7.2f} s")
        goal = "met" if t_rfm < 30 else "NOT met"
        print(f"goal compute_rfm < 30 s: {goal} ({args.members:,} members, {n_purchases:,} purchases)")


if __name__ == "__main__":
    main()
