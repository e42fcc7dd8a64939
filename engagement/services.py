"""The only writers of alliance partners (BEN-6) and member events (BEN-7)."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from decimal import Decimal

from django.core import signing
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.models import AuditLog
from core.money import CENT, parse_plain_decimal
from members.locks import member_lock
from members.models import Member
from messaging.models import Notice
from messaging.services import notify_members_bulk

from .locks import event_lock, redemption_code_lock, registration_lock
from .models import (
    LESSONS_MAX_LENGTH,
    SALES_WINDOW_DAYS_MAX,
    CheckIn,
    Event,
    Feedback,
    Invitation,
    Partner,
    PartnerOffer,
    RedemptionCode,
    Registration,
)
from .selectors import event_audience

# Unambiguous alphabet for codes read out over a counter (no 0/O, 1/I/L).
_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 12
_QR_SALT = "memberhub.event_checkin"
QR_PREFIX = "EV1:"
CHECK_IN_OPENS_BEFORE = dt.timedelta(hours=2)


def _hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


# ---------------------------------------------------------------- partners


@transaction.atomic
def partner_key_rotate(*, partner: Partner, actor, ip: str | None = None) -> str:
    """A new API key for the partner; only its hash is kept, the key is shown once. The old key stops
    working at once; the rotation is audit-logged (who, which partner), never the key."""
    key = secrets.token_urlsafe(32)
    Partner.objects.filter(pk=partner.pk).update(api_key_hash=_hash_key(key))
    partner.api_key_hash = _hash_key(key)
    audit_record(actor=actor, action=AuditLog.Action.ROTATE_KEY, field="partner_api_key",
                 detail=f"partner {partner.pk} {partner.name}", ip=ip)
    return key


def partner_by_key(key: str) -> Partner | None:
    if not key:
        return None
    return Partner.objects.filter(api_key_hash=_hash_key(key), is_active=True).first()


def _new_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(CODE_LENGTH))


@transaction.atomic
def redemption_code_issue(*, member: Member, offer: PartnerOffer, now: dt.datetime | None = None) -> RedemptionCode:
    """Issue a partner code to an eligible member, within the offer's per-member limit."""
    now = now or timezone.now()
    # Lock the member row: two issues for one member cannot both pass the limit check.
    member = member_lock(member.pk)
    if member.status != Member.Status.ACTIVE:
        raise PermissionDenied(_("This membership cannot receive partner codes now."), code="member_inactive")
    if not (offer.is_active and offer.partner.is_active and offer.valid_from <= now < offer.valid_until):
        raise ValidationFailed(_("This offer is not available now."), code="offer_unavailable")
    if not offer.tiers.filter(pk=member.tier_id).exists():
        raise PermissionDenied(_("This offer is not available to your tier."), code="tier_not_eligible")
    issued = RedemptionCode.objects.filter(offer=offer, member=member).count()
    if issued >= offer.per_member_limit:
        raise Conflict(_("You already have the most codes this offer allows."), code="limit_reached")
    return RedemptionCode.objects.create(offer=offer, member=member, code=_new_code())


@transaction.atomic
def redemption_code_verify(*, partner: Partner, code: str, now: dt.datetime | None = None) -> RedemptionCode:
    """The partner redeems a code: used once, only codes of its own offers (others look missing)."""
    now = now or timezone.now()
    rc = redemption_code_lock(partner=partner, code=(code or "").strip().upper())
    if rc is None:
        raise NotFound(_("No such code."), code="code_not_found")
    if rc.status == RedemptionCode.Status.USED:
        raise Conflict(_("This code was already used."), code="code_used")
    if rc.status == RedemptionCode.Status.EXPIRED or now >= rc.offer.valid_until:
        raise Conflict(_("This code has expired."), code="code_expired")
    rc.status = RedemptionCode.Status.USED
    rc.used_at = now
    rc.save(update_fields=["status", "used_at"])
    return rc


def redemption_codes_expire(*, now: dt.datetime | None = None) -> int:
    """Mark issued codes of ended offers expired (set-wise; safe to re-run)."""
    now = now or timezone.now()
    return RedemptionCode.objects.filter(status=RedemptionCode.Status.ISSUED, offer__valid_until__lte=now).update(
        status=RedemptionCode.Status.EXPIRED)


# ---------------------------------------------------------------- events


def event_invite(*, event: Event) -> int:
    """Invite the event's audience (tiers / tags / segment) set-wise; members already invited are
    skipped. Each new invitee gets an inbox notice of kind "event_invitation". Returns how many new."""
    audience = event_audience(event)
    if not audience.query.is_empty():
        return _invite_audience(event, audience)
    return 0


def _invite_audience(event: Event, audience) -> int:
    audience_sql, params = audience.order_by().values("pk").query.sql_with_params()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {Invitation._meta.db_table} (event_id, member_id, invited_at) "
                f"SELECT %s, a.member_id, %s FROM ({audience_sql}) AS a(member_id) "
                "ON CONFLICT (event_id, member_id) DO NOTHING RETURNING member_id",
                [event.pk, timezone.now(), *params],
            )
            new_ids = [row[0] for row in cursor.fetchall()]
        when = timezone.localtime(event.starts_at).strftime("%Y-%m-%d %H:%M")
        notices = [Notice(member_id=mid, kind="event_invitation", ref=f"event:{event.pk}",
                          title=_("Invitation: %(title)s") % {"title": event.title},
                          body=_("You are invited to %(title)s at %(store)s on %(when)s. Sign up in the member portal.")
                          % {"title": event.title, "store": event.store.name, "when": when})
                   for mid in new_ids]
        notify_members_bulk(notices, sms=False)
    return len(new_ids)


@transaction.atomic
def event_sign_up(*, event: Event, member: Member, guests: int = 0, now: dt.datetime | None = None) -> Registration:
    """Sign an invited member up with guests; capacity counts members and guests (BEN-7)."""
    now = now or timezone.now()
    event = event_lock(event.pk)  # serialises sign-ups of one event
    if now >= event.starts_at:
        raise ValidationFailed(_("Sign-up for this event has closed."), code="signup_closed")
    if not Invitation.objects.filter(event=event, member=member).exists():
        raise NotFound(_("No such event."), code="not_invited")
    if guests < 0 or guests > event.guest_allowance:
        raise ValidationFailed(_("You may bring at most %(n)d guests.") % {"n": event.guest_allowance},
                               code="too_many_guests", fields={"guests": [_("Too many guests.")]})
    existing = Registration.objects.filter(event=event, member=member).first()
    taken = (Registration.objects.filter(event=event, status=Registration.Status.REGISTERED)
             .exclude(member=member).aggregate(n=Sum("guests"))["n"] or 0)
    taken += Registration.objects.filter(event=event, status=Registration.Status.REGISTERED).exclude(
        member=member).count()
    if taken + 1 + guests > event.capacity:
        raise Conflict(_("The event is full."), code="event_full")
    if existing:
        existing.guests, existing.status = guests, Registration.Status.REGISTERED
        existing.save(update_fields=["guests", "status"])
        return existing
    return Registration.objects.create(event=event, member=member, guests=guests)


@transaction.atomic
def event_sign_up_cancel(*, registration: Registration, now: dt.datetime | None = None) -> Registration:
    now = now or timezone.now()
    reg = registration_lock(registration.pk)
    if now >= reg.event.starts_at:
        raise ValidationFailed(_("The event has started; the sign-up can no longer be cancelled."),
                               code="cancel_closed")
    reg.status = Registration.Status.CANCELLED
    reg.save(update_fields=["status"])
    return reg


def check_in_payload(registration: Registration) -> str:
    """The signed payload of the member's door QR."""
    return QR_PREFIX + signing.Signer(salt=_QR_SALT).sign(str(registration.pk))


def _registration_from_payload(payload: str) -> int:
    payload = (payload or "").strip()
    if not payload.startswith(QR_PREFIX):
        raise ValidationFailed(_("This is not an event check-in code."), code="bad_qr")
    try:
        return int(signing.Signer(salt=_QR_SALT).unsign(payload[len(QR_PREFIX):]))
    except (signing.BadSignature, ValueError) as exc:
        raise ValidationFailed(_("This check-in code is not valid."), code="bad_qr") from exc


@transaction.atomic
def event_check_in(*, payload: str, event: Event, by=None, now: dt.datetime | None = None) -> CheckIn:
    """Check in the registration behind a door QR, once (UNIQUE on registration)."""
    now = now or timezone.now()
    reg_id = _registration_from_payload(payload)
    try:
        reg = registration_lock(reg_id, event_id=event.pk)
    except Registration.DoesNotExist:
        raise NotFound(_("This code is for another event."), code="other_event") from None
    if reg.status != Registration.Status.REGISTERED:
        raise Conflict(_("This sign-up was cancelled."), code="cancelled")
    if not (reg.event.starts_at - CHECK_IN_OPENS_BEFORE <= now <= reg.event.ends_at):
        raise ValidationFailed(_("Check-in is open from two hours before the start until the end."),
                               code="check_in_closed")
    if CheckIn.objects.filter(registration=reg).exists():
        raise Conflict(_("Already checked in."), code="already_checked_in")
    return CheckIn.objects.create(registration=reg, at=now, by=by)


@transaction.atomic
def event_feedback_submit(*, registration: Registration, rating: int, comment: str = "",
                          now: dt.datetime | None = None) -> Feedback:
    """Feedback of an attendee after the event started, once."""
    now = now or timezone.now()
    reg = registration_lock(registration.pk)
    if not CheckIn.objects.filter(registration=reg).exists():
        raise PermissionDenied(_("Only attendees can give feedback."), code="not_attended")
    if now < reg.event.starts_at:
        raise ValidationFailed(_("Feedback opens when the event starts."), code="feedback_not_open")
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise ValidationFailed(_("Rate from 1 to 5."), code="bad_rating", fields={"rating": [_("Rate from 1 to 5.")]})
    if Feedback.objects.filter(registration=reg).exists():
        raise Conflict(_("You already gave feedback for this event."), code="feedback_given")
    return Feedback.objects.create(registration=reg, rating=rating, comment=(comment or "")[:1000])


# An event's budget or cost above this is a typing error, not an event (the column holds 10 digits).
EVENT_MONEY_MAX = Decimal("10000000.00")


def _event_money(value, field: str, *, required: bool) -> Decimal | None:
    if value is None or value == "":
        if required:
            raise ValidationFailed(_("Enter an amount."), code="amount_required", fields={field: [_("Enter an amount.")]})
        return None
    try:
        amount = parse_plain_decimal(value)
    except ValueError:
        amount = None
    if amount is None or amount < 0 or amount > EVENT_MONEY_MAX:
        message = _("Enter an amount from 0 to %(max)s yuan with at most two decimals.") % {"max": EVENT_MONEY_MAX}
        raise ValidationFailed(message, code="bad_amount", fields={field: [message]})
    return amount.quantize(CENT)


@transaction.atomic
def event_outcome_record(*, event: Event, actor, budget, cost=None, sales_window_days: int,
                         lessons_learned: str = "", ip: str | None = None, now: dt.datetime | None = None) -> Event:
    """Record an event's budget, actual cost, sales window and lessons learned (seed 002 六(一)2 活动预算,
    六(三) 活动效果评估: 总结活动经验教训, 建立效果评估档案). The cost and the lessons can be entered once
    the event has started; the budget at any time. The change is audit-logged (before → after)."""
    now = now or timezone.now()
    event = event_lock(event.pk)
    new_budget = _event_money(budget, "budget", required=True)
    new_cost = _event_money(cost, "cost", required=False)
    if isinstance(sales_window_days, bool) or not isinstance(sales_window_days, int) \
            or not 0 <= sales_window_days <= SALES_WINDOW_DAYS_MAX:
        message = _("The sales window is 0 to %(max)d days.") % {"max": SALES_WINDOW_DAYS_MAX}
        raise ValidationFailed(message, code="bad_sales_window", fields={"sales_window_days": [message]})
    lessons = (lessons_learned or "").strip()
    if len(lessons) > LESSONS_MAX_LENGTH:
        message = _("Keep the lessons learned to %(n)d characters.") % {"n": LESSONS_MAX_LENGTH}
        raise ValidationFailed(message, code="lessons_too_long", fields={"lessons_learned": [message]})
    if (new_cost is not None or lessons) and now < event.starts_at:
        raise ValidationFailed(_("The cost and the lessons learned can be recorded once the event has started."),
                               code="event_not_started")
    changes = [f"{name}: {old} → {new}" for name, old, new in (
        ("budget", event.budget, new_budget), ("cost", event.cost, new_cost),
        ("sales_window_days", event.sales_window_days, sales_window_days)) if old != new]
    if lessons != event.lessons_learned:
        changes.append("lessons_learned changed")
    if not changes:
        return event
    event.budget, event.cost, event.sales_window_days, event.lessons_learned = (
        new_budget, new_cost, sales_window_days, lessons)
    event.outcome_recorded_at, event.outcome_recorded_by = now, actor
    event.save(update_fields=["budget", "cost", "sales_window_days", "lessons_learned", "outcome_recorded_at",
                              "outcome_recorded_by"])
    audit_record(actor=actor, action=AuditLog.Action.REVIEW, field="event_outcome",
                 detail=f"event {event.pk} {event.title}: " + "; ".join(changes), ip=ip)
    return event
