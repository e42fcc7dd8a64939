"""Delivery of queued messages: claim, send through the channel's backend, record the outcome.

At most once, even when two workers get the same ids or a worker dies: a message is claimed by
one statement (SELECT ... FOR UPDATE SKIP LOCKED, then status queued -> sending) that commits
before anything is sent, so a second worker finds nothing to claim. A worker that dies between
claim and record leaves the message 'sending'; after the configured timeout the retry job marks
it failed ("outcome unknown") rather than sending it again, because the provider may have sent it.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from core import crypto

from . import ratelimit
from .backends import SmsMessage, SmsSendError, get_backend
from .models import Message, MessageChannel, MessageKind, MessagingConfig, Notice

log = logging.getLogger(__name__)

_CLAIM_SQL = """
WITH c AS (
    SELECT id FROM messaging_message
    WHERE id = ANY(%s) AND status = 'queued' AND (next_attempt_at IS NULL OR next_attempt_at <= %s)
    ORDER BY id
    FOR UPDATE SKIP LOCKED
)
UPDATE messaging_message m SET status = 'sending', attempts = m.attempts + 1, claimed_at = %s
FROM c WHERE m.id = c.id
RETURNING m.id
"""


_SENT_SQL = """
UPDATE messaging_message m
SET status = 'sent', provider = u.provider, provider_id = u.provider_id, sent_at = u.sent_at,
    next_attempt_at = NULL, error = '', secret_enc = '',
    mobile_enc = CASE WHEN m.member_id IS NULL THEN m.mobile_enc ELSE '' END
FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::timestamptz[]) AS u(id, provider, provider_id, sent_at)
WHERE m.id = u.id AND m.status = 'sending'
"""
# Successful sends are recorded in runs of this many; a worker that dies mid-run leaves at most
# this many "sending" (they time out as failed, never resent).
SENT_FLUSH = 200


@dataclass
class DeliveryResult:
    sent: int = 0
    retry: int = 0
    failed: int = 0
    deferred: list[int] = field(default_factory=list)
    defer_seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"sent": self.sent, "retry": self.retry, "failed": self.failed, "deferred": len(self.deferred)}


def claim(message_ids: list[int], *, now: dt.datetime) -> list[int]:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, [list(message_ids), now, now])
        return [row[0] for row in cursor.fetchall()]


def backoff_seconds(attempts: int, config: MessagingConfig) -> int:
    return min(config.backoff_base_seconds * 2 ** max(attempts - 1, 0), config.backoff_max_seconds)


def _event_kind(message: Message) -> str:
    return message.event_key.split(":", 1)[0]


def _recipient_mobile(message: Message) -> str | None:
    # A number kept on the message itself comes first: a security code to a non-member, or the closure
    # notice to the number the member had before the account was anonymised (messaging.notices).
    if message.mobile_enc:
        return crypto.decrypt(message.mobile_enc)
    if message.member_id:
        return crypto.decrypt(message.member.mobile_enc) if message.member.mobile_enc else None
    return None


def _secret_or_logged(message: Message) -> tuple[str, dict]:
    """What the provider gets: a security code's real text and parameters (encrypted, see
    services.message_send_security_code), any other message as logged."""
    if not message.secret_enc:
        return message.text, message.params or {}
    secret = crypto.decrypt(message.secret_enc)
    if secret is None:
        raise SmsSendError("The security code cannot be decrypted (encryption key changed?).", retryable=False,
                           code="secret_unreadable")
    secret = json.loads(secret)
    return secret["text"], secret["params"]


def _send_one(message: Message, backend) -> tuple[str, str]:
    """Send; return (provider, provider id) or raise SmsSendError."""
    if message.channel == MessageChannel.SMS:
        mobile = _recipient_mobile(message)
        if not mobile:
            raise SmsSendError("The recipient has no mobile number.", retryable=False, code="no_mobile")
        template = message.template
        text, params = _secret_or_logged(message)
        sms = SmsMessage(
            mobile=mobile, text=text, kind=_event_kind(message),
            template_code=template.provider_template_code if template else "",
            params=params, param_names=tuple(template.provider_param_names or ()) if template else (),
            message_id=message.pk,
        )
        return backend.name, backend.send(sms)
    if message.channel == MessageChannel.EMAIL:
        # A member's own address; a staff recipient's (messages_send_staff) is kept encrypted in the row.
        address = message.member.email if message.member_id else (crypto.decrypt(message.mobile_enc) or "")
        if not address:
            raise SmsSendError("The recipient has no e-mail address.", retryable=False, code="no_email")
        try:
            EmailMessage(subject=message.subject, body=message.text, to=[address],
                         headers={"X-MemberHub-Message": str(message.pk)}).send()
        except OSError as exc:
            raise SmsSendError(f"mail server: {exc}", retryable=True, code="smtp") from None
        return "email", f"email-{message.pk}"
    if message.channel == MessageChannel.WECHAT:
        from .providers.wechat import PROVIDER, send_template

        return PROVIDER, send_template(message)
    # Inbox messages are normally delivered when created; one that reached the queue is put there now.
    kind, _sep, ref = message.event_key.partition(":")
    Notice.objects.get_or_create(member_id=message.member_id, kind=kind[:32], ref=ref[:100],
                                 defaults={"title": message.subject[:100], "body": message.text})
    return "inbox", ""


def deliver_messages(message_ids: list[int], *, max_rate_wait: float | None = None) -> DeliveryResult:
    """Deliver the given messages that are queued and due; anything else is left alone."""
    result = DeliveryResult()
    now = timezone.now()
    ids = claim(message_ids, now=now)
    if not ids:
        return result
    config = MessagingConfig.get()
    backend = get_backend()
    rate = (config.rate_limits or {}).get(backend.name)
    if max_rate_wait is None:
        max_rate_wait = getattr(settings, "SMS_RATE_MAX_WAIT_SECONDS", 5.0)
    messages = list(Message.objects.filter(pk__in=ids).select_related("member", "template").order_by("pk"))
    from .services import _waits_for_quiet_hours, quiet_hours_release  # services imports the tasks that import us

    sent: list[tuple] = []
    for message in messages:
        if (message.kind in (MessageKind.MARKETING, MessageKind.GREETING) and message.member_id
                and not message.member.marketing_consent):
            # Consent withdrawn while the message waited (quiet hours, a campaign queue): not sent.
            Message.objects.filter(pk=message.pk, status=Message.Status.SENDING).update(
                status=Message.Status.SKIPPED, error="Marketing consent withdrawn before sending.",
                next_attempt_at=None)
            continue
        release = (quiet_hours_release(now=timezone.now(), config=config)
                   if message.channel != MessageChannel.INBOX and message.template_id
                   and _waits_for_quiet_hours(message.kind, message.template) else None)
        if release:
            # Quiet hours began while the message waited (e.g. a long campaign): hold it until they end;
            # retry_due_messages releases it. Not an attempt.
            Message.objects.filter(pk=message.pk, status=Message.Status.SENDING).update(
                status=Message.Status.QUEUED, attempts=F("attempts") - 1, scheduled_for=release,
                next_attempt_at=release, claimed_at=None)
            continue
        if message.channel == MessageChannel.SMS and rate:
            wait = ratelimit.reserve(backend.name, rate, max_wait=max_rate_wait)
            if wait is None:
                result.deferred.append(message.pk)
                continue
            if wait:
                time.sleep(wait)
        try:
            provider, provider_id = _send_one(message, backend)
        except Exception as exc:  # noqa: BLE001 - any failure is recorded on the message, never lost
            retryable = exc.retryable if isinstance(exc, SmsSendError) else True
            _record_failure(message, str(exc)[:2000], retryable=retryable, config=config)
            if message.status == Message.Status.FAILED:
                result.failed += 1
            else:
                result.retry += 1
            continue
        if message.channel == MessageChannel.INBOX:
            now_ = timezone.now()
            Message.objects.filter(pk=message.pk, status=Message.Status.SENDING).update(
                status=Message.Status.DELIVERED, provider=provider, sent_at=now_, delivered_at=now_,
                next_attempt_at=None, error="")
        else:
            sent.append((message.pk, provider, provider_id, timezone.now()))
            if len(sent) >= SENT_FLUSH:
                _record_sent(sent)
        result.sent += 1
    _record_sent(sent)
    if result.deferred:
        # Over the provider's rate: back in the queue, the attempt not counted.
        defer = max(1.0, 1.0 / rate) if rate else 1.0
        Message.objects.filter(pk__in=result.deferred, status=Message.Status.SENDING).update(
            status=Message.Status.QUEUED, attempts=F("attempts") - 1,
            next_attempt_at=timezone.now() + dt.timedelta(seconds=defer), claimed_at=None,
        )
        result.defer_seconds = defer
    return result




def _record_sent(sent: list[tuple]) -> None:
    """Record a run of successful sends in one statement (one commit, not one per message)."""
    if not sent:
        return
    ids, providers, provider_ids, times = (list(col) for col in zip(*sent, strict=True))
    with connection.cursor() as cursor:
        cursor.execute(_SENT_SQL, [ids, providers, provider_ids, times])
    sent.clear()


def _record_failure(message: Message, error: str, *, retryable: bool, config: MessagingConfig) -> None:
    now = timezone.now()
    if retryable and message.attempts < config.max_attempts:
        message.status = Message.Status.QUEUED
        message.next_attempt_at = now + dt.timedelta(seconds=backoff_seconds(message.attempts, config))
    else:
        message.status = Message.Status.FAILED
        message.next_attempt_at = None
    message.error = error
    # A security code that will not be sent again is not kept (SEC-2).
    gone = {"secret_enc": ""} if message.status == Message.Status.FAILED else {}
    if gone and message.member_id:
        gone["mobile_enc"] = ""   # the closure notice's number is not kept once it cannot be sent
    Message.objects.filter(pk=message.pk, status=Message.Status.SENDING).update(
        status=message.status, next_attempt_at=message.next_attempt_at, error=error, claimed_at=None, **gone,
    )
    log.warning("message %s attempt %s failed (%s): %s", message.pk, message.attempts, message.status, error)


CAMPAIGN_GRACE_SECONDS = 30 * 60


def due_message_ids(*, now: dt.datetime, limit: int, grace_seconds: int = 30) -> list[int]:
    """Queued messages whose time has come: quiet-hours releases and retries; first attempts only
    after a grace period (their own task normally sends them; this catches a lost enqueue).
    Campaign messages wait in their batches' tasks, so their grace is much longer."""
    lost_single = Q(campaign_id__isnull=True, created_at__lte=now - dt.timedelta(seconds=grace_seconds))
    lost_campaign = Q(campaign_id__isnull=False,
                      created_at__lte=now - dt.timedelta(seconds=max(grace_seconds, CAMPAIGN_GRACE_SECONDS)))
    return list(
        Message.objects.filter(status=Message.Status.QUEUED, next_attempt_at__lte=now)
        .filter(Q(attempts__gt=0) | Q(scheduled_for__isnull=False) | lost_single | lost_campaign)
        .order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit]
    )


def fail_stuck_sending(*, now: dt.datetime, config: MessagingConfig) -> int:
    return Message.objects.filter(
        status=Message.Status.SENDING, claimed_at__lt=now - dt.timedelta(seconds=config.sending_timeout_seconds),
    ).update(status=Message.Status.FAILED, next_attempt_at=None, secret_enc="",
             error="Outcome unknown: the worker stopped while sending. Not resent automatically, "
                   "because the provider may have sent it; retry by hand if it did not arrive.")
