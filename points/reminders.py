"""Reminders ahead of points expiry (PTS-4): 积分即将过期提醒.

For business date D and each lead time L of PointsConfig.reminder_days (default [30, 7]) the job
reminds every member of the points in their live lots (remaining > 0) that expire within L days,
once per (member, expiry date, lead time): the ExpiryReminder row is the record, its UNIQUE
constraint is the idempotency key, and the member notice is written in the same transaction.

Each lead time covers the window (D + next shorter lead, D + L], and the shortest lead [D, D + L].
So the job catches up after missed nights (on-or-before, not exactly-on), yet a lot found late by
the 30-day pass is not announced twice on the same night: the 7-day pass owns it.

Set-wise per batch (a range of member ids): INSERT ... SELECT ... GROUP BY member, expiry date
ON CONFLICT DO NOTHING RETURNING, then one bulk notice insert for the rows just inserted. A re-run
inserts nothing and so notifies nobody; a crash leaves whole batches done or not done.
"""
from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from members.models import Member
from messaging.models import Notice
from messaging.services import notify_members_bulk

from .models import PointsConfig

BATCH_MEMBERS = 20_000
NOTICE_KIND = "points_expiring"

# Closed, rejected or still pending memberships are not told about points they cannot use.
REMINDED_STATUSES = (Member.Status.ACTIVE, Member.Status.SUSPENDED)

_INSERT = """
INSERT INTO points_expiryreminder (member_id, expires_on, days_before, points, created_at)
SELECT l.member_id, l.expires_on, %(lead)s, SUM(l.remaining), %(now)s
FROM points_lot l JOIN members_member m ON m.id = l.member_id
WHERE l.member_id >= %(lo)s AND l.member_id < %(hi)s
  AND l.remaining > 0 AND l.expires_on >= %(start)s AND l.expires_on <= %(end)s
  AND m.status = ANY(%(statuses)s)
GROUP BY l.member_id, l.expires_on
ON CONFLICT (member_id, expires_on, days_before) DO NOTHING
RETURNING member_id, expires_on, points
"""


def lead_windows(day: dt.date, reminder_days) -> list[tuple[int, dt.date, dt.date]]:
    """(lead, first expiry date, last expiry date) per configured lead time, longest first."""
    leads = sorted({int(d) for d in reminder_days or [] if int(d) > 0}, reverse=True)
    windows = []
    for i, lead in enumerate(leads):
        shorter = leads[i + 1] if i + 1 < len(leads) else None
        start = day + dt.timedelta(days=shorter + 1) if shorter is not None else day
        windows.append((lead, start, day + dt.timedelta(days=lead)))
    return windows


def reminder_text(*, points: int, expires_on: dt.date) -> tuple[str, str]:
    """Title and body of the notice (and SMS), in the chain's language."""
    with translation.override(settings.LANGUAGE_CODE):
        title = _("Points expiring soon")
        body = _("%(points)s points expire on %(date)s. Use them before then.") % {
            "points": points, "date": expires_on.isoformat()}
    return title, body


def remind_expiring_points_for(day: dt.date, *, progress=None, batch_members: int = BATCH_MEMBERS) -> dict:
    windows = lead_windows(day, PointsConfig.get().reminder_days)
    totals = {"reminders": 0, "notices": 0, "points": 0}
    if not windows:
        return totals
    widest_start, widest_end = min(w[1] for w in windows), max(w[2] for w in windows)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MIN(member_id), 0), COALESCE(MAX(member_id), 0) FROM points_lot "
                       "WHERE remaining > 0 AND expires_on BETWEEN %s AND %s", [widest_start, widest_end])
        lo, hi = cursor.fetchone()
    if not hi:
        return totals
    starts = range(lo, hi + 1, batch_members)
    total, done = len(starts) * len(windows), 0
    statuses = [str(s) for s in REMINDED_STATUSES]
    for lead, start, end in windows:
        for batch_lo in starts:
            params = {"lead": lead, "lo": batch_lo, "hi": batch_lo + batch_members, "start": start, "end": end,
                      "statuses": statuses, "now": timezone.now()}
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(_INSERT, params)
                    rows = cursor.fetchall()
                notices = []
                for member_id, expires_on, points in rows:
                    title, body = reminder_text(points=points, expires_on=expires_on)
                    notices.append(Notice(member_id=member_id, kind=NOTICE_KIND, ref=f"{expires_on}:{lead}",
                                          title=title, body=body, sms_sent=True))
                totals["notices"] += notify_members_bulk(notices)
            totals["reminders"] += len(rows)
            totals["points"] += sum(int(r[2]) for r in rows)
            done += 1
            if progress:
                progress(done, total)
    return totals
