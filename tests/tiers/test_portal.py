"""Portal pages of tiers (TIER-5): the tier page and the tier summary on the points page (SEC-3)."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from members.models import Member
from tests.factories import MemberFactory, StoreFactory
from tests.members.test_portal import login_as
from tests.points.helpers import buy

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(client) -> Member:
    m = MemberFactory()
    login_as(client, m)
    return m


def test_tier_pages_redirect_anonymous_to_login(client):
    for name in ("tiers_portal:status", "tiers_portal:summary"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and response["Location"] == reverse("portal:login")


def test_tier_page_shows_amount_to_next_tier(client, member):
    buy(member, StoreFactory(), 1000, order_no="T-1")
    response = client.get(reverse("tiers_portal:status"))
    status = response.context["status"]
    assert status.next_tier is not None
    assert status.amount_to_next == status.next_tier.upgrade_amount - Decimal("1000.00")
    assert str(status.amount_to_next) in response.content.decode()


def test_tier_summary_fragment_on_the_points_page(client, member):
    """The points page (points) shows the tier summary as tiers' htmx slot; the fragment is the member's."""
    buy(member, StoreFactory(), 300, order_no="T-2")
    page = client.get(reverse("points_portal:overview")).content.decode()
    assert reverse("tiers_portal:summary") in page
    response = client.get(reverse("tiers_portal:summary"), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.context["tier_status"].rolling_amount == Decimal("300.00")
    assert response.context["tier_status"].amount_to_next is not None
    assert reverse("tiers_portal:status") in response.content.decode()


def test_portal_tier_urls_carry_no_converters():
    """SEC-3: no tier portal URL names a member or any row in its path."""
    from tiers import portal_urls

    for pattern in portal_urls.urlpatterns:
        assert not pattern.pattern.converters, pattern
