"""Writes of the member lifecycle (MEM-1..7, SEC-2..5). Each change writes its record in the same
transaction: MemberChange for data, ConsentLog for consent, AuditLog for reviews, reveals and status."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import crypto
from core.audit import audit_record
from core.errors import Conflict, PermissionDenied, ValidationFailed
from core.models import AuditLog

from . import scope
from .locks import change_request_lock, corporate_profile_lock, member_lock
from .models import (
    ChangeRequest,
    ConsentLog,
    CorporateProfile,
    Device,
    Member,
    MemberChange,
    MemberTag,
    Store,
    Tag,
    Tier,
)
from .sms_codes import sms_code_verify
from .validation import clean_corporate_data, clean_member_data


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


def _create_member(
    *, data: dict, store: Store, actor: Actor, status: str, consent_channel: str, marketing: bool,
    privacy_accepted: bool, corporate: dict | None = None,
) -> Member:
    cleaned = clean_member_data(data)
    corp = clean_corporate_data(corporate) if corporate is not None else None
    _require_privacy(privacy_accepted)
    _check_unique(cleaned)
    if corp and CorporateProfile.objects.filter(credit_code=corp["credit_code"]).exists():
        raise ValidationFailed(
            _("Already registered."), code="duplicate",
            fields={"credit_code": [_("A corporate member with this credit code already exists.")]},
        )
    member = Member(
        member_no=member_numbers_allocate(1)[0],
        kind=Member.Kind.CORPORATE if corp else Member.Kind.PERSONAL,
        status=status,
        home_store=store,
        tier=entry_tier(),
        channel=actor.channel,
        created_by=actor.user,
        privacy_version=settings.PRIVACY_POLICY_VERSION,
        marketing_consent=marketing,
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
    ConsentLog.objects.bulk_create([
        ConsentLog(member=member, kind=ConsentLog.Kind.PRIVACY, granted=True,
                   version=settings.PRIVACY_POLICY_VERSION, channel=consent_channel, actor=actor.user),
        ConsentLog(member=member, kind=ConsentLog.Kind.MARKETING, granted=marketing,
                   version=settings.PRIVACY_POLICY_VERSION, channel=consent_channel, actor=actor.user),
    ])
    MemberChange.objects.create(
        member=member, field="status", old_value="", new_value=status, actor=actor.user,
        actor_label=actor.label, channel=actor.channel,
    )
    return member


def member_register_online(
    *, data: dict, sms_code: str, store: Store, marketing: bool, privacy_accepted: bool, ip: str | None = None
) -> Member:
    """Portal self-sign-up (MEM-1/2): the SMS code proves the mobile; automatic checks; active at once."""
    _require_privacy(privacy_accepted)
    _check_unique(clean_member_data(data))  # report errors before spending the code
    # Verified outside the sign-up transaction, so a wrong attempt stays counted.
    sms_code_verify(mobile=data["mobile"], purpose="signup", code=sms_code)
    with transaction.atomic():
        return _create_member(
        data=data, store=store, actor=Actor.member(ip), status=Member.Status.ACTIVE,
        consent_channel=ConsentLog.Channel.PORTAL, marketing=marketing, privacy_accepted=privacy_accepted,
    )


def member_register_till(
    *, data: dict, sms_code: str, store: Store, device_label: str, marketing: bool, privacy_accepted: bool
) -> Member:
    """Sign-up at a till: the customer reads back the SMS code, so it counts as verified like online."""
    _require_privacy(privacy_accepted)
    _check_unique(clean_member_data(data))
    sms_code_verify(mobile=data["mobile"], purpose="till", code=sms_code)
    actor = Actor(label=device_label, channel=Member.Channel.TILL)
    with transaction.atomic():
        return _create_member(
        data=data, store=store, actor=actor, status=Member.Status.ACTIVE,
        consent_channel=ConsentLog.Channel.TILL, marketing=marketing, privacy_accepted=privacy_accepted,
    )


@transaction.atomic
def member_register_desk(
    *, data: dict, staff, store: Store | None = None, marketing: bool, privacy_accepted: bool,
    corporate: dict | None = None,
) -> Member:
    """Desk sign-up (MEM-2): enters the review queue; a second staff member approves it."""
    scope.require_perm(staff, "members.add_member")
    store = store or scope.staff_store(staff)
    if store is None:
        raise ValidationFailed(_("Choose the store the member belongs to."), fields={"store": [_("Required.")]})
    scope.require_store(staff, store)
    return _create_member(
        data=data, store=store, actor=Actor.staff(staff), status=Member.Status.PENDING,
        consent_channel=ConsentLog.Channel.DESK, marketing=marketing, privacy_accepted=privacy_accepted,
        corporate=corporate,
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
    old = member.status
    member.status = Member.Status.ACTIVE if approve else Member.Status.REJECTED
    member.status_reason = "" if approve else reason.strip()
    member.reviewed_by = reviewer
    member.reviewed_at = timezone.now()
    if not approve:
        # A rejected sign-up must not block the number for a corrected, later sign-up.
        member.mobile_hash = None
        member.id_number_hash = None
    member.save()
    _record_status(member, old, Actor.staff(reviewer), reason)
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


CHANGEABLE_FIELDS = ("name", "gender", "birthday", "mobile", "id_number", "province", "city", "district",
                     "address", "occupation", "email")


@transaction.atomic
def change_request_submit(*, member: Member, changes: dict, actor: Actor) -> ChangeRequest:
    """Propose new values; they apply only when a reviewer approves (a different person from the requester)."""
    if actor.user is not None:
        scope.require_member(actor.user, member)
    unknown = set(changes) - set(CHANGEABLE_FIELDS)
    if unknown:
        raise ValidationFailed(_("These fields cannot be changed."), fields={k: [_("Not changeable.")] for k in unknown})
    member = member_lock(member.pk)
    if member.status in (Member.Status.CLOSED, Member.Status.REJECTED):
        raise Conflict(_("This membership is closed."), code="member_closed")
    cleaned = clean_member_data(changes, partial=True)
    diff = {k: v for k, v in cleaned.items() if _current_value(member, k) != v}
    if not diff:
        raise ValidationFailed(_("Nothing would change."), code="no_change")
    _check_unique(diff, exclude_pk=member.pk)
    if ChangeRequest.objects.filter(member=member, status=ChangeRequest.Status.PENDING).exists():
        raise Conflict(_("A change request for this member is already waiting for review."), code="pending_exists")
    payload = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in diff.items()}
    summary = "; ".join(f"{k}: {_masked(k, v)}" for k, v in diff.items())
    return ChangeRequest.objects.create(
        member=member, channel=actor.channel, payload_enc=crypto.encrypt(json.dumps(payload, ensure_ascii=False)),
        summary=summary[:500], requested_by=actor.user,
    )


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
    request.status = ChangeRequest.Status.APPROVED if approve else ChangeRequest.Status.REJECTED
    request.reviewed_by = reviewer
    request.reviewed_at = timezone.now()
    request.reason = reason.strip()
    request.save()
    actor = Actor.staff(reviewer)
    audit_record(actor=actor, action=AuditLog.Action.REVIEW, member=member, field="change_request",
                 detail=f"{request.pk} {request.status} {reason}")
    if approve:
        payload = change_request_payload(request)
        cleaned = clean_member_data(payload, partial=True)
        _check_unique(cleaned, exclude_pk=member.pk)
        _apply_changes(member, cleaned, actor=actor, channel=request.channel, change_request=request)
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
        version=settings.PRIVACY_POLICY_VERSION, channel=channel, actor=actor_user,
    )
    return member


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
    MemberTag.objects.filter(member=member, tag=tag).delete()


# ---------------------------------------------------------------- privacy (SEC-2, SEC-4)

CLOSED_NAME = "已注销"
REVEALABLE = {"mobile": "mobile_enc", "id_number": "id_number_enc", "address": "address_enc"}


@transaction.atomic
def member_reveal(*, member: Member, field: str, staff, ip: str | None = None) -> str:
    """Full value of a sensitive field for a role that needs it; every reveal is audit-logged."""
    if field not in REVEALABLE:
        raise ValidationFailed(_("Unknown field."), fields={"field": [_("Choose mobile, ID number or address.")]})
    scope.require_perm(staff, "members.reveal_sensitive")
    scope.require_member(staff, member)
    value = crypto.decrypt(getattr(member, REVEALABLE[field])) or ""
    audit_record(actor=staff, action=AuditLog.Action.REVEAL, member=member, field=field, ip=ip)
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
    member.save()
    # The history keeps the fact of each change but drops the (masked) values.
    MemberChange.objects.filter(member=member).update(old_value="", new_value="")
    ChangeRequest.objects.filter(member=member).update(payload_enc=crypto.encrypt("{}"), summary="")
    MemberTag.objects.filter(member=member).delete()
    CorporateProfile.objects.filter(member=member).update(contact_person="")
    ConsentLog.objects.create(member=member, kind=ConsentLog.Kind.MARKETING, granted=False,
                              version=settings.PRIVACY_POLICY_VERSION, channel=actor.channel, actor=actor.user)
    MemberChange.objects.create(member=member, field="status", old_value=old, new_value=member.status,
                                actor=actor.user, actor_label=actor.label, channel=actor.channel)
    audit_record(actor=actor, action=AuditLog.Action.CLOSE, member=member, ip=actor.ip)
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
def member_rereview(*, member: Member, staff, outcome: str, reason: str = "", next_in_days: int = 365) -> Member:
    """Periodic re-review (MEM-5): confirm the data (next review in a year) or suspend / disqualify."""
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
    member.next_review_on = timezone.localdate() + dt.timedelta(days=next_in_days)
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
    device.name, device.is_active = name, is_active
    if revoked:
        audit_record(actor=staff, action=AuditLog.Action.REVOKE, field="device_token",
                     detail=f"{device} token {device.key_prefix}", ip=ip)
    return device
