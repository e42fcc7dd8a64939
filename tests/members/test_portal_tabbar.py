"""The portal's bottom tab bar (issue 16): five tabs instead of a 15-tab strip, privacy and data under 我的,
and every portal page at most two taps away (a tab, then a link on the tab's page)."""
from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.factories import MemberFactory
from tests.members.test_portal import login_as

pytestmark = pytest.mark.django_db

TABS = {"tab-home": "portal:home", "tab-perks": "portal:perks", "tab-mall": "points_portal:gifts",
        "tab-services": "portal:services", "tab-me": "portal:me"}
# Every GET page of the portal a member opens from a menu (detail pages open from their lists).
PAGES = ["portal:home", "portal:profile", "portal:consents", "portal:my_data", "portal:privacy", "portal:close",
         "points_portal:overview", "points_portal:claims", "points_portal:purchases", "points_portal:gifts",
         "points_portal:coupons", "points_portal:lottery", "tiers_portal:status", "messaging_portal:inbox",
         "messaging_portal:channels", "amenities_portal:reservations", "amenities_portal:quotas",
         "engagement_portal:events", "engagement_portal:partners", "care_portal:surveys", "sd_portal:complaints",
         "sd_portal:complaint_new", "sd_portal:after_sales", "sd_portal:consultations", "sd_portal:faq",
         "benefits_portal:table"]


@pytest.fixture
def member(client):
    m = MemberFactory()
    login_as(client, m)
    return m


def _hrefs(html: str) -> set[str]:
    return set(re.findall(r'href="([^"#?]+)', html))


def test_the_tab_bar_has_five_tabs_in_chinese(client, member):
    html = client.get(reverse("portal:home")).content.decode()
    nav = html[html.index('<nav class="tabbar"'):]
    nav = nav[:nav.index("</nav>")]
    for tab_id, name in TABS.items():
        assert f'href="{reverse(name)}" id="{tab_id}"' in nav
    assert [re.sub(r"<[^>]+>", "", a).strip() for a in re.findall(r"<a .*?</a>", nav, re.S)] == \
        ["首页", "权益", "积分商城", "服务", "我的"]
    assert 'class="tabs"' not in html  # the old 15-tab strip is gone


def test_every_portal_page_is_at_most_two_taps_away(client, member):
    one_tap = {reverse(name) for name in TABS.values()}
    two_taps = set(one_tap)
    for url in one_tap:
        response = client.get(url)
        assert response.status_code == 200, url
        two_taps |= _hrefs(response.content.decode())
    missing = [name for name in PAGES if reverse(name) not in two_taps]
    assert not missing


@pytest.mark.parametrize("name,tab", [("portal:profile", "me"), ("portal:consents", "me"), ("portal:my_data", "me"),
                                      ("messaging_portal:channels", "me"), ("portal:me", "me"),
                                      ("portal:perks", "perks"), ("tiers_portal:status", "perks"),
                                      ("points_portal:coupons", "mall"), ("portal:services", "services"),
                                      ("care_portal:surveys", "services")])
def test_each_page_lights_its_tab(client, member, name, tab):
    html = client.get(reverse(name)).content.decode()
    assert f'id="tab-{tab}" aria-current="page"' in html
    assert html.count('aria-current="page"') <= 2  # its tab, and at most its item of a sub-strip


def test_privacy_and_data_are_under_me(client, member):
    hrefs = _hrefs(client.get(reverse("portal:me")).content.decode())
    for name in ("portal:profile", "portal:consents", "portal:my_data", "portal:privacy",
                 "messaging_portal:channels", "messaging_portal:inbox"):
        assert reverse(name) in hrefs


def test_hub_pages_need_a_logged_in_member(client):
    for name in ("portal:perks", "portal:services", "portal:me"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and response["Location"] == reverse("portal:login")
