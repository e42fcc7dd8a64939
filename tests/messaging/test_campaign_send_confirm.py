"""Issue 16 (operations): the campaign page shows the SMS for a sample member with its character and
SMS count, sends a test to the operator's own phone, and 立即发送 needs a confirmation of the
recipient count (one click once sent 255 SMS)."""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.urls import include, path

from core.models import AuditLog
from memberhub.urls import urlpatterns as _site
from members import roles
from messaging.campaigns import campaign_create
from messaging.models import Campaign, Message, MessageTemplate
from messaging.sms import sms_segments
from tests.factories import MemberFactory, StoreFactory, make_staff

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
DAY = dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH)

urlpatterns = [*_site, path("desk/campaigns/", include("messaging.campaign_urls"))]


# ---------------------------------------------------------------- the counter


@pytest.mark.parametrize(("text", "encoding", "units", "segments"), [
    ("双十二会员日满300减50回TD退订", "UCS-2", 18, 1),      # short Chinese: UCS-2, one SMS
    ("会" * 70, "UCS-2", 70, 1),                           # the single UCS-2 limit
    ("会" * 71, "UCS-2", 71, 2),                           # one more: two parts of 67
    ("会" * 134, "UCS-2", 134, 2),
    ("会" * 135, "UCS-2", 135, 3),
    ("a" * 160, "GSM-7", 160, 1),                          # ASCII: GSM-7, 160 in one SMS
    ("a" * 161, "GSM-7", 161, 2),                          # 153 per part
    ("a" * 306, "GSM-7", 306, 2),
    ("a" * 307, "GSM-7", 307, 3),
    ("{}" * 40, "GSM-7", 160, 1),                          # extension characters count two
    ("{}" * 40 + "a", "GSM-7", 161, 2),
    ("a" * 69 + "é", "GSM-7", 70, 1),                      # é is in the GSM alphabet
    ("a" * 69 + "ç", "UCS-2", 70, 1),                      # ç is not: the whole text becomes UCS-2
    ("😀" * 35, "UCS-2", 70, 1),                           # outside the BMP: two units each
    ("", "GSM-7", 0, 0),
])
def test_sms_segments_follow_gsm7_and_ucs2_limits(text, encoding, units, segments):
    counted = sms_segments(text)
    assert (counted.encoding, counted.units, counted.segments) == (encoding, units, segments)
    assert counted.chars == len(text)


# ---------------------------------------------------------------- the pages


def _grant(user):
    user.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="messaging",
        codename__in=["view_campaign", "add_campaign", "change_campaign", "send_campaign"]))
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def store():
    return StoreFactory()


@pytest.fixture
def manager(store):
    return _grant(make_staff(roles.OPERATIONS_MANAGER, store=store))


@pytest.fixture
def campaign(manager):
    template = MessageTemplate.objects.create(code="member_day", channel="sms", kind="marketing", name="会员日短信",
                                              body="{name}您好，{text}", provider_param_names=["name", "text"])
    with time_machine.travel(DAY, tick=False):
        return campaign_create(user=manager, name="会员日", template=template, audience={"tiers": ["normal"]},
                               params={"text": "会员日满300减50"})


def _token(page: str) -> str:
    return re.search(r'name="confirm_token" value="([^"]+)"', page).group(1)


@pytest.mark.urls("tests.messaging.test_campaign_send_confirm")
def test_page_shows_the_sms_for_a_masked_sample_member_with_its_count(client, manager, store, campaign):
    member = MemberFactory(marketing_consent=True, home_store=store, name="王小明")
    client.force_login(manager)
    with time_machine.travel(DAY, tick=False):
        page = client.get(f"/desk/campaigns/{campaign.pk}/").content.decode()
    text = "王**您好，会员日满300减50回TD退订"
    assert f'id="sample-text">{text}<' in page and "王小明" not in page
    assert member.member_no in page
    counted = sms_segments(text)
    assert (counted.chars, counted.segments) == (len(text), 1)
    count_line = re.search(r'id="sample-count">(.*?)</p>', page, re.S).group(1)
    assert str(counted.chars) in count_line and "UCS-2" in count_line
    assert 'id="sample-opt-out"' in page and "回TD退订" in page


@pytest.mark.urls("tests.messaging.test_campaign_send_confirm")
def test_send_now_without_confirmation_sends_nothing(client, manager, store, campaign, sms_outbox,
                                                     django_capture_on_commit_callbacks):
    MemberFactory(marketing_consent=True, home_store=store)
    MemberFactory(marketing_consent=True, home_store=store)
    MemberFactory(marketing_consent=False, home_store=store)
    client.force_login(manager)
    with time_machine.travel(DAY, tick=False), django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/desk/campaigns/{campaign.pk}/schedule/", {"now": "1"})
        forged = client.post(f"/desk/campaigns/{campaign.pk}/schedule/", {"now": "1", "confirm_token": "2"})
        confirm = client.get(f"/desk/campaigns/{campaign.pk}/send-now/")
    page = response.content.decode()
    assert response.status_code == 200 and 'id="confirm-recipients">2<' in page
    assert 'id="confirm-segments-total">2<' in page and "confirm_token" in page
    assert forged.status_code == 200 and 'id="confirm-notice"' in forged.content.decode()
    assert confirm.status_code == 200 and 'id="confirm-recipients">2<' in confirm.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT
    assert not Message.objects.exists() and sms_outbox == []


@pytest.mark.urls("tests.messaging.test_campaign_send_confirm")
def test_send_now_with_a_stale_count_asks_again(client, manager, store, campaign, sms_outbox,
                                               django_capture_on_commit_callbacks):
    MemberFactory(marketing_consent=True, home_store=store)
    client.force_login(manager)
    with time_machine.travel(DAY, tick=False):
        token = _token(client.post(f"/desk/campaigns/{campaign.pk}/schedule/", {"now": "1"}).content.decode())
        MemberFactory(marketing_consent=True, home_store=store)   # the audience grew meanwhile
        with django_capture_on_commit_callbacks(execute=True):
            again = client.post(f"/desk/campaigns/{campaign.pk}/schedule/", {"now": "1", "confirm_token": token})
    page = again.content.decode()
    assert again.status_code == 200 and 'id="confirm-notice"' in page and 'id="confirm-recipients">2<' in page
    assert _token(page) != token
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT and sms_outbox == []


@pytest.mark.urls("tests.messaging.test_campaign_send_confirm")
def test_send_now_with_confirmation_plans_the_campaign(client, manager, store, campaign, sms_outbox,
                                                       django_capture_on_commit_callbacks):
    MemberFactory(marketing_consent=True, home_store=store)
    MemberFactory(marketing_consent=True, home_store=store)
    client.force_login(manager)
    with time_machine.travel(DAY, tick=False):
        token = _token(client.post(f"/desk/campaigns/{campaign.pk}/schedule/", {"now": "1"}).content.decode())
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(f"/desk/campaigns/{campaign.pk}/schedule/", {"now": "1", "confirm_token": token})
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.status, campaign.audience_count, campaign.sent) == (Campaign.Status.DONE, 2, 2)
    assert len(sms_outbox) == 2
    assert AuditLog.objects.filter(actor=manager, field="campaign_send_now").count() == 1


@pytest.mark.urls("tests.messaging.test_campaign_send_confirm")
def test_an_edit_after_confirming_asks_again(client, manager, store, campaign, sms_outbox,
                                             django_capture_on_commit_callbacks):
    """Same count, other text: the token is bound to the version of the campaign."""
    MemberFactory(marketing_consent=True, home_store=store)
    client.force_login(manager)
    with time_machine.travel(DAY, tick=False):
        token = _token(client.post(f"/desk/campaigns/{campaign.pk}/schedule/", {"now": "1"}).content.decode())
    with time_machine.travel(DAY + dt.timedelta(minutes=1), tick=False):
        Campaign.objects.filter(pk=campaign.pk).update(params={"text": "另一条"},
                                                       updated_at=DAY + dt.timedelta(minutes=1))
        again = client.post(f"/desk/campaigns/{campaign.pk}/schedule/", {"now": "1", "confirm_token": token})
    assert again.status_code == 200 and 'id="confirm-notice"' in again.content.decode()
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.DRAFT and sms_outbox == []


@pytest.mark.urls("tests.messaging.test_campaign_send_confirm")
def test_test_send_goes_to_the_staff_number_only(client, manager, store, campaign, sms_outbox,
                                                 django_capture_on_commit_callbacks):
    member = MemberFactory(marketing_consent=True, home_store=store, name="王小明", mobile="13900001111")
    client.force_login(manager)
    with time_machine.travel(DAY, tick=False), django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/desk/campaigns/{campaign.pk}/test-send/", {"mobile": "138 0013 8000"})
    assert response.status_code == 302
    assert [(m.mobile, m.text) for m in sms_outbox] == [("13800138000", "王**您好，会员日满300减50回TD退订")]
    message = Message.objects.get()
    assert message.member_id is None and message.campaign_id is None and message.kind == "service"
    assert not Message.objects.filter(member=member).exists()
    campaign.refresh_from_db()
    assert (campaign.status, campaign.sent, campaign.planned) == (Campaign.Status.DRAFT, 0, 0)
    audit = AuditLog.objects.get(field="campaign_test_sms")
    assert audit.actor == manager and "138****8000" in audit.detail and "13800138000" not in audit.detail
    # The number is remembered for the next test (their own phone).
    with time_machine.travel(DAY, tick=False):
        assert 'value="138 0013 8000"' in client.get(f"/desk/campaigns/{campaign.pk}/").content.decode()


@pytest.mark.urls("tests.messaging.test_campaign_send_confirm")
def test_test_send_checks_the_number_and_is_rate_limited(client, manager, store, campaign, sms_outbox,
                                                         django_capture_on_commit_callbacks):
    MemberFactory(marketing_consent=True, home_store=store)
    client.force_login(manager)
    with time_machine.travel(DAY, tick=False), django_capture_on_commit_callbacks(execute=True):
        bad = client.post(f"/desk/campaigns/{campaign.pk}/test-send/", {"mobile": "12345"})
        first = client.post(f"/desk/campaigns/{campaign.pk}/test-send/", {"mobile": "13800138000"})
        second = client.post(f"/desk/campaigns/{campaign.pk}/test-send/", {"mobile": "13800138000"})
    assert bad.status_code == 400 and "11" in bad.content.decode()
    assert first.status_code == 302 and second.status_code == 400
    assert len(sms_outbox) == 1


@pytest.mark.urls("tests.messaging.test_campaign_send_confirm")
def test_test_send_needs_the_send_permission_and_store_scope(client, manager, campaign, sms_outbox):
    other = _grant(make_staff(roles.OPERATIONS_MANAGER, store=StoreFactory()))
    client.force_login(other)
    with time_machine.travel(DAY, tick=False):
        assert client.post(f"/desk/campaigns/{campaign.pk}/test-send/", {"mobile": "13800138000"}).status_code == 404
        client.force_login(make_staff(roles.FRONT_DESK))
        assert client.post(f"/desk/campaigns/{campaign.pk}/test-send/", {"mobile": "13800138000"}).status_code == 403
    assert sms_outbox == []
