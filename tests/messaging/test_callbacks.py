"""Provider callbacks: delivery receipts and inbound "TD" (MSG-3, MEM-6)."""
from __future__ import annotations

import pytest

from members.models import ConsentLog
from messaging.models import InboundMessage, Message
from messaging.services import message_send
from tests.factories import MemberFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.messaging.urls")]
TOKEN = "cb-secret-123"


@pytest.fixture(autouse=True)
def _token(settings):
    settings.SMS_CALLBACK_TOKEN = TOKEN


def sent_message(provider: str, provider_id: str) -> Message:
    message = message_send(member=MemberFactory(), template_code="notice", channel="sms", event_key="tier_change:1",
                           params={"title": "t", "body": "b"})
    Message.objects.filter(pk=message.pk).update(status=Message.Status.SENT, provider=provider,
                                                 provider_id=provider_id)
    return message


def post(client, provider, kind, data, token=TOKEN):
    return client.post(f"/messaging/callbacks/{provider}/{kind}/{token}/", data, content_type="application/json")


def test_aliyun_receipt_marks_delivered_and_is_idempotent(client):
    message = sent_message("aliyun", "biz-77")
    receipt = [{"phone_number": "13812345678", "send_time": "2026-11-24 10:00:00", "report_time": "2026-11-24 10:00:05",
                "success": True, "err_code": "DELIVERED", "err_msg": "用户接收成功", "sms_size": "1",
                "biz_id": "biz-77", "out_id": str(message.pk)}]
    for _ in range(2):
        response = post(client, "aliyun", "receipts", receipt)
        assert response.status_code == 200 and response.json() == {"code": 0, "msg": "成功"}
    message.refresh_from_db()
    assert message.status == Message.Status.DELIVERED and message.delivered_at.minute == 0
    # A late failure report does not undo a delivery.
    post(client, "aliyun", "receipts", [{**receipt[0], "success": False, "err_code": "UNDELIV"}])
    message.refresh_from_db()
    assert message.status == Message.Status.DELIVERED


def test_tencent_failure_receipt_marks_failed(client):
    message = sent_message("tencent", "serial-9")
    response = post(client, "tencent", "receipts", [
        {"user_receive_time": "2026-11-24 10:00:05", "nationcode": "86", "mobile": "13812345678",
         "report_status": "FAIL", "errmsg": "MK:0001", "description": "用户关机", "sid": "serial-9"}])
    assert response.json() == {"result": 0, "errmsg": "OK"}
    message.refresh_from_db()
    assert message.status == Message.Status.FAILED and "用户关机" in message.error


def test_callbacks_without_the_token_are_refused(client, settings):
    message = sent_message("aliyun", "biz-1")
    assert post(client, "aliyun", "receipts", [{"biz_id": "biz-1", "success": True}], token="guess").status_code == 403
    settings.SMS_CALLBACK_TOKEN = ""
    assert post(client, "aliyun", "receipts", [{"biz_id": "biz-1", "success": True}], token="").status_code in (403, 404)
    assert post(client, "nope", "receipts", [], token=TOKEN).status_code in (403, 404)
    message.refresh_from_db()
    assert message.status == Message.Status.SENT


@pytest.mark.parametrize("text", ["TD", " td ", "T", "退订", "Ｔ Ｄ".replace("Ｔ", "T").replace("Ｄ", "D")])
def test_reply_td_withdraws_marketing_consent_at_once(client, text):
    """MEM-6: consent can be withdrawn by SMS reply "TD", logged with channel SMS."""
    member = MemberFactory(mobile="13812345678", marketing_consent=True)
    response = post(client, "aliyun", "inbound", [
        {"phone_number": "13812345678", "send_time": "2026-11-24 10:00:00", "content": text,
         "sign_name": "百货会员", "dest_code": "1234", "sequence_id": 555}])
    assert response.status_code == 200
    member.refresh_from_db()
    assert member.marketing_consent is False
    log = ConsentLog.objects.get(member=member, kind=ConsentLog.Kind.MARKETING)
    assert (log.granted, log.channel) == (False, ConsentLog.Channel.SMS)
    inbound = InboundMessage.objects.get()
    assert inbound.member == member and inbound.action == InboundMessage.Action.OPT_OUT
    # The provider repeats the callback: recorded once, nothing logged twice.
    post(client, "aliyun", "inbound", [{"phone_number": "13812345678", "content": text, "sequence_id": 555}])
    assert InboundMessage.objects.count() == 1 and ConsentLog.objects.filter(member=member).count() == 1


def test_tencent_reply_td_with_country_code(client):
    member = MemberFactory(mobile="13912345678", marketing_consent=True)
    post(client, "tencent", "inbound", {"extend": "", "mobile": "13912345678", "nationcode": "86", "sign": "百货会员",
                                        "text": "td", "time": 1795000000})
    member.refresh_from_db()
    assert member.marketing_consent is False


def test_other_replies_and_strangers_change_nothing(client):
    member = MemberFactory(mobile="13812345678", marketing_consent=True)
    post(client, "aliyun", "inbound", [{"phone_number": "13812345678", "content": "谢谢", "sequence_id": 1}])
    post(client, "aliyun", "inbound", [{"phone_number": "13000000000", "content": "TD", "sequence_id": 2}])
    member.refresh_from_db()
    assert member.marketing_consent is True
    assert sorted(InboundMessage.objects.values_list("action", flat=True)) == ["none", "unknown"]


def test_after_td_no_more_marketing(client, config):
    member = MemberFactory(mobile="13812345678", marketing_consent=True)
    post(client, "aliyun", "inbound", [{"phone_number": "13812345678", "content": "TD", "sequence_id": 3}])
    message = message_send(member=member, template_code="marketing", channel="sms", event_key="promo:2",
                           params={"text": "促销"})
    assert message.status == Message.Status.SKIPPED


def test_marketing_held_overnight_is_not_sent_after_td(client, config, sms_outbox, django_capture_on_commit_callbacks):
    """Consent is checked again when the held message is released."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    import time_machine

    from core.jobs import run_job

    member = MemberFactory(mobile="13812345678", marketing_consent=True)
    with time_machine.travel(dt.datetime(2026, 11, 23, 23, 0, tzinfo=ZoneInfo("Asia/Shanghai")), tick=False):
        message = message_send(member=member, template_code="marketing", channel="sms", event_key="promo:3",
                               params={"text": "促销"})
    post(client, "aliyun", "inbound", [{"phone_number": "13812345678", "content": "TD", "sequence_id": 4}])
    with time_machine.travel(dt.datetime(2026, 11, 24, 8, 1, tzinfo=ZoneInfo("Asia/Shanghai")), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        run_job("retry_due_messages")
    message.refresh_from_db()
    assert message.status == Message.Status.SKIPPED and sms_outbox == []
