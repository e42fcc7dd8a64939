"""A member's own data, assembled for the portal download (SEC-4; PIPL art. 45 查阅、复制; seed 000 信息安全).

Everything MemberHub holds about the member: the profile (members) and one section per data set that an
app registered in `core.member_data` — members' own consents, guardians' consents, changes, change requests
and tags here (`register_member_sections`, called by MembersConfig.ready()), and purchases, points ledger,
coupons, complaints, visits, survey answers, bookings, registrations and messages by the apps that hold
them. The layers contract keeps members from importing those apps; the registry is the hook.

`member_data_export` only reads; `member_data_download` is the write path the portal calls: it assembles
the data and records the export in the audit log in the same transaction. `member_data_json` turns it into
the JSON file (ISO times in Asia/Shanghai); the readable page renders the same structure."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import crypto
from core.audit import audit_record
from core.member_data import MemberDataSection, member_data_register, member_data_sections
from core.models import AuditLog

from .models import ChangeRequest, ConsentLog, GuardianConsent, Member, MemberChange, MemberTag
from .selectors import current_privacy_version

FORMAT_VERSION = 2


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _profile(member: Member) -> list[tuple[str, str, object]]:
    """(key, label, value) of the profile, in full (it is the member's own data)."""
    return [
        ("member_no", _("Member number"), member.member_no),
        ("kind", _("Kind"), member.get_kind_display()),
        ("status", _("Status"), member.get_status_display()),
        ("status_reason", _("Status reason"), member.status_reason),
        ("name", _("Name"), member.name),
        ("gender", _("Gender"), member.get_gender_display()),
        ("birthday", _("Birthday"), member.birthday),
        ("mobile", _("Mobile"), crypto.decrypt(member.mobile_enc) or ""),
        ("id_number", _("ID number"), crypto.decrypt(member.id_number_enc) or ""),
        ("province", _("Province"), member.province),
        ("city", _("City"), member.city),
        ("district", _("District"), member.district),
        ("address", _("Address"), crypto.decrypt(member.address_enc) or ""),
        ("occupation", _("Occupation"), member.occupation),
        ("email", _("E-mail"), member.email),
        ("home_store", _("Home store"), f"{member.home_store.code} {member.home_store.name}"),
        ("tier", _("Tier"), member.tier.name),
        ("sign_up_channel", _("Sign-up channel"), member.get_channel_display()),
        ("registered_at", _("Registered at"), member.created_at),
        ("privacy_version", _("Privacy policy version accepted"), member.privacy_version),
        ("marketing_consent", _("Marketing consent"), member.marketing_consent),
        ("id_number_consent", _("Consent to store the ID number"), member.id_number_consent),
        ("next_review_on", _("Next periodic review"), member.next_review_on),
    ]


def member_data_export(member: Member) -> dict:
    """Profile plus every registered section: {"profile": [...], "sections": [{key, title, columns, rows}]}."""
    member = Member.objects.select_related("tier", "home_store").get(pk=member.pk)
    sections = []
    for section in member_data_sections():
        sections.append({"key": section.key, "title": section.title, "columns": section.columns,
                         "rows": section.rows(member)})
    return {
        "format_version": FORMAT_VERSION,
        "exported_at": timezone.now(),
        "current_privacy_policy_version": current_privacy_version(),
        "member": member,
        "profile": _profile(member),
        "sections": sections,
    }


def _plain(value):
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def member_data_json(data: dict) -> dict:
    """The download file: profile as an object, each section as a list of rows under its key."""
    out = {
        "format_version": data["format_version"],
        "exported_at": _plain(data["exported_at"]),
        "current_privacy_policy_version": data["current_privacy_policy_version"],
        "profile": {key: _plain(value) for key, _label, value in data["profile"]},
        "section_titles": {s["key"]: str(s["title"]) for s in data["sections"]},
    }
    for section in data["sections"]:
        out[section["key"]] = [{k: _plain(v) for k, v in row.items()} for row in section["rows"]]
    return out


def _readable(value) -> str:
    from django.utils.translation import gettext

    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (list, dict)):
        return json.dumps(_plain(value), ensure_ascii=False)
    return str(value)


def member_data_page(data: dict) -> dict:
    """The readable page: the same data with each value as Chinese text, times in Asia/Shanghai."""
    return {
        "exported_at": timezone.localtime(data["exported_at"]).strftime("%Y-%m-%d %H:%M"),
        "profile": [(label, _readable(value)) for _key, label, value in data["profile"]],
        "sections": [
            {"key": s["key"], "title": s["title"], "headers": [label for _k, label in s["columns"]],
             "cells": [[_readable(row.get(k)) for k, _label in s["columns"]] for row in s["rows"]]}
            for s in data["sections"]
        ],
    }


@transaction.atomic
def member_data_download(*, member: Member, ip: str | None = None, form: str = "json") -> dict:
    """The member downloads (or views) all their data; each full download is audit-logged (SEC-2, SEC-4)."""
    data = member_data_export(member)
    counts = ", ".join(f"{s['key']}={len(s['rows'])}" for s in data["sections"])
    audit_record(actor="member", action=AuditLog.Action.EXPORT, member=member, field="member_data",
                 detail=f"portal self-service download ({form}): {counts}", ip=ip)
    return data


# ---------------------------------------------------------------- members' own sections


def _consents(member: Member) -> list[dict]:
    return [
        {"at": c.at, "kind": c.get_kind_display(), "granted": c.granted, "version": c.version,
         "channel": c.get_channel_display(), "detail": c.detail}
        for c in ConsentLog.objects.filter(member=member).order_by("at", "id")
    ]


def _guardians(member: Member) -> list[dict]:
    return [
        {"at": g.at, "guardian_name": g.guardian_name, "relation": g.relation,
         "guardian_mobile": crypto.decrypt(g.guardian_mobile_enc) or "", "verified_how": g.get_verified_how_display()}
        for g in GuardianConsent.objects.filter(member=member).order_by("at", "id")
    ]


def _changes(member: Member) -> list[dict]:
    return [
        {"at": c.at, "field": c.field, "old_value": c.old_value, "new_value": c.new_value, "by": c.actor_label,
         "channel": c.channel}
        for c in MemberChange.objects.filter(member=member).order_by("at", "id")
    ]


def _change_requests(member: Member) -> list[dict]:
    return [
        {"requested_at": r.requested_at, "status": r.get_status_display(), "summary": r.summary,
         "reviewed_at": r.reviewed_at, "reason": r.reason}
        for r in ChangeRequest.objects.filter(member=member).order_by("requested_at", "id")
    ]


def _tags(member: Member) -> list[dict]:
    return [{"name": t.tag.name}
            for t in MemberTag.objects.filter(member=member).select_related("tag").order_by("tag__name")]


def register_member_sections() -> None:
    time, channel = _("Time"), _("Channel")
    member_data_register(MemberDataSection(
        key="consents", title=_("Consents"), order=10, rows=_consents,
        columns=(("at", time), ("kind", _("Consent")), ("granted", _("Given")), ("version", _("Policy version")),
                 ("channel", channel), ("detail", _("Detail")))))
    member_data_register(MemberDataSection(
        key="guardian_consents", title=_("Guardian's consent"), order=11, rows=_guardians,
        columns=(("at", time), ("guardian_name", _("Guardian's name")), ("relation", _("Relation to the child")),
                 ("guardian_mobile", _("Guardian's mobile")), ("verified_how", _("How verified")))))
    member_data_register(MemberDataSection(
        key="changes", title=_("History of changes"), order=12, rows=_changes,
        columns=(("at", time), ("field", _("Field")), ("old_value", _("Old value")), ("new_value", _("New value")),
                 ("by", _("By")), ("channel", channel))))
    member_data_register(MemberDataSection(
        key="change_requests", title=_("Change requests"), order=13, rows=_change_requests,
        columns=(("requested_at", _("Requested at")), ("status", _("Status")), ("summary", _("Summary")),
                 ("reviewed_at", _("Reviewed at")), ("reason", _("Reason")))))
    member_data_register(MemberDataSection(
        key="tags", title=_("Tags"), order=14, rows=_tags, columns=(("name", _("Name")),)))
