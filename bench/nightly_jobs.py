#!/usr/bin/env python3
"""Nightly points jobs at scale (PTS-4): expire_points and remind_expiring_points.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
    .venv/bin/python bench/nightly_jobs.py --members 100000 [--lots-per-member 10] [--due-share 0.25]

In a throwaway database (bench.common): N members with K lots each, loaded set-wise with
generate_series as a consistent ledger (a credit entry per lot, some lots half spent by a debit
entry with its consumption, one account per member; reconcile() is checked before timing). Lot
expiry dates are spread evenly over ~1000 days around the business date so that `--due-share` of
the lots are due. Then it times, through core.jobs.run_job as beat would run them:
  1. a plain SQL scan of the due lots (the floor any expiry must pay),
  2. expire_points, and its ratio to the scan,
  3. remind_expiring_points (after expiry, as the nightly schedule orders them),
  4. a re-run of both (must do nothing),
and checks reconcile() afterwards.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import DiscardSmsBackend, django_setup, load_members, throwaway_database  # noqa: E402

SPREAD_DAYS = 1000

_CREDITS = """
WITH ins AS (
    INSERT INTO points_entry (member_id, kind, points, debt_delta, balance_after, created_at, campaigns,
                              reason, source_ref, idem_key, store_id)
    SELECT m.id, 'credit', 50 + (m.id * 31 + j * 17) %% 451, 0, 0, now(), '[]'::jsonb, 'bench', j::text,
           'bench:' || m.id || ':' || j, %(store)s
    FROM members_member m CROSS JOIN generate_series(1, %(k)s) j
    RETURNING id, member_id, points, source_ref
), dated AS (
    SELECT ins.*, (%(day)s::date - %(due_days)s + ((ins.member_id * 7919 + ins.source_ref::int * 104729)
                                                      %% %(spread)s)::int) AS expires_on
    FROM ins
)
INSERT INTO points_lot (member_id, entry_id, points, remaining, earned_on, available_on, expires_on)
SELECT member_id, id, points, points, (expires_on - make_interval(months => %(months)s))::date,
       (expires_on - make_interval(months => %(months)s))::date, expires_on
FROM dated
"""

# Every fourth member spent half of their first lot: a debit entry and its consumption.
_SPENDS = """
WITH pick AS (
    SELECT l.id AS lot_id, l.member_id, l.points / 2 AS take FROM points_lot l
    JOIN points_entry e ON e.id = l.entry_id
    WHERE e.idem_key = 'bench:' || l.member_id || ':1' AND l.member_id %% 4 = 0
), upd AS (
    UPDATE points_lot l SET remaining = l.remaining - pick.take FROM pick WHERE l.id = pick.lot_id RETURNING 1
), debits AS (
    INSERT INTO points_entry (member_id, kind, points, debt_delta, balance_after, created_at, campaigns,
                              reason, source_ref, idem_key)
    SELECT member_id, 'debit', -take, 0, 0, now(), '[]'::jsonb, 'bench gift', '', 'bench-spend:' || member_id
    FROM pick RETURNING id, member_id
)
INSERT INTO points_consumption (entry_id, lot_id, points)
SELECT d.id, pick.lot_id, pick.take FROM debits d JOIN pick ON pick.member_id = d.member_id
"""

_ACCOUNTS = """
INSERT INTO points_pointsaccount (member_id, balance, debt, updated_at)
SELECT member_id, SUM(remaining), 0, now() FROM points_lot GROUP BY member_id
"""

PLAIN_SCAN = """
SELECT member_id, SUM(remaining) FROM points_lot WHERE remaining > 0 AND expires_on < %s GROUP BY member_id
"""


def load_ledger(*, members: int, lots_per_member: int, day: dt.date, due_share: float) -> dict:
    """Members, lots, entries, consumptions and accounts, set-wise; returns what was loaded."""
    from django.db import connection, transaction

    from points.models import PointsConfig

    months = PointsConfig.get().expiry_months
    with transaction.atomic():
        store_id, _cards = load_members(members)
        with connection.cursor() as cursor:
            cursor.execute(_CREDITS, {"store": store_id, "k": lots_per_member, "day": day, "spread": SPREAD_DAYS,
                                      "due_days": int(round(due_share * SPREAD_DAYS)), "months": months})
            cursor.execute(_SPENDS, {})
            cursor.execute(_ACCOUNTS, {})
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("SELECT count(*), count(*) FILTER (WHERE expires_on < %s) FROM points_lot", [day])
        lots, due = cursor.fetchone()
    return {"members": members, "lots": lots, "due": due}


def timed(func, *args, **kw):
    t0 = time.perf_counter()
    result = func(*args, **kw)
    return result, time.perf_counter() - t0


def plain_scan(day: dt.date) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(PLAIN_SCAN, [day])
        return len(cursor.fetchall())


def run_nightly(day: dt.date) -> dict:
    """Time the scan, the expiry, the reminders and their re-runs; returns the figures."""
    from core.jobs import run_job
    from core.models import JobRun

    def job(name):
        run, seconds = timed(run_job, name, date=day, triggered_by="bench")
        assert run.status == JobRun.Status.SUCCEEDED, run.error
        return run.counts, seconds

    plain_scan(day)  # warm the cache the same way for both
    members_due, scan_s = timed(plain_scan, day)
    expired, expire_s = job("expire_points")
    assert expired["members"] == members_due, (expired, members_due)
    sms_before = DiscardSmsBackend.sent
    reminded, remind_s = job("remind_expiring_points")
    rerun_expired, rerun_expire_s = job("expire_points")
    rerun_reminded, rerun_remind_s = job("remind_expiring_points")
    assert rerun_expired["lots"] == 0 and rerun_reminded["reminders"] == 0
    return {"scan_s": scan_s, "members_due": members_due, "expire_s": expire_s, "expired": expired,
            "remind_s": remind_s, "reminded": reminded, "sms": DiscardSmsBackend.sent - sms_before,
            "rerun_expire_s": rerun_expire_s, "rerun_remind_s": rerun_remind_s}


def report(loaded: dict, figures: dict) -> None:
    lots = figures["expired"]["lots"]
    print(f"expire_points:   {figures['expire_s']:7.2f} s  {lots:>9} lots  {lots / figures['expire_s']:9.0f} lots/s  "
          f"{figures['expired']['members']} members, {figures['expired']['points']} points")
    print(f"plain SQL scan:  {figures['scan_s']:7.2f} s  (same due lots, GROUP BY member; "
          f"expiry/scan = {figures['expire_s'] / figures['scan_s']:.1f}x)")
    r = figures["reminded"]
    print(f"remind_expiring: {figures['remind_s']:7.2f} s  {r['reminders']} reminders, {r['notices']} notices, "
          f"{figures['sms']} SMS  ({r['reminders'] / figures['remind_s']:.0f} reminders/s)")
    print(f"re-runs (nothing to do): expire {figures['rerun_expire_s']:.2f} s, remind {figures['rerun_remind_s']:.2f} s")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--lots-per-member", type=int, default=10)
    parser.add_argument("--due-share", type=float, default=0.25, help="share of the lots already expired")
    parser.add_argument("--keep", action="store_true", help="keep the bench database for inspection")
    args = parser.parse_args(argv)
    day = dt.date(2026, 11, 23)
    with throwaway_database("nightly", keep=args.keep):
        django_setup()
        from points.reconcile import reconcile

        loaded, load_s = timed(load_ledger, members=args.members, lots_per_member=args.lots_per_member, day=day,
                               due_share=args.due_share)
        print(f"loaded {loaded['members']} members, {loaded['lots']} lots ({loaded['due']} due) in {load_s:.1f} s")
        problems, reconcile_s = timed(reconcile)
        assert problems == [], problems[:10]
        print(f"reconcile before: ok in {reconcile_s:.1f} s")
        figures = run_nightly(day)
        report(loaded, figures)
        problems, reconcile_s = timed(reconcile)
        assert problems == [], problems[:10]
        print(f"reconcile after:  ok in {reconcile_s:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
