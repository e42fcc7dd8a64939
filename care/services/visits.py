"""Follow-up visits (回访, SD-5): the nightly scheduling and the outcome staff record.

Scheduling is set-wise: one INSERT ... SELECT per batch of member ids creates the visits due for
the business date and assigns them, and the natural key UNIQUE (member, period_start) with
ON CONFLICT DO NOTHING makes re-runs, crashes half-way and concurrent runs harmless.
"""
from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable

from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import NotFound
from members import roles, scope
from members.models import Member, StaffProfile

from ..errors import CareConflict, CareError
from ..locks import visit_lock
from ..models import Visit, VisitPolicy

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


_SCHEDULE_SQL = """
WITH p(tier_id, period_start, due_on) AS (VALUES {values}),
due AS (
    SELECT m.id AS member_id, m.home_store_id AS store_id, p.period_start, p.due_on,
           ROW_NUMBER() OVER (PARTITION BY m.home_store_id ORDER BY m.id) AS rn
    FROM {member} m JOIN p ON p.tier_id = m.tier_id
    WHERE m.status = 'active' AND m.id BETWEEN %s AND %s
      AND NOT EXISTS (SELECT 1 FROM {visit} v WHERE v.member_id = m.id AND v.period_start = p.period_start)
),
need AS (SELECT store_id, COUNT(*) AS n FROM due GROUP BY store_id),
staff AS (
    SELECT sp.user_id, sp.store_id,
           (SELECT COUNT(*) FROM {visit} v WHERE v.assignee_id = sp.user_id AND v.status = 'open') AS open_count
    FROM {profile} sp
    JOIN auth_user u ON u.id = sp.user_id AND u.is_active
    WHERE sp.store_id IN (SELECT store_id FROM need) AND NOT sp.chain_wide
      AND EXISTS (SELECT 1 FROM auth_user_groups ug JOIN auth_group g ON g.id = ug.group_id
                  WHERE ug.user_id = sp.user_id AND g.name = ANY(%s))
),
-- Water-filling: staff s takes its k-th new visit at load open_count + k; the lowest loads win,
-- so the least-loaded staff fill up first and the store ends as even as whole visits allow.
slots AS (
    SELECT s.store_id, s.user_id,
           ROW_NUMBER() OVER (PARTITION BY s.store_id ORDER BY s.open_count + k, s.user_id) AS rn
    FROM staff s JOIN need ON need.store_id = s.store_id
    CROSS JOIN LATERAL generate_series(1, need.n) AS k
)
INSERT INTO {visit} (member_id, store_id, period_start, due_on, assignee_id, status, outcome, feedback,
                     follow_up_needed, job_run_id, created_at)
SELECT d.member_id, d.store_id, d.period_start, d.due_on, sl.user_id, 'open', '', '', FALSE, %s, %s
FROM due d LEFT JOIN slots sl ON sl.store_id = d.store_id AND sl.rn = d.rn
ON CONFLICT (member_id, period_start) DO NOTHING
"""


def visits_schedule(*, day: dt.date, job_run_id: int | None = None,
                    progress: Callable[[int, int | None], None] | None = None,
                    batch_size: int = BATCH_SIZE) -> dict:
    """Create the visits due on business date `day` for every active member whose tier has visits,
    one per member and period, assigned with balanced load within the member's home store."""
    periods = [(p.tier_id, *visit_period(day, p.visits_per_year))
               for p in VisitPolicy.objects.filter(visits_per_year__gt=0)]
    if not periods:
        return {"created": 0, "unassigned": 0}
    bounds = Member.objects.filter(status=Member.Status.ACTIVE, tier_id__in=[p[0] for p in periods]).aggregate(
        lo=Min("id"), hi=Max("id"))
    if bounds["lo"] is None:
        return {"created": 0, "unassigned": 0}
    sql = _SCHEDULE_SQL.format(
        values=", ".join(["(%s::bigint, %s::date, %s::date)"] * len(periods)),
        member=Member._meta.db_table, visit=Visit._meta.db_table, profile=StaffProfile._meta.db_table,
    )
    values = [v for row in periods for v in row]
    created = 0
    total = bounds["hi"] - bounds["lo"] + 1
    now = timezone.now()
    for lo in range(bounds["lo"], bounds["hi"] + 1, batch_size):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [*values, lo, lo + batch_size - 1, VISIT_ROLES, job_run_id, now])
            created += max(cursor.rowcount, 0)
        if progress:
            progress(min(lo + batch_size, bounds["hi"] + 1) - bounds["lo"], total)
    unassigned = Visit.objects.filter(status=Visit.Status.OPEN, assignee__isnull=True,
                                      period_start__in={p[1] for p in periods}).count()
    return {"created": created, "unassigned": unassigned}


@transaction.atomic
def visit_record_outcome(*, visit_id: int, staff, reached: bool, feedback: str = "",
                         satisfaction: int | None = None, follow_up_needed: bool = False) -> Visit:
    """Record what came of a visit (reached or not, feedback, satisfaction 1-5, follow-up needed)."""
    scope.require_perm(staff, "care.record_visit")
    visit = visit_lock(visit_id, within=scope.filter_by_store(staff, Visit.objects.all(), "store"))
    if visit is None:
        raise NotFound(_("No such visit."))
    if visit.status == Visit.Status.DONE:
        raise CareConflict(_("The outcome of this visit is already recorded."), code="visit_done")
    feedback = (feedback or "").strip()
    errors: dict[str, list[str]] = {}
    if reached and satisfaction is None:
        errors["satisfaction"] = [_("Ask the member for a satisfaction rating from 1 to 5.")]
    if satisfaction is not None and not 1 <= satisfaction <= 5:
        errors["satisfaction"] = [_("Satisfaction is a rating from 1 to 5.")]
    if not reached and satisfaction is not None:
        errors["satisfaction"] = [_("A member who was not reached gives no rating.")]
    if len(feedback) > FEEDBACK_MAX:
        errors["feedback"] = [_("Keep the feedback under %(n)d characters.") % {"n": FEEDBACK_MAX}]
    if errors:
        raise CareError(_("The outcome could not be recorded; check the fields."), fields=errors)
    visit.status = Visit.Status.DONE
    visit.outcome = Visit.Outcome.REACHED if reached else Visit.Outcome.NOT_REACHED
    visit.feedback = feedback
    visit.satisfaction = satisfaction
    visit.follow_up_needed = follow_up_needed
    visit.done_at = timezone.now()
    visit.done_by = staff
    visit.save(update_fields=["status", "outcome", "feedback", "satisfaction", "follow_up_needed", "done_at",
                              "done_by"])
    return visit
