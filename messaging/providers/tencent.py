"""Tencent Cloud SMS (API 2021-01-11), signed with TC3-HMAC-SHA256 as Tencent Cloud documents it:

    CanonicalRequest = POST \\n / \\n (empty query) \\n content-type:...\\nhost:...\\n \\n content-type;host \\n hex(sha256(body))
    StringToSign     = TC3-HMAC-SHA256 \\n timestamp \\n <date>/sms/tc3_request \\n hex(sha256(CanonicalRequest))
    key              = HMAC(HMAC(HMAC("TC3" + SecretKey, date), "sms"), "tc3_request")
    Authorization    = TC3-HMAC-SHA256 Credential=<SecretId>/<scope>, SignedHeaders=content-type;host, Signature=<hex>

Settings: TENCENT_SMS_ENDPOINT, TENCENT_SMS_SECRET_ID, TENCENT_SMS_SECRET_KEY, TENCENT_SMS_SDK_APP_ID,
TENCENT_SMS_SIGN_NAME, TENCENT_SMS_REGION."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
import urllib.parse

from django.conf import settings

from messaging.backends import BaseBackend, SmsMessage, SmsSendError

from . import http_post

SERVICE = "sms"
API_VERSION = "2021-01-11"
ALGORITHM = "TC3-HMAC-SHA256"
CONTENT_TYPE = "application/json; charset=utf-8"
DEFAULT_ENDPOINT = "https://sms.tencentcloudapi.com/"
RETRYABLE_PREFIXES = ("InternalError", "RequestLimitExceeded", "LimitExceeded.DeliveryFrequencyLimit",
                      "FailedOperation.InsufficientBalanceInSmsPackage", "ResourceUnavailable")


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def canonical_request(*, host: str, payload: bytes, content_type: str = CONTENT_TYPE) -> str:
    headers = f"content-type:{content_type}\nhost:{host}\n"
    return "\n".join(["POST", "/", "", headers, "content-type;host", hashlib.sha256(payload).hexdigest()])


def signature(*, secret_key: str, host: str, payload: bytes, timestamp: int,
              content_type: str = CONTENT_TYPE) -> str:
    date = dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d")
    scope = f"{date}/{SERVICE}/tc3_request"
    hashed = hashlib.sha256(canonical_request(host=host, payload=payload, content_type=content_type)
                            .encode()).hexdigest()
    to_sign = f"{ALGORITHM}\n{timestamp}\n{scope}\n{hashed}"
    key = _hmac(_hmac(_hmac(f"TC3{secret_key}".encode(), date), SERVICE), "tc3_request")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def authorization(*, secret_id: str, secret_key: str, host: str, payload: bytes, timestamp: int) -> str:
    date = dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d")
    sig = signature(secret_key=secret_key, host=host, payload=payload, timestamp=timestamp)
    return (f"{ALGORITHM} Credential={secret_id}/{date}/{SERVICE}/tc3_request, "
            f"SignedHeaders=content-type;host, Signature={sig}")


def e164(mobile: str) -> str:
    return mobile if mobile.startswith("+") else f"+86{mobile}"


class TencentBackend(BaseBackend):
    name = "tencent"

    def __init__(self) -> None:
        self.endpoint = getattr(settings, "TENCENT_SMS_ENDPOINT", DEFAULT_ENDPOINT)
        self.secret_id = getattr(settings, "TENCENT_SMS_SECRET_ID", "")
        self.secret_key = getattr(settings, "TENCENT_SMS_SECRET_KEY", "")
        self.app_id = getattr(settings, "TENCENT_SMS_SDK_APP_ID", "")
        self.sign_name = getattr(settings, "TENCENT_SMS_SIGN_NAME", "")
        self.region = getattr(settings, "TENCENT_SMS_REGION", "ap-guangzhou")
        self.timeout = getattr(settings, "SMS_HTTP_TIMEOUT", 10)

    def request(self, message: SmsMessage, *, timestamp: int | None = None) -> tuple[bytes, dict[str, str]]:
        timestamp = timestamp or int(time.time())
        names = message.param_names or tuple(message.params)
        body = {
            "PhoneNumberSet": [e164(message.mobile)],
            "SmsSdkAppId": self.app_id,
            "SignName": self.sign_name,
            "TemplateId": message.template_code,
            "TemplateParamSet": [str(message.params.get(name, "")) for name in names],
        }
        if message.message_id:
            body["SessionContext"] = str(message.message_id)
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        host = urllib.parse.urlsplit(self.endpoint).netloc
        headers = {
            "Authorization": authorization(secret_id=self.secret_id, secret_key=self.secret_key, host=host,
                                           payload=payload, timestamp=timestamp),
            "Content-Type": CONTENT_TYPE,
            "Host": host,
            "X-TC-Action": "SendSms",
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Version": API_VERSION,
            "X-TC-Region": self.region,
        }
        return payload, headers

    def send(self, message: SmsMessage) -> str:
        if not message.template_code:
            raise SmsSendError("The template has no Tencent template id.", retryable=False, code="no_template")
        payload, headers = self.request(message)
        answer = http_post(self.endpoint, payload, headers, timeout=self.timeout).get("Response", {})
        if "Error" in answer:
            code = str(answer["Error"].get("Code", ""))
            raise SmsSendError(f"{code}: {answer['Error'].get('Message', '')}", code=code,
                               retryable=code.startswith(RETRYABLE_PREFIXES))
        statuses = answer.get("SendStatusSet") or [{}]
        status = statuses[0]
        code = str(status.get("Code", ""))
        if code == "Ok" and status.get("SerialNo"):
            return str(status["SerialNo"])
        raise SmsSendError(f"{code}: {status.get('Message', '')}", code=code,
                           retryable=code.startswith(RETRYABLE_PREFIXES))
