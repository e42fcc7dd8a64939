"""Partner API, portal and desk pages of engagement (BEN-6, BEN-7) through the test client."""
from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from engagement import services
from engagement.models import CheckIn, Feedback, Invitation, Partner, RedemptionCode, Registration
from members import roles
from members.portal_auth import SESSION_KEY
from tests.factories import MemberFactory, StoreFactory, make_staff

from .conftest import make_event, make_offer

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.engagement.urls")]
VERIFY = "/api/v1/partners/verify/"


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def login_member(client, member):
    session = client.session
    session[SESSION_KEY] = member.pk
    session.save()


def test_partner_api_verifies_once_then_409(client, tiers):
    offer = make_offer(tiers=[tiers["normal"]])
    key = services.partner_key_rotate(partner=offer.partner, actor="test")
    rc = services.redemption_code_issue(member=MemberFactory(name="张三"), offer=offer)
    auth = {"HTTP_AUTHORIZATION": f"Partner {key}"}
    first = client.post(VERIFY, {"code": rc.code}, content_type="application/json", **auth)
    assert first.status_code == 200, first.content
    assert first.json()["status"] == "used" and first.json()["member_name"] == "张**"
    second = client.post(VERIFY, {"code": rc.code}, content_type="application/json", **auth)
    assert second.status_code == 409 and second.json()["code"] == "code_used"


def test_partner_api_other_partners_code_is_404_and_bad_key_refused(client, tiers):
    offer = make_offer(tiers=[tiers["normal"]])
    other = Partner.objects.create(name="如家酒店", kind="hotel")
    other_key = services.partner_key_rotate(partner=other, actor="test")
    rc = services.redemption_code_issue(member=MemberFactory(), offer=offer)
    resp = client.post(VERIFY, {"code": rc.code}, content_type="application/json",
                       HTTP_AUTHORIZATION=f"Partner {other_key}")
    assert resp.status_code == 404
    for header in ({"HTTP_AUTHORIZATION": "Partner wrong-key"}, {}):
        resp = client.post(VERIFY, {"code": rc.code}, content_type="application/json", **header)
        assert resp.status_code in (401, 403)
    other.is_active = False
    other.save()
    resp = client.post(VERIFY, {"code": rc.code}, content_type="application/json",
                       HTTP_AUTHORIZATION=f"Partner {other_key}")
    assert resp.status_code in (401, 403)
    rc.refresh_from_db()
    assert rc.status == RedemptionCode.Status.ISSUED


def test_portal_partner_page_issues_and_lists_own_codes_only(client, tiers):
    offer = make_offer(tiers=[tiers["gold"]])
    gold, other = MemberFactory(tier=tiers["gold"]), MemberFactory(tier=tiers["gold"])
    theirs = services.redemption_code_issue(member=other, offer=offer)
    login_member(client, gold)
    url = reverse("engagement_portal:partners")
    assert offer.title in client.get(url).content.decode()
    client.post(url, {"offer": offer.pk})
    mine = RedemptionCode.objects.get(member=gold)
    page = client.get(url).content.decode()
    assert mine.code in page and theirs.code not in page
    # An offer of a tier the member is not in cannot be requested by posting its id.
    normal_offer = make_offer(partner=offer.partner, tiers=[tiers["normal"]], title="Normal only")
    assert client.post(url, {"offer": normal_offer.pk}).status_code == 404


def test_portal_partner_page_needs_login(client):
    assert client.get(reverse("engagement_portal:partners")).status_code == 302


def test_portal_event_sign_up_qr_and_other_members_event_is_404(client):
    store = StoreFactory()
    event = make_event(store=store, guests=2)
    other_event = make_event(store=store, title="Other")
    member, stranger = MemberFactory(), MemberFactory()
    Invitation.objects.create(event=event, member=member)
    Invitation.objects.create(event=other_event, member=stranger)
    services.event_sign_up(event=other_event, member=stranger)
    login_member(client, member)
    assert event.title in client.get(reverse("engagement_portal:events")).content.decode()
    assert client.get(reverse("engagement_portal:event"), {"id": other_event.pk}).status_code == 404
    assert client.post(reverse("engagement_portal:event_cancel"), {"id": other_event.pk}).status_code == 404
    assert Registration.objects.get(member=stranger).status == "registered"
    client.post(reverse("engagement_portal:event_signup"), {"id": event.pk, "guests": "2"})
    reg = Registration.objects.get(event=event, member=member)
    assert reg.guests == 2
    page = client.get(reverse("engagement_portal:event"), {"id": event.pk}).content.decode()
    assert "<svg" in page


def _staff_with_event_perms(store):
    user = make_staff(roles.FRONT_DESK, store=store)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="engagement",
                                                         codename__in=["add_checkin", "view_event"]))
    return user


def test_desk_check_in_once_report_and_feedback_on_portal(client):
    store = StoreFactory()
    event = make_event(store=store, starts_in=dt.timedelta(minutes=30))
    member = MemberFactory()
    Invitation.objects.create(event=event, member=member)
    reg = services.event_sign_up(event=event, member=member)
    client.force_login(_staff_with_event_perms(store))
    url = reverse("engagement_desk:event", args=[event.pk])
    payload = services.check_in_payload(reg)
    client.post(url, {"payload": payload})
    page = client.post(url, {"payload": payload}, follow=True).content.decode()
    assert "Already checked in" in page
    assert CheckIn.objects.filter(registration=reg).count() == 1
    assert 'id="r-attended">1<' in page and 'id="r-invited">1<' in page
    # The member now rates the event on the portal, once.
    client.logout()
    login_member(client, member)
    action = reverse("engagement_portal:event_feedback")
    services_now = event.starts_at  # feedback opens when the event starts
    import time_machine

    with time_machine.travel(services_now + dt.timedelta(minutes=5)):
        client.post(action, {"id": event.pk, "rating": "4", "comment": "不错"})
        client.post(action, {"id": event.pk, "rating": "1"})
    assert list(Feedback.objects.values_list("rating", flat=True)) == [4]


def test_desk_event_of_another_store_is_404_and_needs_permission(client):
    event = make_event(store=StoreFactory())
    client.force_login(_staff_with_event_perms(StoreFactory()))
    assert client.get(reverse("engagement_desk:event", args=[event.pk])).status_code == 404
    client.force_login(make_staff(None, store=event.store))  # staff without a role
    assert client.get(reverse("engagement_desk:event", args=[event.pk])).status_code == 403
