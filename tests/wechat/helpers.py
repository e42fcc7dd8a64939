"""Steps of a member coming in from WeChat, as the browser (the test client) goes through them."""
from __future__ import annotations

import re
import urllib.parse

from members.portal_auth import SESSION_KEY


def oauth_visit(client, fake, openid: str, *, unionid: str = "", next_url: str = ""):
    """Open the portal entry in WeChat: redirected to WeChat's authorisation, which comes back with a code
    for `openid`. Returns the answer of our OAuth return URL."""
    entry = client.get("/portal/wechat/" + (f"?next={urllib.parse.quote(next_url)}" if next_url else ""))
    assert entry.status_code == 302, entry.content
    location = urllib.parse.urlsplit(entry["Location"])
    query = dict(urllib.parse.parse_qsl(location.query))
    assert location.netloc == "open.weixin.qq.com" and location.path == "/connect/oauth2/authorize"
    assert location.fragment == "wechat_redirect" and query["scope"] == "snsapi_base"
    return client.get(urllib.parse.urlsplit(query["redirect_uri"]).path,
                      {"code": fake.code_for(openid, unionid), "state": query["state"]})


def bind_with_sms_code(client, mobile: str, sms_outbox, capture):
    """On the bind page: ask for the code (the portal login's own endpoint), read it, submit."""
    with capture(execute=True):
        sent = client.post("/portal/login/send-code/", {"mobile": mobile})
    assert sent.status_code == 200
    code = re.search(r"(\d{6})", sms_outbox[-1].text).group(1)
    with capture(execute=True):
        return client.post("/portal/wechat/bind/", {"mobile": mobile, "sms_code": code})


def logged_in_member_id(client):
    return client.session.get(SESSION_KEY)
