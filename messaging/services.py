"""Messages to members (MSG-1..3, MEM-6): the one way anything in MemberHub sends an SMS, e-mail
or portal-inbox notice.

`message_send` renders a template, applies consent and quiet hours, writes the Message row once
per (event, member, channel) and queues its delivery after commit; `messaging.delivery` sends it.
`notify_member` / `notify_members_bulk` (service notices of the other apps) and
`message_send_security_code` (OTP codes) are built on the same path."""
from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import crypto
from core.errors import NotFound, ValidationFailed
from members.models import ConsentLog, Member

from . import frequency
from .defaults import DEFAULT_TEMPLATES, NOTICE_QUIET
from .locks import channel_preference_lock, message_lock
from .models import (
    ChannelPreference,
    ChannelPreferenceLog,
    InboundMessage,
    Message,
    MessageChannel,
    MessageKind,
    MessageTemplate,
    MessagingConfig,
    Notice,
)
from .sms import sms_segments
from .templating import member_params, placeholders, render

ENQUEUE_BATCH = 200
OPT_OUT_WORDS = {"TD", "T", "退订", "N"}
_INSERT_BATCH = 5000
_INSERT_FIELDS = [f for f in Message._meta.concrete_fields if not f.primary_key]


# ---------------------------------------------------------------- templates


def template_get(*, code: str, channel: str) -> MessageTemplate:
    """The active template for code + channel; the built-in default when the database has none."""
    template = MessageTemplate.objects.filter(code=code, channel=channel).first()
    if template is None and (code, channel) in DEFAULT_TEMPLATES:
        kind, name, subject, body, names = DEFAULT_TEMPLATES[(code, channel)]
        return MessageTemplate(code=code, channel=channel, kind=kind, name=name, subject=subject, body=body,
                               provider_param_names=names, respects_quiet_hours=NOTICE_QUIET.get(code, False))
    if template is None:
        raise NotFound(_("There is no message template %(code)s for %(channel)s.") % {"code": code, "channel": channel})
    if not template.active:
        raise ValidationFailed(_("The message template %(code)s is switched off.") % {"code": code},
                               code="template_inactive")
    return template


def message_preview(*, template: MessageTemplate, member: Member | None, params: dict | None = None) -> dict:
    """What `member` would receive from `template` (admin preview); placeholders the sample lacks
    are shown as "{name}" rather than failing, and listed in `missing`."""
    values = {**system_params(template, day=timezone.localdate()), **member_params(member), **(params or {})}
    missing = sorted({n for n in re.findall(r"\{(\w+)\}", f"{template.subject} {template.body}") if n not in values})
    values.update({n: f"{{{n}}}" for n in missing})
    text = render(template.body, values)
    if template.kind == MessageKind.MARKETING and template.channel == MessageChannel.SMS:
        text = _with_opt_out(text, MessagingConfig.get())
    counted = sms_segments(text)
    return {"subject": render(template.subject, values), "text": text, "missing": missing,
            "length": counted.chars, "sms_parts": counted.segments, "sms": counted}


# ---------------------------------------------------------------- rules


def quiet_hours_release(*, now: dt.datetime, config: MessagingConfig) -> dt.datetime | None:
    """If `now` falls in quiet hours (local time, default 21:00-08:00), the moment they end."""
    if not config.quiet_hours_enabled or config.quiet_start == config.quiet_end:
        return None
    local = timezone.localtime(now)
    t, start, end = local.time(), config.quiet_start, config.quiet_end
    quiet = (t >= start or t < end) if start > end else (start <= t < end)
    if not quiet:
        return None
    day = local.date() if t < end else local.date() + dt.timedelta(days=1)
    return timezone.make_aware(dt.datetime.combine(day, end), timezone.get_current_timezone())


def _with_opt_out(text: str, config: MessagingConfig) -> str:
    line = config.opt_out_line.strip()
    return text if not line or text.rstrip().endswith(line) else f"{text.rstrip()}{line}"


def _waits_for_quiet_hours(kind: str, template: MessageTemplate) -> bool:
    if kind in (MessageKind.MARKETING, MessageKind.GREETING):
        return True
    return kind == MessageKind.SERVICE and template.respects_quiet_hours


# Kinds that need the member's marketing consent: marketing, and greetings (a birthday greeting
# announces the birthday offer; a greeting is not needed to provide the membership) — MEM-6, issue 15.
CONSENT_KINDS = (MessageKind.MARKETING, MessageKind.GREETING)
# Pushed channels the member can turn off (ChannelPreference); the inbox is where they read messages.
PREFERENCE_CHANNELS = (MessageChannel.SMS, MessageChannel.EMAIL, MessageChannel.WECHAT)
CHANNEL_OFF_ERROR = "The member turned this channel off."
WECHAT_NOT_BOUND_ERROR = "The member has not linked WeChat."
WECHAT_SERVICE_ONLY_ERROR = "WeChat template messages carry service notices only."
WECHAT_NO_TEMPLATE_ERROR = "The WeChat template has no template id (set it in the admin)."


def channel_off_member_ids(member_ids, channel: str) -> set[int]:
    """Members (of the given ids) who turned `channel` off, in one query; none for the inbox."""
    if channel not in PREFERENCE_CHANNELS:
        return set()
    ids = [pk for pk in member_ids if pk is not None]
    if not ids:
        return set()
    return set(ChannelPreference.objects.filter(member_id__in=ids, **{channel: False})
               .values_list("member_id", flat=True))


def _skip_reason(member: Member, kind: str, channel: str, ctx: _Context | None = None) -> str:
    if member.status == Member.Status.CLOSED and not (ctx and ctx.closure):
        return "Account closed."
    if kind in (MessageKind.MARKETING, MessageKind.GREETING) and member.status != Member.Status.ACTIVE:
        return "Member is not active."
    if kind in CONSENT_KINDS and not member.marketing_consent:
        return "No marketing consent (MEM-6)."
    if ctx is not None and member.pk in ctx.channel_off:
        return CHANNEL_OFF_ERROR
    if channel == MessageChannel.SMS and not (member.mobile_enc or (ctx and ctx.closure and ctx.closure_mobile_enc)):
        return "No mobile number."
    if channel == MessageChannel.EMAIL and not member.email:
        return "No e-mail address."
    if channel == MessageChannel.WECHAT:
        if kind != MessageKind.SERVICE:
            return WECHAT_SERVICE_ONLY_ERROR
        if ctx is None or member.pk not in ctx.wechat_bound:
            return WECHAT_NOT_BOUND_ERROR
        if not ctx.template.provider_template_code:
            return WECHAT_NO_TEMPLATE_ERROR
    if ctx is not None and member.pk in ctx.capped:
        return frequency.CAP_ERROR
    return ""


@dataclass
class _Context:
    template: MessageTemplate
    channel: str
    kind: str
    config: MessagingConfig
    now: dt.datetime
    release: dt.datetime | None
    campaign_id: int | None
    channel_off: frozenset = frozenset()
    capped: frozenset = frozenset()
    # The closure notice (messaging.notices): sent to the number the member had before anonymisation.
    closure: bool = False
    closure_mobile_enc: str = ""
    system_params: dict | None = None
    wechat_bound: frozenset = frozenset()


def _row(ctx: _Context, *, member: Member | None, event_key: str, params: dict, text: str | None = None,
         mobile: str | None = None) -> dict:
    values = {**(ctx.system_params or {}), **member_params(member), **params}
    subject = render(ctx.template.subject, values)[:200]
    text = render(ctx.template.body, values) if text is None else text
    if ctx.kind == MessageKind.MARKETING and ctx.channel == MessageChannel.SMS:
        text = _with_opt_out(text, ctx.config)
    row = {
        "member_id": member.pk if member else None, "mobile_hash": "", "mobile_enc": "",
        "channel": ctx.channel, "kind": ctx.kind, "template_id": ctx.template.pk, "event_key": event_key[:150],
        "subject": subject, "text": text, "secret_enc": "", "campaign_id": ctx.campaign_id,
        # Only what the provider template needs is kept (the text already holds the rest).
        "params": _provider_params(ctx, values, subject=subject, text=text),
        "status": Message.Status.QUEUED, "provider": "", "provider_id": "", "error": "", "attempts": 0,
        "next_attempt_at": ctx.now, "scheduled_for": None, "created_at": ctx.now, "claimed_at": None,
        "sent_at": None, "delivered_at": None,
    }
    if mobile is not None:
        row["mobile_hash"], row["mobile_enc"] = crypto.lookup_hash(mobile), crypto.encrypt(mobile)
    if ctx.closure and ctx.channel == MessageChannel.SMS and ctx.closure_mobile_enc:
        row["mobile_enc"] = ctx.closure_mobile_enc   # emptied once sent (messaging.delivery)
    reason = _skip_reason(member, ctx.kind, ctx.channel, ctx) if member is not None else ""
    if reason:
        row.update(status=Message.Status.SKIPPED, error=reason, next_attempt_at=None)
    elif ctx.channel == MessageChannel.INBOX:
        row.update(status=Message.Status.DELIVERED, provider="inbox", sent_at=ctx.now, delivered_at=ctx.now,
                   next_attempt_at=None)
    elif ctx.release and _waits_for_quiet_hours(ctx.kind, ctx.template):
        row.update(scheduled_for=ctx.release, next_attempt_at=ctx.release)
    return row


def _provider_params(ctx: _Context, values: dict, *, subject: str, text: str) -> dict:
    """The provider template's parameters. WeChat's are "field=placeholder" (messaging.defaults), where
    "subject" and "text" are the message's own rendered subject and text."""
    names = ctx.template.provider_param_names or []
    if ctx.channel != MessageChannel.WECHAT:
        return {n: str(values.get(n, "")) for n in names}
    own = {"subject": subject, "text": text}
    params = {}
    for name in names:
        field, _sep, source = str(name).partition("=")
        source = source or field
        params[field] = str(values[source] if source in values else own.get(source, ""))
    return params


def _insert(rows: list[dict]) -> list[tuple]:
    """INSERT ... ON CONFLICT DO NOTHING: returns (id, member_id, event_key, channel, status,
    scheduled_for) of the rows that were new; an event already recorded is left as it is.

    One array per column (unnest) keeps the statement small however many rows it carries."""
    created: list[tuple] = []
    names = [f.column for f in _INSERT_FIELDS]
    arrays = ", ".join(f"%s::{_array_type(f)}" for f in _INSERT_FIELDS)
    select = ", ".join(f"u.{n}::jsonb" if f.get_internal_type() == "JSONField" else f"u.{n}"
                       for n, f in zip(names, _INSERT_FIELDS, strict=True))
    sql = (f"INSERT INTO {Message._meta.db_table} ({', '.join(names)}) "
           f"SELECT {select} FROM unnest({arrays}) AS u({', '.join(names)}) "
           "ON CONFLICT DO NOTHING RETURNING id, member_id, event_key, channel, status, scheduled_for")
    for start in range(0, len(rows), _INSERT_BATCH):
        chunk = rows[start:start + _INSERT_BATCH]
        params = [[json.dumps(r[f.attname], ensure_ascii=False) if f.get_internal_type() == "JSONField"
                   else r[f.attname] for r in chunk] for f in _INSERT_FIELDS]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            created.extend(cursor.fetchall())
    return created


def _array_type(field) -> str:
    if field.get_internal_type() == "JSONField":
        return "text[]"
    if field.is_relation:
        return "bigint[]"
    return f"{field.db_type(connection)}[]"


def _after_insert(created: list[tuple], rows_by_key: dict) -> None:
    """Inbox rows become notices now (same transaction); queued SMS/e-mail go to the queue after commit."""
    notices, to_queue = [], []
    for pk, member_id, event_key, channel, status, scheduled_for in created:
        if channel == MessageChannel.INBOX and status == Message.Status.DELIVERED:
            row = rows_by_key[(event_key, member_id, channel)]
            kind, _sep, ref = event_key.partition(":")
            notices.append(Notice(member_id=member_id, kind=kind[:32], ref=ref[:100],
                                  title=(row["subject"] or row["text"])[:100], body=row["text"],
                                  sms_sent=row.get("notice_sms_sent", False)))
        elif status == Message.Status.QUEUED and scheduled_for is None:
            to_queue.append(pk)
    if notices:
        Notice.objects.bulk_create(notices, ignore_conflicts=True)
    if to_queue:
        transaction.on_commit(lambda: messages_enqueue(to_queue))


def messages_enqueue(message_ids: list[int]) -> None:
    """Hand message ids to the `sms` queue in batches (a task delivers hundreds)."""
    from .tasks import deliver_messages_task

    for start in range(0, len(message_ids), ENQUEUE_BATCH):
        deliver_messages_task.delay(list(message_ids[start:start + ENQUEUE_BATCH]))


# ---------------------------------------------------------------- sending


def _context(template_code: str, channel: str, kind: str | None, campaign_id: int | None = None,
             template: MessageTemplate | None = None) -> _Context:
    if channel not in MessageChannel.values:
        raise ValidationFailed(_("Unknown channel %(channel)s.") % {"channel": channel}, code="bad_channel")
    template = template or template_get(code=template_code, channel=channel)
    config = MessagingConfig.get()
    now = timezone.now()
    return _Context(template=template, channel=channel, kind=kind or template.kind, config=config, now=now,
                    release=quiet_hours_release(now=now, config=config), campaign_id=campaign_id,
                    system_params=system_params(template, day=timezone.localdate(now)))


SYSTEM_PARAMS = ("birthday_offer",)


def system_params(template: MessageTemplate, *, day: dt.date) -> dict:
    """Placeholders the system fills, once per send: {birthday_offer}, the words for the birthday
    offer and its real window (benefits' rule through messaging.hooks)."""
    from .hooks import birthday_offer_text

    names = set(placeholders(f"{template.subject} {template.body}"))
    return {"birthday_offer": birthday_offer_text(day)} if "birthday_offer" in names else {}


def _with_member_rules(ctx: _Context, member_ids: list[int], event_keys: list[str]) -> _Context:
    """The set-wise facts the rows need: who turned the channel off, who is at the marketing cap
    (taking the cap lock first, so concurrent senders decide one after the other)."""
    ctx.channel_off = frozenset(channel_off_member_ids(member_ids, ctx.channel))
    if ctx.channel == MessageChannel.WECHAT:
        from wechat.selectors import bound_member_ids

        ctx.wechat_bound = frozenset(bound_member_ids(member_ids))
    if frequency.cap_applies(ctx.kind, ctx.config):
        frequency.cap_lock()
        ctx.capped = frozenset(frequency.members_at_cap(member_ids, event_keys=event_keys, now=ctx.now,
                                                        config=ctx.config))
    return ctx


def _existing(*, member_id: int | None, event_key: str, channel: str) -> Message:
    return Message.objects.get(event_key=event_key[:150], member_id=member_id, channel=channel)


@transaction.atomic
def message_send(*, member: Member, template_code: str, channel: str, event_key: str, params: dict | None = None,
                 kind: str | None = None, campaign_id: int | None = None) -> Message:
    """Send one message about one event. Idempotent: asking again for the same (event, member,
    channel) returns the first Message (`created` False) and sends nothing."""
    ctx = _context(template_code, channel, kind, campaign_id)
    member = Member.objects.get(pk=member.pk)  # consent and status as they are now, not as the caller saw them
    _with_member_rules(ctx, [member.pk], [event_key[:150]])
    row = _row(ctx, member=member, event_key=event_key, params=params or {})
    created = _insert([row])
    _after_insert(created, {(row["event_key"], member.pk, channel): row})
    message = _existing(member_id=member.pk, event_key=event_key, channel=channel)
    message.created = bool(created)
    return message


@transaction.atomic
def messages_send_bulk(*, template_code: str, channel: str, recipients: Iterable[tuple[Member, str, dict]],
                       kind: str | None = None, campaign_id: int | None = None,
                       _notice_sms_sent: bool = False) -> list[int]:
    """Set-wise `message_send` for jobs and campaigns: (member, event_key, params) per recipient.
    Returns the ids of the messages that are new; events already recorded are skipped."""
    ctx = _context(template_code, channel, kind, campaign_id)
    recipients = list(recipients)
    _with_member_rules(ctx, [m.pk for m, _key, _params in recipients], [key[:150] for _m, key, _p in recipients])
    rows = [_row(ctx, member=m, event_key=key, params=params or {}) for m, key, params in recipients]
    for row in rows:
        row["notice_sms_sent"] = _notice_sms_sent
    created = _insert(rows)
    _after_insert(created, {(r["event_key"], r["member_id"], r["channel"]): r for r in rows})
    return [c[0] for c in created]


@transaction.atomic
def message_send_security_code(*, mobile: str, text: str, kind: str = "otp", params: dict | None = None,
                               event_key: str | None = None) -> Message:
    """A security code to a number that may not belong to a member yet: sent at once, whatever the
    hour; the number is kept encrypted with its lookup hash. `params` feed the provider template
    (e.g. {"code": "123456"}); without them the first run of digits in the text is the code.

    The log never holds the code (SEC-2): `text` and `params` are stored masked ("验证码为 ******"),
    which is what the admin shows. The real text and parameters go to the provider from
    `secret_enc`, encrypted with the field keys, and are emptied once the message is sent or has
    failed for good. Kept at rest rather than only in memory because delivery runs after commit in
    a Celery worker and a send the provider refused for now is retried with back-off minutes later;
    a database dump or admin viewer sees only the mask, and only while the code may still be sent."""
    ctx = _context("security_code", MessageChannel.SMS, MessageKind.SECURITY)
    if params is None:
        digits = re.search(r"\d{4,8}", text)
        params = {"code": digits.group(0)} if digits else {}
    secret_values = [str(v) for v in params.values() if str(v)]
    params = {"text": text, **params}
    event_key = event_key or f"{kind}:{uuid.uuid4().hex}"
    row = _row(ctx, member=None, event_key=event_key, params=params, text=text, mobile=mobile)
    row["secret_enc"] = crypto.encrypt(json.dumps({"text": row["text"], "params": row["params"]},
                                                  ensure_ascii=False))
    row["text"] = _mask_secrets(row["text"], secret_values)
    row["subject"] = _mask_secrets(row["subject"], secret_values)
    row["params"] = {name: _mask_secrets(str(value), secret_values) for name, value in row["params"].items()}
    created = _insert([row])
    _after_insert(created, {(row["event_key"], None, row["channel"]): row})
    message = _existing(member_id=None, event_key=event_key, channel=MessageChannel.SMS)
    message.created = bool(created)
    return message


@transaction.atomic
def messages_send_staff(*, template_code: str, channel: str, recipients: Iterable[tuple[str, str, dict]]) -> list[int]:
    """Service messages to staff, who are not members (escalations of the service desk, SD-9):
    (address, event_key, params) per recipient, the address a mobile number (SMS) or an e-mail
    address (e-mail), kept encrypted in the row like a security code's number. The event key names
    the staff user, so a re-run sends nothing twice. Returns the ids of the new messages."""
    if channel not in (MessageChannel.SMS, MessageChannel.EMAIL):
        raise ValidationFailed(_("Staff are reached by SMS or e-mail."), code="bad_channel")
    ctx = _context(template_code, channel, MessageKind.SERVICE)
    rows = [_row(ctx, member=None, event_key=key, params=params or {}, mobile=address)
            for address, key, params in recipients if address]
    created = _insert(rows)
    _after_insert(created, {(r["event_key"], None, r["channel"]): r for r in rows})
    return [c[0] for c in created]


@transaction.atomic
def message_send_test(*, template: MessageTemplate, mobile: str, text: str, params: dict, label: str) -> Message:
    """A test of `template` to a staff member's own number (issue 16, "send a test to me"): the text
    as previewed (sample member, opt-out line) through the same row, queue and provider as every
    SMS. It belongs to no member and no campaign, so no campaign count, consent rule or frequency
    cap sees it, and as a service message it goes at once, whatever the hour. `label` names the
    event (e.g. "campaign:12:user:3"); every test is its own event."""
    if template.channel != MessageChannel.SMS:
        raise ValidationFailed(_("Only SMS templates can be tested on a phone."), code="bad_channel")
    ctx = _context(template.code, MessageChannel.SMS, MessageKind.SERVICE, template=template)
    ctx.release = None
    event_key = f"test:{label}:{uuid.uuid4().hex}"
    row = _row(ctx, member=None, event_key=event_key, params=params, text=text, mobile=mobile)
    created = _insert([row])
    _after_insert(created, {(row["event_key"], None, row["channel"]): row})
    return _existing(member_id=None, event_key=event_key, channel=MessageChannel.SMS)


def _mask_secrets(value: str, secrets: list[str]) -> str:
    """Every secret value, and any other run of four or more digits, as that many asterisks."""
    for secret in sorted(secrets, key=len, reverse=True):
        value = value.replace(secret, "*" * len(secret))
    return re.sub(r"\d{4,}", lambda m: "*" * len(m.group(0)), value)


@transaction.atomic
def message_retry(*, message: Message) -> Message:
    """Staff: send a failed message again (admin action). Attempts start over."""
    message = message_lock(message.pk)
    if message.status != Message.Status.FAILED:
        raise ValidationFailed(_("Only failed messages can be retried."), code="not_failed")
    if message.kind == MessageKind.SECURITY and not message.secret_enc:
        # The code was emptied when the send failed for good (and has expired by now).
        raise ValidationFailed(_("A security code is not sent again; the member asks for a new code."),
                               code="security_code_gone")
    Message.objects.filter(pk=message.pk).update(status=Message.Status.QUEUED, attempts=0,
                                                 next_attempt_at=timezone.now(),
                                                 error=f"[retried by staff] {message.error}"[:2000])
    transaction.on_commit(lambda: messages_enqueue([message.pk]))
    message.refresh_from_db()
    return message


# ---------------------------------------------------------------- provider callbacks


def message_receipts_apply(*, provider: str, receipts: Iterable[tuple[str, bool, str, dt.datetime | None]]) -> int:
    """Delivery receipts (provider id, delivered?, error, time): sent -> delivered / failed.
    Idempotent: a receipt for a message already delivered or failed changes nothing."""
    updated = 0
    for provider_id, delivered, error, at in receipts:
        if not provider_id:
            continue
        qs = Message.objects.filter(provider=provider, provider_id=provider_id,
                                    status__in=[Message.Status.SENT, Message.Status.SENDING])
        if delivered:
            updated += qs.update(status=Message.Status.DELIVERED, delivered_at=at or timezone.now())
        else:
            updated += qs.update(status=Message.Status.FAILED, error=f"Receipt: {error}"[:2000])
    return updated


def _is_opt_out(text: str) -> bool:
    return re.sub(r"[\s\u3000]+", "", text or "").upper() in OPT_OUT_WORDS


@transaction.atomic
def inbound_sms_record(*, provider: str, mobile: str, text: str, received_at: dt.datetime | None = None,
                       provider_msg_id: str = "") -> InboundMessage:
    """An SMS from a member (provider callback). "TD"/"T"/"退订" withdraws marketing consent at
    once (MEM-6), logged with channel SMS. Idempotent on the provider's message id."""
    from members.services import consent_set_marketing
    from members.validation import normalize_mobile

    if provider_msg_id:
        existing = InboundMessage.objects.filter(provider=provider, provider_msg_id=provider_msg_id).first()
        if existing:
            return existing
    raw = re.sub(r"^(\+?86)(?=1\d{10}$)", "", (mobile or "").strip())
    try:
        mobile = normalize_mobile(raw)
    except ValueError:
        mobile = raw
    mobile_hash = crypto.lookup_hash(mobile)
    member = Member.objects.filter(mobile_hash=mobile_hash).first()
    action = InboundMessage.Action.NONE
    if _is_opt_out(text):
        if member is None:
            action = InboundMessage.Action.UNKNOWN_SENDER
        elif not member.marketing_consent:
            action = InboundMessage.Action.ALREADY_OUT
        else:
            consent_set_marketing(member=member, granted=False, channel=ConsentLog.Channel.SMS)
            action = InboundMessage.Action.OPT_OUT
    inbound, _created = InboundMessage.objects.get_or_create(
        provider=provider, provider_msg_id=provider_msg_id or f"local-{uuid.uuid4().hex}",
        defaults={"mobile_hash": mobile_hash, "mobile_masked": crypto.mask_mobile(mobile), "member": member,
                  "text": (text or "")[:500], "received_at": received_at or timezone.now(), "action": action},
    )
    return inbound


# ---------------------------------------------------------------- service notices (callers in other apps)

# Notice kinds that are marketing, not service (issue 15). "survey": care.services.surveys.survey_distribute
# sends a survey to a segment — a general survey (seed 000 会员满意度评估 测评内容: 普遍性问题), not a reply to
# something the member did — so it needs marketing consent, waits for quiet hours, counts in the marketing
# frequency cap and carries the opt-out line on SMS. A satisfaction check after a service the member used
# is a service follow-up: messaging.notices kind "survey_follow_up".
MARKETING_NOTICE_KINDS = frozenset({"survey"})


def _notice_message_kind(kind: str) -> str:
    return MessageKind.MARKETING if kind in MARKETING_NOTICE_KINDS else MessageKind.SERVICE


# The notices whose title and body the calling app writes (complaints, reservations, tier changes...):
# each kind still has its own template "notice_<kind>" per channel, seeded from the generic "notice"
# one by migration 0009, that operations edit in the admin (wording around {title} and {body}, or
# their own text). A kind without its row uses the generic template.
LEGACY_NOTICE_KINDS = {
    "complaint_intake": "投诉受理", "complaint_reply": "投诉答复", "complaint_close": "投诉结案",
    "suggestion_decision": "建议采纳结果", "after_sales_intake": "售后受理", "after_sales_closed": "售后完结",
    "coupon_issued": "发券", "points_adjusted": "积分调整", "points_claim": "积分补录结果",
    "points_held": "待入账积分入账", "gift_order_expired": "礼品逾期未领取", "points_expiring": "积分即将过期",
    "reservation_booked": "预约成功", "reservation_cancelled": "预约取消", "reservation_reminder": "预约提醒",
    "tier_change": "等级变更", "event_invitation": "会员活动邀请",
}


def _notice_codes(kinds: Iterable[str], channel: str) -> dict[str, str]:
    """kind -> the template code its notice uses on `channel`: its own row when it exists, else "notice"."""
    kinds = set(kinds)
    own = set(MessageTemplate.objects.filter(code__in=[f"notice_{k}" for k in kinds], channel=channel)
              .values_list("code", flat=True))
    return {k: f"notice_{k}" if f"notice_{k}" in own else "notice" for k in kinds}


def notify_member(*, member: Member, kind: str, ref: str, title: str, body: str, sms: bool = True) -> Notice | None:
    """A service notice: portal inbox + SMS, once per event (kind + ref), through the kind's own template
    (see LEGACY_NOTICE_KINDS). Returns None if this event was already announced to this member
    (idempotent under re-runs and concurrent jobs). A member who linked WeChat also gets it as a WeChat
    template message (issue 18), whatever `sms` says: `sms=False` spares the paid SMS for notices that
    do not need one (a complaint reply, a booking), and a template message costs nothing."""
    event_key = f"{kind}:{ref}"
    params = {"title": title, "body": body}
    with transaction.atomic():
        message_kind = _notice_message_kind(kind)
        inbox = message_send(member=member, template_code=_notice_codes([kind], MessageChannel.INBOX)[kind],
                             channel=MessageChannel.INBOX, event_key=event_key, params=params, kind=message_kind)
        if not inbox.created or inbox.status == Message.Status.SKIPPED:
            return None
        if sms:
            message_send(member=member, template_code=_notice_codes([kind], MessageChannel.SMS)[kind],
                         channel=MessageChannel.SMS, event_key=event_key, params=params, kind=message_kind)
            Notice.objects.filter(member=member, kind=kind[:32], ref=ref[:100]).update(sms_sent=True)
        if message_kind == MessageKind.SERVICE and wechat_bound_ids([member.pk]):
            message_send(member=member, template_code=_notice_codes([kind], MessageChannel.WECHAT)[kind],
                         channel=MessageChannel.WECHAT, event_key=event_key, params=params, kind=message_kind)
    return Notice.objects.filter(member=member, kind=kind[:32], ref=ref[:100]).first()


def wechat_bound_ids(member_ids) -> set[int]:
    """Members (of these) who linked WeChat (issue 18): only they get a WeChat row for a notice; for
    everyone else the channel does not exist, so no "not sent" row is written per notice."""
    from wechat.selectors import bound_member_ids

    return bound_member_ids(member_ids)


def notify_members_bulk(notices: list[Notice], *, sms: bool = True) -> int:
    """Set-wise variant for nightly jobs: announce the events not yet announced (inbox + SMS).
    Returns how many were new."""
    if not notices:
        return 0
    with transaction.atomic():
        existing = set(
            Notice.objects.filter(kind__in={n.kind for n in notices}, ref__in={n.ref for n in notices},
                                  member_id__in={n.member_id for n in notices}).values_list("kind", "ref", "member_id")
        )
        fresh = [n for n in notices if (n.kind, n.ref, n.member_id) not in existing]
        if not fresh:
            return 0
        members = Member.objects.in_bulk({n.member_id for n in fresh})
        created = 0
        kinds = {n.kind for n in fresh}
        inbox_codes, sms_codes = _notice_codes(kinds, MessageChannel.INBOX), _notice_codes(kinds, MessageChannel.SMS)
        for kind in kinds:
            message_kind = _notice_message_kind(kind)
            recipients = [(members[n.member_id], f"{n.kind}:{n.ref}", {"title": n.title, "body": n.body})
                          for n in fresh if n.kind == kind]
            ids = messages_send_bulk(template_code=inbox_codes[kind], channel=MessageChannel.INBOX,
                                     recipients=recipients, kind=message_kind, _notice_sms_sent=sms)
            # New notices only: a marketing one the member has no consent for is recorded, not delivered.
            created += Message.objects.filter(pk__in=ids, status=Message.Status.DELIVERED).count() if ids else 0
            if sms:
                messages_send_bulk(template_code=sms_codes[kind], channel=MessageChannel.SMS, recipients=recipients,
                                   kind=message_kind)
            bound = wechat_bound_ids({m.pk for m, _key, _params in recipients}) if message_kind == MessageKind.SERVICE \
                else set()
            if bound:
                messages_send_bulk(template_code=_notice_codes([kind], MessageChannel.WECHAT)[kind],
                                   channel=MessageChannel.WECHAT, kind=message_kind,
                                   recipients=[r for r in recipients if r[0].pk in bound])
        return created


def notice_mark_read(*, member: Member, notice_ids: list[int] | None = None) -> int:
    """Mark the member's unread notices read (all, or the given ones); the first read time is kept."""
    qs = Notice.objects.filter(member=member, read_at__isnull=True)
    if notice_ids is not None:
        qs = qs.filter(pk__in=notice_ids)
    return qs.update(read_at=timezone.now())


# ---------------------------------------------------------------- the member's channel choices


@transaction.atomic
def channel_preference_set(*, member: Member, sms: bool, email: bool, actor,
                           wechat: bool | None = None) -> ChannelPreference:
    """The member's choice of pushed channels (seed 000 信息通知 短信、邮件; issue 15; WeChat, issue 18). Each change is
    logged (ChannelPreferenceLog: channel, on/off, who); choosing what is already set records nothing.
    `actor` is a staff user or a label ("member" on the portal). The inbox always stays on; security
    codes ignore the choice."""
    if not isinstance(sms, bool) or not isinstance(email, bool) or not isinstance(wechat, bool | None):
        raise ValidationFailed(_("Choose on or off for each channel."), code="bad_preference")
    ChannelPreference.objects.get_or_create(member_id=member.pk)
    pref = channel_preference_lock(member.pk)
    staff = actor if hasattr(actor, "get_username") else None
    label = actor.get_username() if staff else str(actor)[:150]
    # WeChat (issue 18) is left as it is when not given (pages that do not show it).
    chosen = (("sms", sms), ("email", email)) + ((("wechat", wechat),) if wechat is not None else ())
    changes = [(channel, value) for channel, value in chosen if getattr(pref, channel) != value]
    if changes:
        for channel, value in changes:
            setattr(pref, channel, value)
        pref.save()
        ChannelPreferenceLog.objects.bulk_create([
            ChannelPreferenceLog(member_id=member.pk, channel=channel, enabled=value, actor=staff, actor_label=label)
            for channel, value in changes])
    return pref


def channel_preference_get(*, member: Member) -> ChannelPreference:
    """The member's choice; every channel on when they never chose (not saved)."""
    return ChannelPreference.objects.filter(member_id=member.pk).first() or ChannelPreference(member_id=member.pk)
