"""Nightly points jobs: expiry (PTS-4) set-wise in SQL, and reminders ahead of expiry (points.reminders).

expire_points for business date D expires every live lot whose last valid day is before D. Each
batch (a range of member ids) is one transaction of a few statements: lock the accounts, zero the
lots while keeping their old remaining, write one expiry entry per member with its consumptions,
and lower the balances. A re-run finds no live due lots, so nothing is expired twice; a crash
leaves whole batches done or not done.
"""
from __future__ import annotations

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from core.jobs import JobContext, register_job

BATCH_MEMBERS = 20_000

_LOCK_ACCOUNTS = """
SELECT a.member_id FROM points_pointsaccount a
WHERE a.member_id >= %(lo)s AND a.member_id < %(hi)s
  AND EXISTS (SELECT 1 FROM points_lot l WHERE l.member_id = a.member_id AND l.remaining > 0 AND l.expires_on < %(day)s)
ORDER BY a.member_id FOR UPDATE
"""

_EXPIRE = """
WITH due AS (
    SELECT l.id, l.member_id, l.remaining FROM points_lot l
    WHERE l.member_id >= %(lo)s AND l.member_id < %(hi)s AND l.remaining > 0 AND l.expires_on < %(day)s
    ORDER BY l.id FOR UPDATE
), zeroed AS (
    UPDATE points_lot l SET remaining = 0 FROM due WHERE l.id = due.id RETURNING l.id
), per_member AS (
    SELECT due.member_id, SUM(due.remaining) AS pts FROM due GROUP BY due.member_id
), entries AS (
    INSERT INTO points_entry (member_id, kind, points, debt_delta, balance_after, created_at, campaigns,
                              reason, source_ref, idem_key, job_run_id)
    SELECT p.member_id, 'expiry', -p.pts, 0, a.balance - p.pts, %(now)s, '[]'::jsonb,
           %(reason)s, %(ref)s, 'expiry:' || %(day)s::text || ':' || p.member_id, %(run)s
    FROM per_member p JOIN points_pointsaccount a ON a.member_id = p.member_id
    RETURNING id, member_id
), consumptions AS (
    INSERT INTO points_consumption (entry_id, lot_id, points)
    SELECT e.id, due.id, due.remaining FROM due JOIN entries e ON e.member_id = due.member_id
    RETURNING 1
), accounts AS (
    UPDATE points_pointsaccount a SET balance = a.balance - p.pts, updated_at = %(now)s
    FROM per_member p WHERE a.member_id = p.member_id RETURNING 1
)
SELECT (SELECT count(*) FROM entries), (SELECT count(*) FROM consumptions), (SELECT COALESCE(SUM(pts), 0) FROM per_member)
"""


def expire_points_for(day, *, run_id: int | None = None, progress=None) -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MIN(member_id), 0), COALESCE(MAX(member_id), 0) FROM points_lot "
                       "WHERE remaining > 0 AND expires_on < %s", [day])
        lo, hi = cursor.fetchone()
    totals = {"members": 0, "lots": 0, "points": 0}
    if not hi:
        return totals
    batches = range(lo, hi + 1, BATCH_MEMBERS)
    for i, start in enumerate(batches, 1):
        params = {"lo": start, "hi": start + BATCH_MEMBERS, "day": day, "run": run_id,
                  "reason": "Points expired", "ref": f"expiry {day}", "now": timezone.now()}
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_LOCK_ACCOUNTS, params)
            cursor.execute(_EXPIRE, params)
            members, lots, points = cursor.fetchone()
        totals["members"] += members
        totals["lots"] += lots
        totals["points"] += int(points)
        if progress:
            progress(i, len(batches))
    return totals


@register_job("expire_points", label=gettext_lazy("Expire due points"))
def expire_points(ctx: JobContext) -> dict:
    return expire_points_for(ctx.date, run_id=ctx.run.pk, progress=ctx.progress)


@register_job("remind_expiring_points", label=gettext_lazy("Remind members of expiring points"))
def remind_expiring_points(ctx: JobContext) -> dict:
    """PTS-4 reminders ahead of expiry; see points.reminders."""
    from .reminders import remind_expiring_points_for

    return remind_expiring_points_for(ctx.date, progress=ctx.progress)


@register_job("expire_coupons", label=gettext_lazy("Expire coupons past their validity"))
def expire_coupons(ctx: JobContext) -> dict:
    """Issued coupons past their window become expired (they are refused at the till already)."""
    from .services.redemption import coupons_expire

    return {"coupons": coupons_expire()}


@register_job("expire_gift_orders", label=gettext_lazy("Cancel uncollected gift orders"))
def expire_gift_orders(ctx: JobContext) -> dict:
    """Reserved gifts not collected within PointsConfig.gift_collect_days are cancelled: points and stock
    come back through gift_order_cancel, and the member gets an inbox notice (issue 14)."""
    from .services.redemption import gift_orders_cancel_uncollected

    return gift_orders_cancel_uncollected(day=ctx.date, progress=ctx.progress)


@register_job("flag_abuse", label=gettext_lazy("Flag suspected points abuse"))
def flag_abuse(ctx: JobContext) -> dict:
    """PTS-11: put members (and clerks) matching the abuse flags into the review queue; see points.services.abuse."""
    from .services.abuse import abuse_flag_all

    return abuse_flag_all()
from . import earned_notices  # noqa: E402,F401 - registers notify_points_earned
