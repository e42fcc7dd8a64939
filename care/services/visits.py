"""Follow-up visits (回访, SD-5): the nightly scheduling by tier frequency and after events, and the
outcome staff record (retries of members not reached, follow-up tasks).

Scheduling is set-wise: one INSERT ... SELECT per batch of member ids creates the visits due for
the business date and assigns them, and the natural key UNIQUE (member, reason, period_start) with
ON CONFLICT DO NOTHING makes re-runs, crashes half-way and concurrent runs harmless.
"""
from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record
from core.errors import NotFound
from core.models import AuditLog
from core.service_cases import case_sources
from members import roles, scope
from members.models import Member, StaffProfile
from points.models import Purchase
from points.net_paid import net_paid_sql

from ..errors import CareConflict, CareError
from ..locks import visit_lock
from ..models import AccountManagerAssignment, CareConfig, Visit, VisitAttempt, VisitPolicy

# Staff who make the calls: the roles that serve members directly (SD-5).
VISIT_ROLES = [roles.FRONT_DESK, roles.CUSTOMER_SERVICE]
BATCH_SIZE = 5000
FEEDBACK_MAX = 2000


def visit_period(day: dt.date, visits_per_year: int) -> tuple[dt.date, dt.date]:
    """The period of the calendar year that contains `day`, the year split into n equal parts:
    whole months when n divides 12 (1, 2, 3, 4, 6, 12 → year, half, ..., month), otherwise
    equal runs of days. Returns (first day, last day = due date)."""
    n = visits_per_year
    if n <= 0:
        raise CareError(_("The tier has no visits."))
    if 12 % n == 0:
        months = 12 // n
        first_month = (day.month - 1) // months * months + 1
        last_month = first_month + months - 1
        return (dt.date(day.year, first_month, 1),
                dt.date(day.year, last_month, calendar.monthrange(day.year, last_month)[1]))
    year_start = dt.date(day.year, 1, 1)
    days = 366 if calendar.isleap(day.year) else 365
    i = (day - year_start).days * n // days
    start = year_start + dt.timedelta(days=-(-i * days // n))
    next_start = year_start + dt.timedelta(days=-(-(i + 1) * days // n))
    return start, next_start - dt.timedelta(days=1)


# Assignment of new visits, for every way a visit is created (tier frequency, events): `due` is a CTE of
# (member_id, store_id, reason, period_start, due_on, source_ref, note). A member with a current account
# manager (专属客户经理, SD-11) gets the visit assigned to that manager; the others are water-filled over
# the store's visit staff. ON CONFLICT on the natural key makes re-runs and concurrent runs harmless.
_ASSIGN_SQL = """
WITH due AS ({due}),
managed AS (
    SELECT d.*, am.manager_id,
           CASE WHEN am.manager_id IS NULL THEN
               ROW_NUMBER() OVER (PARTITION BY d.store_id, am.manager_id IS NULL ORDER BY d.member_id, d.reason)
           END AS rn
    FROM due d
    LEFT JOIN (SELECT a.member_id, a.manager_id FROM {assignment} a
               JOIN auth_user mu ON mu.id = a.manager_id AND mu.is_active
               WHERE a.ends_at IS NULL) am ON am.member_id = d.member_id
),
need AS (SELECT store_id, COUNT(*) AS n FROM managed WHERE manager_id IS NULL GROUP BY store_id),
staff AS (
    SELECT sp.user_id, sp.store_id,
           (SELECT COUNT(*) FROM {visit} v WHERE v.assignee_id = sp.user_id AND v.status = 'open') AS open_count
    FROM {profile} sp
    JOIN auth_user u ON u.id = sp.user_id AND u.is_active
    WHERE sp.store_id IN (SELECT store_id FROM need) AND NOT sp.chain_wide
      AND EXISTS (SELECT 1 FROM auth_user_groups ug JOIN auth_group g ON g.id = ug.group_id
                  WHERE ug.user_id = sp.user_id AND g.name = ANY(%(roles)s))
),
-- Water-filling: staff s takes its k-th new visit at load open_count + k; the lowest loads win,
-- so the least-loaded staff fill up first and the store ends as even as whole visits allow.
slots AS (
    SELECT s.store_id, s.user_id,
           ROW_NUMBER() OVER (PARTITION BY s.store_id ORDER BY s.open_count + k, s.user_id) AS rn
    FROM staff s JOIN need ON need.store_id = s.store_id
    CROSS JOIN LATERAL generate_series(1, need.n) AS k
)
INSERT INTO {visit} (member_id, store_id, reason, source_ref, note, period_start, due_on, assignee_id, status,
                     outcome, feedback, follow_up_needed, attempts, job_run_id, created_at)
SELECT d.member_id, d.store_id, d.reason, d.source_ref, d.note, d.period_start, d.due_on,
       COALESCE(d.manager_id, sl.user_id), 'open', '', '', FALSE, 0, %(job_run)s, %(now)s
FROM managed d LEFT JOIN slots sl ON sl.store_id = d.store_id AND sl.rn = d.rn
ON CONFLICT (member_id, reason, period_start) DO NOTHING
"""

_TIER_DUE_SQL = """
    WITH p(tier_id, period_start, due_on) AS (VALUES {values})
    SELECT m.id AS member_id, m.home_store_id AS store_id, 'tier'::varchar AS reason, ''::varchar AS source_ref,
           ''::varchar AS note, p.period_start, p.due_on
    FROM {member} m JOIN p ON p.tier_id = m.tier_id
    WHERE m.status = 'active' AND m.id BETWEEN %(lo)s AND %(hi)s
      AND NOT EXISTS (SELECT 1 FROM {visit} v WHERE v.member_id = m.id AND v.reason = 'tier'
                      AND v.period_start = p.period_start)
"""


def _assign_sql(due: str) -> str:
    return _ASSIGN_SQL.format(due=due, visit=Visit._meta.db_table, profile=StaffProfile._meta.db_table,
                              assignment=AccountManagerAssignment._meta.db_table)


def _insert_due(cursor, due_sql: str, params: dict, *, job_run_id: int | None, now: dt.datetime) -> int:
    cursor.execute(_assign_sql(due_sql), {**params, "roles": VISIT_ROLES, "job_run": job_run_id, "now": now})
    return max(cursor.rowcount, 0)


def visits_schedule(*, day: dt.date, job_run_id: int | None = None,
                    progress: Callable[[int, int | None], None] | None = None,
                    batch_size: int = BATCH_SIZE) -> dict:
    """Create the visits due on business date `day` for every active member whose tier has visits,
    one per member and period, assigned to the member's account manager or with balanced load within
    the member's home store."""
    periods = [(p.tier_id, *visit_period(day, p.visits_per_year))
               for p in VisitPolicy.objects.filter(visits_per_year__gt=0)]
    if not periods:
        return {"created": 0, "unassigned": 0}
    bounds = Member.objects.filter(status=Member.Status.ACTIVE, tier_id__in=[p[0] for p in periods]).aggregate(
        lo=Min("id"), hi=Max("id"))
    if bounds["lo"] is None:
        return {"created": 0, "unassigned": 0}
    values = ", ".join(f"(%(t{i})s::bigint, %(s{i})s::date, %(d{i})s::date)" for i in range(len(periods)))
    due = _TIER_DUE_SQL.format(values=values, member=Member._meta.db_table, visit=Visit._meta.db_table)
    params = {}
    for i, (tier_id, start, due_on) in enumerate(periods):
        params.update({f"t{i}": tier_id, f"s{i}": start, f"d{i}": due_on})
    created = 0
    total = bounds["hi"] - bounds["lo"] + 1
    now = timezone.now()
    for lo in range(bounds["lo"], bounds["hi"] + 1, batch_size):
        with transaction.atomic(), connection.cursor() as cursor:
            created += _insert_due(cursor, due, {**params, "lo": lo, "hi": lo + batch_size - 1},
                                   job_run_id=job_run_id, now=now)
        if progress:
            progress(min(lo + batch_size, bounds["hi"] + 1) - bounds["lo"], total)
    unassigned = Visit.objects.filter(status=Visit.Status.OPEN, assignee__isnull=True, reason=Visit.Reason.TIER,
                                      period_start__in={p[1] for p in periods}).count()
    return {"created": created, "unassigned": unassigned}


# ---------------------------------------------------------------- event visits

EVENT_LOOKBACK_DAYS = 3  # a missed night is caught up by the next runs; the natural key keeps them single
CASE_BATCH = 2000

_PURCHASE_DUE_SQL = """
    SELECT p.member_id, m.home_store_id AS store_id, 'large_purchase'::varchar AS reason,
           'purchase:' || MIN(p.id)::text AS source_ref,
           LEFT(%(note)s || TO_CHAR(MAX({net_paid}), 'FM999999999990.00'), 300) AS note,
           (p.occurred_at AT TIME ZONE %(tz)s)::date AS period_start,
           (p.occurred_at AT TIME ZONE %(tz)s)::date + %(due_days)s::int AS due_on
    FROM {purchase} p JOIN {member} m ON m.id = p.member_id AND m.status = 'active'
    WHERE p.occurred_at >= %(start)s AND p.occurred_at < %(end)s AND p.member_id IS NOT NULL
      AND {net_paid} >= %(threshold)s
    GROUP BY p.member_id, m.home_store_id, (p.occurred_at AT TIME ZONE %(tz)s)::date
"""

_CASES_DUE_SQL = """
    SELECT c.member_id, c.store_id, c.reason::varchar, c.source_ref::varchar, ''::varchar AS note,
           c.period_start, c.period_start + %(due_days)s::int AS due_on
    FROM (VALUES {values}) AS c(member_id, store_id, reason, source_ref, period_start)
    JOIN {member} m ON m.id = c.member_id AND m.status = 'active'
"""

# What a case kind registered in core.service_cases becomes as a visit reason.
CASE_REASONS = {"complaint": Visit.Reason.COMPLAINT, "after_sales": Visit.Reason.AFTER_SALES}


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def event_visits_schedule(*, day: dt.date, job_run_id: int | None = None) -> dict:
    """Visits after events of the days before business date `day` (seed 003 3.2 主动回访 after a large
    purchase; 3.5 回访跟进 after a closed complaint or after-sales case): set-wise, one visit per member,
    reason and event day, due `CareConfig.event_visit_due_days` after the event. Purchases are read with
    points' one net-paid definition (a refunded purchase is no longer large); closed cases come from the
    sources service_desk registers in core.service_cases (care does not import service_desk)."""
    config = CareConfig.get()
    start, end = _local_midnight(day - dt.timedelta(days=EVENT_LOOKBACK_DAYS)), _local_midnight(day)
    now = timezone.now()
    tz = settings.TIME_ZONE
    created = {}
    with transaction.atomic(), connection.cursor() as cursor:
        due = _PURCHASE_DUE_SQL.format(purchase=Purchase._meta.db_table, member=Member._meta.db_table,
                                       net_paid=net_paid_sql(purchase="p"))
        created["large_purchase"] = _insert_due(cursor, due, {
            "tz": tz, "start": start, "end": end, "threshold": config.large_purchase_amount,
            "due_days": config.event_visit_due_days, "note": _("Net paid ¥"),
        }, job_run_id=job_run_id, now=now)
        rows = []
        for source in case_sources():
            reason = CASE_REASONS.get(source.kind)
            if reason is None:
                continue
            for case in source.closed_between(start, end):
                rows.append((case.member_id, case.store_id, reason, case.ref[:64],
                             timezone.localdate(case.closed_at)))
        created["cases"] = 0
        for lo in range(0, len(rows), CASE_BATCH):  # bounded statements, whatever the days' case count
            chunk = rows[lo:lo + CASE_BATCH]
            values = ", ".join(f"(%(m{i})s::bigint, %(s{i})s::bigint, %(r{i})s, %(f{i})s, %(d{i})s::date)"
                               for i in range(len(chunk)))
            params = {"due_days": config.event_visit_due_days}
            for i, (m, st, r, f, d) in enumerate(chunk):
                params.update({f"m{i}": m, f"s{i}": st, f"r{i}": str(r), f"f{i}": f, f"d{i}": d})
            due = _CASES_DUE_SQL.format(values=values, member=Member._meta.db_table)
            created["cases"] += _insert_due(cursor, due, params, job_run_id=job_run_id, now=now)
    return {"created": created["large_purchase"] + created["cases"], **created}


@transaction.atomic
def visit_record_outcome(*, visit_id: int, staff, reached: bool, feedback: str = "",
                         satisfaction: int | None = None, follow_up_needed: bool = False) -> Visit:
    """Record a call of a visit (reached or not, feedback, satisfaction 1-5, follow-up needed).

    A member not reached is not a visit done: the call is logged (VisitAttempt) and the visit stays open
    to be called again `CareConfig.retry_after_days` later, until `visit_attempts` calls were made; then
    it closes as not reachable (status unreachable, never counted as done). A reached member who asks
    for more creates a follow-up visit for the same staff member (seed 003 3.5 回访跟进)."""
    scope.require_perm(staff, "care.record_visit")
    visit = visit_lock(visit_id, within=scope.filter_by_store(staff, Visit.objects.all(), "store"))
    if visit is None:
        raise NotFound(_("No such visit."))
    if visit.status != Visit.Status.OPEN:
        raise CareConflict(_("The outcome of this visit is already recorded."), code="visit_done")
    feedback = (feedback or "").strip()
    errors: dict[str, list[str]] = {}
    if reached and satisfaction is None:
        errors["satisfaction"] = [_("Ask the member for a satisfaction rating from 1 to 5.")]
    if satisfaction is not None and not 1 <= satisfaction <= 5:
        errors["satisfaction"] = [_("Satisfaction is a rating from 1 to 5.")]
    if not reached and satisfaction is not None:
        errors["satisfaction"] = [_("A member who was not reached gives no rating.")]
    if not reached and follow_up_needed:
        errors["follow_up_needed"] = [_("A member who was not reached cannot ask for a follow-up.")]
    if len(feedback) > FEEDBACK_MAX:
        errors["feedback"] = [_("Keep the feedback under %(n)d characters.") % {"n": FEEDBACK_MAX}]
    if errors:
        raise CareError(_("The outcome could not be recorded; check the fields."), fields=errors)
    now = timezone.now()
    config = CareConfig.get()
    VisitAttempt.objects.create(visit=visit, at=now, staff=staff, reached=reached, note=feedback)
    visit.attempts += 1
    visit.feedback = feedback
    fields = ["attempts", "feedback", "retry_on"]
    if reached:
        visit.status = Visit.Status.DONE
        visit.outcome = Visit.Outcome.REACHED
        visit.satisfaction = satisfaction
        visit.follow_up_needed = follow_up_needed
        visit.retry_on = None
        visit.done_at, visit.done_by = now, staff
        fields += ["status", "outcome", "satisfaction", "follow_up_needed", "done_at", "done_by"]
        detail = f"visit {visit.pk}: reached, satisfaction {satisfaction}"
    elif visit.attempts >= config.visit_attempts:
        visit.status = Visit.Status.UNREACHABLE
        visit.outcome = Visit.Outcome.NOT_REACHED
        visit.retry_on = None
        visit.done_at, visit.done_by = now, staff
        fields += ["status", "outcome", "done_at", "done_by"]
        detail = f"visit {visit.pk}: not reached, call {visit.attempts} of {config.visit_attempts}, closed"
    else:
        visit.retry_on = timezone.localdate(now) + dt.timedelta(days=config.retry_after_days)
        if visit.due_on < visit.retry_on:  # the next call falls inside the visit's time
            visit.due_on = visit.retry_on
            fields.append("due_on")
        detail = (f"visit {visit.pk}: not reached, call {visit.attempts} of {config.visit_attempts}, "
                  f"again on {visit.retry_on}")
    visit.save(update_fields=fields)
    audit_record(actor=staff, action=AuditLog.Action.VISIT_OUTCOME, member=visit.member, field="visit", detail=detail)
    if reached and follow_up_needed:
        _follow_up_create(visit=visit, staff=staff, config=config, now=now)
    return visit


def _follow_up_create(*, visit: Visit, staff, config: CareConfig, now: dt.datetime) -> Visit:
    """The task a `follow_up_needed` outcome creates: a new visit for the staff member who made the call
    (or the member's account manager), due within `follow_up_due_days`. One per member and day."""
    today = timezone.localdate(now)
    manager_id = (AccountManagerAssignment.objects.filter(member_id=visit.member_id, ends_at__isnull=True,
                                                          manager__is_active=True)
                  .values_list("manager_id", flat=True).first())
    follow_up, _created = Visit.objects.get_or_create(
        member_id=visit.member_id, reason=Visit.Reason.FOLLOW_UP, period_start=today,
        defaults={"store_id": visit.store_id, "source_ref": f"visit:{visit.pk}",
                  "note": (visit.feedback or "")[:300], "due_on": today + dt.timedelta(days=config.follow_up_due_days),
                  "assignee_id": manager_id or staff.pk, "created_at": now},
    )
    return follow_up
