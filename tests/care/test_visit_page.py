"""The follow-up visit page (issue 16): the member's context (tier, summary figures, latest purchases, open
complaints, earlier visits) and the dial in place, an audited reveal of the mobile through members'
reveal service."""
from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from care.models import Visit
from core.models import AuditLog
from members import roles
from tests.factories import MemberFactory, StoreFactory, make_staff

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.care.urls"),
              pytest.mark.pinned_at("2026-11-25T12:00+08:00")]


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def store():
    return StoreFactory()


@pytest.fixture
def agent(store):
    return make_staff(roles.CUSTOMER_SERVICE, store=store)


@pytest.fixture
def visit(store, agent):
    today = timezone.localdate()
    member = MemberFactory(home_store=store, mobile="13800138000", name="赵六")
    return Visit.objects.create(member=member, store=store, period_start=today, due_on=today, assignee=agent)


def test_visit_page_shows_the_member_context_as_slots(client, agent, visit):
    client.force_login(agent)
    page = client.get(reverse("care_desk:visit", args=[visit.pk])).content.decode()
    member = visit.member
    assert 'id="member-summary"' in page and member.tier.name in page and "赵六" in page
    # the figures, the latest purchases and the service history load from their apps (core.panels)
    assert reverse("sd_desk:member_panel", args=[member.member_no]) in page
    assert reverse("care_desk:member_panel", args=[member.member_no]) in page
    assert reverse("points_desk:summary", args=[member.member_no]) in page
    assert 'id="visit-panel-purchases"' in page
    # the mobile masked, the number not in the page until revealed
    assert "138****8000" in page and "13800138000" not in page
    assert 'id="dial-button"' in page and reverse("care_desk:visit_dial", args=[visit.pk]) in page


def test_dial_reveals_the_mobile_in_place_and_audits_it_with_the_visit(client, agent, visit):
    client.force_login(agent)
    response = client.post(reverse("care_desk:visit_dial", args=[visit.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "13800138000" in body and 'href="tel:13800138000"' in body
    log = AuditLog.objects.get(action=AuditLog.Action.REVEAL, member=visit.member)
    assert log.actor == agent and log.field == "mobile" and f"#{visit.pk}" in log.detail


def test_dial_is_refused_without_the_reveal_permission_and_nothing_is_shown(client, store, visit):
    clerk = make_staff(roles.FRONT_DESK, store=store)
    clerk.user_permissions.clear()
    from django.contrib.auth.models import Permission

    clerk.groups.clear()
    clerk.user_permissions.add(*Permission.objects.filter(
        codename__in=["view_visit", "record_visit", "view_member"]))
    clerk = type(clerk).objects.get(pk=clerk.pk)
    client.force_login(clerk)
    page = client.get(reverse("care_desk:visit", args=[visit.pk])).content.decode()
    assert 'id="dial-button"' not in page
    response = client.post(reverse("care_desk:visit_dial", args=[visit.pk]))
    assert response.status_code == 403 and "13800138000" not in response.content.decode()
    assert not AuditLog.objects.filter(action=AuditLog.Action.REVEAL).exists()


def test_dial_of_a_visit_in_another_store_is_not_found(client, visit):
    other = make_staff(roles.CUSTOMER_SERVICE, store=StoreFactory())
    client.force_login(other)
    assert client.post(reverse("care_desk:visit_dial", args=[visit.pk])).status_code == 404
    assert not AuditLog.objects.filter(action=AuditLog.Action.REVEAL).exists()
