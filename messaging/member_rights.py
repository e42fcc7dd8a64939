"""Messaging's part of the member's rights (issue 15): its section of the data download (SEC-4; PIPL art.
45) and its retention target (seed 000 信息安全; PIPL art. 19), registered by MessagingConfig.ready()."""
from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.member_data import MemberDataSection, member_data_register
from core.retention import ANONYMISE, RetentionTarget, retention_register

from .models import Message, Notice

ERASED = "（已按保存期限删除）"


def _messages(member) -> list[dict]:
    return [
        {"created_at": m.created_at, "channel": m.get_channel_display(), "kind": m.get_kind_display(),
         "subject": m.subject, "text": m.text, "status": m.get_status_display()}
        for m in Message.objects.filter(member=member).order_by("created_at", "id")
    ]


def _notices(member) -> list[dict]:
    return [
        {"created_at": n.created_at, "title": n.title, "body": n.body, "read_at": n.read_at}
        for n in Notice.objects.filter(member=member).order_by("created_at", "id")
    ]


def message_texts(*, cutoff: dt.datetime, action: str) -> int:
    """Texts of messages sent before `cutoff` are blanked set-wise; the fact of the message (who, when, which
    kind, delivered or not) stays for complaints and statistics. Idempotent: erased rows are skipped."""
    return Message.objects.filter(created_at__lt=cutoff).exclude(text=ERASED).filter(
        ~Q(text="") | ~Q(subject="") | ~Q(mobile_enc="")
    ).update(text=ERASED, subject="", params={}, mobile_enc="")


def register() -> None:
    member_data_register(MemberDataSection(
        key="messages", title=_("Messages sent to you"), order=80, rows=_messages,
        columns=(("created_at", _("Time")), ("channel", _("Channel")), ("kind", _("Kind")), ("subject", _("Subject")),
                 ("text", _("Text")), ("status", _("Status")))))
    member_data_register(MemberDataSection(
        key="notices", title=_("Inbox"), order=81, rows=_notices,
        columns=(("created_at", _("Time")), ("title", _("Title")), ("body", _("Text")), ("read_at", _("Read at")))))
    retention_register(RetentionTarget(key="message_texts", label=_("Texts of sent messages"),
                                       actions=(ANONYMISE,), handler=message_texts))
