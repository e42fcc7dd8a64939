"""A member's own data, assembled for the portal download (SEC-4: the right to view and export).

`member_data_export` only reads; `member_data_download` is the write path the portal calls: it
assembles the data and records the export in the audit log in the same transaction."""
from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core import crypto
from core.audit import audit_record
from core.models import AuditLog

from .models import ChangeRequest, ConsentLog, Member, MemberChange, MemberTag

FORMAT_VERSION = 1


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def member_data_export(member: Member) -> dict:
    """Everything MemberHub holds about the member, in full (it is their own data)."""
    member = Member.objects.select_related("tier", "home_store").get(pk=member.pk)
    profile = {
        "member_no": member.member_no,
        "kind": member.kind,
        "status": member.status,
        "status_reason": member.status_reason,
        "name": member.name,
        "gender": member.gender,
        "birthday": _iso(member.birthday),
        "mobile": crypto.decrypt(member.mobile_enc) or "",
        "id_number": crypto.decrypt(member.id_number_enc) or "",
        "province": member.province,
        "city": member.city,
        "district": member.district,
        "address": crypto.decrypt(member.address_enc) or "",
        "occupation": member.occupation,
        "email": member.email,
        "home_store": {"code": member.home_store.code, "name": member.home_store.name},
        "tier": {"code": member.tier.code, "name": member.tier.name},
        "sign_up_channel": member.channel,
        "registered_at": _iso(member.created_at),
        "privacy_version": member.privacy_version,
        "marketing_consent": member.marketing_consent,
    }
    consents = [
        {"kind": c.kind, "granted": c.granted, "version": c.version, "channel": c.channel, "at": _iso(c.at)}
        for c in ConsentLog.objects.filter(member=member).order_by("at", "id")
    ]
    changes = [
        {"at": _iso(c.at), "field": c.field, "old_value": c.old_value, "new_value": c.new_value,
         "by": c.actor_label, "channel": c.channel}
        for c in MemberChange.objects.filter(member=member).order_by("at", "id")
    ]
    change_requests = [
        {"requested_at": _iso(r.requested_at), "status": r.status, "summary": r.summary,
         "reviewed_at": _iso(r.reviewed_at), "reason": r.reason}
        for r in ChangeRequest.objects.filter(member=member).order_by("requested_at", "id")
    ]
    tags = [t.tag.name for t in MemberTag.objects.filter(member=member).select_related("tag").order_by("tag__name")]
    return {
        "format_version": FORMAT_VERSION,
        "exported_at": timezone.now().isoformat(),
        "current_privacy_policy_version": settings.PRIVACY_POLICY_VERSION,
        "profile": profile,
        "consents": consents,
        "changes": changes,
        "change_requests": change_requests,
        "tags": tags,
    }


@transaction.atomic
def member_data_download(*, member: Member, ip: str | None = None) -> dict:
    """The member downloads their own data; the export is audit-logged (SEC-2, SEC-4)."""
    data = member_data_export(member)
    audit_record(actor="member", action=AuditLog.Action.EXPORT, member=member, field="member_data",
                 detail="portal self-service download", ip=ip)
    return data
