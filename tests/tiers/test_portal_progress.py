"""The tier on the portal home (issue 16): the tier and the amount still needed for the next one, read
from tier_status_for_member (the thresholds and the one rolling net-paid spend)."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from members.models import Tier
from tests.factories import MemberFactory, StoreFactory
from tests.members.test_portal import login_as
from tests.points.helpers import buy
from tiers.selectors import tier_status_for_member

pytestmark = pytest.mark.django_db


def test_progress_shows_the_amount_still_needed_with_separators(client):
    member = MemberFactory()
    login_as(client, member)
    buy(member, StoreFactory(), 1000, order_no="P-1")
    status = tier_status_for_member(member=member)
    html = client.get(reverse("tiers_portal:progress")).content.decode()
    needed = status.next_tier.upgrade_amount - Decimal("1000.00")
    assert status.amount_to_next == needed
    assert f"再消费 {needed:,.2f} 元即可升级为{status.next_tier.name}" in html
    assert "近12个月实付：1,000.00 元" in html
    assert '<progress class="tier-progress"' in html and 'value="1000.00"' in html


def test_progress_on_the_highest_tier_says_so(client):
    member = MemberFactory(tier=Tier.objects.order_by("-rank").first())
    login_as(client, member)
    html = client.get(reverse("tiers_portal:progress")).content.decode()
    assert "您已是最高等级" in html and "<progress" not in html
