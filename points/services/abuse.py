"""Abuse flags (PTS-11): patterns that put a member (or a clerk) into operations' review queue.

Thresholds live in points.models.AbuseRules (the admin; 0 switches a flag off):
- frequent_purchases: more than `purchases_per_hour` purchases of one member within any hour;
- refund_share: refunds of the last 30 days above `refund_share_percent` of the bills of the purchases of
  the last 30 days, and at least `refund_min_amount` yuan;
- quick_redemption: points spent (gifts, coupons, offsets, draws: ledger kind "debit") within
  `quick_redeem_minutes` after an earning, at least `quick_redeem_min_points` of them;
- clerk_many_members: one clerk posting at the desk for more than `clerk_members_per_day` members a day.

`abuse_flag_all` is the nightly job's set-wise pass (one INSERT … SELECT per flag, over the last day, or
30 days for refunds); `abuse_check_desk_posting` runs the member's and the clerk's flags inline after a
desk posting. Both write through ON CONFLICT DO NOTHING against the partial UNIQUE "one open case per
flag and subject", and skip a subject whose case of that flag was decided within the look-back, so
re-runs neither double a case nor re-open a dismissed one on the same evidence.

Operations (points.review_abusecase) suspend the member (members.services.member_set_status, MEM-5) or
dismiss the case; either decision is audit-logged.
"""
from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record
from core.errors import Conflict, PermissionDenied
from core.models import AuditLog
from members import scope
from members.services import member_set_status

from ..errors import PointsError
from ..locks import abuse_case_lock
from ..models import AbuseCase, AbuseRules

REVIEW_PERM = "points.review_abusecase"
DAY = dt.timedelta(days=1)
REFUND_WINDOW = dt.timedelta(days=30)

_NOT_DECIDED_MEMBER = """
  AND NOT EXISTS (SELECT 1 FROM points_abusecase x WHERE x.flag = %(flag)s AND x.member_id = s.member_id
                  AND x.status <> 'open' AND x.decided_at >= %(since)s)"""

_INSERT = """
INSERT INTO points_abusecase (flag, member_id, clerk_id, store_id, detail, flagged_on, created_at, status,
                              decision_note)
"""

_FREQUENT = _INSERT + """
SELECT %(flag)s, s.member_id, NULL, m.home_store_id, format(%(pattern)s, s.n), %(day)s, %(now)s, 'open', ''
FROM (
    SELECT w.member_id, MAX(w.n) AS n FROM (
        SELECT p.member_id, COUNT(*) OVER (PARTITION BY p.member_id ORDER BY p.occurred_at
                                           RANGE BETWEEN INTERVAL '1 hour' PRECEDING AND CURRENT ROW) AS n
        FROM points_purchase p
        WHERE p.member_id IS NOT NULL AND p.occurred_at >= %(since)s - INTERVAL '1 hour' AND p.occurred_at < %(now)s
          {member_filter}
    ) w GROUP BY w.member_id
) s JOIN members_member m ON m.id = s.member_id
WHERE s.n > %(limit)s""" + _NOT_DECIDED_MEMBER + """
ON CONFLICT DO NOTHING
"""

_REFUND_SHARE = _INSERT + """
SELECT %(flag)s, s.member_id, NULL, m.home_store_id,
       format(%(pattern)s, s.refunded, s.spent, ROUND(100 * s.refunded / s.spent)), %(day)s, %(now)s, 'open', ''
FROM (
    SELECT b.member_id, b.spent, COALESCE(r.refunded, 0) AS refunded FROM (
        SELECT p.member_id, SUM(p.amount_total) AS spent FROM points_purchase p
        WHERE p.member_id IS NOT NULL AND p.occurred_at >= %(since)s AND p.occurred_at < %(now)s
        GROUP BY p.member_id
    ) b JOIN (
        SELECT p.member_id, SUM(r.amount) AS refunded FROM points_refund r JOIN points_purchase p ON p.id = r.purchase_id
        WHERE p.member_id IS NOT NULL AND r.occurred_at >= %(since)s AND r.occurred_at < %(now)s
        GROUP BY p.member_id
    ) r ON r.member_id = b.member_id
) s JOIN members_member m ON m.id = s.member_id
WHERE s.spent > 0 AND s.refunded >= %(min_amount)s AND s.refunded * 100 > s.spent * %(limit)s""" + _NOT_DECIDED_MEMBER + """
ON CONFLICT DO NOTHING
"""

_QUICK = _INSERT + """
SELECT %(flag)s, s.member_id, NULL, m.home_store_id, format(%(pattern)s, s.points, %(minutes)s), %(day)s, %(now)s,
       'open', ''
FROM (
    SELECT d.member_id, -SUM(d.points) AS points FROM points_entry d
    WHERE d.kind = 'debit' AND d.created_at >= %(since)s AND d.created_at < %(now)s
      AND EXISTS (SELECT 1 FROM points_entry c WHERE c.member_id = d.member_id AND c.kind = 'credit'
                  AND c.created_at <= d.created_at AND c.created_at >= d.created_at - %(gap)s)
    GROUP BY d.member_id
) s JOIN members_member m ON m.id = s.member_id
WHERE s.points >= %(limit)s""" + _NOT_DECIDED_MEMBER + """
ON CONFLICT DO NOTHING
"""

_CLERK = _INSERT + """
SELECT %(flag)s, NULL, s.clerk_id, sp.store_id, format(%(pattern)s, s.n), %(day)s, %(now)s, 'open', ''
FROM (
    SELECT d.requested_by_id AS clerk_id, COUNT(DISTINCT d.member_id) AS n FROM points_deskposting d
    WHERE d.requested_at >= %(since)s AND d.requested_at < %(now)s {clerk_filter}
    GROUP BY d.requested_by_id
) s LEFT JOIN members_staffprofile sp ON sp.user_id = s.clerk_id
WHERE s.n > %(limit)s
  AND NOT EXISTS (SELECT 1 FROM points_abusecase x WHERE x.flag = %(flag)s AND x.clerk_id = s.clerk_id
                  AND x.status <> 'open' AND x.decided_at >= %(since)s)
ON CONFLICT DO NOTHING
"""


def _run(sql: str, params: dict) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _flag(flag: str, *, now: dt.datetime, rules: AbuseRules, member_id: int | None = None,
          clerk_id: int | None = None) -> int:
    base = {"flag": flag, "now": now, "day": timezone.localtime(now).date()}
    member_filter = "AND p.member_id = %(member_id)s" if member_id else ""
    if flag == AbuseCase.Flag.FREQUENT_PURCHASES and rules.purchases_per_hour:
        return _run(_FREQUENT.format(member_filter=member_filter), {
            **base, "since": now - DAY, "limit": rules.purchases_per_hour, "member_id": member_id,
            "pattern": _("%s purchases within one hour")})
    if flag == AbuseCase.Flag.REFUND_SHARE and rules.refund_share_percent:
        return _run(_REFUND_SHARE, {
            **base, "since": now - REFUND_WINDOW, "limit": rules.refund_share_percent,
            "min_amount": rules.refund_min_amount,
            "pattern": _("refunds of %s yuan against %s yuan spent in 30 days (%s%%)")})
    if flag == AbuseCase.Flag.QUICK_REDEMPTION and rules.quick_redeem_minutes:
        return _run(_QUICK, {
            **base, "since": now - DAY, "limit": max(rules.quick_redeem_min_points, 1),
            "minutes": rules.quick_redeem_minutes, "gap": dt.timedelta(minutes=rules.quick_redeem_minutes),
            "pattern": _("%s points redeemed within %s minutes of being earned")})
    if flag == AbuseCase.Flag.CLERK_MANY_MEMBERS and rules.clerk_members_per_day:
        clerk_filter = "AND d.requested_by_id = %(clerk_id)s" if clerk_id else ""
        return _run(_CLERK.format(clerk_filter=clerk_filter), {
            **base, "since": now - DAY, "limit": rules.clerk_members_per_day, "clerk_id": clerk_id,
            "pattern": _("desk postings for %s members within a day")})
    return 0


def abuse_flag_all(*, now: dt.datetime | None = None) -> dict:
    """The nightly set-wise pass over every flag; returns the new cases per flag."""
    now = now or timezone.now()
    rules = AbuseRules.get()
    counts = {}
    with transaction.atomic():
        for flag in AbuseCase.Flag.values:
            counts[flag] = _flag(flag, now=now, rules=rules)
    return counts


def abuse_check_desk_posting(*, member, clerk) -> int:
    """Inline after a desk posting (same transaction): the member's purchases per hour and the clerk's
    members per day."""
    now = timezone.now()
    rules = AbuseRules.get()
    return (_flag(AbuseCase.Flag.FREQUENT_PURCHASES, now=now, rules=rules, member_id=member.pk)
            + _flag(AbuseCase.Flag.CLERK_MANY_MEMBERS, now=now, rules=rules, clerk_id=clerk.pk))


DECISIONS = ("suspend", "dismiss")


def abuse_case_decide(*, case: AbuseCase, staff, decision: str, note: str) -> AbuseCase:
    """Suspend the flagged member (MEM-5) or dismiss the case, with a note."""
    scope.require_perm(staff, REVIEW_PERM)
    note = (note or "").strip()
    if decision not in DECISIONS:
        raise PointsError(_("Choose suspend or dismiss."), fields={"decision": [_("Choose suspend or dismiss.")]})
    if not note:
        raise PointsError(_("Give the reason."), fields={"note": [_("Required.")]})
    with transaction.atomic():
        case = abuse_case_lock(case.pk)
        if case.clerk_id == staff.pk:  # a clerk flagged does not decide the case about them
            raise PermissionDenied(_("This case is about your own postings; another staff member must decide it."),
                                   code="same_approver")
        if case.member is not None:
            scope.require_member(staff, case.member)
        if case.status != AbuseCase.Status.OPEN:
            raise Conflict(_("This case is already %(status)s.") % {"status": case.get_status_display()},
                           code="abuse_case_decided")
        if decision == "suspend":
            if case.member is None:
                raise PointsError(_("This case is about a clerk; there is no member to suspend."),
                                  code="no_member")
            member_set_status(member=case.member, staff=staff, action="suspend",
                              reason=_("Abuse review: %(detail)s — %(note)s") % {"detail": case.detail, "note": note})
            case.status = AbuseCase.Status.SUSPENDED
        else:
            case.status = AbuseCase.Status.DISMISSED
        case.decided_by = staff
        case.decided_at = timezone.now()
        case.decision_note = note[:200]
        case.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        audit_record(actor=staff, action=AuditLog.Action.ABUSE_FLAG, member=case.member, field=decision,
                     detail=f"{case.get_flag_display()}: {case.detail} — {note}")
        return case
