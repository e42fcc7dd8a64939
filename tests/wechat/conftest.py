"""A local fake WeChat server (a real HTTP server on a free port) that answers the documented Official
Account API as WeChat does and checks what MemberHub sends: the app id and secret, access tokens (issued
with a chosen, short life; expired or superseded ones refused with 42001/40001 as WeChat does), OAuth
codes, and template messages (recorded). The callback side (signature, safe-mode encryption) is
implemented here independently of wechat.crypto, as the SMS tests re-implement the providers' signing."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

APP_ID, APP_SECRET = "wx1234567890abcdef", "wechat-test-secret"
TOKEN = "callback-token-123"
AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")   # 43 characters, as WeChat shows it


class FakeWechat:
    def __init__(self) -> None:
        self.token_ttl = 7200
        self.mode = "ok"           # "ok", "busy" (errcode -1), "blocked" (43004: user unfollowed)
        self.tokens: dict[str, float] = {}   # token -> expires at
        self.latest_token = ""
        self.token_requests = 0
        self.codes: dict[str, dict] = {}     # OAuth code -> {"openid", "unionid"}
        self.sends: list[dict] = []
        self.refused: list[tuple[str, int]] = []
        self.client_msg_ids: set[str] = set()
        self.lock = threading.Lock()
        self.token_delay = 0.0
        self.browser_openid = "o-browser"    # who "opens" the authorisation page in the browser test
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, answer: dict) -> None:
                data = json.dumps(answer, ensure_ascii=False).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                q = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
                if url.path == "/connect/oauth2/authorize":
                    # WeChat's authorisation page (snsapi_base asks nothing): straight back with a code.
                    location = fake.authorize(q)
                    self.send_response(302 if location.startswith("http") else 400)
                    self.send_header("Location", location)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif url.path == "/cgi-bin/token":
                    self._answer(fake.issue_token(q))
                elif url.path == "/sns/oauth2/access_token":
                    self._answer(fake.oauth(q))
                else:
                    self._answer({"errcode": 40066, "errmsg": "invalid url"})

            def do_POST(self):
                url = urllib.parse.urlsplit(self.path)
                q = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if url.path == "/cgi-bin/message/template/send":
                    self._answer(fake.template_send(q, body))
                else:
                    self._answer({"errcode": 40066, "errmsg": "invalid url"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    # ------------------------------------------------------------ API
    def issue_token(self, q: dict) -> dict:
        if q.get("grant_type") != "client_credential":
            return {"errcode": 40002, "errmsg": "invalid grant_type"}
        if q.get("appid") != APP_ID or q.get("secret") != APP_SECRET:
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        if self.token_delay:
            time.sleep(self.token_delay)
        with self.lock:
            self.token_requests += 1
            token = f"ACCESS_TOKEN_{self.token_requests}"
            # A new token supersedes the old one at WeChat (after a short grace we do not model).
            self.tokens = {token: time.time() + self.token_ttl}
            self.latest_token = token
        return {"access_token": token, "expires_in": self.token_ttl}

    def authorize(self, q: dict) -> str:
        if (q.get("appid") != APP_ID or q.get("response_type") != "code" or q.get("scope") != "snsapi_base"
                or not q.get("redirect_uri")):
            return "bad request"
        code = self.code_for(self.browser_openid)
        sep = "&" if "?" in q["redirect_uri"] else "?"
        return f"{q['redirect_uri']}{sep}{urllib.parse.urlencode({'code': code, 'state': q.get('state', '')})}"

    def oauth(self, q: dict) -> dict:
        if q.get("appid") != APP_ID or q.get("secret") != APP_SECRET:
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        if q.get("grant_type") != "authorization_code":
            return {"errcode": 40002, "errmsg": "invalid grant_type"}
        identity = self.codes.pop(q.get("code", ""), None)   # a code works once
        if identity is None:
            return {"errcode": 40029, "errmsg": "invalid code"}
        answer = {"access_token": "WEB_TOKEN", "expires_in": 7200, "refresh_token": "R", "openid": identity["openid"],
                  "scope": "snsapi_base", "is_snapshotuser": 0}
        if identity.get("unionid"):
            answer["unionid"] = identity["unionid"]
        return answer

    def template_send(self, q: dict, body: bytes) -> dict:
        token = q.get("access_token", "")
        if token not in self.tokens:
            self.refused.append((token, 40001))
            return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}
        if time.time() >= self.tokens[token]:
            self.refused.append((token, 42001))
            return {"errcode": 42001, "errmsg": "access_token expired"}
        payload = json.loads(body)
        if not payload.get("touser") or not payload.get("template_id") or not isinstance(payload.get("data"), dict):
            return {"errcode": 47001, "errmsg": "data format error"}
        if not all(isinstance(v, dict) and "value" in v for v in payload["data"].values()):
            return {"errcode": 47001, "errmsg": "data format error"}
        if self.mode == "busy":
            return {"errcode": -1, "errmsg": "system error"}
        if self.mode == "blocked":
            return {"errcode": 43004, "errmsg": "require subscribe"}
        with self.lock:
            if payload.get("client_msg_id") in self.client_msg_ids:
                return {"errcode": 0, "errmsg": "ok", "msgid": 0}
            if payload.get("client_msg_id"):
                self.client_msg_ids.add(payload["client_msg_id"])
            self.sends.append(payload)
            return {"errcode": 0, "errmsg": "ok", "msgid": 1000 + len(self.sends)}

    def code_for(self, openid: str, unionid: str = "") -> str:
        code = f"CODE{len(self.codes)}{openid[-6:]}"
        self.codes[code] = {"openid": openid, "unionid": unionid}
        return code

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------- what WeChat's servers send to our callback


def wx_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def wx_encrypt(xml: str, *, app_id: str = APP_ID, aes_key: str = AES_KEY) -> str:
    key = base64.b64decode(aes_key + "=")
    body = xml.encode()
    data = os.urandom(16) + struct.pack(">I", len(body)) + body + app_id.encode()
    pad = 32 - len(data) % 32
    data += bytes([pad]) * pad
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(data) + enc.finalize()).decode()


def receipt_xml(msg_id: str, status: str = "success", openid: str = "o-user") -> str:
    return (f"<xml><ToUserName><![CDATA[gh_123]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event><MsgID>{msg_id}</MsgID>"
            f"<Status><![CDATA[{status}]]></Status></xml>")


def post_plain(client, xml: str, *, token: str = TOKEN, timestamp: str | None = None):
    timestamp = timestamp or str(int(time.time()))
    nonce = "nonce123"
    query = urllib.parse.urlencode({"signature": wx_signature(token, timestamp, nonce), "timestamp": timestamp,
                                    "nonce": nonce, "openid": "o-user"})
    return client.post(f"/wechat/callback/?{query}", data=xml, content_type="text/xml")


def post_encrypted(client, xml: str, *, token: str = TOKEN, app_id: str = APP_ID, tamper: bool = False):
    timestamp, nonce = str(int(time.time())), "nonce456"
    encrypted = wx_encrypt(xml, app_id=app_id)
    msg_signature = wx_signature(token, timestamp, nonce, encrypted)
    if tamper:
        msg_signature = wx_signature(token, timestamp, nonce, encrypted + "x")
    query = urllib.parse.urlencode({"signature": wx_signature(token, timestamp, nonce), "timestamp": timestamp,
                                    "nonce": nonce, "openid": "o-user", "encrypt_type": "aes",
                                    "msg_signature": msg_signature})
    body = f"<xml><ToUserName><![CDATA[gh_123]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    return client.post(f"/wechat/callback/?{query}", data=body, content_type="text/xml")


@pytest.fixture
def fake_wechat():
    fake = FakeWechat()
    yield fake
    fake.close()


@pytest.fixture
def wechat(settings, fake_wechat):
    from django.core.cache import cache

    settings.WECHAT_APP_ID = APP_ID
    settings.WECHAT_APP_SECRET = APP_SECRET
    settings.WECHAT_TOKEN = TOKEN
    settings.WECHAT_AES_KEY = AES_KEY
    settings.WECHAT_API_BASE = fake_wechat.url
    settings.WECHAT_OAUTH_BASE = "https://open.weixin.qq.com"
    cache.clear()
    yield fake_wechat
    cache.clear()


@pytest.fixture
def wechat_templates(db):
    """Operations picked WeChat templates for the notices the tests send."""
    from messaging.models import MessageTemplate

    MessageTemplate.objects.filter(channel="wechat").update(provider_template_code="TPL_NOTICE")
    MessageTemplate.objects.filter(channel="wechat", code="notice_points_earned").update(
        provider_template_code="TPL_POINTS", provider_param_names=["first=subject", "keyword1=date",
                                                                   "keyword2=points", "keyword3=balance"])


@pytest.fixture
def config(db):
    from messaging.models import MessagingConfig

    return MessagingConfig.get()
