"""Security codes in the message log (SEC-2, issue 13): the log and the admin hold only a masked
text, the provider still gets the code, on the first send and on a retry after a refusal."""
from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from core import crypto
from core.errors import ValidationFailed
from core.jobs import run_job
from members.sms_codes import sms_code_send
from messaging.models import Message, MessageTemplate
from messaging.services import message_retry

pytestmark = pytest.mark.django_db


def message_rows_as_text() -> list[str]:
    """Every column of every logged message, as PostgreSQL prints the row."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT m::text FROM messaging_message m")
        return [row[0] for row in cursor.fetchall()]


@pytest.fixture
def aliyun_security_template(aliyun):
    MessageTemplate.objects.filter(code="security_code", channel="sms").update(provider_template_code="SMS_OTP1")
    return aliyun


def test_logged_security_code_message_holds_only_a_masked_text(get_sms_code, sms_outbox):
    code = get_sms_code("13612345678")
    assert code in sms_outbox[0].text  # the member still reads it
    assert sms_outbox[0].params["code"] == code  # and a provider template would get it
    message = Message.objects.get()
    assert message.status == Message.Status.SENT
    assert "******" in message.text and code not in message.text
    assert message.params == {"code": "******"}
    assert message.secret_enc == ""  # sent: the encrypted copy is gone too
    assert all(code not in row for row in message_rows_as_text())


def test_queued_security_code_is_kept_only_encrypted(sms_outbox):
    # Inside the test's transaction the delivery waits for commit: the row is as the worker finds it.
    sms_code_send(mobile="13612345678", purpose="signup")
    message = Message.objects.get()
    assert message.status == Message.Status.QUEUED and sms_outbox == []
    secret = json.loads(crypto.decrypt(message.secret_enc))
    code = secret["params"]["code"]
    assert code in secret["text"] and code not in message.text
    assert all(code not in row for row in message_rows_as_text())


def test_admin_message_page_does_not_show_the_code(admin_client, get_sms_code):
    code = get_sms_code("13612345678")
    message = Message.objects.get()
    for url in (reverse("admin:messaging_message_change", args=[message.pk]),
                reverse("admin:messaging_message_changelist")):
        page = admin_client.get(url)
        assert page.status_code == 200 and code not in page.content.decode()
    assert "******" in admin_client.get(reverse("admin:messaging_message_change", args=[message.pk])).content.decode()


def test_security_code_refused_by_the_provider_arrives_on_the_retry(
        aliyun_security_template, config, django_capture_on_commit_callbacks):
    """A retryable refusal keeps the encrypted code; the back-off retry sends the real code and
    then forgets it."""
    fake = aliyun_security_template
    fake.mode = "throttle"
    config.backoff_base_seconds = 60
    config.save()
    start = timezone.now()
    with time_machine.travel(start, tick=False), django_capture_on_commit_callbacks(execute=True):
        sms_code_send(mobile="13612345678", purpose="login")
    message = Message.objects.get()
    code = json.loads(fake.requests[0]["TemplateParam"])["code"]
    assert len(code) == 6 and code.isdigit()
    assert (message.status, message.attempts) == (Message.Status.QUEUED, 1) and message.secret_enc
    assert all(code not in row for row in message_rows_as_text())
    fake.mode = "ok"
    with time_machine.travel(start + dt.timedelta(seconds=61), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        run_job("retry_due_messages")
    message.refresh_from_db()
    assert message.status == Message.Status.SENT and len(fake.requests) == 2
    assert json.loads(fake.requests[1]["TemplateParam"]) == {"code": code}
    assert message.secret_enc == "" and all(code not in row for row in message_rows_as_text())


def test_security_code_failed_for_good_is_forgotten_and_not_resent(
        aliyun_security_template, django_capture_on_commit_callbacks):
    aliyun_security_template.mode = "bad"
    with django_capture_on_commit_callbacks(execute=True):
        sms_code_send(mobile="13612345678", purpose="login")
    message = Message.objects.get()
    assert message.status == Message.Status.FAILED and message.secret_enc == ""
    with pytest.raises(ValidationFailed) as exc:
        message_retry(message=message)
    assert exc.value.code == "security_code_gone"


def test_migration_masks_codes_logged_before(config):
    """Rows written before the fix (clear code in text and params) are masked by 0005."""
    import importlib

    mask_sql = importlib.import_module("messaging.migrations.0005_message_secret").MASK_LOGGED_CODES
    template = MessageTemplate.objects.get(code="security_code", channel="sms")
    old = Message.objects.create(channel="sms", kind="security", template=template, event_key="otp:1",
                                 text="【MemberHub】您的验证码为 483920，5 分钟内有效。",
                                 params={"code": "483920", "text": "您的验证码为 483920"}, status="sent")
    with connection.cursor() as cursor:
        cursor.execute(mask_sql)
    old.refresh_from_db()
    assert old.text == "【MemberHub】您的验证码为 ******，5 分钟内有效。" and old.params == {"code": "******"}
