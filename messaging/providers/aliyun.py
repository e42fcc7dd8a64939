"""Aliyun SMS (dysmsapi, RPC style, API version 2017-05-25), signed as Aliyun documents it:

    StringToSign = "POST&%2F&" + percentEncode(canonicalized sorted query)
    Signature    = Base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign))

percentEncode is RFC 3986 (space %20, "*" %2A, "~" kept). Settings: ALIYUN_SMS_ENDPOINT,
ALIYUN_SMS_ACCESS_KEY_ID, ALIYUN_SMS_ACCESS_KEY_SECRET, ALIYUN_SMS_SIGN_NAME, ALIYUN_SMS_REGION."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import urllib.parse
import uuid

from django.conf import settings

from messaging.backends import BaseBackend, SmsMessage, SmsSendError

from . import http_post

API_VERSION = "2017-05-25"
DEFAULT_ENDPOINT = "https://dysmsapi.aliyuncs.com/"
# Error codes after which a later attempt can succeed (flow control, provider trouble).
RETRYABLE_PREFIXES = ("isv.BUSINESS_LIMIT_CONTROL", "Throttling", "ServiceUnavailable", "InternalError",
                      "isp.", "SignatureNonceUsed")


def percent_encode(value: str) -> str:
    return urllib.parse.quote(str(value), safe="~")


def string_to_sign(params: dict[str, str], method: str = "POST") -> str:
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))
    return f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"


def sign(params: dict[str, str], secret: str, method: str = "POST") -> str:
    digest = hmac.new(f"{secret}&".encode(), string_to_sign(params, method).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def template_param(message: SmsMessage) -> dict:
    names = message.param_names or tuple(message.params)
    return {name: str(message.params.get(name, "")) for name in names}


class AliyunBackend(BaseBackend):
    name = "aliyun"

    def __init__(self) -> None:
        self.endpoint = getattr(settings, "ALIYUN_SMS_ENDPOINT", DEFAULT_ENDPOINT)
        self.access_key_id = getattr(settings, "ALIYUN_SMS_ACCESS_KEY_ID", "")
        self.access_key_secret = getattr(settings, "ALIYUN_SMS_ACCESS_KEY_SECRET", "")
        self.sign_name = getattr(settings, "ALIYUN_SMS_SIGN_NAME", "")
        self.region = getattr(settings, "ALIYUN_SMS_REGION", "cn-hangzhou")
        self.timeout = getattr(settings, "SMS_HTTP_TIMEOUT", 10)

    def signed_params(self, message: SmsMessage, *, now: dt.datetime | None = None) -> dict[str, str]:
        now = now or dt.datetime.now(dt.UTC)
        params = {
            "AccessKeyId": self.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "RegionId": self.region,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "Timestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": API_VERSION,
            "PhoneNumbers": message.mobile,
            "SignName": self.sign_name,
            "TemplateCode": message.template_code,
            "TemplateParam": json.dumps(template_param(message), ensure_ascii=False, separators=(",", ":")),
        }
        if message.message_id:
            params["OutId"] = str(message.message_id)
        params["Signature"] = sign(params, self.access_key_secret)
        return params

    def send(self, message: SmsMessage) -> str:
        if not message.template_code:
            raise SmsSendError("The template has no Aliyun template code.", retryable=False, code="no_template")
        body = urllib.parse.urlencode(self.signed_params(message), quote_via=urllib.parse.quote).encode()
        answer = http_post(self.endpoint, body, {"Content-Type": "application/x-www-form-urlencoded"},
                           timeout=self.timeout)
        code = str(answer.get("Code", ""))
        if code == "OK" and answer.get("BizId"):
            return str(answer["BizId"])
        raise SmsSendError(f"{code}: {answer.get('Message', '')}", code=code,
                           retryable=code.startswith(RETRYABLE_PREFIXES))
