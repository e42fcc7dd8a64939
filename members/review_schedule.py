"""Periodic re-review dates (MEM-5; seed 002 二(二)3 公司將定期對會員信息進行復查).

One rule: a member's next review falls `interval` days after the day their data was last confirmed
(sign-up, approval, import, a completed review). Existing members are backfilled on the anniversaries
of their sign-up, so the queue fills evenly over the year instead of all at once."""
from __future__ import annotations

import datetime as dt


def next_review_date(*, confirmed_on: dt.date, interval_days: int) -> dt.date:
    return confirmed_on + dt.timedelta(days=interval_days)


def review_dates_backfill(connection, *, today: dt.date, interval_days: int) -> int:
    """Set-wise: every active or suspended member without a date gets the first sign-up anniversary
    (in steps of `interval_days`) on or after `today`. Idempotent: members with a date are left alone.
    Takes a connection so the data migration can call it too."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE members_member AS m
               SET next_review_on = s.since + (%(step)s * GREATEST(1, CEIL((%(today)s::date - s.since)::numeric
                                                                          / %(step)s)::int))
              FROM (SELECT id, (created_at AT TIME ZONE 'Asia/Shanghai')::date AS since FROM members_member) AS s
             WHERE s.id = m.id AND m.next_review_on IS NULL AND m.status IN ('active', 'suspended')
            """,
            {"step": interval_days, "today": today},
        )
        return cursor.rowcount
