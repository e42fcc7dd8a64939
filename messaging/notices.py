"""Service notices by kind (seed 000 信息通知: 申办、消费、积分使用、重要信息变更提醒; SPEC MSG-2, MSG-5).

Every kind (welcome, points_earned, gift_order, coupon_redeemed, points_offset, refund_reversal,
member_suspended / _disqualified / _reinstated, change_approved / _rejected, account_closed,
survey_follow_up) has its own MessageTemplate per channel, code "notice_<kind>", seeded by migration
0007 and edited by operations in the admin; the text is rendered from the template at send time, so an
edit changes the next notice. A missing row falls back to the built-in copy in messaging.defaults
(logged as a warning, so operations see it); a template switched off stops that channel for the kind
(the message is recorded as skipped with the reason).

Channels: the portal inbox always, SMS and e-mail unless the member turned them off
(ChannelPreference) and they can be reached there, a WeChat template message to members who linked
WeChat (issue 18) unless they turned it off; quiet hours as the template says (the daily
points summary waits, the others go at once). Once per event: the event key "<kind>:<ref>" is
the message log's UNIQUE (event, member, channel), so a repeated call or a re-run job sends nothing
twice. Callers in the apps above messaging import this module; member lifecycle events (members
sits below) arrive through the members.events hook (messaging.member_notices)."""
from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import connection, transaction

from members.models import Member

from .defaults import DEFAULT_TEMPLATES, NOTICE_KIND_TEXTS, notice_template_code
from .models import Message, MessageChannel, MessageKind, MessageTemplate, Notice
from .services import _after_insert, _context, _insert, _row, _with_member_rules, template_get, wechat_bound_ids
from .templating import TemplateParamMissing

log = logging.getLogger(__name__)

NOTICE_KINDS = tuple(NOTICE_KIND_TEXTS)
NOTICE_CHANNELS = (MessageChannel.INBOX, MessageChannel.SMS, MessageChannel.EMAIL, MessageChannel.WECHAT)
TEMPLATE_OFF_ERROR = "The notice template for this channel is switched off."


class UnknownNoticeKind(ValueError):
    pass


def _template(kind: str, channel: str) -> MessageTemplate:
    """The template operations edit; the built-in copy (with a warning) when the row is missing."""
    code = notice_template_code(kind)
    row = MessageTemplate.objects.filter(code=code, channel=channel).first()
    if row is None:
        log.warning("message template %s/%s is missing: the built-in text of messaging.defaults is used", code,
                    channel)
        return template_get(code=code, channel=channel)
    return row


def _builtin(kind: str, channel: str) -> MessageTemplate:
    kind_, name, subject, body, names = DEFAULT_TEMPLATES[(notice_template_code(kind), channel)]
    return MessageTemplate(code=notice_template_code(kind), channel=channel, kind=kind_, name=name, subject=subject,
                           body=body, provider_param_names=names)


def notices_send(*, kind: str, items: Iterable[tuple[Member, str, dict]], closure_mobile_enc: str = "") -> int:
    """Send the `kind` notice to each (member, ref, params): inbox, SMS, e-mail as above, set-wise
    (one insert per channel). Returns how many events were new (announced now for the first time)."""
    if kind not in NOTICE_KIND_TEXTS:
        raise UnknownNoticeKind(kind)
    items = list(items)
    if not items:
        return 0
    new_events: set[tuple[int, str]] = set()
    with transaction.atomic():
        members = Member.objects.in_bulk([m.pk for m, _ref, _p in items])  # status and contact as they are now
        bound = wechat_bound_ids(list(members))
        for channel in NOTICE_CHANNELS:
            channel_items = items
            if channel == MessageChannel.WECHAT:
                # Only members who linked WeChat get a WeChat row (issue 18).
                channel_items = [item for item in items if item[0].pk in bound]
                if not channel_items or kind == "account_closed":
                    continue
            template = _template(kind, channel)
            ctx = _context(template.code, channel, MessageKind.SERVICE, template=template)
            if kind == "account_closed":
                ctx.closure, ctx.closure_mobile_enc = True, closure_mobile_enc
                if channel != MessageChannel.SMS:
                    continue   # an anonymised account has no inbox or e-mail to reach
            keys = [f"{kind}:{ref}"[:150] for _m, ref, _p in channel_items]
            _with_member_rules(ctx, list(members), keys)
            rows = []
            for (member, _ref, params), key in zip(channel_items, keys, strict=True):
                try:
                    row = _row(ctx, member=members[member.pk], event_key=key, params=params)
                except TemplateParamMissing as exc:
                    # An edited template asks for a value this notice does not have: the built-in text
                    # goes out instead (logged), rather than the member hearing nothing or the caller failing.
                    log.error("notice template %s/%s cannot be rendered (%s): built-in text used",
                              template.code, channel, exc.message)
                    ctx.template = _builtin(kind, channel)
                    row = _row(ctx, member=members[member.pk], event_key=key, params=params)
                    ctx.template = template
                if not template.active:
                    row.update(status=Message.Status.SKIPPED, error=TEMPLATE_OFF_ERROR, next_attempt_at=None,
                               scheduled_for=None, provider="", sent_at=None, delivered_at=None)
                row["notice_sms_sent"] = False
                rows.append(row)
            created = _insert(rows)
            _after_insert(created, {(r["event_key"], r["member_id"], r["channel"]): r for r in rows})
            new_events.update((c[1], c[2]) for c in created)
            if channel == MessageChannel.SMS:
                _mark_sms_sent(kind, [(c[1], c[2]) for c in created if c[4] != Message.Status.SKIPPED])
    return len(new_events)


def _mark_sms_sent(kind: str, sent: list[tuple[int, str]]) -> None:
    """The inbox notices whose event also went by SMS say so (one statement)."""
    if not sent:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Notice._meta.db_table} n SET sms_sent = true FROM unnest(%s::bigint[], %s::text[]) AS u(m, r) "
            "WHERE n.member_id = u.m AND n.kind = %s AND n.ref = u.r",
            [[m for m, _k in sent], [k.partition(":")[2][:100] for _m, k in sent], kind[:32]])


def notice_send(*, member: Member, kind: str, ref: str, params: dict | None = None,
                closure_mobile_enc: str = "") -> bool:
    """One member's notice about one event; True if it was new."""
    return bool(notices_send(kind=kind, items=[(member, str(ref), params or {})],
                             closure_mobile_enc=closure_mobile_enc))
