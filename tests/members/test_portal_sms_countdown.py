"""The SMS code buttons count down 60 seconds before a resend (issue 16) with a static script, no inline
script (the CSP's script-src 'self'); the browser test drives the countdown itself."""
from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["portal:signup", "portal:login"])
def test_send_code_button_has_the_60_second_countdown(client, name):
    StoreFactory()
    html = client.get(reverse(name)).content.decode()
    button = re.search(r'<button[^>]*id="send-code"[^>]*>', html, re.S).group(0)
    assert 'data-resend-seconds="60"' in button and 'data-resend-label="{s} 秒后可重发"' in button
    assert re.search(r'<script src="[^"]*portal/sms-countdown\.js" defer></script>', html)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)  # no inline script
    script = open(finders.find("portal/sms-countdown.js"), encoding="utf-8").read()
    assert "data-resend-seconds" in script and "htmx:afterRequest" in script
