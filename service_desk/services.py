"""Writes of the service desk (SD-1..4): intake with deadlines, the complaint workflow, escalation,
compensation, rating and follow-up; consultations; FAQ articles.

Every change locks the complaint (or consultation) row first and writes its event row in the same
transaction. Illegal workflow steps raise Conflict (409 in the API, a form error on pages)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from core.errors import Conflict, ValidationFailed
from members import scope
from members.models import Member, Store

from .clocks import deadline_add, deadline_text, deadlines_add
from .locks import complaint_lock, consultation_lock
from .models import (
    Channel,
    Compensation,
    Complaint,
    ComplaintCategory,
    ComplaintEvent,
    ComplaintRating,
    ComplaintStatus,
    Consultation,
    ConsultationEvent,
    ConsultationTimeLimit,
    Department,
    EscalationContact,
    FaqArticle,
    FollowUpCall,
    Severity,
    SeverityLevel,
    SlaPolicy,
    TierSlaShortening,
)
from .search import tokenize

S = ComplaintStatus
A = ComplaintEvent.Action

# SD-3 transition table: action -> (statuses it may start from, status it leads to).
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    A.ACCEPT: (frozenset({S.RECEIVED}), S.ACCEPTED),
    A.START: (frozenset({S.ACCEPTED}), S.IN_PROGRESS),
    A.TRANSFER: (frozenset({S.ACCEPTED, S.IN_PROGRESS}), S.IN_PROGRESS),
    A.REPLY: (frozenset({S.ACCEPTED, S.IN_PROGRESS}), S.REPLIED),
    A.CLOSE: (frozenset({S.REPLIED}), S.CLOSED),
    A.REOPEN: (frozenset({S.REPLIED, S.CLOSED}), S.IN_PROGRESS),
}
WORKFLOW_ACTIONS = tuple(TRANSITIONS)
STAFF_CHANNELS = (Channel.DESK, Channel.HOTLINE, Channel.WECHAT, Channel.EMAIL)
# One choice set for every staff intake (complaints, after-sales): one enum in the API schema.
STAFF_CHANNEL_CHOICES = [(c.value, c.label) for c in STAFF_CHANNELS]
RATABLE = (S.REPLIED, S.CLOSED)

DEFAULT_HOURS = (24, 48, 72)


@dataclass(frozen=True)
class Deadlines:
    accept_due: dt.datetime
    reply_due: dt.datetime
    close_due: dt.datetime


def _label(user) -> str:
    return user.get_username() if user is not None else "system"


def _event(complaint: Complaint, *, action: str, actor=None, label: str | None = None, note: str = "",
           from_status: str = "", to_status: str = "", at: dt.datetime | None = None) -> ComplaintEvent:
    return ComplaintEvent.objects.create(
        complaint=complaint, at=at or timezone.now(), action=action, from_status=from_status, to_status=to_status,
        actor=actor, actor_label=label or _label(actor), note=note,
    )


# ---------------------------------------------------------------- time limits (SD-2)


def complaint_deadlines(*, category: str, severity: str, member: Member | None, received_at: dt.datetime) -> Deadlines:
    """Deadlines from the category × severity policy, shortened by the member's tier percentage, on
    the policy's clock: elapsed hours, or working days only (SD-9, service_desk.clocks)."""
    policy = SlaPolicy.objects.filter(category=category, severity=severity).first()
    level = None if policy else SeverityLevel.objects.filter(severity=severity).first()
    source = policy or level  # the category's own limits, else the severity's defaults (issue 16)
    hours = (source.accept_hours, source.reply_hours, source.close_hours) if source else DEFAULT_HOURS
    percent = 0
    if member is not None:
        percent = TierSlaShortening.objects.filter(tier_id=member.tier_id).values_list("percent", flat=True).first() or 0
    factor = (100 - percent) / 100
    accept, reply, close = deadlines_add(received_at, [round(h * 60 * factor) for h in hours],
                                         working_days=bool(policy and policy.working_days))
    return Deadlines(accept_due=accept, reply_due=reply, close_due=close)


def complaint_intake_notice(complaint: Complaint) -> str:
    """What the customer is told at intake (003 3.5 承诺并告知客户处理时限), in Chinese, local time:
    shown on the desk confirmation and sent to the member."""
    with override("zh-hans"):
        return _("Complaint #%(id)s is registered. We will reply by %(reply)s and settle it by %(close)s.") % {
            "id": complaint.pk, "reply": deadline_text(complaint.reply_due), "close": deadline_text(complaint.close_due)}


# ---------------------------------------------------------------- intake (SD-1)


def _check_choice(value: str, choices, field: str, errors: dict) -> None:
    if value not in {c for c, _label in choices}:
        errors[field] = [_("Choose one of the listed values.")]


@transaction.atomic
def complaint_file(
    *, channel: str, category: str, severity: str = Severity.NORMAL, store: Store, description: str,
    member: Member | None = None, order_no: str = "", contact_name: str = "", department: Department | None = None,
    assignee=None, staff=None, request_id: str | None = None,
) -> Complaint:
    """Record a complaint and its deadlines. Staff record desk/hotline/WeChat/e-mail complaints (in their
    store scope); the portal channel comes from the member (staff=None) and needs the member."""
    if request_id and (existing := Complaint.objects.filter(request_id=request_id).first()):
        return existing
    errors: dict[str, list[str]] = {}
    _check_choice(channel, Channel.choices, "channel", errors)
    _check_choice(category, ComplaintCategory.choices, "category", errors)
    _check_choice(severity, Severity.choices, "severity", errors)
    description = (description or "").strip()
    if len(description) < 5:
        errors["description"] = [_("Describe what happened (at least 5 characters).")]
    if staff is None:
        if channel != Channel.PORTAL or member is None:
            errors["channel"] = [_("Members file complaints through the portal.")]
    else:
        if channel not in STAFF_CHANNELS:
            errors["channel"] = [_("Staff record complaints from the desk, hotline, WeChat or e-mail.")]
        # The store is the one the complaint is about (in the staff member's scope); the member may
        # belong to any store, since members shop in every store of the chain.
        scope.require_store(staff, store)
    if member is None and not contact_name.strip() and staff is not None:
        errors["contact_name"] = [_("Give the member or at least the customer's name.")]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), fields=errors)
    now = timezone.now()
    deadlines = complaint_deadlines(category=category, severity=severity, member=member, received_at=now)
    try:
        with transaction.atomic():
            complaint = Complaint.objects.create(
                channel=channel, category=category, severity=severity, store=store, member=member,
                contact_name=contact_name.strip(), order_no=order_no.strip(), description=description,
                department=department, assignee=assignee, received_at=now, accept_due=deadlines.accept_due,
                reply_due=deadlines.reply_due, close_due=deadlines.close_due, created_by=staff,
                request_id=request_id or None,
            )
    except IntegrityError:
        if request_id:
            return Complaint.objects.get(request_id=request_id)
        raise
    _event(complaint, action=A.INTAKE, actor=staff, label=None if staff else "member", to_status=S.RECEIVED,
           note=Channel(channel).label, at=now)
    if member is not None:
        from messaging.services import notify_member

        # 003 3.5: the member is told the deadline; by SMS too when staff took it down (desk, hotline).
        with override("zh-hans"):
            title = _("Your complaint is registered")
        notify_member(member=member, kind="complaint_intake", ref=f"complaint:{complaint.pk}", title=title,
                      body=complaint_intake_notice(complaint), sms=staff is not None)
    return complaint


# ---------------------------------------------------------------- workflow (SD-3)


@transaction.atomic
def complaint_transition(
    *, complaint: Complaint, action: str, staff, note: str = "", department: Department | None = None,
    assignee=None,
) -> Complaint:
    """Move a complaint along the transition table; every step is logged with who, when and the note."""
    if action not in TRANSITIONS:
        raise ValidationFailed(_("Unknown action."), fields={"action": [_("Choose one of: %(a)s.")
                                                                        % {"a": ", ".join(WORKFLOW_ACTIONS)}]})
    complaint = complaint_lock(complaint.pk)
    scope.require_store(staff, complaint.store)
    sources, target = TRANSITIONS[action]
    if complaint.status not in sources:
        raise Conflict(
            _("A complaint that is %(status)s cannot be %(action)s.") % {
                "status": complaint.get_status_display(), "action": A(action).label.lower()},
            code="illegal_transition",
        )
    note = (note or "").strip()
    now = timezone.now()
    fields = ["status"]
    if action == A.TRANSFER:
        if department is None and assignee is None:
            raise ValidationFailed(_("Transfer to a department or a staff member."),
                                   fields={"department": [_("Choose a department or an assignee.")]})
        moves = []
        if department is not None and department.pk != complaint.department_id:
            moves.append(f"{_('department')}: {complaint.department or '-'} → {department}")
            complaint.department = department
        if assignee is not None and assignee.pk != complaint.assignee_id:
            moves.append(f"{_('assignee')}: {_label(complaint.assignee) if complaint.assignee else '-'} → "
                         f"{_label(assignee)}")
            complaint.assignee = assignee
        if not moves:
            raise Conflict(_("The complaint is already with that department and staff member."), code="no_change")
        note = "; ".join(moves) + (f" — {note}" if note else "")
        fields += ["department", "assignee"]
    if action == A.ACCEPT:
        complaint.accepted_at = now
        if complaint.assignee_id is None:
            complaint.assignee = staff
        fields += ["accepted_at", "assignee"]
    if action == A.REPLY:
        if not note:
            raise ValidationFailed(_("Write the reply to the customer."), fields={"note": [_("Required.")]})
        complaint.reply = note
        fields.append("reply")
        if complaint.first_replied_at is None:
            complaint.first_replied_at = now
            fields.append("first_replied_at")
    if action == A.CLOSE:
        complaint.closed_at = now
        fields.append("closed_at")
    if action == A.REOPEN:
        if not note:
            raise ValidationFailed(_("Say why the complaint is reopened."), fields={"note": [_("Required.")]})
        complaint.closed_at = None
        complaint.loop_closed_at = None
        fields += ["closed_at", "loop_closed_at"]
    from_status = complaint.status
    complaint.status = target
    complaint.save(update_fields=fields)
    _event(complaint, action=action, actor=staff, from_status=from_status, to_status=target, note=note, at=now)
    if complaint.member_id and action in (A.REPLY, A.CLOSE):
        from messaging.services import notify_member

        count = complaint.events.filter(action=action).count()
        if action == A.REPLY:
            title, body = _("Reply to your complaint"), note[:300]
        else:
            title, body = _("Complaint closed"), _("Complaint #%(id)s is closed. You can rate how it was handled "
                                                   "on the member portal.") % {"id": complaint.pk}
        notify_member(member=complaint.member, kind=f"complaint_{action}", ref=f"complaint:{complaint.pk}:{action}:{count}",
                      title=title, body=body, sms=False)
    return complaint


# ---------------------------------------------------------------- resolution


@transaction.atomic
def complaint_compensate(
    *, complaint: Complaint, staff, reason: str, points: int | None = None, coupon_type=None,
) -> list[Compensation]:
    """Grant points (ledger credit) and/or a coupon (coupon service), each at most once per complaint."""
    from points.models import Coupon, Entry
    from points.services.ledger import Source, credit
    from points.services.redemption import coupon_issue

    if not points and coupon_type is None:
        raise ValidationFailed(_("Give points or a coupon."), fields={"points": [_("Give points or a coupon.")]})
    if points is not None and points <= 0:
        raise ValidationFailed(_("Points must be positive."), fields={"points": [_("Points must be positive.")]})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Give the reason."), fields={"reason": [_("Required.")]})
    complaint = complaint_lock(complaint.pk)
    scope.require_store(staff, complaint.store)
    if complaint.member_id is None:
        raise Conflict(_("Only a complaint linked to a member can be compensated."), code="no_member")
    if complaint.status == S.RECEIVED:
        raise Conflict(_("Accept the complaint before granting compensation."), code="illegal_transition")
    kinds = [k for k, given in ((Compensation.Kind.POINTS, points), (Compensation.Kind.COUPON, coupon_type)) if given]
    done = set(Compensation.objects.filter(complaint=complaint, kind__in=kinds).values_list("kind", flat=True))
    if done:
        raise Conflict(_("This complaint was already compensated with %(kind)s.") % {
            "kind": ", ".join(str(Compensation.Kind(k).label) for k in sorted(done))}, code="already_compensated")
    member = complaint.member
    now = timezone.now()
    made = []
    ref = f"complaint:{complaint.pk}"
    if points:
        entry = credit(member=member, points=points, idem_key=f"{ref}:points", kind=Entry.Kind.ADJUSTMENT,
                       source=Source(store_id=complaint.store_id, staff_id=staff.pk, reason=reason, ref=ref))
        made.append(Compensation.objects.create(complaint=complaint, kind=Compensation.Kind.POINTS, points=points,
                                                entry=entry, reason=reason, staff=staff, at=now))
    if coupon_type is not None:
        coupon = coupon_issue(member=member, coupon_type=coupon_type, source=Coupon.Source.COMPENSATION,
                              reason=reason, idem_key=f"{ref}:coupon", staff=staff)
        made.append(Compensation.objects.create(complaint=complaint, kind=Compensation.Kind.COUPON, coupon=coupon,
                                                reason=reason, staff=staff, at=now))
    summary = "; ".join(
        f"{c.points} {_('points')}" if c.kind == Compensation.Kind.POINTS else f"{_('coupon')} {c.coupon.type.name}"
        for c in made
    )
    _event(complaint, action=A.COMPENSATE, actor=staff, note=f"{summary} — {reason}", at=now)
    return made


@transaction.atomic
def complaint_rate(*, complaint_id: int, member: Member, score: int, comment: str = "") -> ComplaintRating:
    """The member rates the handling once, only after a reply or the close (portal)."""
    complaint = complaint_lock(complaint_id, member_id=member.pk)
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise ValidationFailed(_("Choose a rating from 1 to 5."), fields={"score": [_("Choose a rating from 1 to 5.")]})
    if complaint.status not in RATABLE:
        raise Conflict(_("You can rate the handling once we have replied."), code="not_ratable")
    if ComplaintRating.objects.filter(complaint=complaint).exists():
        raise Conflict(_("You have already rated this complaint."), code="already_rated")
    now = timezone.now()
    rating = ComplaintRating.objects.create(complaint=complaint, score=score, comment=(comment or "").strip()[:500],
                                            at=now)
    _event(complaint, action=A.RATE, label="member", note=f"{score}/5 {rating.comment}".strip(), at=now)
    return rating


@transaction.atomic
def complaint_follow_up(*, complaint: Complaint, staff, reached: bool, outcome: str) -> FollowUpCall:
    """Record a follow-up call on a closed complaint; a call that reached the customer closes the loop."""
    complaint = complaint_lock(complaint.pk)
    scope.require_store(staff, complaint.store)
    outcome = (outcome or "").strip()
    if not outcome:
        raise ValidationFailed(_("Write the outcome of the call."), fields={"outcome": [_("Required.")]})
    if complaint.status != S.CLOSED:
        raise Conflict(_("Follow-up calls are made after the complaint is closed."), code="illegal_transition")
    if complaint.loop_closed_at is not None:
        raise Conflict(_("The follow-up of this complaint is already done."), code="loop_closed")
    now = timezone.now()
    call = FollowUpCall.objects.create(complaint=complaint, staff=staff, at=now, reached=reached, outcome=outcome)
    if reached:
        complaint.loop_closed_at = now
        complaint.save(update_fields=["loop_closed_at"])
    _event(complaint, action=A.FOLLOW_UP, actor=staff,
           note=f"{_('reached') if reached else _('not reached')}: {outcome}", at=now)
    return call


# ---------------------------------------------------------------- consultations (SD-4, SD-8)

C = Consultation.Status
CONSULTATION_TRANSITIONS = {
    "answer": (frozenset({C.RECEIVED}), C.ANSWERED),
    "transfer": (frozenset({C.RECEIVED}), C.RECEIVED),
    "close": (frozenset({C.ANSWERED}), C.CLOSED),
}
DEFAULT_CONSULTATION_HOURS = 24


def consultation_reply_due(*, channel: str, received_at: dt.datetime) -> dt.datetime:
    """SD-8 (003 3.4 线上咨询一般情况下不应超过一个工作日): the channel's limit, on its clock."""
    limit = ConsultationTimeLimit.objects.filter(channel=channel).first()
    hours, working = (limit.reply_hours, limit.working_days) if limit else (DEFAULT_CONSULTATION_HOURS, True)
    return deadline_add(received_at, hours * 60, working_days=working)


def _consultation_event(item: Consultation, *, action: str, staff, at: dt.datetime, from_status: str = "",
                        to_status: str = "", note: str = "") -> ConsultationEvent:
    return ConsultationEvent.objects.create(consultation=item, at=at, action=action, from_status=from_status,
                                            to_status=to_status, actor=staff,
                                            actor_label=_label(staff) if staff else "member", note=note[:2000])


@transaction.atomic
def consultation_log(
    *, kind: str, category: str, channel: str, store: Store, question: str, staff=None, member: Member | None = None,
    contact_name: str = "", department: Department | None = None,
) -> Consultation:
    """Log a consultation or suggestion with its reply deadline (SD-4, SD-8)."""
    errors: dict[str, list[str]] = {}
    _check_choice(kind, Consultation.Kind.choices, "kind", errors)
    _check_choice(category, Consultation.Category.choices, "category", errors)
    _check_choice(channel, Channel.choices, "channel", errors)
    question = (question or "").strip()
    if len(question) < 2:
        errors["question"] = [_("Required.")]
    elif len(question) > 2000:
        errors["question"] = [_("At most 2000 characters.")]
    if staff is not None:
        scope.require_store(staff, store)
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), fields=errors)
    now = timezone.now()
    item = Consultation.objects.create(kind=kind, category=category, channel=channel, store=store, member=member,
                                       contact_name=contact_name.strip(), question=question, received_at=now,
                                       reply_due=consultation_reply_due(channel=channel, received_at=now),
                                       department=department, created_by=staff)
    _consultation_event(item, action="intake", staff=staff, at=now, to_status=C.RECEIVED)
    return item


def consultation_intake_notice(item: Consultation) -> str:
    """The answer deadline as told to the customer (003 3.5), Chinese, local time."""
    with override("zh-hans"):
        return _("Your message #%(id)s is registered. We will answer by %(due)s.") % {
            "id": item.pk, "due": deadline_text(item.reply_due)}


@transaction.atomic
def consultation_transition(*, consultation: Consultation, action: str, staff, answer: str = "",
                            faq: FaqArticle | None = None, department: Department | None = None,
                            note: str = "") -> Consultation:
    """answer / close, or transfer to another department (SD-8), each logged as an event."""
    if action not in CONSULTATION_TRANSITIONS:
        raise ValidationFailed(_("Unknown action."), fields={"action": [_("Choose answer, transfer or close.")]})
    item = consultation_lock(consultation.pk)
    scope.require_store(staff, item.store)
    sources, target = CONSULTATION_TRANSITIONS[action]
    if item.status not in sources:
        raise Conflict(_("A consultation that is %(status)s cannot be %(action)s.") % {
            "status": item.get_status_display(), "action": action}, code="illegal_transition")
    now = timezone.now()
    answer = (answer or "").strip()
    note = (note or "").strip()[:500]
    if action == "answer":
        if not answer and faq is None:
            raise ValidationFailed(_("Write the answer or pick a FAQ article."), fields={"answer": [_("Required.")]})
        item.answer = answer or faq.body
        item.faq = faq
        item.answered_at = now
        note = answer
    elif action == "transfer":
        if department is None:
            raise ValidationFailed(_("Choose the department."), fields={"department": [_("Required.")]})
        if department.pk == item.department_id:
            raise Conflict(_("The consultation is already with that department."), code="no_change")
        note = f"{item.department or '-'} → {department}" + (f" — {note}" if note else "")
        item.department = department
    else:
        item.closed_at = now
    from_status, item.status = item.status, target
    item.save()
    _consultation_event(item, action=action, staff=staff, at=now, from_status=from_status, to_status=target,
                        note=note)
    return item


@transaction.atomic
def suggestion_decide(*, consultation: Consultation, staff, adopted: bool, feedback: str) -> Consultation:
    """A suggestion is adopted or not, with feedback the member sees on the portal and receives as a
    notice (002 五(三)3 对于会员提出的合理建议…及时向会员反馈建议采纳情况; SD-8). Deciding answers it."""
    item = consultation_lock(consultation.pk)
    scope.require_store(staff, item.store)
    feedback = (feedback or "").strip()
    if item.kind != Consultation.Kind.SUGGESTION:
        raise Conflict(_("Only suggestions are adopted or not."), code="not_a_suggestion")
    if item.decision:
        raise Conflict(_("This suggestion has already been decided."), code="already_decided")
    if not feedback:
        raise ValidationFailed(_("Write the feedback to the member."), fields={"feedback": [_("Required.")]})
    if len(feedback) > 2000:
        raise ValidationFailed(_("At most 2000 characters."), fields={"feedback": [_("At most 2000 characters.")]})
    now = timezone.now()
    item.decision = Consultation.Decision.ADOPTED if adopted else Consultation.Decision.NOT_ADOPTED
    item.decision_feedback, item.decided_at, item.decided_by = feedback, now, staff
    from_status = item.status
    if item.status == C.RECEIVED:
        item.status, item.answer, item.answered_at = C.ANSWERED, feedback, now
    item.save()
    _consultation_event(item, action="decide", staff=staff, at=now, from_status=from_status, to_status=item.status,
                        note=f"{item.get_decision_display()}: {feedback}")
    if item.member_id:
        from messaging.services import notify_member

        with override("zh-hans"):
            title = _("Your suggestion was adopted") if adopted else _("About your suggestion")
        notify_member(member=item.member, kind="suggestion_decision", ref=f"consultation:{item.pk}", title=title,
                      body=feedback[:300], sms=False)
    return item


# ---------------------------------------------------------------- FAQ (SD-4)


def faq_article_save(*, article: FaqArticle | None = None, title: str, body: str, category: str, published: bool,
                     staff=None) -> FaqArticle:
    """Create or update an article and its search tokens (the only writer of FaqArticle)."""
    title, body = (title or "").strip(), (body or "").strip()
    errors = {}
    if not title:
        errors["title"] = [_("Required.")]
    if not body:
        errors["body"] = [_("Required.")]
    _check_choice(category, Consultation.Category.choices, "category", errors)
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), fields=errors)
    article = article or FaqArticle()
    article.title, article.body, article.category, article.published = title, body, category, published
    article.title_tokens = tokenize(title)
    article.body_tokens = tokenize(body)
    article.tokens = list(dict.fromkeys(article.title_tokens + article.body_tokens))
    article.updated_by = staff
    article.save()
    return article



# ---------------------------------------------------------------- escalation contacts (SD-9)


@transaction.atomic
def escalation_contact_save(*, user, mobile: str | None = None, email: str = "", by_sms: bool = True,
                            by_email: bool = True, regional_stores=None) -> EscalationContact:
    """How a manager is reached by SMS / e-mail when a time limit is breached. `mobile` None keeps the
    stored number, "" removes it; a number is checked and kept encrypted (shown masked)."""
    from core import crypto
    from members.validation import normalize_mobile

    contact, _created = EscalationContact.objects.get_or_create(user=user)
    if mobile is not None:
        mobile = mobile.strip()
        if mobile:
            try:
                mobile = normalize_mobile(mobile)
            except ValueError as exc:
                raise ValidationFailed(_("Please correct the marked fields."), fields={"mobile": [str(exc)]}) from None
        contact.mobile_enc = crypto.encrypt(mobile) if mobile else ""
        contact.mobile_masked = crypto.mask_mobile(mobile) if mobile else ""
    contact.email, contact.by_sms, contact.by_email = (email or "").strip(), by_sms, by_email
    contact.save()
    if regional_stores is not None:
        contact.regional_stores.set(regional_stores)
    return contact


# ---------------------------------------------------------------- severities' default limits (issue 16)


@transaction.atomic
def severity_defaults_apply(*, level: SeverityLevel) -> int:
    """Give every category's policy of this severity the severity's default hours (admin action); returns
    how many policies changed. Complaints already filed keep the deadlines they were given."""
    return (SlaPolicy.objects.filter(severity=level.severity)
            .exclude(accept_hours=level.accept_hours, reply_hours=level.reply_hours, close_hours=level.close_hours)
            .update(accept_hours=level.accept_hours, reply_hours=level.reply_hours, close_hours=level.close_hours))
