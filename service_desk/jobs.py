"""sweep_complaints (SD-2): flag breached time limits and escalate each breach once to the store's
manager, set-wise in SQL.

For each kind (accept / reply / close) one statement per batch inserts Escalation rows for complaints
whose deadline has passed with the step undone, skipping complaints already escalated for that kind
(UNIQUE (complaint, kind) + ON CONFLICT DO NOTHING), and in the same statement writes the breach event
and the manager's StaffNotice for exactly the rows it inserted. A re-run inserts nothing; a crash
leaves whole batches done or not done. Scheduled every 10 minutes (migration 0002)."""
from __future__ import annotations

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from core.jobs import JobContext, register_job

from .models import BreachKind

BATCH = 5_000

STEPS = {
    BreachKind.ACCEPT: ("accept_due", "accepted_at"),
    BreachKind.REPLY: ("reply_due", "first_replied_at"),
    BreachKind.CLOSE: ("close_due", "closed_at"),
}

_SWEEP = """
WITH due AS (
    SELECT c.id, c.{due} AS due, s.manager_id
    FROM service_desk_complaint c JOIN members_store s ON s.id = c.store_id
    WHERE c.{done} IS NULL AND c.{due} < %(now)s
      AND NOT EXISTS (SELECT 1 FROM service_desk_escalation e WHERE e.complaint_id = c.id AND e.kind = %(kind)s)
    ORDER BY c.id LIMIT %(batch)s
), esc AS (
    INSERT INTO service_desk_escalation (complaint_id, kind, due, at, manager_id, job_run_id)
    SELECT id, %(kind)s, due, %(now)s, manager_id, %(run)s FROM due
    ON CONFLICT (complaint_id, kind) DO NOTHING
    RETURNING complaint_id, manager_id
), events AS (
    INSERT INTO service_desk_complaintevent (complaint_id, at, action, from_status, to_status, actor_label, note)
    SELECT complaint_id, %(now)s, 'breach', '', '', 'sweep_complaints', %(note)s FROM esc
    RETURNING 1
), notices AS (
    INSERT INTO service_desk_staffnotice (user_id, complaint_id, kind, text, created_at)
    SELECT manager_id, complaint_id, %(notice_kind)s, replace(%(text)s, '{{id}}', complaint_id::text), %(now)s
    FROM esc WHERE manager_id IS NOT NULL
    ON CONFLICT (user_id, complaint_id, kind) DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM due), (SELECT count(*) FROM esc), (SELECT count(*) FROM notices)
"""

TEXTS = {
    BreachKind.ACCEPT: "Complaint #{id} was not accepted within its time limit.",
    BreachKind.REPLY: "Complaint #{id} has had no reply within its time limit.",
    BreachKind.CLOSE: "Complaint #{id} was not closed within its time limit.",
}


def sweep_complaints_now(*, now=None, run_id: int | None = None) -> dict:
    now = now or timezone.now()
    counts = {"escalated": 0, "notices": 0}
    with override("zh-hans"):  # stored notice text is read by staff in the default language
        texts = {kind: _(text) for kind, text in TEXTS.items()}
        notes = {kind: str(BreachKind(kind).label) for kind in STEPS}
    for kind, (due, done) in STEPS.items():
        sql = _SWEEP.format(due=due, done=done)
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, {"now": now, "kind": kind, "batch": BATCH, "run": run_id, "note": notes[kind],
                                     "notice_kind": f"escalation_{kind}", "text": texts[kind]})
                found, escalated, notices = cursor.fetchone()
            counts["escalated"] += escalated
            counts[f"escalated_{kind}"] = counts.get(f"escalated_{kind}", 0) + escalated
            counts["notices"] += notices
            if found < BATCH:
                break
    return counts


@register_job("sweep_complaints")
def sweep_complaints(ctx: JobContext) -> dict:
    return sweep_complaints_now(run_id=ctx.run.pk)
