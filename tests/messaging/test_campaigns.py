"""Campaign sends (MSG-2, MSG-4): audience after consent and quiet hours, set-wise planning,
batched idempotent sending, cancel mid-way, store scope, desk pages and admin."""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.db import connection
from django.db.models import Count
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import include, path

import messaging.campaign_admin  # noqa: F401 - registers the admin (see the report: messaging/admin.py)
from core.errors import ValidationFailed
from core.jobs import run_job
from memberhub.urls import urlpatterns as _site
from members import roles
from members.models import MemberTag, Tag, Tier
from messaging import campaigns
from messaging.campaigns import (
    campaign_cancel,
    campaign_create,
    campaign_list_for_staff,
    campaign_plan,
    campaign_preview,
    campaign_schedule,
    campaign_send_batch,
)
from messaging.delivery import deliver_messages
from messaging.models import Campaign, CampaignBatch, Message, MessageTemplate
from tests.factories import MemberFactory, StoreFactory, make_staff

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
NIGHT = dt.datetime(2026, 11, 23, 22, 30, tzinfo=SH)
DAY = dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH)

# The desk pages are mounted by memberhub/urls.py once that line is added; tests mount them here.
urlpatterns = [*_site, path("desk/campaigns/", include("messaging.campaign_urls"))]


@pytest.fixture
def chain_manager():
    return make_staff(roles.OPERATIONS_MANAGER, chain_wide=True)


@pytest.fixture
def marketing_template():
    return MessageTemplate.objects.get(code="marketing", channel="sms")


def _campaign(user, template, audience=None, **kw):
    return campaign_create(user=user, name="双十二", template=template, audience=audience or {"tiers": ["normal"]},
                           params=kw.pop("params", {"text": "双十二会员日满300减50"}), **kw)


def _grant(user):
    user.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="messaging",
        codename__in=["view_campaign", "add_campaign", "change_campaign", "send_campaign"]))
    return type(user).objects.get(pk=user.pk)


def test_campaign_goes_only_to_members_with_marketing_consent(chain_manager, marketing_template, sms_outbox,
                                                              django_capture_on_commit_callbacks):
    """MSG-2 / MEM-6: marketing only with consent, always with the opt-out line."""
    yes = [MemberFactory(marketing_consent=True) for _ in range(3)]
    MemberFactory(marketing_consent=False)
    MemberFactory(marketing_consent=False)
    with time_machine.travel(DAY, tick=False):
        campaign = _campaign(chain_manager, marketing_template)
        with django_capture_on_commit_callbacks(execute=True):
            campaign_schedule(campaign=campaign, user=chain_manager)
    campaign.refresh_from_db()
    assert len(sms_outbox) == 3
    assert all(m.text == "双十二会员日满300减50回TD退订" for m in sms_outbox)
    assert set(Message.objects.filter(campaign_id=campaign.pk).values_list("member_id", flat=True)) == {
        m.pk for m in yes}
    assert (campaign.status, campaign.audience_count, campaign.skipped_no_consent, campaign.planned,
            campaign.sent) == (Campaign.Status.DONE, 5, 2, 3, 3)


def test_greeting_text_is_rendered_per_member_in_sql(chain_manager, sms_outbox, django_capture_on_commit_callbacks):
    """The set-wise plan renders {name} like message_send does (the provider parameters too). Greetings
    need marketing consent since issue 15: the member without it is not addressed."""
    member = MemberFactory(name="王小明", marketing_consent=True)
    MemberFactory(name="李四", marketing_consent=False)
    template = MessageTemplate.objects.get(code="birthday_greeting", channel="sms")
    with time_machine.travel(DAY, tick=False):
        campaign = _campaign(chain_manager, template, params={})
        with django_capture_on_commit_callbacks(execute=True):
            campaign_schedule(campaign=campaign, user=chain_manager)
    message = Message.objects.get(campaign_id=campaign.pk)
    assert message.member_id == member.pk
    assert message.text.startswith("亲爱的王小明，") and "回TD退订" not in message.text
    assert message.params == {"name": "王小明", "birthday_offer": ""}
    campaign.refresh_from_db()
    assert campaign.skipped_no_consent == 1
    assert sms_outbox[0].text == message.text


def test_plan_in_quiet_hours_holds_messages_until_the_window_opens(chain_manager, marketing_template, sms_outbox,
                                                                   django_capture_on_commit_callbacks):
    """MSG-2: a campaign started at 22:30 waits until 08:00; the retry job releases it then."""
    MemberFactory(marketing_consent=True)
    MemberFactory(marketing_consent=True)
    with time_machine.travel(NIGHT, tick=False):
        campaign = _campaign(chain_manager, marketing_template)
        preview = campaign_preview(campaign=campaign)
        assert (preview["recipients"], preview["now"], preview["waiting"]) == (2, 0, 2)
        with django_capture_on_commit_callbacks(execute=True):
            campaign_schedule(campaign=campaign, user=chain_manager)
    opening = dt.datetime(2026, 11, 24, 8, 0, tzinfo=SH)
    assert list(Message.objects.filter(campaign_id=campaign.pk).values_list("scheduled_for", flat=True)) == [
        opening, opening]
    assert sms_outbox == []
    with time_machine.travel(opening + dt.timedelta(minutes=1), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        run_job("retry_due_messages")
        run_job("start_due_campaigns")
    assert len(sms_outbox) == 2
    campaign.refresh_from_db()
    assert (campaign.status, campaign.sent) == (Campaign.Status.DONE, 2)


def test_plan_is_idempotent(chain_manager, marketing_template, sms_outbox, django_capture_on_commit_callbacks):
    """A re-run of planning (a duplicate task, a crash half-way) creates and sends nothing twice."""
    for _ in range(4):
        MemberFactory(marketing_consent=True)
    with time_machine.travel(DAY, tick=False):
        campaign = _campaign(chain_manager, marketing_template)
        with django_capture_on_commit_callbacks(execute=True):
            campaign_schedule(campaign=campaign, user=chain_manager)
        assert campaign_plan(campaign_id=campaign.pk) is None  # already planned: a duplicate task does nothing
        Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.PLANNING)  # as if it had crashed
        with django_capture_on_commit_callbacks(execute=True):
            again = campaign_plan(campaign_id=campaign.pk, chunk=2)
    assert again.planned == 4
    assert Message.objects.filter(campaign_id=campaign.pk).count() == 4
    assert len(sms_outbox) == 4


def test_duplicate_send_task_sends_once(chain_manager, marketing_template, sms_outbox, monkeypatch,
                                        django_capture_on_commit_callbacks):
    """The same batch delivered twice (broker redelivery) sends each message once."""
    monkeypatch.setattr(campaigns, "BATCH_SIZE", 2)
    for _ in range(3):
        MemberFactory(marketing_consent=True)
    with time_machine.travel(DAY, tick=False):
        campaign = _campaign(chain_manager, marketing_template)
        with django_capture_on_commit_callbacks(execute=False):
            campaign_schedule(campaign=campaign, user=chain_manager)
        Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SCHEDULED)
        with django_capture_on_commit_callbacks(execute=False) as queued:
            campaign_plan(campaign_id=campaign.pk)
        assert len(queued) == 1 and sms_outbox == []
        batches = list(CampaignBatch.objects.filter(campaign=campaign).order_by("number"))
        assert [b.size for b in batches] == [2, 1]
        ids = [list(Message.objects.filter(campaign_id=campaign.pk, pk__range=(b.first_id, b.last_id))
                    .values_list("pk", flat=True)) for b in batches]
        for batch, batch_ids in zip(batches, ids, strict=True):
            campaign_send_batch(batch_id=batch.pk, message_ids=batch_ids)
            campaign_send_batch(batch_id=batch.pk, message_ids=batch_ids)
        # even a stray copy that skips the batch bookkeeping finds nothing left to claim
        assert deliver_messages(ids[0]).sent == 0
    assert len(sms_outbox) == 3
    campaign.refresh_from_db()
    assert (campaign.status, campaign.sent, campaign.batches_done) == (Campaign.Status.DONE, 3, 2)


def test_cancel_mid_way_stops_the_rest(chain_manager, marketing_template, sms_outbox, monkeypatch,
                                       django_capture_on_commit_callbacks):
    monkeypatch.setattr(campaigns, "BATCH_SIZE", 2)
    for _ in range(6):
        MemberFactory(marketing_consent=True)
    with time_machine.travel(DAY, tick=False):
        campaign = _campaign(chain_manager, marketing_template)
        with django_capture_on_commit_callbacks(execute=False):
            campaign_schedule(campaign=campaign, user=chain_manager)
        with django_capture_on_commit_callbacks(execute=False) as queued:
            campaign_plan(campaign_id=campaign.pk)
        batches = list(CampaignBatch.objects.filter(campaign=campaign).order_by("number"))
        ids = [list(Message.objects.filter(campaign_id=campaign.pk, pk__range=(b.first_id, b.last_id))
                    .values_list("pk", flat=True)) for b in batches]
        campaign_send_batch(batch_id=batches[0].pk, message_ids=ids[0])
        with django_capture_on_commit_callbacks(execute=True):
            campaign_cancel(campaign=campaign, user=chain_manager)
        for callback in queued:  # the tasks already on the queue still run
            callback()
        assert deliver_messages(ids[1] + ids[2]).sent == 0
    assert len(sms_outbox) == 2
    counts = dict(Message.objects.filter(campaign_id=campaign.pk).values_list("status").annotate(
        n=Count("pk")).values_list("status", "n"))
    assert counts == {Message.Status.SENT: 2, Message.Status.CANCELLED: 4}
    campaign.refresh_from_db()
    assert (campaign.status, campaign.sent, campaign.cancelled_count) == (Campaign.Status.CANCELLED, 2, 4)
    assert campaign.cancelled_at and campaign.cancelled_by == chain_manager


def test_preview_counts_after_consent_and_audience(chain_manager, marketing_template):
    """One COUNT query: audience, without consent, without a mobile, recipients."""
    vip = Tag.objects.create(name="VIP")
    gold = Tier.objects.exclude(code="normal").order_by("rank").first()
    tagged = [MemberFactory(marketing_consent=True), MemberFactory(marketing_consent=False),
              MemberFactory(marketing_consent=True, mobile_enc=None, mobile_hash=None)]
    MemberFactory(marketing_consent=True)  # not tagged
    MemberFactory(marketing_consent=True, tier=gold)  # tagged, other tier
    MemberTag.objects.bulk_create([MemberTag(member=m, tag=vip) for m in tagged])
    campaign = _campaign(chain_manager, marketing_template, audience={"tags": ["VIP"], "tiers": ["normal"]})
    with time_machine.travel(DAY, tick=False):
        with CaptureQueriesContext(connection) as queries:
            preview = campaign_preview(campaign=campaign)
    assert len([q for q in queries.captured_queries if "members_member" in q["sql"]]) == 1
    assert (preview["audience"], preview["no_consent"], preview["unreachable"], preview["recipients"],
            preview["now"], preview["waiting"]) == (3, 1, 1, 1, 1, 0)


def test_store_manager_targets_only_their_store(marketing_template, sms_outbox, django_capture_on_commit_callbacks):
    """SEC-3: an operations manager who is not chain-wide addresses only their store's members."""
    mine, other = StoreFactory(), StoreFactory()
    manager = make_staff(roles.OPERATIONS_MANAGER, store=mine)
    own = MemberFactory(marketing_consent=True, home_store=mine)
    MemberFactory(marketing_consent=True, home_store=other)
    with pytest.raises(ValidationFailed):
        _campaign(manager, marketing_template, audience={"stores": [other.code]})
    with time_machine.travel(DAY, tick=False):
        campaign = _campaign(manager, marketing_template)
        assert campaign_preview(campaign=campaign)["recipients"] == 1
        with django_capture_on_commit_callbacks(execute=True):
            campaign_schedule(campaign=campaign, user=manager)
    assert list(Message.objects.filter(campaign_id=campaign.pk).values_list("member_id", flat=True)) == [own.pk]
    assert len(sms_outbox) == 1
    outsider = make_staff(roles.OPERATIONS_MANAGER, store=other)
    assert not campaign_list_for_staff(outsider).filter(pk=campaign.pk).exists()
    assert campaign_list_for_staff(manager).filter(pk=campaign.pk).exists()


def test_unfilled_placeholder_is_refused(chain_manager, marketing_template):
    with pytest.raises(ValidationFailed) as exc:
        _campaign(chain_manager, marketing_template, params={})
    assert exc.value.code == "template_param_missing"


@pytest.mark.urls("tests.messaging.test_campaigns")
def test_desk_create_preview_send_and_progress(client, marketing_template, sms_outbox,
                                               django_capture_on_commit_callbacks):
    store = StoreFactory()
    manager = _grant(make_staff(roles.OPERATIONS_MANAGER, store=store))
    MemberFactory(marketing_consent=True, home_store=store)
    MemberFactory(marketing_consent=False, home_store=store)
    with time_machine.travel(DAY, tick=False):
        client.force_login(manager)
        assert client.get("/desk/campaigns/").status_code == 200
        assert client.get("/desk/campaigns/new/").status_code == 200
        response = client.post("/desk/campaigns/new/", {
            "name": "会员日", "template": marketing_template.pk, "params": '{"text": "会员日快乐"}',
            "tiers": ["normal"], "rule": ""})
        assert response.status_code == 302, response.content.decode()[:2000]
        campaign = Campaign.objects.get(name="会员日")
        page = client.get(f"/desk/campaigns/{campaign.pk}/").content.decode()
        assert 'id="preview-recipients">1<' in page and 'id="preview-no-consent">1<' in page
        confirm = client.post(f"/desk/campaigns/{campaign.pk}/schedule/", {"now": "1"})  # asks first (issue 16)
        assert confirm.status_code == 200 and 'id="confirm-recipients">1<' in confirm.content.decode()
        token = re.search(r'name="confirm_token" value="([^"]+)"', confirm.content.decode()).group(1)
        with django_capture_on_commit_callbacks(execute=True):
            assert client.post(f"/desk/campaigns/{campaign.pk}/schedule/",
                               {"now": "1", "confirm_token": token}).status_code == 302
        assert client.get(f"/desk/campaigns/{campaign.pk}/progress/").status_code == 200
    campaign.refresh_from_db()
    assert (campaign.status, campaign.sent, campaign.scope_store_ids) == (Campaign.Status.DONE, 1, [store.pk])
    assert len(sms_outbox) == 1
    assert client.post(f"/desk/campaigns/{campaign.pk}/cancel/").status_code == 302  # finished: refused politely
    other = _grant(make_staff(roles.OPERATIONS_MANAGER, store=StoreFactory()))
    client.force_login(other)
    assert client.get(f"/desk/campaigns/{campaign.pk}/").status_code == 404


def test_desk_needs_the_campaign_permission(client):
    client.force_login(make_staff(roles.FRONT_DESK))
    with override_settings(ROOT_URLCONF="tests.messaging.test_campaigns"):
        assert client.get("/desk/campaigns/").status_code == 403


def test_admin_shows_progress_and_failures(admin_client, chain_manager, marketing_template,
                                           django_capture_on_commit_callbacks):
    MemberFactory(marketing_consent=True)
    with time_machine.travel(DAY, tick=False):
        campaign = _campaign(chain_manager, marketing_template)
        with django_capture_on_commit_callbacks(execute=True):
            campaign_schedule(campaign=campaign, user=chain_manager)
    Message.objects.filter(campaign_id=campaign.pk).update(status=Message.Status.FAILED, error="isv.MOBILE_ILLEGAL")
    page = admin_client.get(f"/admin/messaging/campaign/{campaign.pk}/change/").content.decode()
    assert "isv.MOBILE_ILLEGAL" in page and 'id="campaign-counts"' in page
    assert admin_client.get("/admin/messaging/campaign/").status_code == 200


def test_marketing_waiting_in_a_queue_is_held_when_quiet_hours_begin():
    """MSG-2: a marketing message still queued when quiet hours start is not sent until they end."""
    import datetime as dt

    import time_machine
    from django.utils import timezone

    from messaging.delivery import deliver_messages
    from messaging.models import Message
    from messaging.services import message_send
    from tests.factories import MemberFactory

    member = MemberFactory(marketing_consent=True)
    noon = timezone.make_aware(dt.datetime(2026, 11, 23, 12, 0))
    with time_machine.travel(noon, tick=False):
        message = message_send(member=member, template_code="marketing", channel="sms",
                               event_key="promo:quiet", params={"text": "双十二"})
    late = timezone.make_aware(dt.datetime(2026, 11, 23, 22, 0))
    with time_machine.travel(late, tick=False):
        result = deliver_messages([message.pk])
    message.refresh_from_db()
    assert result.sent == 0
    assert message.status == Message.Status.QUEUED and message.attempts == 0
    assert timezone.localtime(message.scheduled_for).hour == 8
