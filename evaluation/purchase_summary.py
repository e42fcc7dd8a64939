"""The per-member purchase summary the nightly jobs read instead of points_purchase (issue 17): RFM
(EVAL-1), closeness (EVAL-2), lifecycle (EVAL-4) and the tier evaluation (TIER-2/3).

Two tables (evaluation.models): PurchaseDay, one row per member and local (Asia/Shanghai) date with
orders, billed orders and net paid; PurchaseMonth, the same summed per local month with the number of
visit days and the first and last purchase dates. A window of local dates [first, last] is read as the
whole months inside it from PurchaseMonth and the partial months at its two ends from PurchaseDay
(`window_sql`), so a 365-day window costs ~11 month rows and two edges of day rows per member, not
every purchase, and no refund join or net-paid arithmetic per purchase.

Net paid is the one definition of points.net_paid, read through core.figures (evaluation sits below
points in the layers contract), with each purchase's *current* refunds (p.amount_refunded, which the
refund service keeps equal to the sum of the purchase's points_refund rows). The tier engine uses
current refunds; RFM, closeness and lifecycle count only refunds made by the end of the as-of date, so
they add `late_refund_corrections_sql`: for the few purchases with a refund made after that instant,
the difference between the as-of and the current figure (exactly what the purchase scan would have
counted).

Maintenance (`purchase_summary_refresh`), the way dashboards.jobs refreshes the consumption cube:
the cells (member, date) of purchases whose `changed_at` (indexed; posting, refund, claim, held
release set it) is at or after the watermark, and every cell of members updated since then (a
rejected sign-up's held sales leave the member: the review updates the member), are recomputed from
their purchases through the (member_id, occurred_at) index, then their months from the day rows. A
first run (no watermark) builds both tables in one scan of the purchases. Each refresh is one
transaction with its watermark, under the watermark row's lock: a crash leaves both as they were, a
re-run or a second job the same night finds little or nothing to do, and cells are replaced, never
added to, so re-reading a change is harmless. The watermark stays REFRESH_MARGIN behind the clock for
transactions that commit a changed_at older than the moment they commit; within that margin a refresh
re-reads only rows written by transactions that were still running, or started, after the previous
refresh took its snapshot (`seen_snapshot`: its running transactions and its xmax, compared with each
row's xmin): the nightly jobs each refresh first, and the second one no longer re-reads the whole last
hour the first one just read.
"""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.figures import net_paid_figure

MARK_NAME = "purchase_summary"
REFRESH_MARGIN = dt.timedelta(hours=1)
# Memory for the full build's grouping of every purchase by (member, date); set only inside its transaction.
BUILD_WORK_MEM = "256MB"

# A purchase that counts as an order: not refunded in full (RFM's definition; a bill of 0 counts). With the
# current refunds: amount_refunded is 0 exactly when the purchase has no refund row (refunds are > 0).
COUNTED_NOW = "(p.amount_refunded <= 0 OR p.amount_refunded < p.amount_total)"
# The tier engine's visit test (tiers.selectors): some of the bill is left unrefunded.
BILLED_NOW = "(p.amount_refunded < p.amount_total)"


def _tz() -> str:
    return settings.TIME_ZONE


def _local_day(column: str = "p.occurred_at") -> str:
    return f"({column} AT TIME ZONE '{_tz()}')::date"


def _day_start(day: str) -> str:
    return f"(({day})::timestamp AT TIME ZONE '{_tz()}')"


def _day_row_select() -> str:
    net = net_paid_figure().net_paid_sql()
    return (f"COUNT(*) FILTER (WHERE {COUNTED_NOW}), COUNT(*) FILTER (WHERE {BILLED_NOW}), SUM({net})")


_MONTH_ROW_SELECT = ("SUM(d.orders), SUM(d.billed_orders), SUM(d.net_paid), COUNT(*) FILTER (WHERE d.billed_orders > 0), "
                     "MIN(d.day), MAX(d.day)")


def _build_sqls() -> list[str]:
    return [
        "TRUNCATE evaluation_purchaseday, evaluation_purchasemonth",
        f"""INSERT INTO evaluation_purchaseday (member_id, day, orders, billed_orders, net_paid)
            SELECT p.member_id, {_local_day()}, {_day_row_select()}
            FROM points_purchase p WHERE p.member_id IS NOT NULL
            GROUP BY 1, 2 HAVING COUNT(*) FILTER (WHERE {COUNTED_NOW}) > 0""",
        f"""INSERT INTO evaluation_purchasemonth (member_id, month, orders, billed_orders, net_paid, visit_days,
                                                  first_day, last_day)
            SELECT d.member_id, date_trunc('month', d.day)::date, {_MONTH_ROW_SELECT}
            FROM evaluation_purchaseday d GROUP BY 1, 2""",
        "ANALYZE evaluation_purchaseday",
        "ANALYZE evaluation_purchasemonth",
    ]


def _unseen(table: str) -> str:
    """Condition on a row of `table`: written by a transaction the previous refresh could not see (one
    running when it took its snapshot, `xip`, or started after it: age below `span`). age() is relative
    to this refresh's own transaction id; a frozen row's age is the maximum, i.e. seen."""
    return (f"(%(span)s::bigint IS NULL OR age({table}.xmin) <= %(span)s::bigint "
            f"OR {table}.xmin::text::bigint = ANY(%(xip)s::bigint[]))")


def _seen(snapshot: str, xid_now: int) -> tuple[int | None, list[int]]:
    """(span, running ids as 32-bit xids) from the previous refresh's snapshot text; span None = no
    previous snapshot (or ids too far apart for age()): re-read by changed_at alone."""
    if not snapshot:
        return None, []
    _xmin, xmax, xip = snapshot.split(":")
    span = xid_now - int(xmax)  # a row's writer id ≥ xmax ⇔ age(row.xmin) ≤ span
    if not 0 <= span < 2**31 - 1:
        return None, []
    return span, [int(x) % 2**32 for x in xip.split(",") if x]


def _refresh_sqls() -> list[str]:
    return [
        "DROP TABLE IF EXISTS summary_touched, summary_touched_months",
        f"""CREATE TEMPORARY TABLE summary_touched ON COMMIT DROP AS
            SELECT DISTINCT p.member_id, {_local_day()} AS day
            FROM points_purchase p WHERE p.changed_at >= %(since)s AND p.member_id IS NOT NULL
                                     AND {_unseen("p")}
            UNION
            SELECT d.member_id, d.day FROM evaluation_purchaseday d
            WHERE d.member_id = ANY(ARRAY(SELECT id FROM members_member WHERE updated_at >= %(since)s
                                          AND {_unseen("members_member")}))""",
        "ANALYZE summary_touched",
        """DELETE FROM evaluation_purchaseday d USING summary_touched t
           WHERE d.member_id = t.member_id AND d.day = t.day""",
        f"""INSERT INTO evaluation_purchaseday (member_id, day, orders, billed_orders, net_paid)
            SELECT t.member_id, t.day, {_day_row_select()}
            FROM summary_touched t
            JOIN points_purchase p ON p.member_id = t.member_id AND p.occurred_at >= {_day_start("t.day")}
                                  AND p.occurred_at < {_day_start("t.day + 1")}
            GROUP BY t.member_id, t.day HAVING COUNT(*) FILTER (WHERE {COUNTED_NOW}) > 0""",
        """CREATE TEMPORARY TABLE summary_touched_months ON COMMIT DROP AS
           SELECT DISTINCT member_id, date_trunc('month', day)::date AS month FROM summary_touched""",
        """DELETE FROM evaluation_purchasemonth m USING summary_touched_months t
           WHERE m.member_id = t.member_id AND m.month = t.month""",
        f"""INSERT INTO evaluation_purchasemonth (member_id, month, orders, billed_orders, net_paid, visit_days,
                                                  first_day, last_day)
            SELECT t.member_id, t.month, {_MONTH_ROW_SELECT}
            FROM summary_touched_months t
            JOIN evaluation_purchaseday d ON d.member_id = t.member_id AND d.day >= t.month
                                         AND d.day < (t.month + interval '1 month')::date
            GROUP BY t.member_id, t.month""",
    ]


@dataclass(frozen=True)
class SummaryRefresh:
    built: bool
    cells: int
    seconds: float


def purchase_summary_refresh(*, now: dt.datetime | None = None, rebuild: bool = False) -> SummaryRefresh:
    """Bring the summary up to date with the purchases (a full build the first time or with `rebuild`)."""
    now = now or timezone.now()
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("""INSERT INTO evaluation_purchasesummarymark (name, changes_since, seen_snapshot, built_at,
                                                                      updated_at)
                          VALUES (%s, NULL, '', NULL, NULL) ON CONFLICT (name) DO NOTHING""", [MARK_NAME])
        cursor.execute("SELECT changes_since, seen_snapshot FROM evaluation_purchasesummarymark WHERE name = %s "
                       "FOR UPDATE", [MARK_NAME])
        since, seen_snapshot = cursor.fetchone()
        # Taken before any statement that reads the purchases, so it is no newer than their snapshots.
        cursor.execute("SELECT pg_current_snapshot()::text, pg_current_xact_id()::text::bigint")
        snapshot_now, xid_now = cursor.fetchone()
        span, xip = _seen(seen_snapshot, xid_now)
        cutoff = now - REFRESH_MARGIN
        cursor.execute("SET LOCAL jit = off")  # short statements: compiling them costs more than it saves
        if since is None or rebuild:
            cursor.execute(f"SET LOCAL work_mem = '{BUILD_WORK_MEM}'")
            for sql in _build_sqls():
                cursor.execute(sql)
            cursor.execute("SELECT COUNT(*) FROM evaluation_purchaseday")
            cells = cursor.fetchone()[0]
            cursor.execute("""UPDATE evaluation_purchasesummarymark
                              SET changes_since = %s, seen_snapshot = %s, built_at = %s, updated_at = %s
                              WHERE name = %s""", [cutoff, snapshot_now, now, now, MARK_NAME])
            return SummaryRefresh(built=True, cells=cells, seconds=time.perf_counter() - started)
        cells = 0
        for sql in _refresh_sqls():
            cursor.execute(sql, {"since": since, "span": span, "xip": xip} if "%(" in sql else None)
            if sql.startswith("CREATE TEMPORARY TABLE summary_touched "):
                cells = cursor.rowcount
        cursor.execute("DROP TABLE summary_touched_months")
        cursor.execute("DROP TABLE summary_touched")
        cursor.execute("""UPDATE evaluation_purchasesummarymark SET changes_since = %s, seen_snapshot = %s, updated_at = %s
                          WHERE name = %s""", [max(since, cutoff), snapshot_now, now, MARK_NAME])
    return SummaryRefresh(built=False, cells=cells, seconds=time.perf_counter() - started)


# ---------------------------------------------------------------- reading a window


def window_params(prefix: str, first: dt.date, last: dt.date) -> dict[str, dt.date]:
    """Parameters of `window_sql(prefix)` for the local dates [first, last]: the whole months inside
    them [mfirst, mend) and the edges [first, mfirst) and [mend, last]."""
    mfirst = first if first.day == 1 else first.replace(day=1) + relativedelta(months=1)
    mend = (last + dt.timedelta(days=1)).replace(day=1)
    if mfirst >= mend:  # no whole month inside: all from the day rows
        mfirst = mend = last + dt.timedelta(days=1)
    return {f"{prefix}_first": first, f"{prefix}_mfirst": mfirst, f"{prefix}_mend": mend, f"{prefix}_last": last}


def window_sql(prefix: str, *, member_filter: str = "") -> str:
    """Rows (member_id, orders, billed_orders, net, visit_days, last_day) whose sums per member are the
    member's purchases in the window of `window_params(prefix, ...)` with current refunds: orders
    (not refunded in full), Σ net paid, distinct days with a billed order, the last date with an order.
    `member_filter` is a condition on `s.member_id` (a tier evaluation batch)."""
    extra = f" AND {member_filter}" if member_filter else ""
    return f"""
    SELECT s.member_id, s.orders, s.billed_orders, s.net_paid AS net, s.visit_days, s.last_day
    FROM evaluation_purchasemonth s
    WHERE s.month >= %({prefix}_mfirst)s AND s.month < %({prefix}_mend)s{extra}
    UNION ALL
    SELECT s.member_id, s.orders, s.billed_orders, s.net_paid, (s.billed_orders > 0)::int, s.day
    FROM evaluation_purchaseday s
    WHERE ((s.day >= %({prefix}_first)s AND s.day < %({prefix}_mfirst)s)
           OR (s.day >= %({prefix}_mend)s AND s.day <= %({prefix}_last)s)){extra}"""


def late_refund_corrections_sql(*, start: str = "start", stop: str = "end", end: str = "end") -> str:
    """Rows in window_sql's shape correcting it to "refunds made by %(end)s": for each purchase in
    [%(start)s, %(stop)s) with a refund made at or after %(end)s, its as-of figures minus its current
    ones (orders 0 or +1, net ≥ 0; refunds only accumulate) and its date as a last purchase date when it
    counts as of then. Only as-of readers (RFM, closeness, lifecycle) add them; visit_days are 0. The
    purchases are fetched by `= ANY(ARRAY(...))`, an index scan of their primary key that needs no
    nested loop (RFM plans without one, see rfm.py)."""
    figure = net_paid_figure()
    counted_asof = "(rf.amount IS NULL OR rf.amount < p.amount_total)"
    return f"""
    SELECT p.member_id, {counted_asof}::int - {COUNTED_NOW}::int AS orders, 0 AS billed_orders,
           {figure.net_paid_sql(refunded="rf.amount")} - {figure.net_paid_sql()} AS net, 0 AS visit_days,
           CASE WHEN {counted_asof} THEN {_local_day()} END AS last_day
    FROM points_purchase p
    {figure.refunds_as_of_join(alias="rf", end=end)}
    WHERE p.id = ANY(ARRAY(SELECT r.purchase_id FROM points_refund r WHERE r.occurred_at >= %({end})s))
      AND p.member_id IS NOT NULL AND p.occurred_at >= %({start})s AND p.occurred_at < %({stop})s"""


def as_of_window_sql(prefix: str, *, start: str, stop: str, end: str = "end") -> str:
    """window_sql plus the late-refund corrections: the member's purchases in the window (the local
    dates of `prefix`, the instants [%(start)s, %(stop)s)) as the purchase scan with refunds made by
    %(end)s counts them. Group by member_id and keep the members
    with SUM(orders) > 0 (the ones with a purchase)."""
    return f"{window_sql(prefix)}\n    UNION ALL{late_refund_corrections_sql(start=start, stop=stop, end=end)}"
