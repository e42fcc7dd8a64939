"""sweep_complaints (SD-2, SD-7, SD-9): flag breached time limits of complaints and after-sales
cases and escalate each breach once per level, set-wise.

Level 1 (the store's manager): for each step (complaint accept / reply / close, after-sales respond /
resolve, consultation answer, SD-8) one SQL statement per batch inserts Escalation rows for cases whose deadline has passed
with the step undone, skipping those already escalated (partial UNIQUE (case, kind, level) + ON
CONFLICT DO NOTHING), and in the same statement writes the breach event and the manager's
StaffNotice for exactly the rows it inserted.

Level 2 (the regional managers of the store, SD-9): a level-1 breach still undone
`second_level_hours` after it was due, counted on the policy's clock (service_desk.clocks, so
working-day policies skip weekends and holidays). One query finds the candidates, the holiday
calendar is read once, one INSERT ... RETURNING adds the escalations, and their events and notices
go in one bulk insert each.

Every new escalation is also sent by SMS and/or e-mail to the recipients that have an
EscalationContact, through messaging.services.messages_send_staff (one event key per escalation and
person: a re-run sends nothing again). A re-run inserts nothing; a crash leaves whole batches done or
not done. Scheduled every 10 minutes (migration 0002)."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop, override

from core import crypto
from core.jobs import JobContext, register_job

from .clocks import SHANGHAI, HolidayCalendar, deadline_add
from .models import (
    AfterSalesEvent,
    AfterSalesPolicy,
    BreachKind,
    ComplaintEvent,
    Escalation,
    EscalationContact,
    EscalationLevel,
    SlaPolicy,
    StaffNotice,
)

BATCH = 5_000
DEFAULT_SECOND_LEVEL_HOURS = 24
REGIONAL_PERMISSION = "service_desk.receive_regional_escalation"

# case table, event table, event FK column, escalation FK column, kind -> (due column, done column)
CASES = {
    "complaint": ("service_desk_complaint", "service_desk_complaintevent", "complaint_id", "complaint_id", {
        BreachKind.ACCEPT: ("accept_due", "accepted_at"),
        BreachKind.REPLY: ("reply_due", "first_replied_at"),
        BreachKind.CLOSE: ("close_due", "closed_at"),
    }),
    "after_sales": ("service_desk_aftersalescase", "service_desk_aftersalesevent", "case_id", "after_sales_id", {
        BreachKind.RESPOND: ("respond_due", "responded_at"),
        BreachKind.RESOLVE: ("resolve_due", "closed_at"),
    }),
    # SD-8: a consultation or suggestion not answered by its reply_due (level 1 only).
    "consultation": ("service_desk_consultation", "service_desk_consultationevent", "consultation_id",
                     "consultation_id", {BreachKind.ANSWER: ("reply_due", "answered_at")}),
}
SECOND_LEVEL_CASES = ("complaint", "after_sales")
STEPS = CASES["complaint"][4]  # kept for callers of the complaint steps

_SWEEP = """
WITH due AS (
    SELECT c.id, c.{due} AS due, s.manager_id
    FROM {table} c JOIN members_store s ON s.id = c.store_id
    WHERE c.{done} IS NULL AND c.{due} < %(now)s
      AND NOT EXISTS (SELECT 1 FROM service_desk_escalation e
                      WHERE e.{esc_fk} = c.id AND e.kind = %(kind)s AND e.level = 1)
    ORDER BY c.id LIMIT %(batch)s
), esc AS (
    INSERT INTO service_desk_escalation ({esc_fk}, kind, level, due, at, manager_id, job_run_id)
    SELECT id, %(kind)s, 1, due, %(now)s, manager_id, %(run)s FROM due
    ON CONFLICT DO NOTHING
    RETURNING id, {esc_fk} AS case_id, manager_id
), events AS (
    INSERT INTO {event_table} ({event_fk}, at, action, from_status, to_status, actor_label, note)
    SELECT case_id, %(now)s, 'breach', '', '', 'sweep_complaints', %(note)s FROM esc
    RETURNING 1
), notices AS (
    INSERT INTO service_desk_staffnotice (user_id, {esc_fk}, kind, text, created_at)
    SELECT manager_id, case_id, %(notice_kind)s, replace(%(text)s, '{{id}}', case_id::text), %(now)s
    FROM esc WHERE manager_id IS NOT NULL
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM due), (SELECT count(*) FROM notices),
       (SELECT coalesce(array_agg(id), '{{}}') FROM esc)
"""

TEXTS = {
    BreachKind.ACCEPT: gettext_noop("Complaint #{id} was not accepted within its time limit."),
    BreachKind.REPLY: gettext_noop("Complaint #{id} has had no reply within its time limit."),
    BreachKind.CLOSE: gettext_noop("Complaint #{id} was not closed within its time limit."),
    BreachKind.RESPOND: gettext_noop("After-sales case #{id} was not responded to within its time limit."),
    BreachKind.RESOLVE: gettext_noop("After-sales case #{id} was not resolved within its time limit."),
    BreachKind.ANSWER: gettext_noop("Consultation #{id} was not answered within its time limit."),
}
REGIONAL_PREFIX = gettext_noop("Second escalation (regional manager): ")


def _texts() -> tuple[dict, dict]:
    with override("zh-hans"):  # stored notice texts are read by staff in the default language
        return ({kind: _(text) for kind, text in TEXTS.items()},
                {kind: str(BreachKind(kind).label) for kind in TEXTS})


def _level_one(now: dt.datetime, run_id: int | None, counts: dict) -> list[int]:
    texts, notes = _texts()
    new_ids: list[int] = []
    for table, event_table, event_fk, esc_fk, steps in CASES.values():
        for kind, (due, done) in steps.items():
            sql = _SWEEP.format(table=table, event_table=event_table, event_fk=event_fk, esc_fk=esc_fk, due=due,
                                done=done)
            while True:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(sql, {"now": now, "kind": kind, "batch": BATCH, "run": run_id, "note": notes[kind],
                                         "notice_kind": f"escalation_{kind}", "text": texts[kind]})
                    found, notices, ids = cursor.fetchone()
                    counts["alerts"] += escalation_alerts_send(ids)  # same transaction as the escalations
                new_ids.extend(ids)
                counts["escalated"] += len(ids)
                counts[f"escalated_{kind}"] = counts.get(f"escalated_{kind}", 0) + len(ids)
                counts["notices"] += notices
                if found < BATCH:
                    break
    return new_ids


def regional_managers_by_store(store_ids: set[int]) -> dict[int, list[int]]:
    """{store id: [user ids]} of the active regional managers (the permission, given directly, by a
    role, or as superuser) covering each store through their EscalationContact."""
    if not store_ids:
        return {}
    allowed = set(get_user_model().objects.with_perm(REGIONAL_PERMISSION, include_superusers=True,
                                                     backend="django.contrib.auth.backends.ModelBackend")
                  .filter(is_active=True).values_list("pk", flat=True))
    out: dict[int, list[int]] = defaultdict(list)
    rows = (EscalationContact.regional_stores.through.objects.filter(store_id__in=store_ids)
            .values_list("store_id", "escalationcontact__user_id").order_by("store_id", "escalationcontact__user_id"))
    for store_id, user_id in rows:
        if user_id in allowed:
            out[store_id].append(user_id)
    return out


def _still_open() -> Q:
    """Complaint and after-sales escalations whose step is still undone."""
    condition = Q()
    for case_kind in SECOND_LEVEL_CASES:
        for kind, (_due, done) in CASES[case_kind][4].items():
            condition |= Q(kind=kind, **{f"{case_kind}__{done}__isnull": True})
    return condition


def _level_two(now: dt.datetime, run_id: int | None, counts: dict) -> list[int]:
    """Level-1 escalations whose step is still undone, past `second_level_hours` on the policy's clock."""
    policies = {("complaint", p.category, p.severity): p for p in SlaPolicy.objects.all()}
    policies.update({("after_sales", p.kind, p.priority): p for p in AfterSalesPolicy.objects.all()})
    done_level2 = Escalation.objects.filter(level=EscalationLevel.REGIONAL_MANAGER, kind=OuterRef("kind")).filter(
        Q(complaint_id=OuterRef("complaint_id"), complaint_id__isnull=False)
        | Q(after_sales_id=OuterRef("after_sales_id"), after_sales_id__isnull=False))
    firsts = list(Escalation.objects.filter(_still_open(), level=EscalationLevel.STORE_MANAGER, due__lt=now)
                  .exclude(Exists(done_level2)).select_related("complaint", "after_sales").order_by("pk"))
    if not firsts:
        return []
    start = min(e.due for e in firsts).astimezone(SHANGHAI).date()
    calendar = HolidayCalendar.load(start, now.astimezone(SHANGHAI).date() + dt.timedelta(days=1))
    due_rows = []
    for e in firsts:
        case = e.complaint or e.after_sales
        key = (("complaint", case.category, case.severity) if e.complaint_id
               else ("after_sales", case.kind, case.priority))
        policy = policies.get(key)
        hours = policy.second_level_hours if policy else DEFAULT_SECOND_LEVEL_HOURS
        if deadline_add(e.due, hours * 60, working_days=bool(policy and policy.working_days),
                        calendar=calendar) <= now:
            due_rows.append((e, case))
    if not due_rows:
        return []
    managers = regional_managers_by_store({case.store_id for _e, case in due_rows})
    texts, notes = _texts()
    with override("zh-hans"):
        prefix = _(REGIONAL_PREFIX)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO service_desk_escalation (complaint_id, after_sales_id, kind, level, due, at, manager_id,
                                                  job_run_id)
               SELECT u.c, u.a, u.k, 2, u.d, %s, u.m, %s
               FROM unnest(%s::bigint[], %s::bigint[], %s::varchar[], %s::timestamptz[], %s::integer[])
                    AS u(c, a, k, d, m)
               ON CONFLICT DO NOTHING RETURNING id, complaint_id, after_sales_id, kind""",
            [now, run_id, [e.complaint_id for e, _c in due_rows], [e.after_sales_id for e, _c in due_rows],
             [e.kind for e, _c in due_rows], [e.due for e, _c in due_rows],
             [(managers.get(c.store_id) or [None])[0] for _e, c in due_rows]],
        )
        inserted = cursor.fetchall()
        by_case = {(e.complaint_id, e.after_sales_id, e.kind): c for e, c in due_rows}
        complaint_events, case_events, notices = [], [], []
        for _id, complaint_id, after_sales_id, kind in inserted:
            case = by_case[(complaint_id, after_sales_id, kind)]
            note = f"{prefix}{notes[kind]}"
            if complaint_id:
                complaint_events.append(ComplaintEvent(complaint_id=complaint_id, at=now, action="breach",
                                                       actor_label="sweep_complaints", note=note))
            else:
                case_events.append(AfterSalesEvent(case_id=after_sales_id, at=now, action="breach",
                                                   actor_label="sweep_complaints", note=note))
            for user_id in managers.get(case.store_id, []):
                notices.append(StaffNotice(user_id=user_id, complaint_id=complaint_id, after_sales_id=after_sales_id,
                                           kind=f"escalation2_{kind}", created_at=now,
                                           text=(prefix + texts[kind].replace("{id}", str(case.pk)))[:300]))
        ComplaintEvent.objects.bulk_create(complaint_events)
        AfterSalesEvent.objects.bulk_create(case_events)
        StaffNotice.objects.bulk_create(notices, ignore_conflicts=True)
        counts["alerts"] += escalation_alerts_send([row[0] for row in inserted])
    counts["escalated_level2"] += len(inserted)
    counts["notices"] += len(notices)
    return [row[0] for row in inserted]


def _case(e: Escalation):
    return e.complaint or e.after_sales or e.consultation


def escalation_alerts_send(escalation_ids: list[int]) -> int:
    """SD-9: each new escalation also by SMS and/or e-mail to its recipients that have an
    EscalationContact (the store manager at level 1, every regional manager of the store at level 2),
    through messaging. Set-wise: a few queries and one bulk send per channel. Returns messages queued."""
    if not escalation_ids:
        return 0
    from messaging.services import messages_send_staff

    escalations = list(Escalation.objects.filter(pk__in=escalation_ids)
                       .select_related("complaint__store", "after_sales__store", "consultation__store")
                       .order_by("pk"))
    regional = regional_managers_by_store({_case(e).store_id for e in escalations
                                           if e.level == EscalationLevel.REGIONAL_MANAGER})
    wanted: list[tuple[Escalation, int]] = []
    for e in escalations:
        case = _case(e)
        users = regional.get(case.store_id, []) if e.level == EscalationLevel.REGIONAL_MANAGER else \
            [e.manager_id] if e.manager_id else []
        wanted.extend((e, user_id) for user_id in users)
    contacts = {c.user_id: c for c in EscalationContact.objects.filter(user_id__in={u for _e, u in wanted})
                .select_related("user")}
    texts, _notes = _texts()
    with override("zh-hans"):
        title_text, prefix = _("Service desk escalation"), _(REGIONAL_PREFIX)
    sms, email = [], []
    for e, user_id in wanted:
        contact = contacts.get(user_id)
        if contact is None:
            continue
        case = _case(e)
        body = texts[e.kind].replace("{id}", str(case.pk))
        if e.level == EscalationLevel.REGIONAL_MANAGER:
            body = prefix + body
        params = {"title": title_text, "body": f"{body} {case.store.code}"}
        key = f"escalation:{e.pk}:user:{user_id}"
        if contact.by_sms and contact.mobile_enc:
            sms.append((crypto.decrypt(contact.mobile_enc), key, params))
        address = contact.email or contact.user.email
        if contact.by_email and address:
            email.append((address, key, params))
    sent = 0
    if sms:
        sent += len(messages_send_staff(template_code="staff_alert", channel="sms", recipients=sms))
    if email:
        sent += len(messages_send_staff(template_code="staff_alert", channel="email", recipients=email))
    return sent


def sweep_complaints_now(*, now=None, run_id: int | None = None) -> dict:
    now = now or timezone.now()
    counts = {"escalated": 0, "escalated_level2": 0, "notices": 0, "alerts": 0}
    _level_one(now, run_id, counts)
    _level_two(now, run_id, counts)
    return counts


@register_job("sweep_complaints", label=gettext_lazy("Check complaint deadlines"))
def sweep_complaints(ctx: JobContext) -> dict:
    return sweep_complaints_now(run_id=ctx.run.pk)
