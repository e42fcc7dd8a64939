"""Retention (保存期限; seed 000 信息安全, 003 2.4; PIPL art. 19 and 47): what members keeps only as long as
it is needed, and the job step that applies the schedule (RetentionRule) and registers what it purged
(RetentionPurge, one row per rule per run, in the same transaction as the purge).

members registers its own data sets here (rejected sign-ups, SMS codes, closed accounts); apps above it
register theirs in core.retention from their AppConfig.ready() (messaging: old message texts)."""
from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import crypto
from core.audit import audit_record
from core.models import AuditLog
from core.retention import (
    ANONYMISE,
    PURGE,
    RetentionTarget,
    retention_apply_target,
    retention_register,
    retention_target,
)

from .models import (
    ChangeRequest,
    ConsentLog,
    CorporateProfile,
    GuardianConsent,
    Member,
    MemberChange,
    MemberTag,
    RetentionPurge,
    RetentionRule,
    SmsCode,
)

ANONYMOUS_NAME = "已匿名"


def _anonymise_members(qs) -> int:
    """Set-wise: a member row keeps its number and the records that reference it, without a person."""
    ids = list(qs.values_list("pk", flat=True))
    if not ids:
        return 0
    # A consent the anonymisation ends is logged like any other withdrawal (MEM-6).
    ConsentLog.objects.bulk_create([
        ConsentLog(member_id=pk, kind=ConsentLog.Kind.ID_NUMBER, granted=False, version=version,
                   channel=ConsentLog.Channel.DESK, detail="retention schedule: ID number erased")
        for pk, version in Member.objects.filter(pk__in=ids, id_number_consent=True)
        .values_list("pk", "privacy_version")
    ])
    Member.objects.filter(pk__in=ids).update(
        name=ANONYMOUS_NAME, gender=Member.Gender.UNKNOWN, birthday=None, mobile_enc=None, mobile_hash=None,
        mobile_masked="", id_number_enc=None, id_number_hash=None, id_number_masked="", address_enc=None,
        address_masked="", province="", city="", district="", occupation="", email="", status_reason="",
        marketing_consent=False, id_number_consent=False, next_review_on=None, updated_at=timezone.now(),
    )
    MemberChange.objects.filter(member_id__in=ids).exclude(old_value="", new_value="").update(old_value="",
                                                                                             new_value="")
    ChangeRequest.objects.filter(member_id__in=ids).exclude(summary="").update(
        payload_enc=crypto.encrypt("{}"), summary="")
    MemberTag.objects.filter(member_id__in=ids).delete()
    CorporateProfile.objects.filter(member_id__in=ids).update(contact_person="")
    GuardianConsent.objects.filter(member_id__in=ids).exclude(guardian_mobile_masked="").update(
        guardian_name=ANONYMOUS_NAME, guardian_mobile_enc="", guardian_mobile_masked="")
    ConsentLog.objects.filter(member_id__in=ids).exclude(detail="").update(detail="")
    return len(ids)


def rejected_signups(*, cutoff: dt.datetime, action: str) -> int:
    """Desk sign-ups rejected before `cutoff`: nothing of the applicant is needed any more."""
    return _anonymise_members(
        Member.objects.filter(status=Member.Status.REJECTED, reviewed_at__lt=cutoff).exclude(name=ANONYMOUS_NAME))


def closed_accounts(*, cutoff: dt.datetime, action: str) -> int:
    """Closed accounts: closing anonymised the profile at once (member_close); after the period the rest
    goes too — history values, change-request payloads, corporate contact, guardians, consent details."""
    return _anonymise_members(
        Member.objects.filter(status=Member.Status.CLOSED, closed_at__lt=cutoff).exclude(name=ANONYMOUS_NAME))


def sms_codes(*, cutoff: dt.datetime, action: str) -> int:
    """SMS codes are needed for a day of rate limits; then deleted (SEC-1)."""
    deleted, _detail = SmsCode.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def register_member_targets() -> None:
    retention_register(RetentionTarget(key="rejected_signups", label=_("Rejected sign-ups"),
                                       actions=(ANONYMISE,), handler=rejected_signups))
    retention_register(RetentionTarget(key="closed_accounts", label=_("Closed accounts' personal data"),
                                       actions=(ANONYMISE,), handler=closed_accounts))
    retention_register(RetentionTarget(key="sms_codes", label=_("SMS verification codes"),
                                       actions=(PURGE,), handler=sms_codes))


def retention_apply(*, now: dt.datetime | None = None, run_by: str = "apply_retention", job_run=None,
                    targets: set[str] | None = None) -> list[RetentionPurge]:
    """Apply every active rule (or only `targets`): each in its own transaction with its register row and
    audit row. Idempotent: a second run finds nothing left older than the cutoff and registers 0 rows."""
    now = now or timezone.now()
    records = []
    rules = RetentionRule.objects.filter(is_active=True).order_by("target")
    if targets is not None:
        rules = rules.filter(target__in=targets)
    for rule in rules:
        if retention_target(rule.target) is None:
            continue  # an app that registered it is not installed
        cutoff = now - dt.timedelta(days=rule.keep_days)
        with transaction.atomic():
            rows = retention_apply_target(rule.target, cutoff=cutoff, action=rule.action)
            record = RetentionPurge.objects.create(
                rule=rule, target=rule.target, action=rule.action, keep_days=rule.keep_days, cutoff=cutoff,
                rows=rows, job_run=job_run, run_by=run_by,
            )
            if rows:
                audit_record(actor=run_by, action=AuditLog.Action.RETENTION, field=rule.target,
                             detail=f"{rule.action} {rows} rows older than {rule.keep_days} days")
        records.append(record)
    return records
