"""The callback URL (服务器配置 URL) WeChat calls, /wechat/callback/.

GET is the server check: `signature` = sha1(sorted token, timestamp, nonce); the answer is `echostr`.
POST carries a message or push event as XML: in plain mode signed like GET; in safe mode
(`encrypt_type=aes`) the XML holds `Encrypt`, signed by `msg_signature` over token, timestamp, nonce and
Encrypt, and decrypted with WECHAT_AES_KEY (wechat.crypto). A bad signature is a 403 and nothing is
read. Events go to their handlers (wechat.events: messaging's template-send receipts); the answer is
"success", which tells WeChat not to repeat the push (handlers are idempotent, because it does repeat
pushes it got no answer to)."""
from __future__ import annotations

import logging
import time
import xml.etree.ElementTree as ET

from django.conf import settings
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from . import crypto, events

log = logging.getLogger(__name__)
MAX_BODY = 64 * 1024
# A signed request older (or newer) than this is refused: a captured push cannot be replayed later.
MAX_SKEW_SECONDS = 300


class BadXml(ValueError):
    pass


def parse_xml(body: bytes) -> dict[str, str]:
    """The flat <xml><Field>value</Field>...</xml> WeChat sends, as a dict. No DTDs (entity expansion)."""
    if b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        raise BadXml("DTDs are not accepted")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise BadXml(str(exc)) from None
    return {child.tag: (child.text or "").strip() for child in root}


def _fresh(timestamp: str) -> bool:
    try:
        return abs(time.time() - int(timestamp)) <= MAX_SKEW_SECONDS
    except (TypeError, ValueError):
        return False


@csrf_exempt
@require_http_methods(["GET", "POST"])
def callback(request):
    token = settings.WECHAT_TOKEN
    if not token:
        return HttpResponseForbidden("not configured")
    q = request.GET
    timestamp, nonce = q.get("timestamp", ""), q.get("nonce", "")
    if request.method == "GET":
        if not crypto.signature_ok((token, timestamp, nonce), q.get("signature", "")):
            return HttpResponseForbidden("bad signature")
        return HttpResponse(q.get("echostr", ""), content_type="text/plain")
    body = request.body[:MAX_BODY + 1]
    if len(body) > MAX_BODY:
        return HttpResponseBadRequest("too large")
    if not _fresh(timestamp):
        return HttpResponseForbidden("stale timestamp")
    try:
        outer = parse_xml(body)
        if q.get("encrypt_type", "raw") == "aes":
            encrypted = outer.get("Encrypt", "")
            if not crypto.signature_ok((token, timestamp, nonce, encrypted), q.get("msg_signature", "")):
                return HttpResponseForbidden("bad signature")
            message = parse_xml(crypto.decrypt(encrypted, encoding_aes_key=settings.WECHAT_AES_KEY,
                                               app_id=settings.WECHAT_APP_ID).encode())
        else:
            if not crypto.signature_ok((token, timestamp, nonce), q.get("signature", "")):
                return HttpResponseForbidden("bad signature")
            message = outer
    except (BadXml, crypto.WechatCryptoError) as exc:
        log.warning("wechat callback refused: %s", exc)
        return HttpResponseBadRequest("bad message")
    events.dispatch(message)
    return HttpResponse("success", content_type="text/plain")
