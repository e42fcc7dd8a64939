"""The wechat messaging channel (issue 18): service notices as WeChat template messages to members who
linked WeChat, with their channel choice, quiet hours as for SMS, retries, receipts and "never twice
per event". End to end: a member in WeChat binds and gets the points-earned notice for a purchase the
till posted, from the local fake WeChat server."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction
from rest_framework.test import APIClient

from core.jobs import run_job
from members.api_auth import device_create
from members.services import Actor
from messaging.models import Message
from messaging.services import (
    CHANNEL_OFF_ERROR,
    WECHAT_NO_TEMPLATE_ERROR,
    channel_preference_set,
    message_send,
    notify_member,
)
from tests.factories import MemberFactory, StoreFactory
from wechat.services import wechat_bind, wechat_unbind

from .conftest import post_plain, receipt_xml
from .helpers import bind_with_sms_code, logged_in_member_id, oauth_visit

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def _bound(openid="o-member-1", **kw):
    member = MemberFactory(**kw)
    with transaction.atomic():
        wechat_bind(member=member, openid=openid, actor=Actor.member())
    return member


def _wechat(member, event_key):
    return Message.objects.get(member=member, channel="wechat", event_key=event_key)


def test_member_binds_in_wechat_and_receives_the_points_earned_template_message(
        client, wechat, wechat_templates, sms_outbox, django_capture_on_commit_callbacks):
    """Issue 18 "Done means": OAuth callback -> bind with the SMS code -> a purchase posted through the
    till API -> the next morning's points-earned notice arrives as a template message, once; the
    TEMPLATESENDJOBFINISH push marks it delivered."""
    store = StoreFactory()
    member = MemberFactory(mobile="13900002222", home_store=store)
    with time_machine.travel(dt.datetime(2026, 11, 24, 9, 30, tzinfo=SH)):
        oauth_visit(client, wechat, "o-e2e-member")
        bind_with_sms_code(client, "13900002222", sms_outbox, django_capture_on_commit_callbacks)
        assert logged_in_member_id(client) == member.pk
        _device, token = device_create(name="Till 7", store=store)
        till = APIClient()
        till.credentials(HTTP_AUTHORIZATION=f"Device {token}")
        r = till.post("/api/v1/purchases/", {
            "order_no": "WX-E2E-1", "occurred_at": "2026-11-24T09:15:00+08:00", "member": {"card": member.member_no},
            "lines": [{"brand": "LANCOME", "category": "化妆品", "amount": "680.00"}],
            "tenders": [{"type": "wechat", "amount": "680.00"}]}, format="json")
        assert r.status_code == 201, r.content
        earned, balance = r.json()["points_earned"], r.json()["balance"]
    assert earned > 0 and wechat.sends == []
    with time_machine.travel(dt.datetime(2026, 11, 25, 8, 30, tzinfo=SH)):
        with django_capture_on_commit_callbacks(execute=True):
            run_job("notify_points_earned", date=dt.date(2026, 11, 25))
        (sent,) = wechat.sends
        assert sent["touser"] == "o-e2e-member" and sent["template_id"] == "TPL_POINTS"
        assert sent["data"] == {"first": {"value": "积分到账"}, "keyword1": {"value": "11月24日"},
                                "keyword2": {"value": str(earned)}, "keyword3": {"value": str(balance)}}
        message = _wechat(member, "points_earned:2026-11-24")
        assert message.status == Message.Status.SENT and (message.provider, message.provider_id) == ("wechat", "1001")
        assert sent["client_msg_id"] == f"memberhub-{message.pk}"
        # Never twice per event: the job again, and the retry job, send nothing more.
        with django_capture_on_commit_callbacks(execute=True):
            again = run_job("notify_points_earned", date=dt.date(2026, 11, 25))
            run_job("retry_due_messages", date=dt.date(2026, 11, 25))
        assert again.counts["notices"] == 0 and len(wechat.sends) == 1
        assert post_plain(client, receipt_xml("1001", "success", "o-e2e-member")).content == b"success"
    message.refresh_from_db()
    assert message.status == Message.Status.DELIVERED and message.delivered_at is not None


def test_points_earned_waits_for_quiet_hours_on_wechat_as_on_sms(wechat, wechat_templates,
                                                                 django_capture_on_commit_callbacks):
    from tests.points.helpers import buy

    member = _bound("o-quiet")
    with time_machine.travel(dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH), tick=False):
        buy(member, member.home_store, "300.00", order_no="Q-1")
    with time_machine.travel(dt.datetime(2026, 11, 25, 0, 30, tzinfo=SH)):
        with django_capture_on_commit_callbacks(execute=True):
            run_job("notify_points_earned", date=dt.date(2026, 11, 25))
    message = _wechat(member, "points_earned:2026-11-24")
    assert message.status == Message.Status.QUEUED and wechat.sends == []
    assert message.scheduled_for == dt.datetime(2026, 11, 25, 8, 0, tzinfo=SH)
    with time_machine.travel(dt.datetime(2026, 11, 25, 7, 59, tzinfo=SH)):
        with django_capture_on_commit_callbacks(execute=True):
            run_job("retry_due_messages", date=dt.date(2026, 11, 25))
    assert wechat.sends == []
    with time_machine.travel(dt.datetime(2026, 11, 25, 8, 1, tzinfo=SH)):
        with django_capture_on_commit_callbacks(execute=True):
            run_job("retry_due_messages", date=dt.date(2026, 11, 25))
    assert [s["touser"] for s in wechat.sends] == ["o-quiet"]
    message.refresh_from_db()
    assert message.status == Message.Status.SENT


@pytest.mark.pinned_at("2026-11-25T10:00+08:00")
def test_service_notice_of_another_app_goes_to_wechat_once(wechat, wechat_templates, django_capture_on_commit_callbacks):
    """Tier change, complaint status, reservation reminder... (messaging.services.notify_member)."""
    member = _bound("o-tier")
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            notify_member(member=member, kind="tier_change", ref="77", title="等级变更", body="恭喜您升级为金卡会员")
    (sent,) = wechat.sends
    assert sent["touser"] == "o-tier" and sent["template_id"] == "TPL_NOTICE"
    assert sent["data"]["first"] == {"value": "等级变更"} and "金卡" in sent["data"]["keyword1"]["value"]
    assert Message.objects.filter(member=member, channel="wechat").count() == 1


@pytest.mark.pinned_at("2026-11-25T10:00+08:00")
def test_members_without_wechat_get_no_wechat_row_and_the_channel_choice_is_respected(
        wechat, wechat_templates, django_capture_on_commit_callbacks):
    plain = MemberFactory()
    off = _bound("o-off")
    channel_preference_set(member=off, sms=True, email=True, wechat=False, actor="member")
    with django_capture_on_commit_callbacks(execute=True):
        for m in (plain, off):
            notify_member(member=m, kind="tier_change", ref=f"t{m.pk}", title="等级变更", body="升级")
    assert not Message.objects.filter(member=plain, channel="wechat").exists()
    skipped = _wechat(off, f"tier_change:t{off.pk}")
    assert skipped.status == Message.Status.SKIPPED and skipped.error == CHANNEL_OFF_ERROR
    assert wechat.sends == []


@pytest.mark.pinned_at("2026-11-25T10:00+08:00")
def test_a_template_without_wechat_template_id_is_not_sent(wechat, django_capture_on_commit_callbacks):
    member = _bound("o-no-template")
    with django_capture_on_commit_callbacks(execute=True):
        notify_member(member=member, kind="tier_change", ref="1", title="等级变更", body="升级")
    message = _wechat(member, "tier_change:1")
    assert message.status == Message.Status.SKIPPED and message.error == WECHAT_NO_TEMPLATE_ERROR


@pytest.mark.pinned_at("2026-11-25T10:00+08:00")
def test_marketing_is_never_sent_as_a_wechat_template_message(wechat, wechat_templates):
    member = _bound("o-marketing", marketing_consent=True)
    from messaging.models import MessageTemplate

    MessageTemplate.objects.create(code="marketing", channel="wechat", kind="marketing", name="x", body="{text}",
                                   provider_template_code="TPL_X")
    message = message_send(member=member, template_code="marketing", channel="wechat", event_key="promo:1",
                           params={"text": "满300减50"})
    assert message.status == Message.Status.SKIPPED and "service notices only" in message.error


def test_wechat_busy_is_retried_with_back_off_and_an_unfollowed_user_fails_for_good(
        wechat, wechat_templates, config, django_capture_on_commit_callbacks):
    member = _bound("o-retry")
    wechat.mode = "busy"
    with time_machine.travel(dt.datetime(2026, 11, 25, 10, 0, tzinfo=SH), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            notify_member(member=member, kind="tier_change", ref="r1", title="等级变更", body="升级")
    message = _wechat(member, "tier_change:r1")
    assert message.status == Message.Status.QUEUED and message.attempts == 1 and "-1" in message.error
    assert message.next_attempt_at == dt.datetime(2026, 11, 25, 10, 1, tzinfo=SH)
    wechat.mode = "ok"
    with time_machine.travel(dt.datetime(2026, 11, 25, 10, 2, tzinfo=SH)):
        with django_capture_on_commit_callbacks(execute=True):
            run_job("retry_due_messages", date=dt.date(2026, 11, 25))
    message.refresh_from_db()
    assert message.status == Message.Status.SENT and message.attempts == 2 and len(wechat.sends) == 1
    wechat.mode = "blocked"
    with time_machine.travel(dt.datetime(2026, 11, 25, 11, 0, tzinfo=SH)):
        with django_capture_on_commit_callbacks(execute=True):
            notify_member(member=member, kind="tier_change", ref="r2", title="等级变更", body="升级")
    final = _wechat(member, "tier_change:r2")
    assert final.status == Message.Status.FAILED and "43004" in final.error


@pytest.mark.pinned_at("2026-11-25T10:00+08:00")
def test_a_member_unbound_while_the_message_waited_is_not_sent(wechat, wechat_templates,
                                                              django_capture_on_commit_callbacks):
    member = _bound("o-gone")
    notify_member(member=member, kind="tier_change", ref="g1", title="等级变更", body="升级")   # queued, not delivered
    with transaction.atomic():
        wechat_unbind(member=member, actor="member", via="portal")
    from messaging.delivery import deliver_messages

    message = _wechat(member, "tier_change:g1")
    deliver_messages([message.pk])
    message.refresh_from_db()
    assert message.status == Message.Status.FAILED and "no longer linked" in message.error and wechat.sends == []


@pytest.mark.pinned_at("2026-11-25T10:00+08:00")
def test_nightly_bulk_notices_and_inbox_only_notices_reach_wechat(wechat, wechat_templates,
                                                                  django_capture_on_commit_callbacks):
    """Points expiring (notify_members_bulk, the nightly reminder) and a complaint reply (sms=False: no paid
    SMS, but the free template message goes) reach members who linked WeChat, once."""
    from messaging.models import Notice
    from messaging.services import notify_members_bulk

    bound, plain = _bound("o-bulk"), MemberFactory()
    notices = [Notice(member=m, kind="points_expiring", ref="2026-12-31", title="积分即将过期",
                      body="您有100积分将于12月31日过期") for m in (bound, plain)]
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            notify_members_bulk(list(notices))
    with django_capture_on_commit_callbacks(execute=True):
        notify_member(member=bound, kind="complaint_reply", ref="complaint:9:reply:1", title="投诉答复",
                      body="已为您处理", sms=False)
    assert [(s["touser"], s["data"]["first"]["value"]) for s in wechat.sends] == [("o-bulk", "积分即将过期"),
                                                                                 ("o-bulk", "投诉答复")]
    assert not Message.objects.filter(member=plain, channel="wechat").exists()
    assert not Message.objects.filter(member=bound, channel="sms", event_key="complaint_reply:complaint:9:reply:1").exists()
