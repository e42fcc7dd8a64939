"""Delivery: providers' signed requests (checked by a local fake), retries with back-off and
final failure, the rate limit, stuck sends (MSG-1, MSG-3)."""
from __future__ import annotations

import datetime as dt
import json
import time

import pytest
import time_machine
from django.utils import timezone

from core.jobs import run_job
from messaging import ratelimit
from messaging.delivery import backoff_seconds, deliver_messages
from messaging.models import Message, MessageTemplate
from messaging.services import message_retry, message_send
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def tier_notice(member, ref="1"):
    return message_send(member=member, template_code="notice", channel="sms", event_key=f"tier_change:{ref}",
                        params={"title": "等级变更", "body": "恭喜您升级为金卡会员"})


@pytest.fixture
def provider_template(db):
    MessageTemplate.objects.filter(code="notice", channel="sms").update(provider_template_code="SMS_100001")


def test_aliyun_request_is_signed_as_documented_and_sent(aliyun, provider_template,
                                                         django_capture_on_commit_callbacks):
    """The fake Aliyun endpoint recomputes the HMAC-SHA1 signature and accepts the message."""
    member = MemberFactory(mobile="13812340001")
    with django_capture_on_commit_callbacks(execute=True):
        message = tier_notice(member)
    message.refresh_from_db()
    assert aliyun.bad_signatures == 0
    assert message.status == Message.Status.SENT and (message.provider, message.provider_id) == ("aliyun", "biz-1")
    (form,) = aliyun.requests
    assert form["Action"] == "SendSms" and form["PhoneNumbers"] == "13812340001"
    assert form["SignName"] == "百货会员" and form["TemplateCode"] == "SMS_100001"
    assert json.loads(form["TemplateParam"]) == {"title": "等级变更", "body": "恭喜您升级为金卡会员"}
    assert form["OutId"] == str(message.pk)


def test_aliyun_wrong_secret_is_refused_and_not_retried(aliyun, settings, provider_template,
                                                        django_capture_on_commit_callbacks):
    settings.ALIYUN_SMS_ACCESS_KEY_SECRET = "wrong"
    with django_capture_on_commit_callbacks(execute=True):
        message = tier_notice(MemberFactory())
    message.refresh_from_db()
    assert aliyun.bad_signatures == 1 and message.status == Message.Status.FAILED
    assert "SignatureDoesNotMatch" in message.error


def test_tencent_request_is_signed_with_tc3_and_sent(tencent, provider_template, django_capture_on_commit_callbacks):
    """The fake Tencent endpoint recomputes the TC3-HMAC-SHA256 Authorization and accepts."""
    member = MemberFactory(mobile="13812340002")
    with django_capture_on_commit_callbacks(execute=True):
        message = tier_notice(member)
    message.refresh_from_db()
    assert tencent.bad_signatures == 0
    assert message.status == Message.Status.SENT and message.provider_id == "serial-1"
    (body,) = tencent.requests
    assert body["PhoneNumberSet"] == ["+8613812340002"] and body["SmsSdkAppId"] == "1400000000"
    assert body["TemplateId"] == "SMS_100001" and body["TemplateParamSet"] == ["等级变更", "恭喜您升级为金卡会员"]


@pytest.mark.parametrize("provider_fixture", ["aliyun", "tencent"])
def test_provider_refusal_retries_with_exponential_back_off_then_fails(
        request, provider_fixture, provider_template, config, django_capture_on_commit_callbacks):
    """MSG-3: retried with back-off up to the limit, then failed and visible."""
    fake = request.getfixturevalue(provider_fixture)
    fake.mode = "throttle"
    config.max_attempts, config.backoff_base_seconds = 3, 60
    config.save()
    start = timezone.now()
    with time_machine.travel(start, tick=False), django_capture_on_commit_callbacks(execute=True):
        message = tier_notice(MemberFactory())
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Message.Status.QUEUED, 1)
    assert message.next_attempt_at == start + dt.timedelta(seconds=60)
    with time_machine.travel(start + dt.timedelta(seconds=59), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        run_job("retry_due_messages")  # not yet due
    message.refresh_from_db()
    assert message.attempts == 1
    with time_machine.travel(start + dt.timedelta(seconds=61), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        run_job("retry_due_messages")
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Message.Status.QUEUED, 2)
    assert message.next_attempt_at == start + dt.timedelta(seconds=61 + 120)
    with time_machine.travel(start + dt.timedelta(seconds=190), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        run_job("retry_due_messages")
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Message.Status.FAILED, 3) and message.next_attempt_at is None
    assert len(fake.requests) == 3 and fake.bad_signatures == 0
    # Failed stays failed: more runs send nothing; staff may retry and then it goes.
    with time_machine.travel(start + dt.timedelta(days=1), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        run_job("retry_due_messages")
    assert len(fake.requests) == 3
    fake.mode = "ok"
    with django_capture_on_commit_callbacks(execute=True):
        message_retry(message=message)
    message.refresh_from_db()
    assert message.status == Message.Status.SENT and len(fake.requests) == 4


def test_permanent_refusal_fails_at_once(aliyun, provider_template, django_capture_on_commit_callbacks):
    aliyun.mode = "bad"
    with django_capture_on_commit_callbacks(execute=True):
        message = tier_notice(MemberFactory())
    message.refresh_from_db()
    assert message.status == Message.Status.FAILED and message.attempts == 1 and "MOBILE_NUMBER_ILLEGAL" in message.error


def test_provider_down_is_retried(settings, provider_template, django_capture_on_commit_callbacks):
    settings.SMS_BACKEND = "messaging.providers.aliyun.AliyunBackend"
    settings.ALIYUN_SMS_ENDPOINT = "http://127.0.0.1:9/"  # nothing listens
    settings.SMS_HTTP_TIMEOUT = 2
    with django_capture_on_commit_callbacks(execute=True):
        message = tier_notice(MemberFactory())
    message.refresh_from_db()
    assert message.status == Message.Status.QUEUED and "network" in message.error


def test_backoff_doubles_and_is_capped(config):
    config.backoff_base_seconds, config.backoff_max_seconds = 30, 200
    assert [backoff_seconds(n, config) for n in (1, 2, 3, 4, 5)] == [30, 60, 120, 200, 200]


def test_delivering_twice_sends_once(sms_outbox, config):
    member = MemberFactory()
    message = tier_notice(member)  # not committed: nothing queued yet
    assert deliver_messages([message.pk]).sent == 1
    assert deliver_messages([message.pk]).sent == 0
    assert len(sms_outbox) == 1


def test_a_send_whose_worker_died_is_marked_failed_not_resent(sms_outbox, config):
    message = tier_notice(MemberFactory())
    Message.objects.filter(pk=message.pk).update(status=Message.Status.SENDING, attempts=1,
                                                 claimed_at=timezone.now() - dt.timedelta(hours=1))
    run_job("retry_due_messages")
    message.refresh_from_db()
    assert message.status == Message.Status.FAILED and "Outcome unknown" in message.error and sms_outbox == []


def test_rate_limit_holds_messages_per_second(sms_outbox, config):
    """Rate limit per provider: 20/s lets a burst of 20 go, then one every 50 ms."""
    config.rate_limits = {"memory": 20}
    config.save()
    members = [MemberFactory() for _ in range(40)]
    ids = [tier_notice(m, ref=str(i)).pk for i, m in enumerate(members)]
    started = time.monotonic()
    result = deliver_messages(ids)
    elapsed = time.monotonic() - started
    assert result.sent == 40 and len(sms_outbox) == 40
    assert elapsed >= 0.9  # 20 more after the burst at 20/s


def test_over_the_rate_limit_messages_are_deferred_not_lost(sms_outbox, config):
    config.rate_limits = {"memory": 5}
    config.save()
    ids = [tier_notice(MemberFactory(), ref=str(i)).pk for i in range(8)]
    result = deliver_messages(ids, max_rate_wait=0)
    assert result.sent == 5 and len(result.deferred) == 3
    deferred = Message.objects.filter(pk__in=result.deferred)
    assert {(m.status, m.attempts) for m in deferred} == {(Message.Status.QUEUED, 0)}
    time.sleep(1.0)
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=2)):
        assert deliver_messages(result.deferred, max_rate_wait=1).sent == 3
    assert len(sms_outbox) == 8


def test_gcra_reserve_spacing():
    ratelimit.reset()
    waits = [ratelimit.reserve("x", 10, max_wait=5) for _ in range(12)]
    assert waits[:10] == [0.0] * 10 and 0.05 < waits[10] <= 0.11 and waits[11] > waits[10]
    assert ratelimit.reserve("x", 10, max_wait=0.01) is None


def test_rate_limit_bucket_is_shared_in_redis(settings):
    """On a Redis cache every worker shares one bucket (atomic script on the Redis clock)."""
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1")
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}
    provider = f"test-{time.time_ns()}"
    # One per second: the slots are a second apart, so a loaded machine's slow calls (CI's shifted pass
    # runs beside other work) cannot eat the margin, as they could with ten per second.
    waits = [ratelimit.reserve(provider, 1, max_wait=5) for _ in range(3)]
    assert ratelimit._redis_client() is not None
    assert waits[0] == 0.0 and 0.5 < waits[1] <= 1.0 and 1.5 < waits[2] <= 2.0
    assert ratelimit.reserve(provider, 1, max_wait=0.01) is None
