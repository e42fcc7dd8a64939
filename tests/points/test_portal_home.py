"""The member centre on the portal home (issue 16): balance with thousands separators, coupons held and
the banner when points expire soon — points' panel of the home page (core.panels PORTAL_HOME)."""
from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from points.models import Lot
from points.services import redemption
from tests.factories import MemberFactory
from tests.members.test_portal import login_as
from tests.points.test_portal import give, make_coupon_type

pytestmark = [pytest.mark.django_db, pytest.mark.pinned_at("2026-11-25T12:00+08:00")]


@pytest.fixture
def member(client):
    m = MemberFactory()
    login_as(client, m)
    return m


def _expire_all_on(member, day: dt.date) -> None:
    Lot.objects.filter(member=member).update(expires_on=day)


def test_home_is_the_member_centre_with_the_points_and_tier_slots(client, member):
    html = client.get(reverse("portal:home")).content.decode()
    assert reverse("points_portal:home_summary") in html and reverse("tiers_portal:progress") in html
    assert 'id="ecard"' in html
    assert 'id="tab-home" aria-current="page"' in html


def test_home_summary_shows_balance_with_thousands_separators_and_coupons_held(client, member):
    give(member, 19_748)
    html = client.get(reverse("points_portal:home_summary")).content.decode()
    assert '<strong class="centre-figure" id="home-balance">19,748</strong>' in html
    assert '<strong class="centre-figure" id="home-coupons">0</strong>' in html
    redemption.coupon_redeem_for_points(member=member, coupon_type=make_coupon_type(points_cost=1000),
                                        request_id="home-1")
    html = client.get(reverse("points_portal:home_summary")).content.decode()
    assert 'id="home-balance">18,748<' in html and 'id="home-coupons">1<' in html


def test_banner_when_points_expire_tomorrow_links_to_the_gifts(client, member):
    give(member, 19_748)
    _expire_all_on(member, timezone.localdate() + dt.timedelta(days=1))
    html = client.get(reverse("points_portal:home_summary")).content.decode()
    assert 'id="expiry-banner"' in html
    assert "19,748 分明日过期" in html and "去兑换" in html
    assert f'href="{reverse("points_portal:gifts")}"' in html


def test_banner_says_today_or_a_date_and_sums_several_days(client, member):
    give(member, 500, key="a")
    _expire_all_on(member, timezone.localdate())
    assert "500 分今日过期" in client.get(reverse("points_portal:home_summary")).content.decode()
    _expire_all_on(member, dt.date(2026, 12, 10))
    assert "500 分将于12月10日过期" in client.get(reverse("points_portal:home_summary")).content.decode()
    give(member, 1_500, key="b")
    Lot.objects.filter(member=member, remaining=1_500).update(expires_on=dt.date(2026, 12, 20))
    assert "2,000 分将于12月20日前陆续过期" in client.get(reverse("points_portal:home_summary")).content.decode()


def test_no_banner_when_nothing_expires_within_the_window(client, member):
    give(member, 800)
    _expire_all_on(member, timezone.localdate() + dt.timedelta(days=60))
    html = client.get(reverse("points_portal:home_summary")).content.decode()
    assert 'id="expiry-banner"' not in html and 'id="home-balance">800<' in html


def test_home_summary_is_the_logged_in_members_only(client):
    response = client.get(reverse("points_portal:home_summary"))
    assert response.status_code == 302 and response["Location"] == reverse("portal:login")
