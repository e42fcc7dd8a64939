"""message_send: consent, opt-out line, quiet hours, once per event, channels (MSG-1..3, MEM-6)."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail

from core import crypto
from core.jobs import run_job
from messaging.models import Message, MessageTemplate, Notice
from messaging.services import (
    message_preview,
    message_send,
    message_send_security_code,
    messages_send_bulk,
    notify_member,
    quiet_hours_release,
)
from messaging.sms import send_sms
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
NIGHT = dt.datetime(2026, 11, 23, 22, 30, tzinfo=SH)
DAY = dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH)


def marketing(member, key="promo:1", **kw):
    return message_send(member=member, template_code="marketing", channel="sms", event_key=key,
                        params={"text": "双十二会员日全场满300减50"}, **kw)


def test_marketing_goes_only_to_members_with_consent(sms_outbox, django_capture_on_commit_callbacks):
    """MSG-2 / MEM-6: marketing only to members who opted in."""
    yes = MemberFactory(marketing_consent=True, mobile="13800000001")
    no = MemberFactory(marketing_consent=False, mobile="13800000002")
    with time_machine.travel(DAY, tick=False), django_capture_on_commit_callbacks(execute=True):
        sent, skipped = marketing(yes), marketing(no)
    assert [m.mobile for m in sms_outbox] == ["13800000001"]
    sent.refresh_from_db()
    assert sent.status == Message.Status.SENT and sent.provider == "memory" and sent.provider_id
    assert skipped.status == Message.Status.SKIPPED and "consent" in skipped.error


def test_marketing_sms_always_ends_with_the_opt_out_line(sms_outbox, django_capture_on_commit_callbacks):
    """MSG-2: "回TD退订" on every marketing SMS."""
    member = MemberFactory(marketing_consent=True)
    with time_machine.travel(DAY, tick=False), django_capture_on_commit_callbacks(execute=True):
        marketing(member)
    assert sms_outbox[0].text == "双十二会员日全场满300减50回TD退订"


def test_marketing_in_quiet_hours_waits_for_the_window_to_open(sms_outbox, django_capture_on_commit_callbacks):
    """MSG-2: no marketing in quiet hours (21:00-08:00); released by the retry job at 08:00."""
    member = MemberFactory(marketing_consent=True)
    with time_machine.travel(NIGHT, tick=False), django_capture_on_commit_callbacks(execute=True):
        message = marketing(member)
    assert sms_outbox == []
    assert message.status == Message.Status.QUEUED
    assert message.scheduled_for == dt.datetime(2026, 11, 24, 8, 0, tzinfo=SH)
    with time_machine.travel(dt.datetime(2026, 11, 24, 7, 59, tzinfo=SH), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        run_job("retry_due_messages")
    assert sms_outbox == []
    with time_machine.travel(dt.datetime(2026, 11, 24, 8, 0, 5, tzinfo=SH), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        run_job("retry_due_messages")
        run_job("retry_due_messages")  # a re-run sends nothing twice
    assert len(sms_outbox) == 1
    message.refresh_from_db()
    assert message.status == Message.Status.SENT


def test_security_codes_and_service_notices_go_at_once_at_night(sms_outbox, django_capture_on_commit_callbacks):
    """Security codes and urgent service notices ignore quiet hours."""
    member = MemberFactory(mobile="13900000003")
    with time_machine.travel(NIGHT, tick=False), django_capture_on_commit_callbacks(execute=True):
        message_send_security_code(mobile="13700000000", text="验证码 123456")
        notify_member(member=member, kind="tier_change", ref="7", title="等级变更", body="恭喜升级为银卡")
    assert [m.mobile for m in sms_outbox] == ["13700000000", "13900000003"]


def test_service_notice_that_can_wait_is_held_in_quiet_hours(sms_outbox, django_capture_on_commit_callbacks):
    # Each notice kind has its own template (messaging 0009); its quiet-hours choice is what counts.
    MessageTemplate.objects.filter(code="notice_points_expiring", channel="sms").update(respects_quiet_hours=True)
    member = MemberFactory()
    with time_machine.travel(NIGHT, tick=False), django_capture_on_commit_callbacks(execute=True):
        notify_member(member=member, kind="points_expiring", ref="x", title="积分到期", body="100 分")
    assert sms_outbox == []
    assert Notice.objects.filter(member=member).count() == 1  # the inbox has it at once


def test_greetings_wait_for_quiet_hours_too(config):
    member = MemberFactory(marketing_consent=True)
    with time_machine.travel(NIGHT, tick=False):
        message = message_send(member=member, template_code="birthday_greeting", channel="sms",
                               event_key="birthday:2026", params={})
    assert message.scheduled_for is not None and "生日快乐" in message.text and member.name in message.text


def test_quiet_hours_configurable(config):
    config.quiet_start, config.quiet_end = dt.time(22, 0), dt.time(7, 0)
    assert quiet_hours_release(now=dt.datetime(2026, 1, 1, 21, 30, tzinfo=SH), config=config) is None
    assert quiet_hours_release(now=dt.datetime(2026, 1, 1, 6, 0, tzinfo=SH), config=config) == \
        dt.datetime(2026, 1, 1, 7, 0, tzinfo=SH)
    config.quiet_hours_enabled = False
    assert quiet_hours_release(now=dt.datetime(2026, 1, 1, 23, 0, tzinfo=SH), config=config) is None


def test_one_event_sends_one_message_however_often_asked(sms_outbox, django_capture_on_commit_callbacks):
    """MSG-3: never twice for one event (kind + object + member + channel)."""
    member = MemberFactory(marketing_consent=True)
    with time_machine.travel(DAY, tick=False), django_capture_on_commit_callbacks(execute=True):
        first = marketing(member)
        again = marketing(member)
        bulk = messages_send_bulk(template_code="marketing", channel="sms",
                                  recipients=[(member, "promo:1", {"text": "x"})])
        run_job("retry_due_messages")
    assert first.created and not again.created and again.pk == first.pk and bulk == []
    assert len(sms_outbox) == 1 and Message.objects.count() == 1


def test_inbox_channel_creates_the_portal_notice(config):
    member = MemberFactory()
    message = message_send(member=member, template_code="notice", channel="inbox", event_key="complaint:5",
                           params={"title": "投诉处理进度", "body": "您的投诉已受理"})
    assert message.status == Message.Status.DELIVERED
    notice = Notice.objects.get(member=member)
    assert (notice.kind, notice.ref, notice.title, notice.body) == ("complaint", "5", "投诉处理进度", "您的投诉已受理")


def test_email_channel_uses_django_mail(django_capture_on_commit_callbacks):
    member = MemberFactory(email="li@example.com")
    nomail = MemberFactory(email="")
    with django_capture_on_commit_callbacks(execute=True):
        message = message_send(member=member, template_code="notice", channel="email", event_key="redeem:9",
                               params={"title": "兑换成功", "body": "礼品已备好"})
        skipped = message_send(member=nomail, template_code="notice", channel="email", event_key="redeem:9",
                               params={"title": "兑换成功", "body": "礼品已备好"})
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["li@example.com"] and mail.outbox[0].subject == "兑换成功"
    message.refresh_from_db()
    assert message.status == Message.Status.SENT and skipped.status == Message.Status.SKIPPED


def test_security_code_is_logged_with_the_number_encrypted(sms_outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        provider_id = send_sms(mobile="13612345678", text="您的验证码是 654321", kind="otp")
    message = Message.objects.get()
    assert message.member is None and message.kind == "security" and message.event_key.startswith("otp:")
    assert message.mobile_hash == crypto.lookup_hash("13612345678") and "13612345678" not in message.mobile_enc
    # Inside the test's transaction the send waits for commit, so the message id stands in.
    assert message.params["code"] == "******" and provider_id == str(message.pk)  # masked (SEC-2)
    assert sms_outbox[0].kind == "otp"


def test_preview_renders_for_a_sample_member(config):
    member = MemberFactory(name="王小明")
    template = MessageTemplate.objects.get(code="holiday_greeting", channel="sms")
    preview = message_preview(template=template, member=member)
    assert preview["text"].startswith("王小明您好") and preview["missing"] == ["holiday"]
    marketing_tpl = MessageTemplate.objects.get(code="marketing", channel="sms")
    assert message_preview(template=marketing_tpl, member=member, params={"text": "新品"})["text"] == "新品回TD退订"


def test_closed_or_inactive_members_get_no_greetings(config):
    member = MemberFactory(status="suspended", marketing_consent=True)
    message = message_send(member=member, template_code="birthday_greeting", channel="sms",
                           event_key="birthday:2026", params={})
    assert message.status == Message.Status.SKIPPED
