"""Writes of after-sales cases (售后, SD-7; 001 3.4 产品售后服务的处理流程, 002 五(一)2 售后服务, 003 3.2
售后服务沟通): intake with the respond / resolve deadlines of the policy, the answer to the customer,
hand-offs to a vendor or workshop and their return, closing with the resolution, and the
satisfaction check within the policy's working days after closing (001 3.4 "在3个工作日内").

received → in progress (respond) ⇄ with the vendor (hand off / back) → closed. Every step locks the
case row and writes its event in the same transaction; an illegal step raises Conflict. Closing
is what member care reads through core.service_cases (service_desk.case_feed: a follow-up visit)."""
from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from core.errors import Conflict, ValidationFailed
from members import scope
from members.models import Member, Store

from .clocks import deadline_add, deadline_text, deadlines_add
from .locks import after_sales_lock
from .models import (
    AfterSalesCase,
    AfterSalesEvent,
    AfterSalesHandoff,
    AfterSalesKind,
    AfterSalesPolicy,
    AfterSalesPriority,
    AfterSalesStatus,
    Channel,
)
from .services import STAFF_CHANNELS

S = AfterSalesStatus
A = AfterSalesEvent.Action
DEFAULT_HOURS = (24, 48)  # 001 3.4 / issue 15: respond within 24 h, resolve within 48 h
DEFAULT_SATISFACTION_DAYS = 3
RATING_CHANNELS = ("portal", "phone", "desk")
# Buttons per status; the services below enforce the same rules.
ACTIONS_BY_STATUS = {
    S.RECEIVED: ["respond", "handoff"],
    S.IN_PROGRESS: ["handoff", "close"],
    S.AT_VENDOR: ["return"],
    S.CLOSED: [],
}


def _label(user) -> str:
    return user.get_username() if user is not None else "member"


def _event(case: AfterSalesCase, *, action: str, actor=None, at: dt.datetime, note: str = "", from_status: str = "",
           to_status: str = "") -> AfterSalesEvent:
    return AfterSalesEvent.objects.create(case=case, at=at, action=action, from_status=from_status,
                                          to_status=to_status, actor=actor, actor_label=_label(actor),
                                          note=note[:2000])


def _policy(kind: str, priority: str) -> AfterSalesPolicy | None:
    return AfterSalesPolicy.objects.filter(kind=kind, priority=priority).first()


def after_sales_deadlines(*, kind: str, priority: str, received_at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """(respond by, resolve by) from the kind × priority policy, on its clock (service_desk.clocks)."""
    policy = _policy(kind, priority)
    hours = (policy.respond_hours, policy.resolve_hours) if policy else DEFAULT_HOURS
    respond, resolve = deadlines_add(received_at, [h * 60 for h in hours],
                                     working_days=bool(policy and policy.working_days))
    return respond, resolve


def after_sales_intake_notice(case: AfterSalesCase) -> str:
    """What the customer is told at intake (003 3.5), in Chinese, local time."""
    with override("zh-hans"):
        return _("After-sales case #%(id)s is registered. We will contact you by %(respond)s and resolve it by "
                 "%(resolve)s.") % {"id": case.pk, "respond": deadline_text(case.respond_due),
                                    "resolve": deadline_text(case.resolve_due)}


def _notify(case: AfterSalesCase, *, kind: str, title: str, body: str, sms: bool) -> None:
    if case.member_id is None:
        return
    from messaging.services import notify_member

    notify_member(member=case.member, kind=kind, ref=f"after_sales:{case.pk}", title=title, body=body, sms=sms)


def _text(value: str, field: str, errors: dict, *, limit: int, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        errors[field] = [_("Required.")]
    elif len(value) > limit:
        errors[field] = [_("At most %(n)s characters.") % {"n": limit}]
    return value


@transaction.atomic
def after_sales_open(
    *, kind: str, channel: str, store: Store, product: str, description: str,
    priority: str = AfterSalesPriority.STANDARD, member: Member | None = None, contact_name: str = "",
    order_no: str = "", assignee=None, staff=None, request_id: str | None = None,
) -> AfterSalesCase:
    """Record an after-sales case and its deadlines. Staff record desk / hotline / WeChat / e-mail
    cases in their store scope; the portal channel comes from the member (staff=None)."""
    if request_id and (existing := AfterSalesCase.objects.filter(request_id=request_id).first()):
        return existing
    errors: dict[str, list[str]] = {}
    if kind not in AfterSalesKind.values:
        errors["kind"] = [_("Choose one of the listed values.")]
    if priority not in AfterSalesPriority.values:
        errors["priority"] = [_("Choose one of the listed values.")]
    product = _text(product, "product", errors, limit=200)
    description = _text(description, "description", errors, limit=2000)
    order_no = _text(order_no, "order_no", errors, limit=40, required=False)
    contact_name = _text(contact_name, "contact_name", errors, limit=50, required=False)
    if staff is None:
        if member is None:
            errors["member"] = [_("Sign in to register an after-sales request.")]
        if channel != Channel.PORTAL:
            errors["channel"] = [_("Members register after-sales requests through the portal.")]
    else:
        if channel not in STAFF_CHANNELS:
            errors["channel"] = [_("Staff record cases from the desk, hotline, WeChat or e-mail.")]
        scope.require_store(staff, store)
        if member is None and not contact_name:
            errors["contact_name"] = [_("Give the member or at least the customer's name.")]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), fields=errors)
    now = timezone.now()
    respond_due, resolve_due = after_sales_deadlines(kind=kind, priority=priority, received_at=now)
    try:
        with transaction.atomic():
            case = AfterSalesCase.objects.create(
                kind=kind, priority=priority, channel=channel, store=store, member=member, contact_name=contact_name,
                order_no=order_no, product=product, description=description, assignee=assignee, received_at=now,
                respond_due=respond_due, resolve_due=resolve_due, created_by=staff, request_id=request_id or None,
            )
    except IntegrityError:
        if request_id:
            return AfterSalesCase.objects.get(request_id=request_id)
        raise
    _event(case, action=A.INTAKE, actor=staff, at=now, to_status=S.RECEIVED, note=str(Channel(channel).label))
    with override("zh-hans"):
        title = _("Your after-sales request is registered")
    _notify(case, kind="after_sales_intake", title=title, body=after_sales_intake_notice(case), sms=staff is not None)
    return case


def _locked(case: AfterSalesCase, staff) -> AfterSalesCase:
    case = after_sales_lock(case.pk)
    scope.require_store(staff, case.store)
    return case


def _refuse(case: AfterSalesCase, action: str) -> Conflict:
    return Conflict(_("An after-sales case that is %(status)s cannot be %(action)s.") % {
        "status": case.get_status_display(), "action": str(A(action).label).lower()}, code="illegal_transition")


def _move(case: AfterSalesCase, *, target: str, action: str, staff, now: dt.datetime, note: str,
          fields: list[str]) -> AfterSalesCase:
    from_status, case.status = case.status, target
    case.save(update_fields=["status", *fields])
    _event(case, action=action, actor=staff, at=now, from_status=from_status, to_status=target, note=note)
    return case


@transaction.atomic
def after_sales_respond(*, case: AfterSalesCase, staff, note: str) -> AfterSalesCase:
    """First answer to the customer (stops the respond clock); the note is what was said or agreed."""
    errors: dict = {}
    note = _text(note, "note", errors, limit=2000)
    if errors:
        raise ValidationFailed(_("Say what the customer was told."), fields=errors)
    case = _locked(case, staff)
    if case.status != S.RECEIVED:
        raise _refuse(case, A.RESPOND)
    now = timezone.now()
    case.responded_at = now
    fields = ["responded_at"]
    if case.assignee_id is None:
        case.assignee = staff
        fields.append("assignee")
    return _move(case, target=S.IN_PROGRESS, action=A.RESPOND, staff=staff, now=now, note=note, fields=fields)


@transaction.atomic
def after_sales_handoff(*, case: AfterSalesCase, staff, vendor: str, reference: str = "",
                        note: str = "") -> AfterSalesHandoff:
    """Hand the goods to a vendor, brand workshop or parts supplier (who, when, their reference).
    Handing off a case not yet answered counts as the response."""
    errors: dict = {}
    vendor = _text(vendor, "vendor", errors, limit=100)
    reference = _text(reference, "reference", errors, limit=60, required=False)
    note = _text(note, "note", errors, limit=500, required=False)
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), fields=errors)
    case = _locked(case, staff)
    if case.status not in (S.RECEIVED, S.IN_PROGRESS):
        raise _refuse(case, A.HANDOFF)
    now = timezone.now()
    fields = []
    if case.responded_at is None:
        case.responded_at = now
        fields.append("responded_at")
    if case.assignee_id is None:
        case.assignee = staff
        fields.append("assignee")
    handoff = AfterSalesHandoff.objects.create(case=case, vendor=vendor, reference=reference, note=note, sent_at=now,
                                               sent_by=staff)
    _move(case, target=S.AT_VENDOR, action=A.HANDOFF, staff=staff, now=now,
          note=f"{vendor}{f' ({reference})' if reference else ''}{f' — {note}' if note else ''}", fields=fields)
    return handoff


@transaction.atomic
def after_sales_return(*, case: AfterSalesCase, staff, note: str) -> AfterSalesHandoff:
    """The goods came back from the vendor; `note` is the vendor's outcome."""
    errors: dict = {}
    note = _text(note, "note", errors, limit=500)
    if errors:
        raise ValidationFailed(_("Write what the vendor did."), fields=errors)
    case = _locked(case, staff)
    if case.status != S.AT_VENDOR:
        raise _refuse(case, A.RETURN)
    handoff = case.handoffs.get(returned_at__isnull=True)  # guarded by the case lock
    now = timezone.now()
    handoff.returned_at, handoff.returned_by, handoff.return_note = now, staff, note
    handoff.save(update_fields=["returned_at", "returned_by", "return_note"])
    _move(case, target=S.IN_PROGRESS, action=A.RETURN, staff=staff, now=now, note=f"{handoff.vendor}: {note}",
          fields=[])
    return handoff


def satisfaction_due(*, closed_at: dt.datetime, kind: str, priority: str) -> dt.datetime:
    """001 3.4: the satisfaction check within N working days after closing (policy, default 3)."""
    policy = _policy(kind, priority)
    days = policy.satisfaction_days if policy else DEFAULT_SATISFACTION_DAYS
    return deadline_add(closed_at, days * 24 * 60, working_days=True)


@transaction.atomic
def after_sales_close(*, case: AfterSalesCase, staff, resolution: str) -> AfterSalesCase:
    """Resolve and close: the member is told the resolution and asked to rate it (the satisfaction
    check, due within the policy's working days); care finds it through core.service_cases."""
    errors: dict = {}
    resolution = _text(resolution, "resolution", errors, limit=2000)
    if errors:
        raise ValidationFailed(_("Write how the case was resolved."), fields=errors)
    case = _locked(case, staff)
    if case.status == S.AT_VENDOR:
        raise Conflict(_("The goods are still with the vendor: record their return first."), code="at_vendor")
    if case.status != S.IN_PROGRESS:
        raise _refuse(case, A.CLOSE)
    now = timezone.now()
    case.closed_at, case.resolution = now, resolution
    case.satisfaction_due = satisfaction_due(closed_at=now, kind=case.kind, priority=case.priority)
    _move(case, target=S.CLOSED, action=A.CLOSE, staff=staff, now=now, note=resolution,
          fields=["closed_at", "resolution", "satisfaction_due"])
    with override("zh-hans"):
        title = _("Your after-sales case is resolved")
        body = _("After-sales case #%(id)s: %(resolution)s Please rate our service on the member portal by "
                 "%(due)s.") % {"id": case.pk, "resolution": resolution[:200], "due": deadline_text(case.satisfaction_due)}
    _notify(case, kind="after_sales_closed", title=title, body=body, sms=True)
    return case


@transaction.atomic
def after_sales_rate(*, case_id: int, score: int, comment: str = "", member: Member | None = None, staff=None,
                     channel: str = "portal") -> AfterSalesCase:
    """Record the satisfaction check once: the member on the portal, or staff from a phone call or at
    the desk (`channel`)."""
    if (member is None) == (staff is None):
        raise ValueError("either the member or staff rates")
    case = after_sales_lock(case_id, member_id=member.pk if member else None)
    if staff is not None:
        scope.require_store(staff, case.store)
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
        raise ValidationFailed(_("Choose a rating from 1 to 5."), fields={"score": [_("Choose a rating from 1 to 5.")]})
    if channel not in RATING_CHANNELS or (member is not None and channel != "portal"):
        raise ValidationFailed(_("Choose how the rating was given."), fields={"channel": [_("Choose one of the listed values.")]})
    if case.status != S.CLOSED:
        raise Conflict(_("The satisfaction check follows the closing of the case."), code="not_ratable")
    if case.satisfaction_at is not None:
        raise Conflict(_("The satisfaction of this case is already recorded."), code="already_rated")
    now = timezone.now()
    case.satisfaction_score, case.satisfaction_comment = score, (comment or "").strip()[:500]
    case.satisfaction_at, case.satisfaction_channel = now, channel
    case.save(update_fields=["satisfaction_score", "satisfaction_comment", "satisfaction_at", "satisfaction_channel"])
    _event(case, action=A.RATE, actor=staff, at=now, note=f"{score}/5 {channel} {case.satisfaction_comment}".strip())
    return case
