"""Service notices by kind with their own templates, channel choices, the marketing frequency cap and
birthday greetings (seed 000 信息通知, 003 3.3; SPEC MSG-2, MSG-5; issue 15)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from benefits.models import MemberDayConfig
from core.jobs import run_job
from members import roles
from members.services import Actor, member_close, member_set_status
from messaging.frequency import CAP_ERROR
from messaging.models import (
    Campaign,
    ChannelPreferenceLog,
    Message,
    MessageTemplate,
    MessagingConfig,
    Notice,
)
from messaging.notices import notice_send
from messaging.services import CHANNEL_OFF_ERROR, channel_preference_set, message_send, notify_members_bulk
from points.services import redemption
from tests.factories import MemberFactory, StoreFactory, make_staff
from tests.members.test_portal import login_as
from tests.points.helpers import buy

pytestmark = [pytest.mark.django_db, pytest.mark.pinned_at("2026-11-25T12:00+08:00")]
SH = ZoneInfo("Asia/Shanghai")


def test_suspension_and_reinstatement_are_told_with_their_own_template(sms_outbox, django_capture_on_commit_callbacks):
    """MSG-5 status change: members -> members.events hook -> messaging, after commit, once each."""
    member = MemberFactory(mobile="13900000001")
    staff = make_staff(roles.OPERATIONS_MANAGER, chain_wide=True)
    with django_capture_on_commit_callbacks(execute=True):
        member_set_status(member=member, staff=staff, action="suspend", reason="涉嫌套取积分")
    with django_capture_on_commit_callbacks(execute=True):
        member_set_status(member=member, staff=staff, action="reinstate", reason="核查无误")
    kinds = list(Notice.objects.filter(member=member).order_by("pk").values_list("kind", flat=True))
    assert kinds == ["member_suspended", "member_reinstated"]
    suspended = Notice.objects.get(member=member, kind="member_suspended")
    assert "涉嫌套取积分" in suspended.body and suspended.title == "会员资格已暂停" and suspended.sms_sent
    assert [m.mobile for m in sms_outbox] == ["13900000001", "13900000001"]
    sms = Message.objects.get(member=member, channel="sms", event_key__startswith="member_suspended:")
    assert sms.template.code == "notice_member_suspended" and sms.status == Message.Status.SENT


def test_same_event_twice_sends_nothing_twice(sms_outbox, django_capture_on_commit_callbacks):
    member = MemberFactory()
    params = {"gift": "保温杯", "quantity": 1, "points": 800, "store": "一店", "order_no": 7}
    with django_capture_on_commit_callbacks(execute=True):
        assert notice_send(member=member, kind="gift_order", ref="7", params=params) is True
    with django_capture_on_commit_callbacks(execute=True):
        assert notice_send(member=member, kind="gift_order", ref="7", params=params) is False
    # inbox, SMS and the e-mail recorded as not sent (no address): three rows, written once.
    assert Message.objects.filter(member=member, event_key="gift_order:7").count() == 3
    assert Notice.objects.filter(member=member, kind="gift_order").count() == 1 and len(sms_outbox) == 1


def test_editing_the_template_in_the_admin_changes_the_next_notice(admin_client):
    """MSG-3: operations edit the per-kind template; the next notice is rendered from it."""
    template = MessageTemplate.objects.get(code="notice_member_reinstated", channel="inbox")
    url = reverse("admin:messaging_messagetemplate_change", args=[template.pk])
    response = admin_client.post(url, {
        "code": template.code, "channel": "inbox", "kind": "service", "name": template.name, "active": "on",
        "subject": "欢迎回来", "body": "{name}，您的会员资格已恢复，欢迎回来！", "provider_template_code": "",
        "provider_param_names": "[]"})
    assert response.status_code == 302, response.content.decode()[:2000]
    member = MemberFactory(name="韩梅梅")
    notice_send(member=member, kind="member_reinstated", ref="x1")
    notice = Notice.objects.get(member=member, kind="member_reinstated")
    assert (notice.title, notice.body) == ("欢迎回来", "韩梅梅，您的会员资格已恢复，欢迎回来！")


def test_missing_template_falls_back_to_the_built_in_text_and_bad_edit_too(caplog):
    MessageTemplate.objects.filter(code="notice_member_reinstated", channel="inbox").delete()
    MessageTemplate.objects.filter(code="notice_member_reinstated", channel="sms").update(body="{nonexistent}")
    member = MemberFactory()
    notice_send(member=member, kind="member_reinstated", ref="x2")
    assert "会员资格已恢复" in Notice.objects.get(member=member).body
    sms = Message.objects.get(member=member, channel="sms")
    assert "会员资格已恢复" in sms.text
    assert "missing" in caplog.text and "cannot be rendered" in caplog.text


def test_switched_off_template_stops_that_channel():
    MessageTemplate.objects.filter(code="notice_welcome", channel="sms").update(active=False)
    member = MemberFactory()
    notice_send(member=member, kind="welcome", ref=str(member.pk), params={"tier": "普卡"})
    sms = Message.objects.get(member=member, channel="sms")
    assert sms.status == Message.Status.SKIPPED and "switched off" in sms.error
    assert Notice.objects.filter(member=member, kind="welcome").exists()


def test_turning_sms_off_on_the_portal_keeps_notices_in_the_inbox_only(client, sms_outbox,
                                                                       django_capture_on_commit_callbacks):
    """The member's channel choice (seed 000 信息通知) is honoured and logged."""
    member = MemberFactory(email="a@example.com")
    login_as(client, member)
    page = client.get(reverse("messaging_portal:channels"))
    assert page.status_code == 200 and 'id="channel-sms"' in page.content.decode()
    response = client.post(reverse("messaging_portal:channels"), {"email": "on"})
    assert response.status_code == 302
    log = ChannelPreferenceLog.objects.get(member=member)
    assert (log.channel, log.enabled, log.actor_label) == ("sms", False, "member")
    with django_capture_on_commit_callbacks(execute=True):
        notice_send(member=member, kind="member_reinstated", ref="p1")
    sms = Message.objects.get(member=member, channel="sms")
    assert sms.status == Message.Status.SKIPPED and sms.error == CHANNEL_OFF_ERROR and not sms_outbox
    assert Message.objects.get(member=member, channel="email").status == Message.Status.SENT
    assert Notice.objects.filter(member=member).count() == 1


def test_closure_is_told_to_the_number_the_member_had(sms_outbox, django_capture_on_commit_callbacks):
    member = MemberFactory(mobile="13900000009")
    with django_capture_on_commit_callbacks(execute=True):
        member_close(member=member, actor=Actor.member())
    assert [m.mobile for m in sms_outbox] == ["13900000009"] and "注销" in sms_outbox[0].text
    message = Message.objects.get(member=member, event_key=f"account_closed:{member.pk}")
    assert message.status == Message.Status.SENT and message.mobile_enc == ""   # the number is not kept


def test_change_request_decision_and_welcome_on_approval(django_capture_on_commit_callbacks):
    from members.services import change_request_review, change_request_submit, member_register_desk, member_review

    store = StoreFactory()
    clerk, reviewer = make_staff(roles.FRONT_DESK, store=store), make_staff(roles.CUSTOMER_SERVICE, store=store)
    with django_capture_on_commit_callbacks(execute=True):
        pending = member_register_desk(data={"name": "赵六", "mobile": "13900000011", "gender": "F"}, staff=clerk,
                                       store=store, marketing=False, privacy_accepted=True)
    assert not Notice.objects.filter(member=pending).exists()   # no welcome before approval
    with django_capture_on_commit_callbacks(execute=True):
        member_review(member=pending, reviewer=reviewer, approve=True)
    assert Notice.objects.get(member=pending, kind="welcome").body.startswith("赵六您好")
    with django_capture_on_commit_callbacks(execute=True):
        request = change_request_submit(member=pending, changes={"occupation": "教师"}, actor=Actor.staff(clerk))
        change_request_review(request=request, reviewer=reviewer, approve=False, reason="证明材料不全")
    rejected = Notice.objects.get(member=pending, kind="change_rejected")
    assert "职业" in rejected.body and "证明材料不全" in rejected.body and "教师" not in rejected.body


def test_gift_order_and_offset_are_told(sms_outbox):
    from tests.points.test_refund_give_back import seed_lot

    member, store = MemberFactory(), StoreFactory(name="国贸店")
    seed_lot(member, 5000, expires_in_days=100, key="n")
    redemption.offset_commit(member=member, store=store, order_no="OF-9", points=1000, bill_amount=Decimal("100"))
    notice = Notice.objects.get(member=member, kind="points_offset")
    assert "国贸店" in notice.body and "OF-9" in notice.body and "1000积分" in notice.body and "4000" in notice.body


def test_points_earned_once_a_day_summed_and_rerun_sends_nothing(sms_outbox):
    """MSG-5 points earned (batched): one notice per member per day, the day's credits summed."""
    member, store = MemberFactory(), StoreFactory()
    day = dt.date(2026, 11, 24)
    with time_machine.travel(dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH), tick=False):
        buy(member, store, "100.00", order_no="E-1")
        buy(member, store, "250.00", order_no="E-2")
    with time_machine.travel(dt.datetime(2026, 11, 25, 0, 30, tzinfo=SH), tick=False):
        first = run_job("notify_points_earned", date=day + dt.timedelta(days=1))
        again = run_job("notify_points_earned", date=day + dt.timedelta(days=1))
    assert first.counts["notices"] == 1 and again.counts["notices"] == 0
    notice = Notice.objects.get(member=member, kind="points_earned")
    assert notice.ref == "2026-11-24" and "11月24日" in notice.body and "350积分" in notice.body
    sms = Message.objects.get(member=member, channel="sms", event_key="points_earned:2026-11-24")
    assert sms.scheduled_for is not None   # held until quiet hours end (08:00)
    MessagingConfig.objects.filter(pk=1).update(points_earned_notice=False)
    assert run_job("notify_points_earned", date=day + dt.timedelta(days=2)).counts["notices"] == 0


def _marketing(member, key):
    return message_send(member=member, template_code="marketing", channel="sms", event_key=key,
                        params={"text": "会员日满300减50"})


def test_marketing_frequency_cap_per_member_in_a_rolling_window(config):
    """Seed 003 3.3 避免过度打扰: at most N marketing messages per member within the window."""
    MessagingConfig.objects.filter(pk=1).update(marketing_cap=2, marketing_cap_days=7)
    member = MemberFactory(marketing_consent=True)
    with time_machine.travel(dt.datetime(2026, 11, 16, 10, 0, tzinfo=SH), tick=False):
        _marketing(member, "promo:old")
    with time_machine.travel(dt.datetime(2026, 11, 25, 10, 0, tzinfo=SH), tick=False):
        assert _marketing(member, "promo:1").status != Message.Status.SKIPPED
        assert _marketing(member, "promo:2").status != Message.Status.SKIPPED
        third = _marketing(member, "promo:3")
    assert third.status == Message.Status.SKIPPED and third.error == CAP_ERROR
    # Service notices are never capped.
    assert notice_send(member=member, kind="member_reinstated", ref="c1")


def test_campaign_skips_members_at_the_cap_and_counts_them(client, admin_client, sms_outbox,
                                                           django_capture_on_commit_callbacks):
    from messaging.campaigns import campaign_create, campaign_preview, campaign_schedule

    MessagingConfig.get()
    MessagingConfig.objects.filter(pk=1).update(marketing_cap=1)
    store = StoreFactory(code="S77")
    busy = MemberFactory(home_store=store, marketing_consent=True)
    calm = MemberFactory(home_store=store, marketing_consent=True)
    off = MemberFactory(home_store=store, marketing_consent=True)
    channel_preference_set(member=off, sms=False, email=True, actor="member")
    _marketing(busy, "promo:earlier")
    manager = make_staff(roles.OPERATIONS_MANAGER, chain_wide=True)
    template = MessageTemplate.objects.get(code="marketing", channel="sms")
    campaign = campaign_create(user=manager, name="双12", template=template, audience={"stores": ["S77"]},
                               params={"text": "双12会员日"})
    preview = campaign_preview(campaign=campaign)
    assert (preview["recipients"], preview["capped"], preview["channel_off"]) == (1, 1, 1)
    with django_capture_on_commit_callbacks(execute=True):
        campaign_schedule(campaign=campaign, user=manager)
    campaign.refresh_from_db()
    assert (campaign.planned, campaign.skipped_frequency_cap, campaign.skipped_channel_off) == (1, 1, 1)
    assert campaign.status == Campaign.Status.DONE and campaign.cancelled_count == 0
    assert Message.objects.get(campaign_id=campaign.pk, member=busy).error == CAP_ERROR
    assert Message.objects.get(campaign_id=campaign.pk, member=calm).status == Message.Status.SENT
    assert not Message.objects.filter(campaign_id=campaign.pk, member=off).exists()
    # The result is visible where operations look: the desk campaign page and the admin.
    client.force_login(manager)
    desk = client.get(reverse("campaign_desk:progress", args=[campaign.pk])).content.decode()
    assert 'id="skipped-counts"' in desk and ("1 人超过频次上限" in desk or "1 over the frequency cap" in desk)
    detail = client.get(reverse("campaign_desk:detail", args=[campaign.pk]))
    assert detail.status_code == 200
    admin_page = admin_client.get(reverse("admin:messaging_campaign_change", args=[campaign.pk]))
    html = admin_page.content.decode()
    assert admin_page.status_code == 200 and ("未发送：超过频次上限" in html or "skipped: frequency cap" in html)


def test_birthday_greeting_needs_consent_and_names_the_real_window(sms_outbox, django_capture_on_commit_callbacks):
    """Birthday greetings respect marketing consent and say what the birthday window is (benefits' rule)."""
    MemberDayConfig.get()
    MemberDayConfig.objects.filter(pk=1).update(birthday_window="week", birthday_discount_percent=Decimal("10"))
    yes = MemberFactory(birthday=dt.date(1990, 11, 26), marketing_consent=True, name="李雷")
    no = MemberFactory(birthday=dt.date(1991, 11, 26), marketing_consent=False)
    with time_machine.travel(dt.datetime(2026, 11, 26, 9, 0, tzinfo=SH), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        first = run_job("send_greetings", date=dt.date(2026, 11, 26))
        again = run_job("send_greetings", date=dt.date(2026, 11, 26))
    assert first.counts["birthday"] == 1 and again.counts["birthday"] == 0
    text = Message.objects.get(member=yes, event_key="birthday:2026").text
    # 2026-11-26 is a Thursday: the week runs Monday 23 to Sunday 29 November.
    assert text == "亲爱的李雷，祝您生日快乐！生日当周（11月23日至11月29日）到店消费可享额外10%优惠。"
    assert not Message.objects.filter(member=no).exists()


def test_general_survey_invitation_is_marketing(sms_outbox):
    """Issue 15: a survey sent to a segment needs marketing consent and carries the opt-out line."""
    yes, no = MemberFactory(marketing_consent=True), MemberFactory(marketing_consent=False)
    sent = notify_members_bulk([Notice(member_id=m.pk, kind="survey", ref="5", title="满意度调查", body="请填写")
                                for m in (yes, no)])
    assert sent == 1
    assert Notice.objects.filter(kind="survey").count() == 1 and Notice.objects.get(kind="survey").member_id == yes.pk
    assert Message.objects.get(member=no, channel="sms").status == Message.Status.SKIPPED
    assert Message.objects.get(member=yes, channel="sms").text.endswith("回TD退订")


def test_follow_up_survey_is_a_service_notice():
    member = MemberFactory(marketing_consent=False)
    assert notice_send(member=member, kind="survey_follow_up", ref="3:complaint:9",
                       params={"link": "https://x/portal/care/survey/?id=3", "until": "2026-12-01 20:00"})
    assert Notice.objects.get(member=member, kind="survey_follow_up").title == "服务满意度回访"


def test_channel_preference_change_is_logged_once():
    member = MemberFactory()
    channel_preference_set(member=member, sms=False, email=True, actor="member")
    channel_preference_set(member=member, sms=False, email=True, actor="member")
    assert ChannelPreferenceLog.objects.filter(member=member).count() == 1


def test_desk_records_the_members_channel_choice_within_scope(client):
    """Front desk records the choice on the member's behalf (logged with the staff user); another
    store's member is a 404; a role without the consent permission sees the choice but cannot change it."""
    store = StoreFactory()
    member = MemberFactory(home_store=store)
    clerk = make_staff(roles.FRONT_DESK, store=store)
    url = reverse("messaging_desk:member_channels", args=[member.member_no])
    client.force_login(clerk)
    page = client.get(url)
    assert page.status_code == 200 and 'id="channels-form"' in page.content.decode()
    assert client.post(url, {"sms": "on"}).status_code == 302
    log = ChannelPreferenceLog.objects.get(member=member)
    assert (log.channel, log.enabled, log.actor_id) == ("email", False, clerk.pk)
    member360 = client.get(reverse("desk:member", args=[member.member_no])).content.decode()
    assert 'id="channels-panel"' in member360
    other = MemberFactory(home_store=StoreFactory())
    assert client.get(reverse("messaging_desk:member_channels", args=[other.member_no])).status_code == 404
    client.force_login(make_staff(roles.AUDITOR, chain_wide=True))
    assert client.post(url, {"sms": "on", "email": "on"}).status_code == 403
    assert ChannelPreferenceLog.objects.filter(member=member).count() == 1
