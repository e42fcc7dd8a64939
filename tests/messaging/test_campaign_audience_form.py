"""The campaign form's audience (issue 16, 运营经理): a segment picked from the list (built with chips on
the segment page) narrowed by tier / tag / store chips, with a live count; no JSON audience field, and
conditions an older draft holds beyond the chips are kept on edit."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from evaluation.services import segment_save
from members import roles
from messaging.campaigns import campaign_create
from messaging.models import Campaign, MessageTemplate
from tests.factories import MemberFactory, StoreFactory, make_staff

pytestmark = pytest.mark.django_db


def _manager(store):
    user = make_staff(roles.OPERATIONS_MANAGER, store=store)
    user.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="messaging",
        codename__in=["view_campaign", "add_campaign", "change_campaign", "send_campaign"]))
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def template():
    return MessageTemplate.objects.get(code="marketing", channel="sms")


def test_new_campaign_from_a_segment_shows_its_count(client, template):
    store = StoreFactory()
    MemberFactory(home_store=store, gender="F")
    MemberFactory(home_store=store, gender="M")
    MemberFactory(home_store=StoreFactory(), gender="F")  # another store: outside the manager's scope
    segment = segment_save(name="女士", definition={"gender": ["F"]})
    client.force_login(_manager(store))
    page = client.get(f"/desk/campaigns/new/?segment={segment.pk}")
    assert page.status_code == 200 and page.context["audience_count"] == 1
    body = page.content.decode()
    assert 'name="rule"' not in body and 'class="chips"' in body
    assert f'<option value="{segment.pk}" selected>' in body
    live = client.post("/desk/campaigns/audience-count/", {"segment": str(segment.pk), "tiers": ["normal"]})
    assert live.status_code == 200 and live.context["audience_count"] == 1
    none = client.post("/desk/campaigns/audience-count/", {"tiers": ["gold"]})
    assert none.context["audience_count"] == 0
    assert f"{template.name}（" in body  # templates by their name, not their code
    response = client.post("/desk/campaigns/new/", {"name": "女神节", "template": template.pk,
                                                    "text": "女神节快乐", "segment": str(segment.pk)})
    assert response.status_code == 302, response.content.decode()[:2000]
    campaign = Campaign.objects.get(name="女神节")
    assert campaign.segment_id == segment.pk and campaign.params == {"text": "女神节快乐"}
    detail = client.get(f"/desk/campaigns/{campaign.pk}/").content.decode()
    assert "女士" in detail and "#" + str(segment.pk) not in detail  # the segment by its name


def test_edit_keeps_conditions_the_form_has_no_chips_for(client, template):
    store = StoreFactory()
    MemberFactory(home_store=store, gender="F")
    manager = _manager(store)
    campaign = campaign_create(user=manager, name="旧活动", template=template,
                               audience={"gender": ["F"], "tiers": ["normal"]}, params={"text": "hi"})
    client.force_login(manager)
    page = client.get(f"/desk/campaigns/{campaign.pk}/edit/")
    assert page.status_code == 200 and page.context["extra_audience"] and page.context["audience_count"] == 1
    live = client.post("/desk/campaigns/audience-count/", {"campaign": str(campaign.pk)})
    assert live.context["audience_count"] == 1
    r = client.post(f"/desk/campaigns/{campaign.pk}/edit/", {"name": "旧活动", "template": template.pk,
                                                             "params": '{"text": "hi"}', "tiers": []})
    assert r.status_code == 302
    campaign.refresh_from_db()
    assert campaign.audience == {"gender": ["F"]}


def test_admin_shows_the_audience_in_words(admin_client, template):
    segment = segment_save(name="女士", definition={"gender": ["F"]})
    campaign = campaign_create(user=make_staff(roles.OPERATIONS_MANAGER, chain_wide=True), name="后台查看",
                               template=template, audience={"tiers": ["normal"]}, segment_id=segment.pk,
                               params={"text": "hi"})
    page = admin_client.get(f"/admin/messaging/campaign/{campaign.pk}/change/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "女士" in body and '{&quot;tiers&quot;' not in body and '{"tiers"' not in body
