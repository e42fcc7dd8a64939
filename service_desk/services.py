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

from core.errors import Conflict, ValidationFailed
from members import scope
from members.models import Member, Store

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
    Department,
    FaqArticle,
    FollowUpCall,
    Severity,
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
    """Deadlines from the category × severity policy, shortened by the member's tier percentage."""
    policy = SlaPolicy.objects.filter(category=category, severity=severity).first()
    hours = (policy.accept_hours, policy.reply_hours, policy.close_hours) if policy else DEFAULT_HOURS
    percent = 0
    if member is not None:
        percent = TierSlaShortening.objects.filter(tier_id=member.tier_id).values_list("percent", flat=True).first() or 0
    factor = (100 - percent) / 100
    accept, reply, close = (received_at + dt.timedelta(minutes=round(h * 60 * factor)) for h in hours)
    return Deadlines(accept_due=accept, reply_due=reply, close_due=close)


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


# ---------------------------------------------------------------- consultations (SD-4)

C = Consultation.Status
CONSULTATION_TRANSITIONS = {"answer": (frozenset({C.RECEIVED}), C.ANSWERED), "close": (frozenset({C.ANSWERED}), C.CLOSED)}


@transaction.atomic
def consultation_log(
    *, kind: str, category: str, channel: str, store: Store, question: str, staff=None, member: Member | None = None,
    contact_name: str = "",
) -> Consultation:
    errors: dict[str, list[str]] = {}
    _check_choice(kind, Consultation.Kind.choices, "kind", errors)
    _check_choice(category, Consultation.Category.choices, "category", errors)
    _check_choice(channel, Channel.choices, "channel", errors)
    question = (question or "").strip()
    if len(question) < 2:
        errors["question"] = [_("Required.")]
    if staff is not None:
        scope.require_store(staff, store)
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), fields=errors)
    now = timezone.now()
    item = Consultation.objects.create(kind=kind, category=category, channel=channel, store=store, member=member,
                                       contact_name=contact_name.strip(), question=question, received_at=now,
                                       created_by=staff)
    ConsultationEvent.objects.create(consultation=item, at=now, action="intake", to_status=C.RECEIVED, actor=staff,
                                     actor_label=_label(staff) if staff else "member")
    return item


@transaction.atomic
def consultation_transition(*, consultation: Consultation, action: str, staff, answer: str = "",
                            faq: FaqArticle | None = None) -> Consultation:
    if action not in CONSULTATION_TRANSITIONS:
        raise ValidationFailed(_("Unknown action."), fields={"action": [_("Choose answer or close.")]})
    item = consultation_lock(consultation.pk)
    scope.require_store(staff, item.store)
    sources, target = CONSULTATION_TRANSITIONS[action]
    if item.status not in sources:
        raise Conflict(_("A consultation that is %(status)s cannot be %(action)s.") % {
            "status": item.get_status_display(), "action": action}, code="illegal_transition")
    now = timezone.now()
    answer = (answer or "").strip()
    if action == "answer":
        if not answer and faq is None:
            raise ValidationFailed(_("Write the answer or pick a FAQ article."), fields={"answer": [_("Required.")]})
        item.answer = answer or faq.body
        item.faq = faq
        item.answered_at = now
    else:
        item.closed_at = now
    from_status, item.status = item.status, target
    item.save()
    ConsultationEvent.objects.create(consultation=item, at=now, action=action, from_status=from_status,
                                     to_status=target, actor=staff, actor_label=_label(staff), note=answer[:500])
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

