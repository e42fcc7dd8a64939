"""Writes of the member lifecycle (MEM-1..7, SEC-2..5). Each change writes its record in the same
transaction: MemberChange for data, ConsentLog for consent, AuditLog for reviews, reveals and status."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import crypto, reference_cache
from core.audit import audit_record
from core.errors import Conflict, PermissionDenied, ValidationFailed
from core.models import AuditLog

from . import hooks, scope
from .events import member_event_on_commit
from .locks import (
    change_request_lock,
    corporate_profile_lock,
    member_lock,
    privacy_policy_lock,
    security_incident_lock,
)
from .models import (
    ChangeRequest,
    ConsentLog,
    CorporateProfile,
    Device,
    GuardianConsent,
    Member,
    MemberChange,
    MemberSettings,
    MemberTag,
    Store,
    Tag,
    Tier,
)
from .review_schedule import next_review_date
from .selectors import current_privacy_version
from .sms_codes import sms_code_verify
from .validation import age_on, clean_corporate_data, clean_member_data, normalize_mobile


@dataclass(frozen=True)
class Actor:
    """Who acts: a staff user, the member themself (portal), a device, or a job."""

    user: AbstractBaseUser | None = None
    label: str = "system"
    channel: str = Member.Channel.DESK
    ip: str | None = None

    @classmethod
    def staff(cls, user, ip: str | None = None) -> Actor:
        return cls(user=user, label=user.get_username(), channel=Member.Channel.DESK, ip=ip)

    @classmethod
    def member(cls, ip: str | None = None) -> Actor:
        return cls(label="member", channel=Member.Channel.PORTAL, ip=ip)


# ---------------------------------------------------------------- numbers


def member_number_check_digit(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return str((10 - total % 10) % 10)


def member_numbers_allocate(count: int) -> list[str]:
    """Member/card numbers: '86' + 9-digit sequence + Luhn check digit (12 digits, MEM-3)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('member_no_seq') FROM generate_series(1, %s)", [count])
        values = [row[0] for row in cursor.fetchall()]
    out = []
    for value in values:
        body = f"86{value:09d}"
        out.append(body + member_number_check_digit(body))
    return out


def entry_tier() -> Tier:
    return Tier.objects.order_by("rank").first()


# ---------------------------------------------------------------- registration


def _apply_sensitive(member: Member, cleaned: dict) -> None:
    if "mobile" in cleaned:
        member.mobile_enc = crypto.encrypt(cleaned["mobile"])
        member.mobile_hash = crypto.lookup_hash(cleaned["mobile"])
        member.mobile_masked = crypto.mask_mobile(cleaned["mobile"])
    if "id_number" in cleaned:
        member.id_number_enc = crypto.encrypt(cleaned["id_number"])
        member.id_number_hash = crypto.lookup_hash(cleaned["id_number"])
        member.id_number_masked = crypto.mask_id_number(cleaned["id_number"])
    if "address" in cleaned:
        member.address_enc = crypto.encrypt(cleaned["address"])
        member.address_masked = crypto.mask_text(cleaned["address"])


def _check_unique(cleaned: dict, *, exclude_pk: int | None = None) -> None:
    errors = {}
    qs = Member.objects.exclude(pk=exclude_pk) if exclude_pk else Member.objects.all()
    if "mobile" in cleaned and qs.filter(mobile_hash=crypto.lookup_hash(cleaned["mobile"])).exists():
        errors["mobile"] = [_("This mobile number is already registered to a member.")]
    if cleaned.get("id_number") and qs.filter(id_number_hash=crypto.lookup_hash(cleaned["id_number"])).exists():
        errors["id_number"] = [_("This ID number is already registered to a member.")]
    if errors:
        raise ValidationFailed(_("Already registered."), code="duplicate", fields=errors)


def _require_privacy(accepted: bool) -> None:
    if not accepted:
        raise ValidationFailed(
            _("The privacy policy must be accepted to become a member."),
            fields={"privacy_accepted": [_("Please read and accept the privacy policy.")]},
        )


def _require_id_number_consent(cleaned: dict, id_number_consent: bool) -> None:
    """PIPL art. 28-29: the ID number is sensitive personal information, stored only with its own consent."""
    if cleaned.get("id_number") and not id_number_consent:
        raise ValidationFailed(
            _("The ID number is sensitive personal information: it can only be stored with the member's "
              "separate consent."), code="id_number_consent",
            fields={"id_number_consent": [_("Tick the separate consent to store the ID number, or leave the "
                                            "ID number empty.")]},
        )


def member_needs_guardian(birthday: dt.date | None, *, today: dt.date | None = None) -> bool:
    """PIPL art. 31: a member younger than the guardian age (14) needs a guardian's consent."""
    if birthday is None:
        return False
    return age_on(birthday, today or timezone.localdate()) < MemberSettings.get().guardian_age


GUARDIAN_FIELDS = ("guardian_name", "guardian_relation", "guardian_mobile", "guardian_verified_how")


def _clean_guardian(guardian: dict | None) -> dict:
    guardian = guardian or {}
    errors = {}
    name = (guardian.get("guardian_name") or "").strip()
    relation = (guardian.get("guardian_relation") or "").strip()
    how = guardian.get("guardian_verified_how") or ""
    if not name or len(name) > 50:
        errors["guardian_name"] = [_("Enter the guardian's name (at most 50 characters).")]
    if not relation or len(relation) > 20:
        errors["guardian_relation"] = [_("Enter the guardian's relation to the child, e.g. 父亲, 母亲.")]
    try:
        mobile = normalize_mobile(guardian.get("guardian_mobile") or "")
    except ValueError as exc:
        errors["guardian_mobile"] = [str(exc)]
        mobile = ""
    if how not in GuardianConsent.Verification.values:
        errors["guardian_verified_how"] = [_("Choose how the guardian was verified.")]
    if errors:
        raise ValidationFailed(
            _("A member under %(age)s needs the consent of a parent or guardian (PIPL art. 31).")
            % {"age": MemberSettings.get().guardian_age}, code="guardian_required", fields=errors,
        )
    return {"guardian_name": name, "relation": relation, "mobile": mobile, "verified_how": how}


def _record_guardian(member: Member, guardian: dict, *, actor: Actor, channel: str) -> GuardianConsent:
    consent = GuardianConsent.objects.create(
        member=member, guardian_name=guardian["guardian_name"], relation=guardian["relation"],
        guardian_mobile_enc=crypto.encrypt(guardian["mobile"]),
        guardian_mobile_masked=crypto.mask_mobile(guardian["mobile"]),
        verified_how=guardian["verified_how"], actor=actor.user, channel=channel,
    )
    ConsentLog.objects.create(
        member=member, kind=ConsentLog.Kind.GUARDIAN, granted=True, version=member.privacy_version,
        channel=channel, actor=actor.user,
        detail=f"{guardian['relation']} {crypto.mask_name(guardian['guardian_name'])} "
               f"{consent.guardian_mobile_masked} ({consent.get_verified_how_display()})"[:200],
    )
    return consent


def _create_member(
    *, data: dict, store: Store, actor: Actor, status: str, consent_channel: str, marketing: bool,
    privacy_accepted: bool, corporate: dict | None = None, id_number_consent: bool = False,
    guardian: dict | None = None,
) -> Member:
    """Seed 002 二(一)/(二): sign-up with consent to the current privacy policy, the separate ID-number
    consent (PIPL art. 29) and, under 14, the guardian's (PIPL art. 31); the first periodic review is
    scheduled (MEM-5)."""
    cleaned = clean_member_data(data)
    corp = clean_corporate_data(corporate) if corporate is not None else None
    _require_privacy(privacy_accepted)
    _require_id_number_consent(cleaned, id_number_consent)
    guardian_data = _clean_guardian(guardian) if member_needs_guardian(cleaned.get("birthday")) else None
    _check_unique(cleaned)
    if corp and CorporateProfile.objects.filter(credit_code=corp["credit_code"]).exists():
        raise ValidationFailed(
            _("Already registered."), code="duplicate",
            fields={"credit_code": [_("A corporate member with this credit code already exists.")]},
        )
    version = current_privacy_version()
    member = Member(
        member_no=member_numbers_allocate(1)[0],
        kind=Member.Kind.CORPORATE if corp else Member.Kind.PERSONAL,
        status=status,
        home_store=store,
        tier=entry_tier(),
        channel=actor.channel,
        created_by=actor.user,
        privacy_version=version,
        marketing_consent=marketing,
        id_number_consent=bool(cleaned.get("id_number")) and id_number_consent,
        next_review_on=next_review_date(confirmed_on=timezone.localdate(),
                                        interval_days=MemberSettings.get().review_interval_days),
        **{k: v for k, v in cleaned.items() if k not in ("mobile", "id_number", "address")},
    )
    _apply_sensitive(member, cleaned)
    try:
        with transaction.atomic():
            member.save()
    except IntegrityError as exc:  # lost a race with a concurrent sign-up of the same number
        raise ValidationFailed(
            _("Already registered."), code="duplicate",
            fields={"mobile": [_("This mobile number is already registered to a member.")]},
        ) from exc
    if corp:
        CorporateProfile.objects.create(member=member, **corp)
    logs = [
        ConsentLog(member=member, kind=ConsentLog.Kind.PRIVACY, granted=True,
                   version=version, channel=consent_channel, actor=actor.user),
        ConsentLog(member=member, kind=ConsentLog.Kind.MARKETING, granted=marketing,
                   version=version, channel=consent_channel, actor=actor.user),
    ]
    if member.id_number_consent:
        logs.append(ConsentLog(member=member, kind=ConsentLog.Kind.ID_NUMBER, granted=True, version=version,
                               channel=consent_channel, actor=actor.user))
    ConsentLog.objects.bulk_create(logs)
    if guardian_data:
        _record_guardian(member, guardian_data, actor=actor, channel=consent_channel)
    MemberChange.objects.create(
        member=member, field="status", old_value="", new_value=status, actor=actor.user,
        actor_label=actor.label, channel=actor.channel,
    )
    if status == Member.Status.ACTIVE:
        member_event_on_commit("joined", member_id=member.pk)
    return member


def member_register_online(
    *, data: dict, sms_code: str, store: Store, marketing: bool, privacy_accepted: bool, ip: str | None = None,
    id_number_consent: bool = False, guardian: dict | None = None,
) -> Member:
    """Portal self-sign-up (MEM-1/2): the SMS code proves the mobile; automatic checks; active at once.

    A child under 14 (PIPL art. 31) is signed up by the guardian with the guardian's own mobile: the SMS
    code that proves the number is the guardian's confirmation, so the guardian's mobile must be it."""
    _require_privacy(privacy_accepted)
    cleaned = clean_member_data(data)
    _require_id_number_consent(cleaned, id_number_consent)
    if member_needs_guardian(cleaned.get("birthday")):
        guardian = {**(guardian or {}), "guardian_verified_how": GuardianConsent.Verification.SMS}
        checked = _clean_guardian(guardian)
        if checked["mobile"] != cleaned["mobile"]:
            raise ValidationFailed(
                _("Online, a parent or guardian signs up a child under 14 with their own mobile number; "
                  "otherwise please come to the service desk together."), code="guardian_required",
                fields={"guardian_mobile": [_("Must be the mobile number verified by the SMS code.")]},
            )
    _check_unique(cleaned)  # report errors before spending the code
    # Verified outside the sign-up transaction, so a wrong attempt stays counted.
    sms_code_verify(mobile=data["mobile"], purpose="signup", code=sms_code)
    with transaction.atomic():
        return _create_member(
        data=data, store=store, actor=Actor.member(ip), status=Member.Status.ACTIVE,
        consent_channel=ConsentLog.Channel.PORTAL, marketing=marketing, privacy_accepted=privacy_accepted,
        id_number_consent=id_number_consent, guardian=guardian,
    )


def member_register_till(
    *, data: dict, sms_code: str, store: Store, device_label: str, marketing: bool, privacy_accepted: bool,
    id_number_consent: bool = False,
) -> Member:
    """Sign-up at a till: the customer reads back the SMS code, so it counts as verified like online.
    A till records no guardian's consent: a child under 14 is signed up at the service desk."""
    _require_privacy(privacy_accepted)
    cleaned = clean_member_data(data)
    if member_needs_guardian(cleaned.get("birthday")):
        raise ValidationFailed(
            _("A child under 14 is signed up at the service desk with a parent or guardian."),
            code="guardian_required", fields={"birthday": [_("Please go to the service desk.")]},
        )
    _require_id_number_consent(cleaned, id_number_consent)
    _check_unique(cleaned)
    sms_code_verify(mobile=data["mobile"], purpose="till", code=sms_code)
    actor = Actor(label=device_label, channel=Member.Channel.TILL)
    with transaction.atomic():
        return _create_member(
        data=data, store=store, actor=actor, status=Member.Status.ACTIVE,
        consent_channel=ConsentLog.Channel.TILL, marketing=marketing, privacy_accepted=privacy_accepted,
        id_number_consent=id_number_consent,
    )


@transaction.atomic
def member_register_desk(
    *, data: dict, staff, store: Store | None = None, marketing: bool, privacy_accepted: bool,
    corporate: dict | None = None, id_number_consent: bool = False, guardian: dict | None = None,
) -> Member:
    """Desk sign-up (MEM-2): enters the review queue; a second staff member approves it. Under 14 the
    clerk records the guardian's consent and how the guardian was verified (PIPL art. 31)."""
    scope.require_perm(staff, "members.add_member")
    store = store or scope.staff_store(staff)
    if store is None:
        raise ValidationFailed(_("Choose the store the member belongs to."), fields={"store": [_("Required.")]})
    scope.require_store(staff, store)
    return _create_member(
        data=data, store=store, actor=Actor.staff(staff), status=Member.Status.PENDING,
        consent_channel=ConsentLog.Channel.DESK, marketing=marketing, privacy_accepted=privacy_accepted,
        corporate=corporate, id_number_consent=id_number_consent, guardian=guardian,
    )


def _record_status(member: Member, old: str, actor: Actor, reason: str = "") -> None:
    MemberChange.objects.create(
        member=member, field="status", old_value=old, new_value=member.status, actor=actor.user,
        actor_label=actor.label, channel=actor.channel,
    )
    audit_record(actor=actor, action=AuditLog.Action.STATUS, member=member, field="status",
                 detail=f"{old} -> {member.status} {reason}", ip=actor.ip)


@transaction.atomic
def member_review(*, member: Member, reviewer, approve: bool, reason: str = "") -> Member:
    """Approve or reject a pending desk sign-up. The registering staff member cannot approve it."""
    scope.require_perm(reviewer, "members.review_member")
    member = member_lock(member.pk)
    scope.require_member(reviewer, member)
    if member.status != Member.Status.PENDING:
        raise Conflict(_("This sign-up has already been reviewed."), code="already_reviewed")
    if member.created_by_id == reviewer.pk:
        raise PermissionDenied(
            _("A second staff member must review this sign-up; you registered it."), code="four_eyes"
        )
    if not approve and not reason.strip():
        raise ValidationFailed(_("Give the reason for the rejection."), fields={"reason": [_("Required.")]})
    if approve and member_needs_guardian(member.birthday) and not member.guardian_consents.exists():
        raise Conflict(_("This member is under 14: record the guardian's consent before approving (PIPL art. 31)."),
                       code="guardian_required")
    old = member.status
    member.status = Member.Status.ACTIVE if approve else Member.Status.REJECTED
    if approve:
        # The approval confirms the data: the periodic re-review counts from today (MEM-5).
        member.next_review_on = next_review_date(confirmed_on=timezone.localdate(),
                                                 interval_days=MemberSettings.get().review_interval_days)
    member.status_reason = "" if approve else reason.strip()
    member.reviewed_by = reviewer
    member.reviewed_at = timezone.now()
    if not approve:
        # A rejected sign-up must not block the number for a corrected, later sign-up.
        member.mobile_hash = None
        member.id_number_hash = None
    member.save()
    _record_status(member, old, Actor.staff(reviewer), reason)
    # Held purchases of the pending sign-up (points.services.held): credited, or released to be claimed.
    hooks.member_reviewed(member=member, approved=approve, reviewer=reviewer)
    if approve:
        member_event_on_commit("joined", member_id=member.pk)
    return member


STATUS_TRANSITIONS = {
    "suspend": ({Member.Status.ACTIVE}, Member.Status.SUSPENDED),
    "disqualify": ({Member.Status.ACTIVE, Member.Status.SUSPENDED}, Member.Status.DISQUALIFIED),
    "reinstate": ({Member.Status.SUSPENDED, Member.Status.DISQUALIFIED}, Member.Status.ACTIVE),
}


@transaction.atomic
def member_set_status(*, member: Member, staff, action: str, reason: str) -> Member:
    """Suspend / disqualify / reinstate with a reason (MEM-5). Points and benefits honour
    `member_can_transact`, so they freeze with the status."""
    scope.require_perm(staff, "members.change_member_status")
    if action not in STATUS_TRANSITIONS:
        raise ValidationFailed(_("Unknown action."), fields={"action": [_("Choose suspend, disqualify or reinstate.")]})
    if not reason.strip():
        raise ValidationFailed(_("Give the reason."), fields={"reason": [_("Required.")]})
    member = member_lock(member.pk)
    scope.require_member(staff, member)
    allowed, target = STATUS_TRANSITIONS[action]
    if member.status not in allowed:
        raise Conflict(
            _("A member who is %(status)s cannot be changed that way.") % {"status": member.get_status_display()},
            code="illegal_transition",
        )
    old = member.status
    member.status = target
    member.status_reason = reason.strip()
    member.save(update_fields=["status", "status_reason", "updated_at"])
    _record_status(member, old, Actor.staff(staff), reason)
    member_event_on_commit("status_changed", member_id=member.pk, action=action, reason=member.status_reason,
                           ref=f"{action}:{member.updated_at:%Y%m%d%H%M%S%f}")
    return member


def member_can_transact(member: Member) -> bool:
    """The single check every earning, redemption and benefit honours (MEM-5)."""
    return member.status == Member.Status.ACTIVE


# ---------------------------------------------------------------- change requests (MEM-4)


def _masked(field: str, value) -> str:
    if value in (None, ""):
        return ""
    if field == "mobile":
        return crypto.mask_mobile(value)
    if field == "id_number":
        return crypto.mask_id_number(value)
    if field == "address":
        return crypto.mask_text(value)
    return str(value)[:200]


def _current_value(member: Member, field: str):
    # Empty encrypted fields read as "" so that resubmitting an empty value is not a change.
    if field == "mobile":
        return crypto.decrypt(member.mobile_enc) or ""
    if field == "id_number":
        return crypto.decrypt(member.id_number_enc) or ""
    if field == "address":
        return crypto.decrypt(member.address_enc) or ""
    return getattr(member, field)


CHANGEABLE_FIELDS = ("name", "gender", "birthday", "mobile", "id_number", "division_code", "province", "city",
                     "district", "address", "occupation", "email")


def _change_request_diff(member: Member, changes: dict) -> dict:
    unknown = set(changes) - set(CHANGEABLE_FIELDS)
    if unknown:
        raise ValidationFailed(_("These fields cannot be changed."), fields={k: [_("Not changeable.")] for k in unknown})
    if member.status in (Member.Status.CLOSED, Member.Status.REJECTED):
        raise Conflict(_("This membership is closed."), code="member_closed")
    cleaned = clean_member_data(changes, partial=True)
    diff = {k: v for k, v in cleaned.items() if _current_value(member, k) != v}
    if not diff:
        raise ValidationFailed(_("Nothing would change."), code="no_change")
    _check_unique(diff, exclude_pk=member.pk)
    if ChangeRequest.objects.filter(member=member, status=ChangeRequest.Status.PENDING).exists():
        raise Conflict(_("A change request for this member is already waiting for review."), code="pending_exists")
    return diff


MOBILE_UNVERIFIED = _("The new mobile number has not been verified by SMS code.")


def change_request_submit(*, member: Member, changes: dict, actor: Actor, mobile_code: str = "",
                          id_number_consent: bool = False) -> ChangeRequest:
    """Propose new values; they apply only when a reviewer approves (a different person from the requester).

    Seed 002 二(三)1 (变更申请, MEM-4): a new mobile number is proved first — the member reads back the
    SMS code sent to it (purpose change_mobile) in the portal, or to the clerk at the desk. A new ID number
    needs the member's separate consent (PIPL art. 29), recorded now."""
    if actor.user is not None:
        scope.require_member(actor.user, member)
    diff = _change_request_diff(member, changes)  # report errors before spending the code
    if diff.get("id_number") and not (id_number_consent or member.id_number_consent):
        _require_id_number_consent(diff, False)
    verified = False
    if "mobile" in diff:
        if not (mobile_code or "").strip():
            raise ValidationFailed(MOBILE_UNVERIFIED, code="mobile_unverified", fields={"sms_code": [
                _("Send a code to the new number and enter the code the member received.")]})
        # Outside the request's transaction, so a wrong attempt stays counted (members.sms_codes).
        sms_code_verify(mobile=diff["mobile"], purpose="change_mobile", code=mobile_code)
        verified = True
    return _change_request_create(member=member, changes=changes, actor=actor, mobile_verified=verified,
                                  id_number_consent=id_number_consent)


@transaction.atomic
def _change_request_create(*, member: Member, changes: dict, actor: Actor, mobile_verified: bool,
                           id_number_consent: bool) -> ChangeRequest:
    member = member_lock(member.pk)
    diff = _change_request_diff(member, changes)
    if diff.get("id_number") and id_number_consent and not member.id_number_consent:
        _set_id_number_consent(member, granted=True, channel=_consent_channel(actor), actor=actor)
    payload = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in diff.items()}
    summary = "; ".join(f"{k}: {_masked(k, v)}" for k, v in diff.items())
    return ChangeRequest.objects.create(
        member=member, channel=actor.channel, payload_enc=crypto.encrypt(json.dumps(payload, ensure_ascii=False)),
        summary=summary[:500], requested_by=actor.user,
        mobile_verified_at=timezone.now() if mobile_verified else None,
    )


def _consent_channel(actor: Actor) -> str:
    return actor.channel if actor.channel in ConsentLog.Channel.values else ConsentLog.Channel.DESK


def change_request_payload(request: ChangeRequest) -> dict:
    return json.loads(crypto.decrypt(request.payload_enc) or "{}")


@transaction.atomic
def change_request_review(*, request: ChangeRequest, reviewer, approve: bool, reason: str = "") -> ChangeRequest:
    scope.require_perm(reviewer, "members.review_member")
    request = change_request_lock(request.pk)
    member = member_lock(request.member_id)
    scope.require_member(reviewer, member)
    if request.status != ChangeRequest.Status.PENDING:
        raise Conflict(_("This change request has already been reviewed."), code="already_reviewed")
    if request.requested_by_id == reviewer.pk:
        raise PermissionDenied(_("A second staff member must review a change you requested."), code="four_eyes")
    if not approve and not reason.strip():
        raise ValidationFailed(_("Give the reason for the rejection."), fields={"reason": [_("Required.")]})
    payload = change_request_payload(request)
    if approve and "mobile" in payload and request.mobile_verified_at is None:
        raise Conflict(
            _("The new mobile number of this request was not verified by SMS code, so it cannot be approved; "
              "reject it and have the member verify the new number when asking again."), code="mobile_unverified",
        )
    if approve and payload.get("id_number") and not member.id_number_consent:
        raise Conflict(_("The member has withdrawn the consent to store the ID number; reject this request."),
                       code="id_number_consent")
    request.status = ChangeRequest.Status.APPROVED if approve else ChangeRequest.Status.REJECTED
    request.reviewed_by = reviewer
    request.reviewed_at = timezone.now()
    request.reason = reason.strip()
    request.save()
    actor = Actor.staff(reviewer)
    audit_record(actor=actor, action=AuditLog.Action.REVIEW, member=member, field="change_request",
                 detail=f"{request.pk} {request.status} {reason}")
    if approve:
        cleaned = clean_member_data(payload, partial=True)
        if member_needs_guardian(cleaned.get("birthday")) and not member.guardian_consents.exists():
            raise Conflict(_("With this birthday the member is under 14: record the guardian's consent before "
                             "approving the change (PIPL art. 31)."), code="guardian_required")
        _check_unique(cleaned, exclude_pk=member.pk)
        _apply_changes(member, cleaned, actor=actor, channel=request.channel, change_request=request)
    member_event_on_commit("change_request_reviewed", member_id=member.pk, request_id=request.pk)
    return request


def _apply_changes(member: Member, cleaned: dict, *, actor: Actor, channel: str, change_request=None) -> None:
    history = []
    for field, new in cleaned.items():
        old = _current_value(member, field)
        if old == new:
            continue
        history.append(MemberChange(
            member=member, field=field, old_value=_masked(field, old), new_value=_masked(field, new),
            actor=actor.user, actor_label=actor.label, channel=channel, change_request=change_request,
        ))
        if field not in ("mobile", "id_number", "address"):
            setattr(member, field, new)
    _apply_sensitive(member, cleaned)
    member.save()
    MemberChange.objects.bulk_create(history)


# ---------------------------------------------------------------- consent (MEM-6)


# Recording a consent on the member's behalf is front-desk / customer-service work; auditors and managers look.
PERM_CONSENT = "members.add_consentlog"


@transaction.atomic
def consent_set_marketing(*, member: Member, granted: bool, channel: str, actor_user=None) -> Member:
    """Opt in or out of marketing; logged every time with channel. Idempotent: no change, no record.
    Staff (`actor_user`) need PERM_CONSENT and the member in their scope, on every surface (SEC-3)."""
    if actor_user is not None:
        scope.require_perm(actor_user, PERM_CONSENT)
        scope.require_member(actor_user, member)
    member = member_lock(member.pk)
    if member.marketing_consent == granted:
        return member
    member.marketing_consent = granted
    member.save(update_fields=["marketing_consent", "updated_at"])
    ConsentLog.objects.create(
        member=member, kind=ConsentLog.Kind.MARKETING, granted=granted,
        version=current_privacy_version(), channel=channel, actor=actor_user,
    )
    return member


def _set_id_number_consent(member: Member, *, granted: bool, channel: str, actor: Actor) -> None:
    """The flag and its ConsentLog; withdrawing erases the stored number (its MemberChange keeps the fact)."""
    member.id_number_consent = granted
    fields = ["id_number_consent", "updated_at"]
    if not granted and member.id_number_enc:
        MemberChange.objects.create(
            member=member, field="id_number", old_value=member.id_number_masked, new_value="",
            actor=actor.user, actor_label=actor.label, channel=actor.channel,
        )
        member.id_number_enc = member.id_number_hash = None
        member.id_number_masked = ""
        fields += ["id_number_enc", "id_number_hash", "id_number_masked"]
    member.save(update_fields=fields)
    ConsentLog.objects.create(
        member=member, kind=ConsentLog.Kind.ID_NUMBER, granted=granted, version=member.privacy_version,
        channel=channel, actor=actor.user, detail="" if granted else "ID number erased",
    )


@transaction.atomic
def consent_set_id_number(*, member: Member, granted: bool, channel: str, actor: Actor) -> Member:
    """The separate consent to store the ID number (sensitive personal information, PIPL art. 28-29; seed
    003 2.5). Withdrawing it erases the number at once. Idempotent: no change, no record. Staff need
    PERM_CONSENT and the member in their scope."""
    if actor.user is not None:
        scope.require_perm(actor.user, PERM_CONSENT)
        scope.require_member(actor.user, member)
    member = member_lock(member.pk)
    if member.id_number_consent == granted:
        return member
    _set_id_number_consent(member, granted=granted, channel=channel, actor=actor)
    return member


@transaction.atomic
def guardian_consent_record(*, member: Member, guardian: dict, staff) -> GuardianConsent:
    """The guardian's consent for a member under 14 recorded at the desk after sign-up, or before a pending
    change request that corrects the birthday to a child's is approved (PIPL art. 31)."""
    scope.require_perm(staff, "members.add_guardianconsent")
    member = member_lock(member.pk)
    scope.require_member(staff, member)
    pending_birthdays = [
        clean_member_data({"birthday": payload["birthday"]}, partial=True).get("birthday")
        for payload in (change_request_payload(r) for r in member.change_requests.filter(
            status=ChangeRequest.Status.PENDING)) if payload.get("birthday")
    ]
    if not any(member_needs_guardian(day) for day in [member.birthday, *pending_birthdays]):
        raise ValidationFailed(_("This member is not under 14; no guardian's consent is needed."),
                               code="not_a_minor")
    return _record_guardian(member, _clean_guardian(guardian), actor=Actor.staff(staff),
                            channel=ConsentLog.Channel.DESK)


@transaction.atomic
def privacy_policy_accept(*, member: Member, version: str, ip: str | None = None, staff=None) -> Member:
    """The member accepts the current privacy policy version at their portal visit, or at the desk where
    staff record it (`staff`: PERM_CONSENT, member in scope) (MEM-6; seed 003 2.5). Accepting an outdated
    version is refused (the page was open while a new one took effect)."""
    if staff is not None:
        scope.require_perm(staff, PERM_CONSENT)
        scope.require_member(staff, member)
    current = current_privacy_version()
    if version != current:
        raise Conflict(_("A newer version of the privacy policy is now in effect; please read it."),
                       code="policy_outdated")
    member = member_lock(member.pk)
    if member.privacy_version == current:
        return member
    old = member.privacy_version
    member.privacy_version = current
    member.save(update_fields=["privacy_version", "updated_at"])
    ConsentLog.objects.create(member=member, kind=ConsentLog.Kind.PRIVACY, granted=True, version=current,
                              channel=ConsentLog.Channel.DESK if staff else ConsentLog.Channel.PORTAL,
                              actor=staff, detail=f"replaces {old or '-'}")
    return member


@transaction.atomic
def privacy_policy_save(*, staff, policy, data: dict):
    """Add a privacy policy version, or edit one not yet in effect: a text members have accepted never
    changes afterwards (a change is a new version, which members are then asked to accept)."""
    from .models import PrivacyPolicy

    creating = policy is None or policy.pk is None
    scope.require_perm(staff, "members.add_privacypolicy" if creating else "members.change_privacypolicy")
    if not creating:
        stored = privacy_policy_lock(policy.pk)
        if stored.effective_at <= timezone.now():
            raise Conflict(_("This version is already in effect; publish a new version instead of editing it."),
                           code="policy_in_effect")
    policy = policy or PrivacyPolicy()
    for key in ("version", "title", "text", "summary_of_changes", "effective_at"):
        if key in data:
            setattr(policy, key, data[key])
    if creating:
        policy.created_by = staff
    policy.save()
    audit_record(actor=staff, action=AuditLog.Action.POLICY, field="privacy_policy",
                 detail=f"{'added' if creating else 'edited'} {policy.version}, effective {policy.effective_at:%Y-%m-%d %H:%M}")
    return policy


# ---------------------------------------------------------------- tags (MEM-7)


@transaction.atomic
def tag_add(*, member: Member, tag: Tag, staff) -> MemberTag:
    scope.require_member(staff, member)
    if tag.kind == Tag.Kind.RULE:
        raise ValidationFailed(_("Rule tags follow their rule; they cannot be attached by hand."), code="rule_tag")
    obj, _created = MemberTag.objects.get_or_create(member=member, tag=tag, defaults={"added_by": staff})
    return obj


@transaction.atomic
def tag_remove(*, member: Member, tag: Tag, staff) -> None:
    scope.require_member(staff, member)
    deleted, _rows = MemberTag.objects.filter(member=member, tag=tag).delete()
    if deleted:
        # A removed tag leaves no row to be found by: the member's updated_at is how nightly refreshes
        # (consumption cube, purchase summary) see the member move between cells.
        Member.objects.filter(pk=member.pk).update(updated_at=timezone.now())


# ---------------------------------------------------------------- privacy (SEC-2, SEC-4)

CLOSED_NAME = "已注销"
REVEALABLE = {"mobile": "mobile_enc", "id_number": "id_number_enc", "address": "address_enc"}


@transaction.atomic
def member_reveal(*, member: Member, field: str, staff, ip: str | None = None, purpose: str = "") -> str:
    """Full value of a sensitive field for a role that needs it; every reveal is audit-logged, with what it was
    for when the page says (`purpose`, e.g. the follow-up visit it was dialled from)."""
    if field not in REVEALABLE:
        raise ValidationFailed(_("Unknown field."), fields={"field": [_("Choose mobile, ID number or address.")]})
    scope.require_perm(staff, "members.reveal_sensitive")
    scope.require_member(staff, member)
    value = crypto.decrypt(getattr(member, REVEALABLE[field])) or ""
    audit_record(actor=staff, action=AuditLog.Action.REVEAL, member=member, field=field, ip=ip, detail=purpose[:200])
    return value


@transaction.atomic
def member_export_record(*, staff, rows: int, source: str, query: str | None = None,
                         ip: str | None = None) -> AuditLog:
    """Record a staff export of member rows (MEM-8, SEC-2): who, how many, from which page; the
    search query only masked. The export itself is masked (views_desk.member_export_row)."""
    scope.require_perm(staff, "members.export_member")
    detail = f"{source} export, {rows} rows"
    if query is not None:
        detail += f", query={crypto.mask_text(query, keep=3)}"
    return audit_record(actor=staff, action=AuditLog.Action.EXPORT, field="members", detail=detail, ip=ip)


@transaction.atomic
def member_close(*, member: Member, actor: Actor) -> Member:
    """Close the account (SEC-4): personal data is anonymised, records that reference the member
    (ledger, complaints, logs) stay whole but no longer lead to a person."""
    if actor.user is not None:
        scope.require_member(actor.user, member)
    member = member_lock(member.pk)
    if member.status == Member.Status.CLOSED:
        raise Conflict(_("This account is already closed."), code="already_closed")
    old = member.status
    closure_mobile_enc = member.mobile_enc  # the closure notice goes to the number the member had
    member.status = Member.Status.CLOSED
    member.closed_at = timezone.now()
    member.name = CLOSED_NAME
    member.gender = Member.Gender.UNKNOWN
    member.birthday = None
    for f in ("mobile_enc", "mobile_hash", "id_number_enc", "id_number_hash", "address_enc"):
        setattr(member, f, None)
    for f in ("mobile_masked", "id_number_masked", "address_masked", "province", "city", "district",
              "occupation", "email", "status_reason"):
        setattr(member, f, "")
    member.marketing_consent = False
    had_id_number_consent = member.id_number_consent
    member.id_number_consent = False
    member.next_review_on = None
    member.save()
    if had_id_number_consent:
        ConsentLog.objects.create(member=member, kind=ConsentLog.Kind.ID_NUMBER, granted=False,
                                  version=member.privacy_version, channel=actor.channel, actor=actor.user,
                                  detail="account closed, ID number erased")
    GuardianConsent.objects.filter(member=member).update(guardian_name=CLOSED_NAME, guardian_mobile_enc="",
                                                         guardian_mobile_masked="")
    # The history keeps the fact of each change but drops the (masked) values.
    MemberChange.objects.filter(member=member).update(old_value="", new_value="")
    ChangeRequest.objects.filter(member=member).update(payload_enc=crypto.encrypt("{}"), summary="")
    MemberTag.objects.filter(member=member).delete()
    CorporateProfile.objects.filter(member=member).update(contact_person="")
    ConsentLog.objects.create(member=member, kind=ConsentLog.Kind.MARKETING, granted=False,
                              version=current_privacy_version(), channel=actor.channel, actor=actor.user)
    MemberChange.objects.create(member=member, field="status", old_value=old, new_value=member.status,
                                actor=actor.user, actor_label=actor.label, channel=actor.channel)
    audit_record(actor=actor, action=AuditLog.Action.CLOSE, member=member, ip=actor.ip)
    member_event_on_commit("closed", member_id=member.pk, mobile_enc=closure_mobile_enc or "")
    return member


# ---------------------------------------------------------------- corporate members and re-review


@transaction.atomic
def corporate_buyer_link(*, company: Member, buyer: Member, staff, link: bool = True) -> CorporateProfile:
    """Link (or unlink) a personal member as a staff buyer of a corporate member (企业会员)."""
    scope.require_member(staff, company)
    scope.require_member(staff, buyer)
    profile = corporate_profile_lock(company.pk)
    if profile is None:
        raise ValidationFailed(_("This member is not a corporate member."), code="not_corporate")
    if buyer.kind != Member.Kind.PERSONAL or buyer.pk == company.pk:
        raise ValidationFailed(_("Only personal members can be linked as buyers."), code="not_personal")
    old_count = profile.buyers.count()
    (profile.buyers.add if link else profile.buyers.remove)(buyer)
    if profile.buyers.count() != old_count:
        MemberChange.objects.create(
            member=company, field="buyers", old_value="", new_value=f"{'+' if link else '-'}{buyer.member_no}",
            actor=staff, actor_label=staff.get_username(), channel=Member.Channel.DESK,
        )
    return profile


REREVIEW_OUTCOMES = ("confirmed", "suspend", "disqualify")


@transaction.atomic
def member_rereview(*, member: Member, staff, outcome: str, reason: str = "", next_in_days: int | None = None) -> Member:
    """Periodic re-review (MEM-5; seed 002 二(二)3 定期復查): confirm the data or suspend / disqualify; the
    next review falls after the configured interval (MemberSettings.review_interval_days)."""
    scope.require_perm(staff, "members.review_member")
    if outcome not in REREVIEW_OUTCOMES:
        raise ValidationFailed(_("Unknown outcome."), fields={"outcome": [_("Choose confirmed, suspend or disqualify.")]})
    if outcome != "confirmed":
        if not staff.has_perm("members.change_member_status"):
            raise PermissionDenied(_("Your role does not allow this."), code="permission")
        member = member_set_status(member=member, staff=staff, action=outcome, reason=reason)
    member = member_lock(member.pk)
    scope.require_member(staff, member)
    old = member.next_review_on
    member.next_review_on = next_review_date(
        confirmed_on=timezone.localdate(),
        interval_days=next_in_days or MemberSettings.get().review_interval_days)
    member.save(update_fields=["next_review_on", "updated_at"])
    MemberChange.objects.create(
        member=member, field="next_review_on", old_value=str(old or ""), new_value=str(member.next_review_on),
        actor=staff, actor_label=staff.get_username(), channel=Member.Channel.DESK,
    )
    audit_record(actor=staff, action=AuditLog.Action.REVIEW, member=member, field="rereview",
                 detail=f"{outcome} {reason}")
    return member


# ---------------------------------------------------------------- tills and devices


@transaction.atomic
def device_update(*, device: Device, staff, name: str, is_active: bool, ip: str | None = None) -> Device:
    """Rename a till / device or switch its token off and on. Revoking (clearing "active") is
    audit-logged; from then on members.api_auth refuses the token. The conditional UPDATE makes
    two concurrent revokes write one record."""
    scope.require_perm(staff, "members.change_device")
    scope.require_store(staff, device.store)
    revoked = not is_active and Device.objects.filter(pk=device.pk, is_active=True).update(is_active=False) == 1
    Device.objects.filter(pk=device.pk).update(name=name, is_active=is_active)
    reference_cache.bump("devices")  # the API's cached copies (members.api_auth): no signal on update()
    device.name, device.is_active = name, is_active
    if revoked:
        audit_record(actor=staff, action=AuditLog.Action.REVOKE, field="device_token",
                     detail=f"{device} token {device.key_prefix}", ip=ip)
    return device


# ---------------------------------------------------------------- security incidents (seed 000 信息安全)

INCIDENT_FIELDS = ("title", "description", "severity", "occurred_at", "detected_at", "members_affected",
                   "data_involved", "handled_by", "measures", "members_notified_at", "authority_notified_at",
                   "authority", "status")


def incident_errors(values: dict) -> dict[str, list[str]]:
    """The incident register's rules, one place for the service and the admin form."""
    errors = {}
    detected, occurred = values.get("detected_at"), values.get("occurred_at")
    if detected and detected > timezone.now():
        errors["detected_at"] = [_("The detection time cannot be in the future.")]
    if occurred and detected and occurred > detected:
        errors["occurred_at"] = [_("It cannot have happened after it was detected.")]
    for key in ("members_notified_at", "authority_notified_at"):
        value = values.get(key)
        if value and detected and value < detected:
            errors[key] = [_("A notification cannot be before the detection.")]
    if values.get("authority_notified_at") and not (values.get("authority") or "").strip():
        errors["authority"] = [_("Name the authority that was notified.")]
    if values.get("status") == "closed" and not (values.get("measures") or "").strip():
        errors["measures"] = [_("Describe the measures taken before closing the incident.")]
    return errors


@transaction.atomic
def incident_save(*, staff, incident, data: dict):
    """Record or update a security incident (安全事件; seed 000 信息安全 "建立潜在安全风险隐患防范和应对措施";
    PIPL art. 57: who was notified when). Each save is audit-logged with what changed; closing needs the
    measures taken and the notification decision, and stamps the closing time."""
    from .models import SecurityIncident

    creating = incident is None or incident.pk is None
    scope.require_perm(staff, "members.add_securityincident" if creating else "members.change_securityincident")
    if creating:
        incident = SecurityIncident(recorded_by=staff)
        before = {}
    else:
        incident = security_incident_lock(incident.pk)
        before = {f: getattr(incident, f) for f in INCIDENT_FIELDS}
    for key in INCIDENT_FIELDS:
        if key in data:
            setattr(incident, key, data[key])
    errors = incident_errors({f: getattr(incident, f) for f in INCIDENT_FIELDS})
    if errors:
        raise ValidationFailed(_("The incident record is incomplete."), fields=errors)
    now = timezone.now()
    if incident.status == SecurityIncident.Status.CLOSED and incident.closed_at is None:
        incident.closed_at = now
    elif incident.status != SecurityIncident.Status.CLOSED:
        incident.closed_at = None
    incident.save()
    changed = [f for f in INCIDENT_FIELDS if before.get(f) != getattr(incident, f)] if before else ["recorded"]
    audit_record(actor=staff, action=AuditLog.Action.INCIDENT, field="security_incident",
                 detail=f"#{incident.pk} {incident.get_status_display()}: {', '.join(changed)}")
    return incident
