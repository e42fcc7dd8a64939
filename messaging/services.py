"""Member notices (MSG-2 service notices): portal inbox + SMS, once per event.

The messaging issue grows this into templates, channels, consent and quiet hours; every notice in
MemberHub already goes through `notify_member`, so that is the one place to grow."""
from __future__ import annotations

from django.db import IntegrityError, transaction

from core import crypto
from members.models import Member

from .models import Notice
from .sms import send_sms


def notify_member(*, member: Member, kind: str, ref: str, title: str, body: str, sms: bool = True) -> Notice | None:
    """Record the notice (portal inbox) and send the SMS after commit. Returns None if this event
    was already announced to this member (idempotent under re-runs and concurrent jobs)."""
    try:
        with transaction.atomic():
            notice = Notice.objects.create(member=member, kind=kind, ref=ref, title=title, body=body, sms_sent=sms)
    except IntegrityError:
        return None
    mobile = crypto.decrypt(member.mobile_enc)
    if sms and mobile:
        transaction.on_commit(lambda: send_sms(mobile=mobile, text=f"{title}: {body}", kind=kind))
    return notice


def notify_members_bulk(notices: list[Notice], *, sms: bool = True) -> int:
    """Set-wise variant for nightly jobs: insert all, skip events already announced; SMS for the new ones."""
    if not notices:
        return 0
    keys = {(n.kind, n.ref, n.member_id) for n in notices}
    existing = set(
        Notice.objects.filter(kind__in={k for k, _, _ in keys}, ref__in={r for _, r, _ in keys},
                              member_id__in={m for _, _, m in keys}).values_list("kind", "ref", "member_id")
    )
    fresh = [n for n in notices if (n.kind, n.ref, n.member_id) not in existing]
    Notice.objects.bulk_create(fresh, ignore_conflicts=True)
    if sms and fresh:
        members = {m.pk: m for m in Member.objects.filter(pk__in={n.member_id for n in fresh})}

        def send():
            for n in fresh:
                mobile = crypto.decrypt(members[n.member_id].mobile_enc)
                if mobile:
                    send_sms(mobile=mobile, text=f"{n.title}: {n.body}", kind=n.kind)

        transaction.on_commit(send)
    return len(fresh)
