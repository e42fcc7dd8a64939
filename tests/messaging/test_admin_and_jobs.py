"""Admin pages (template preview, message retry) and the greetings job (MSG-2, MSG-3)."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from core.jobs import run_job
from messaging.models import Holiday, Message, MessageTemplate
from messaging.services import message_send
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def test_template_preview_page_with_a_chosen_member(admin_client):
    member = MemberFactory(name="李雷")
    template = MessageTemplate.objects.get(code="birthday_greeting", channel="sms")
    url = reverse("admin:messaging_messagetemplate_preview", args=[template.pk])
    page = admin_client.get(url, {"member_no": member.member_no}).content.decode()
    assert "亲爱的李雷，祝您生日快乐" in page
    change = admin_client.get(reverse("admin:messaging_messagetemplate_change", args=[template.pk]))
    assert change.status_code == 200 and "生日快乐" in change.content.decode()


def test_message_list_and_retry_action(admin_client, sms_outbox, django_capture_on_commit_callbacks):
    message = message_send(member=MemberFactory(), template_code="notice", channel="sms", event_key="x:1",
                           params={"title": "t", "body": "b"})
    Message.objects.filter(pk=message.pk).update(status=Message.Status.FAILED, attempts=5, error="boom")
    changelist = reverse("admin:messaging_message_changelist")
    assert admin_client.get(changelist, {"status__exact": "failed"}).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(changelist, {"action": "retry_failed", "_selected_action": [message.pk]})
    message.refresh_from_db()
    assert message.status == Message.Status.SENT and len(sms_outbox) == 1
    page = admin_client.get(reverse("admin:messaging_message_change", args=[message.pk]))
    assert page.status_code == 200 and message.event_key in page.content.decode()
    for name in ("inboundmessage", "messagingconfig", "holiday", "messagetemplate"):
        assert admin_client.get(reverse(f"admin:messaging_{name}_changelist")).status_code == 200


def test_birthday_and_holiday_greetings_once_per_year(config):
    born = MemberFactory(birthday=dt.date(1990, 10, 1), marketing_consent=True)
    other = MemberFactory(birthday=dt.date(1990, 5, 5), marketing_consent=True)
    Holiday.objects.create(date=dt.date(2026, 10, 1), name="国庆节")
    with time_machine.travel(dt.datetime(2026, 10, 1, 9, 0, tzinfo=SH), tick=False):
        first = run_job("send_greetings", date=dt.date(2026, 10, 1))
        again = run_job("send_greetings", date=dt.date(2026, 10, 1))
    assert first.counts["birthday"] == 1 and first.counts["holiday"] >= 2
    assert again.counts == {"birthday": 0, "holiday": 0, "capped": 0}
    assert Message.objects.filter(member=born, event_key="birthday:2026").exists()
    holiday = Message.objects.get(member=other, event_key="holiday:2026-10-01")
    assert "国庆节快乐" in holiday.text and holiday.kind == "greeting"
