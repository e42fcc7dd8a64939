"""The daily points-earned notice (seed 000 信息通知 会员消费; SPEC MSG-5 "points earned (batched)").

A member who buys five times a day hears once: the job for business date D sums each member's
credits from purchases made on D - 1 (local day, Asia/Shanghai) in one GROUP BY, and sends one
`points_earned` notice per member through messaging.notices (inbox, SMS and e-mail as the member
chose; the SMS waits for quiet hours to end). Switched on and off, with a minimum, in
MessagingConfig (points_earned_notice, points_earned_notice_min_points). Idempotent per member and
day: the event key "points_earned:<day>" is the message log's unique key, so a re-run (or a run
after a crash half-way) announces nothing twice."""
from __future__ import annotations

import datetime as dt

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy

from core.jobs import JobContext, register_job
from members.models import Member
from messaging.models import MessagingConfig
from messaging.notices import notices_send

from .models import Entry

CHUNK = 2000

_DAY_TOTALS = """
SELECT e.member_id, SUM(e.points), COALESCE(a.balance, 0)
FROM points_entry e
JOIN members_member m ON m.id = e.member_id
LEFT JOIN points_pointsaccount a ON a.member_id = e.member_id
WHERE e.kind = %(kind)s AND e.purchase_id IS NOT NULL AND e.created_at >= %(start)s AND e.created_at < %(end)s
  AND m.status = %(active)s
GROUP BY e.member_id, a.balance
HAVING SUM(e.points) >= %(min)s
ORDER BY e.member_id
"""


def points_earned_totals(day: dt.date, *, min_points: int) -> list[tuple[int, int, int]]:
    """(member id, points earned from purchases on `day`, balance now) for active members."""
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min), tz)
    with connection.cursor() as cursor:
        cursor.execute(_DAY_TOTALS, {"kind": Entry.Kind.CREDIT, "start": start, "end": start + dt.timedelta(days=1),
                                     "active": Member.Status.ACTIVE, "min": max(min_points, 1)})
        return [(m, int(p), int(b)) for m, p, b in cursor.fetchall()]


def notify_points_earned_for(day: dt.date, *, progress=None) -> dict:
    config = MessagingConfig.get()
    if not config.points_earned_notice:
        return {"members": 0, "notices": 0, "off": 1}
    totals = points_earned_totals(day, min_points=config.points_earned_notice_min_points)
    sent = 0
    for start in range(0, len(totals), CHUNK):
        chunk = totals[start:start + CHUNK]
        members = Member.objects.in_bulk([m for m, _p, _b in chunk])
        sent += notices_send(kind="points_earned", items=[
            (members[m], day.isoformat(), {"date": f"{day.month}月{day.day}日", "points": p, "balance": b})
            for m, p, b in chunk])
        if progress:
            progress(min(start + CHUNK, len(totals)), len(totals))
    return {"members": len(totals), "notices": sent}


@register_job("notify_points_earned", label=gettext_lazy("Notify members of points earned yesterday"))
def notify_points_earned(ctx: JobContext) -> dict:
    """Run for business date D (nightly after midnight): tells yesterday's points."""
    return notify_points_earned_for(ctx.date - dt.timedelta(days=1), progress=ctx.progress)
