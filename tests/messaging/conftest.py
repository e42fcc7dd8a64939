"""Fixtures of the messaging tests: a local fake SMS provider that checks signatures the way
Aliyun and Tencent Cloud document them (implemented here independently of messaging.providers)."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from messaging import ratelimit
from messaging.models import MessagingConfig

ALIYUN_KEY, ALIYUN_SECRET = "LTAI-test-key", "aliyun-test-secret"
TENCENT_ID, TENCENT_KEY = "AKID-test-id", "tencent-test-key"


def aliyun_expected_signature(form: dict[str, str], secret: str) -> str:
    def enc(s: str) -> str:
        return urllib.parse.quote(s, safe="").replace("+", "%20").replace("*", "%2A").replace("%7E", "~")

    query = "&".join(f"{enc(k)}={enc(form[k])}" for k in sorted(form))
    to_sign = "POST&" + enc("/") + "&" + enc(query)
    return base64.b64encode(hmac.new((secret + "&").encode(), to_sign.encode(), hashlib.sha1).digest()).decode()


def tencent_expected_authorization(headers, body: bytes, secret_id: str, secret_key: str) -> str:
    ts = int(headers["X-TC-Timestamp"])
    date = dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d")
    canonical = (f"POST\n/\n\ncontent-type:{headers['Content-Type']}\nhost:{headers['Host']}\n\n"
                 f"content-type;host\n{hashlib.sha256(body).hexdigest()}")
    scope = f"{date}/sms/tc3_request"
    to_sign = f"TC3-HMAC-SHA256\n{ts}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"

    def h(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    key = h(h(h(("TC3" + secret_key).encode(), date), "sms"), "tc3_request")
    sig = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders=content-type;host, Signature={sig}"


class FakeProvider:
    """Answers like the real APIs. `mode`: "ok", "throttle" (a retryable refusal) or "bad" (permanent)."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.requests: list[dict] = []
        self.bad_signatures = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path.startswith("/aliyun"):
                    status, answer = fake.aliyun(body)
                else:
                    status, answer = fake.tencent(self.headers, body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def aliyun(self, body: bytes) -> tuple[int, dict]:
        form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode(), keep_blank_values=True).items()}
        signature = form.pop("Signature", "")
        if form.get("AccessKeyId") != ALIYUN_KEY or not hmac.compare_digest(
                signature, aliyun_expected_signature(form, ALIYUN_SECRET)):
            self.bad_signatures += 1
            return 400, {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched"}
        self.requests.append(form)
        if self.mode == "throttle":
            return 200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控"}
        if self.mode == "bad":
            return 200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号"}
        return 200, {"Code": "OK", "Message": "OK", "BizId": f"biz-{len(self.requests)}", "RequestId": "r"}

    def tencent(self, headers, body: bytes) -> tuple[int, dict]:
        expected = tencent_expected_authorization(headers, body, TENCENT_ID, TENCENT_KEY)
        if not hmac.compare_digest(headers.get("Authorization", ""), expected) or headers.get("X-TC-Action") != "SendSms":
            self.bad_signatures += 1
            return 200, {"Response": {"Error": {"Code": "AuthFailure.SignatureFailure", "Message": "bad"},
                                      "RequestId": "r"}}
        payload = json.loads(body)
        self.requests.append(payload)
        if self.mode == "throttle":
            return 200, {"Response": {"Error": {"Code": "RequestLimitExceeded", "Message": "slow down"},
                                      "RequestId": "r"}}
        status = {"SerialNo": f"serial-{len(self.requests)}", "PhoneNumber": payload["PhoneNumberSet"][0],
                  "Code": "Ok", "Message": "send success"}
        if self.mode == "bad":
            status.update(Code="InvalidParameterValue.IncorrectPhoneNumber", SerialNo="", Message="bad number")
        return 200, {"Response": {"SendStatusSet": [status], "RequestId": "r"}}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_provider():
    provider = FakeProvider()
    yield provider
    provider.close()


@pytest.fixture
def aliyun(settings, fake_provider):
    settings.SMS_BACKEND = "messaging.providers.aliyun.AliyunBackend"
    settings.ALIYUN_SMS_ENDPOINT = f"{fake_provider.url}/aliyun/"
    settings.ALIYUN_SMS_ACCESS_KEY_ID = ALIYUN_KEY
    settings.ALIYUN_SMS_ACCESS_KEY_SECRET = ALIYUN_SECRET
    settings.ALIYUN_SMS_SIGN_NAME = "百货会员"
    return fake_provider


@pytest.fixture
def tencent(settings, fake_provider):
    settings.SMS_BACKEND = "messaging.providers.tencent.TencentBackend"
    settings.TENCENT_SMS_ENDPOINT = f"{fake_provider.url}/tencent/"
    settings.TENCENT_SMS_SECRET_ID = TENCENT_ID
    settings.TENCENT_SMS_SECRET_KEY = TENCENT_KEY
    settings.TENCENT_SMS_SDK_APP_ID = "1400000000"
    settings.TENCENT_SMS_SIGN_NAME = "百货会员"
    return fake_provider


@pytest.fixture(autouse=True)
def _fresh_rate_buckets():
    ratelimit.reset()
    yield
    ratelimit.reset()


@pytest.fixture
def config(db):
    return MessagingConfig.get()
