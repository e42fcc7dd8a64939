#!/usr/bin/env python3
"""The nightly evaluation jobs (EVAL-1/2/4) on the per-member purchase summary, each timed next to its floor.

    .venv/bin/python bench/rfm.py --members 100000 --purchases 1000000 [--compare] [--keep]

Runs in a throwaway database on DATABASE_URL's server (bench.common). Generates N members who joined
over the last three years (so lifecycle stages them all; a few joined within the last 30 days) and M
purchases set-wise over the last 400 days (amounts skewed, 2% half refunded with a points_refund row
the next day, changed_at = the purchase's time), then:
  1. builds the purchase summary (evaluation.purchase_summary: the first night's one scan);
  2. posts one night's changes (M/400 purchases yesterday, 2% of them refunded, and as many refunds of
     older purchases) and times the nightly incremental refresh;
  3. times the floors: the bare aggregate SELECT member_id, MAX(occurred_at), COUNT(*), SUM(amount_paid)
     FROM points_purchase WHERE <window> GROUP BY member_id over the RFM year, the same over the two
     years closeness reads, and the lifecycle floor: that aggregate over its lapsed window joined to
     every member (the stage is one row per member);
  4. times compute_rfm (refresh no-op + snapshot), its re-run, closeness and lifecycle, each with its ratio.
With --compare it also computes every job from the purchases (source="purchases", the old path) and
exits 1 if a snapshot differs from the summary's.
Goals (issue 17): compute_rfm ≤ 2× the bare aggregate; closeness < 15 s and lifecycle < 10 s at 1M.
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

from bench.common import (  # noqa: E402
    _not_null_fillers,
    admin_sql,
    django_setup,
    load_members,
    server_url,
    throwaway_database,
    with_database,
)


@contextlib.contextmanager
def bench_database(keep: bool):
    """throwaway_database("rfm"), or with BENCH_TEMPLATE_DB set a copy of that (migrated) database, so a
    loaded machine does not spend minutes migrating before the figures (migrate then adds what is missing)."""
    template = os.environ.get("BENCH_TEMPLATE_DB")
    if not template:
        with throwaway_database("rfm", keep=keep) as url:
            yield url
        return
    base = server_url()
    name = f"memberhub_bench_rfm_{os.getpid()}"
    admin_sql(base, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    os.environ["DATABASE_URL"] = with_database(base, name)
    try:
        yield os.environ["DATABASE_URL"]
    finally:
        from django.db import connections

        connections.close_all()
        if keep:
            print(f"kept database {name}")
        else:
            admin_sql(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
               t, a, a, 0, 0, 0, '[]', '[]', '[]', '', 'bench', t, t, 0
        FROM (SELECT g, now() - random() * interval '400 days' AS t,
                     round((10 + power(random(), 3) * 6000)::numeric, 2) AS a
              FROM generate_series(1, %(m)s) g) x
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
        UPDATE points_purchase p SET amount_refunded = r.amount, changed_at = p.occurred_at + interval '1 day'
        FROM r WHERE p.id = r.purchase_id
    """)


def stage_members(cursor) -> None:
    """Members joined over the last three years (1 in 100 within the last 30 days), not edited since."""
    cursor.execute("""UPDATE members_member SET
                          created_at = now() - CASE WHEN id %% 100 = 0 THEN (id %% 29 + 2) * interval '1 day'
                                                    ELSE (31 + (id * 7919) %% 1065) * interval '1 day' END,
                          updated_at = now() - interval '2 days'""", [])


def post_a_night(cursor, n_purchases: int, store_id: int) -> int:
    """One day's changes as the till leaves them: purchases yesterday, 2% of them refunded in half, and as
    many refunds of older purchases (changed_at = now, what the nightly refresh finds)."""
    cursor.execute("SELECT MIN(id), COUNT(*) FROM members_member")
    first, n_members = cursor.fetchone()
    per_day = max(1, n_purchases // 400)
    cursor.execute("""
        INSERT INTO points_purchase (store_id, order_no, member_id, occurred_at, amount_total, amount_paid,
                                     amount_refunded, points_earned, points_reversed, lines, tenders, campaigns,
                                     request_hash, source, created_at, changed_at, points_held)
        SELECT %(store)s, 'N' || g, %(first)s + ((g::bigint * 104729) %% %(n)s),
               date_trunc('day', now()) - interval '1 day' + random() * interval '23 hours', a, a, 0, 0, 0,
               '[]', '[]', '[]', '', 'bench', now(), now(), 0
        FROM (SELECT g, round((10 + power(random(), 3) * 6000)::numeric, 2) AS a FROM generate_series(1, %(k)s) g) x
    """, {"store": store_id, "first": first, "n": n_members, "k": per_day})
    cursor.execute("""
        WITH picked AS (
            (SELECT id FROM points_purchase WHERE order_no LIKE 'N%%' AND id %% 50 = 1)
            UNION ALL
            (SELECT id FROM points_purchase WHERE amount_refunded = 0 AND id %% 397 = 3 LIMIT %(k)s)
        ), r AS (
            INSERT INTO points_refund (purchase_id, refund_no, store_id, amount, occurred_at, points_reversed,
                                       points_as_debt, cash_deducted, request_hash, created_at{extra_cols})
            SELECT p.id, 'RN' || p.id, p.store_id, round(p.amount_total / 3, 2), now() - interval '1 hour',
                   0, 0, 0, '', now(){extra_vals}
            FROM points_purchase p JOIN picked USING (id)
            RETURNING purchase_id, amount
        )
        UPDATE points_purchase p SET amount_refunded = p.amount_refunded + r.amount, changed_at = now()
        FROM r WHERE p.id = r.purchase_id
    """.format(**_refund_fillers(cursor)), {"k": max(1, per_day // 50)})
    return per_day


def _refund_fillers(cursor) -> dict:
    given = {"id", "purchase_id", "refund_no", "store_id", "amount", "occurred_at", "points_reversed",
             "points_as_debt", "cash_deducted", "request_hash", "created_at"}
    extra = _not_null_fillers(cursor, "points_refund", given)
    return {"extra_cols": "".join(f", {c}" for c in extra), "extra_vals": "".join(f", {v}" for v in extra.values())}


def timed(fn):
    t0 = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t0


def floor_seconds(sql: str, params) -> tuple[int, float]:
    """Best of two runs (the first also warms the cache for what follows)."""
    from django.db import connection

    best, rows = None, 0
    for _ in range(2):
        t0 = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchone()[0]
        elapsed = time.perf_counter() - t0
        best = elapsed if best is None else min(best, elapsed)
    return rows, best


BARE = ("SELECT count(*) FROM (SELECT member_id, MAX(occurred_at), COUNT(*), SUM(amount_paid) FROM points_purchase "
        "WHERE occurred_at >= %s AND occurred_at < %s GROUP BY member_id) s")
LIFECYCLE_FLOOR = ("SELECT count(s.last) + count(*) FROM members_member m LEFT JOIN (SELECT member_id, MAX(occurred_at) AS last "
                   "FROM points_purchase WHERE occurred_at >= %s AND occurred_at < %s GROUP BY member_id) s "
                   "ON s.member_id = m.id WHERE m.status = 'active'")


def line(label: str, seconds: float, floor: float | None = None, note: str = "") -> None:
    ratio = f"  floor {floor:6.2f} s  ratio {seconds / floor:4.1f}x" if floor else ""
    print(f"{label:<44} {seconds:7.2f} s{ratio}{'  ' + note if note else ''}")


def snapshot_rows(model, day) -> list:
    fields = [f.attname for f in model._meta.concrete_fields if f.attname != "id"]
    return sorted(model.objects.filter(as_of=day).values_list(*fields))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--purchases", type=int, default=1_000_000)
    parser.add_argument("--compare", action="store_true",
                        help="also compute every job from the purchases and check the snapshots are equal")
    parser.add_argument("--all", action="store_true", help=argparse.SUPPRESS)  # closeness and lifecycle always run
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()

    with bench_database(args.keep):
        django_setup()
        from django.db import connection
        from django.utils import timezone

        from evaluation.closeness import closeness_compute
        from evaluation.lifecycle import lifecycle_compute
        from evaluation.models import ClosenessSnapshot, LifecycleRule, LifecycleSnapshot, RfmSnapshot
        from evaluation.purchase_summary import purchase_summary_refresh
        from evaluation.rfm import local_midnight, rfm_compute, window_bounds

        t0 = time.perf_counter()
        store_id, _cards = load_members(args.members, with_mobile=False)
        with connection.cursor() as cursor:
            stage_members(cursor)
            fill_purchases(cursor, args.purchases, store_id)
            cursor.execute("ANALYZE points_purchase; ANALYZE members_member; ANALYZE points_refund")
        print(f"generated {args.members:,} members, {args.purchases:,} purchases in {time.perf_counter() - t0:.1f} s")
        print(f"machine: {os.cpu_count()} cores, load {' '.join(f'{x:.1f}' for x in os.getloadavg())}")

        build, t_build = timed(lambda: purchase_summary_refresh(rebuild=True))
        with connection.cursor() as cursor:
            night = post_a_night(cursor, args.purchases, store_id)
            cursor.execute("ANALYZE points_purchase; ANALYZE points_refund")
            cursor.execute("SELECT count(*) FROM points_purchase")
            n_purchases = cursor.fetchone()[0]
            cursor.execute("SELECT count(*) FROM evaluation_purchasemonth")
            n_months = cursor.fetchone()[0]
        refresh, t_refresh = timed(purchase_summary_refresh)

        day = timezone.localdate() - dt.timedelta(days=1)
        start, end = window_bounds(day, 365)
        groups, t_bare = floor_seconds(BARE, [start, end])
        _g2, t_bare2 = floor_seconds(BARE, [local_midnight(day - dt.timedelta(days=729)), end])
        rule = LifecycleRule.get()
        _g3, t_life_floor = floor_seconds(LIFECYCLE_FLOOR, [local_midnight(day - dt.timedelta(days=rule.lapsed_days - 1)),
                                                            end])

        print(f"summary first build (one scan of {n_purchases - night:,} purchases)  {t_build:7.2f} s  "
              f"{build.cells:,} day rows, {n_months:,} month rows")
        line(f"nightly refresh ({night:,} new purchases, {refresh.cells:,} cells)", t_refresh)
        line(f"bare aggregate, 365 days ({groups:,} members)", t_bare)
        line("bare aggregate, 730 days (closeness floor)", t_bare2)
        line("lifecycle floor (members ⟕ last purchase)", t_life_floor)
        from evaluation.purchase_summary import window_params
        from evaluation.rfm import _agg_sql

        agg_params = {"day": day, "start": start, "end": end,
                      **window_params("w", day - dt.timedelta(days=364), day)}
        _n, t_read = floor_seconds(f"SELECT count(*) FROM ({_agg_sql('summary')}) a", agg_params)
        line("RFM's read of the summary (R, F, M per member)", t_read, t_bare)
        result, t_rfm = timed(lambda: rfm_compute(as_of=day))
        line(f"compute_rfm ({result.population:,} members)", t_rfm, t_bare)
        _r, t_rerun = timed(lambda: rfm_compute(as_of=day))
        line("compute_rfm re-run (replaces the snapshot)", t_rerun, t_bare)
        c, t_close = timed(lambda: closeness_compute(as_of=day))
        line(f"closeness ({c.members:,} members)", t_close, t_bare2)
        lc, t_life = timed(lambda: lifecycle_compute(as_of=day))
        line(f"lifecycle ({lc.members:,} members)", t_life, t_life_floor)
        failed = []
        if lc.members < args.members * 0.99:
            failed.append(f"lifecycle staged {lc.members:,} of {args.members:,} members")
        if args.compare:
            got = {m: snapshot_rows(m, day) for m in (RfmSnapshot, ClosenessSnapshot, LifecycleSnapshot)}
            _r, t_old = timed(lambda: rfm_compute(as_of=day, source="purchases"))
            line("compute_rfm from the purchases (old path)", t_old, t_bare)
            _r, t_old_c = timed(lambda: closeness_compute(as_of=day, source="purchases"))
            line("closeness from the purchases (old path)", t_old_c, t_bare2)
            _r, t_old_l = timed(lambda: lifecycle_compute(as_of=day, source="purchases"))
            line("lifecycle from the purchases (old path)", t_old_l, t_life_floor)
            for model, rows in got.items():
                if snapshot_rows(model, day) != rows:
                    failed.append(f"{model.__name__}: the summary's snapshot differs from the purchase scan's")
                else:
                    print(f"check {model.__name__}: summary == purchase scan ({len(rows):,} rows)")
        scale = n_purchases / max(1, args.members)
        print(f"goals ({args.members:,} members, {n_purchases:,} purchases, {scale:.0f} per member): "
              f"compute_rfm ≤ 2× bare: {'met' if t_rfm <= 2 * t_bare else 'NOT met'}")
        for problem in failed:
            print("FAILED:", problem)
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
