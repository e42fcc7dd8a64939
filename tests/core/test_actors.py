"""Logs keep codes for who acted and what changed; pages and the admin show words (issue 16)."""
import pytest
from django.utils import translation

from core.actors import actor_words
from members.models import MemberChange
from tests.factories import MemberFactory, make_staff

pytestmark = pytest.mark.django_db


def test_actor_codes_read_as_words_and_usernames_stay():
    with translation.override("zh-hans"):
        assert actor_words("member") == "会员本人"
        assert actor_words("system") == "系统"
        assert actor_words("device:POS-07") == "收银设备 POS-07"
        assert actor_words("evaluate_tiers").startswith("任务：") and "evaluate_tiers" not in actor_words("evaluate_tiers")
        assert actor_words("clerk1") == "clerk1"
    with translation.override("en"):
        assert actor_words("member") == "the member (self-service)"


def test_member_change_history_in_the_admin_shows_words_not_codes(client):
    member = MemberFactory()
    MemberChange.objects.create(member=member, field="status", old_value="pending", new_value="active",
                                actor_label="member", channel="portal")
    client.force_login(make_staff(None, chain_wide=True, is_superuser=True))
    page = client.get("/admin/members/memberchange/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    for words in ("待审核", "正常", "会员本人", "会员中心"):  # old and new status, who, channel
        assert words in page, words
    assert ">pending<" not in page and ">active<" not in page and ">member<" not in page and ">portal<" not in page
