"""The WeChat H5 flow in a real browser (issue 18): the Official Account menu opens /portal/wechat/, the
(fake) WeChat authorisation page sends the browser back with a code, the member binds with mobile + SMS
code (htmx "send code"), lands logged in; the next visit logs in silently; 我的 -> 微信 unbinds.
Screenshots in artifacts/screenshots/wechat/."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from messaging.sms import InMemoryBackend
from tests.factories import MemberFactory
from tests.wechat.conftest import fake_wechat, wechat  # noqa: F401 - the fake WeChat server
from wechat.models import WechatBinding

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots" / "wechat"
MOBILE = "13812349999"


def test_member_binds_in_wechat_then_logs_in_silently_and_unbinds(page, wechat, settings):  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    settings.WECHAT_OAUTH_BASE = wechat.url
    member = MemberFactory(mobile=MOBILE)
    wechat.browser_openid = "o-browser-member"

    page.goto("/portal/wechat/")
    page.wait_for_url(re.compile(r"/portal/wechat/bind/(#wechat_redirect)?$"))
    page.screenshot(path=str(SHOTS / "bind.png"), full_page=True)
    page.fill("input[name=mobile]", MOBILE)
    before = len(InMemoryBackend.outbox)
    page.click("#send-code")
    page.wait_for_selector("#code-status .code-status.ok")
    assert len(InMemoryBackend.outbox) == before + 1
    code = re.search(r"(\d{6})", InMemoryBackend.outbox[-1].text).group(1)
    page.fill("input[name=sms_code]", code)
    page.click("#wechat-bind-form button[type=submit]")
    page.wait_for_url(re.compile(r"/portal/$"))
    assert page.inner_text("#member-no").strip() == member.member_no
    assert WechatBinding.objects.get(member=member).openid == "o-browser-member"

    page.context.clear_cookies()                       # a later visit, a new session
    page.goto("/portal/wechat/")
    page.wait_for_url(re.compile(r"/portal/(#wechat_redirect)?$"))   # silently logged in
    assert page.inner_text("#member-no").strip() == member.member_no

    page.goto("/portal/me/")
    page.click("#me-wechat")
    page.wait_for_selector("#wechat-bound")
    page.screenshot(path=str(SHOTS / "binding.png"), full_page=True)
    page.click("#wechat-unbind")
    page.wait_for_selector("#wechat-unbound")
    assert WechatBinding.objects.get(member=member).unbound_at is not None
