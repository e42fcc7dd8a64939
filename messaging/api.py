"""Provider callbacks: delivery receipts and inbound SMS (MSG-3, MEM-6 "TD").

Neither Aliyun's HTTP push nor Tencent Cloud's callbacks sign their requests, so each callback URL
carries a shared secret, configured at the provider as part of the URL:

    /messaging/callbacks/<aliyun|tencent>/receipts/<SMS_CALLBACK_TOKEN>/
    /messaging/callbacks/<aliyun|tencent>/inbound/<SMS_CALLBACK_TOKEN>/

The token is compared in constant time; with no token configured every callback is refused.
Serve them over HTTPS only (the token is a password). Both are idempotent: providers repeat
callbacks until they get the answer they expect, which is what these views return."""
from __future__ import annotations

import datetime as dt
import logging
import secrets

from django.conf import settings
from django.utils import timezone
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from .services import inbound_sms_record, message_receipts_apply

log = logging.getLogger(__name__)
PROVIDERS = ("aliyun", "tencent")


def _ok(provider: str) -> Response:
    return Response({"code": 0, "msg": "成功"} if provider == "aliyun" else {"result": 0, "errmsg": "OK"})


def _local_time(value) -> dt.datetime | None:
    if not value:
        return None
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    try:
        return timezone.make_aware(dt.datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S"))
    except ValueError:
        return None


class _CallbackApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []
    schema = None  # not part of the public OpenAPI document

    def check_token(self, provider: str, token: str) -> Response | None:
        expected = getattr(settings, "SMS_CALLBACK_TOKEN", "")
        if provider not in PROVIDERS:
            return Response({"code": "not_found"}, status=404)
        if not expected or not secrets.compare_digest(str(token).encode(), str(expected).encode()):
            log.warning("sms callback with a wrong token for %s", provider)
            return Response({"code": "forbidden"}, status=403)
        return None

    @staticmethod
    def items(data) -> list[dict]:
        if isinstance(data, dict):
            return [data]
        return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []


class SmsReceiptCallbackApi(_CallbackApi):
    def post(self, request, provider: str, token: str):
        if refused := self.check_token(provider, token):
            return refused
        receipts = []
        for item in self.items(request.data):
            if provider == "aliyun":
                ok = item.get("success") in (True, "true", "True")
                receipts.append((str(item.get("biz_id", "")), ok,
                                 f"{item.get('err_code', '')} {item.get('err_msg', '')}".strip(),
                                 _local_time(item.get("report_time"))))
            else:
                ok = str(item.get("report_status", "")).upper() == "SUCCESS"
                receipts.append((str(item.get("sid", "")), ok,
                                 f"{item.get('errmsg', '')} {item.get('description', '')}".strip(),
                                 _local_time(item.get("user_receive_time"))))
        message_receipts_apply(provider=provider, receipts=receipts)
        return _ok(provider)


class SmsInboundCallbackApi(_CallbackApi):
    def post(self, request, provider: str, token: str):
        if refused := self.check_token(provider, token):
            return refused
        for item in self.items(request.data):
            if provider == "aliyun":
                mobile, text = item.get("phone_number", ""), item.get("content", "")
                msg_id, at = str(item.get("sequence_id", "") or ""), _local_time(item.get("send_time"))
            else:
                mobile, text = item.get("mobile", ""), item.get("text", "")
                at = _local_time(item.get("time"))
                msg_id = f"{item.get('nationcode', '')}{mobile}:{item.get('time', '')}" if item.get("time") else ""
            if mobile:
                inbound_sms_record(provider=provider, mobile=str(mobile), text=str(text), received_at=at,
                                   provider_msg_id=msg_id)
        return _ok(provider)
