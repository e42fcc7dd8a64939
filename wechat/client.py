"""The WeChat Official Account HTTP API (api.weixin.qq.com, WECHAT_API_BASE), called directly over HTTPS
as documented, like messaging's SMS providers (no SDK: wechatpy, the well-known one, was last released in
2021 and keeps its token in its own storage without a refresh lock).

- `access_token()`: the app's access token (cgi-bin/token), cached in the Django cache (Redis in
  production, so every process and worker shares one), refreshed `WECHAT_TOKEN_REFRESH_MARGIN_SECONDS`
  before WeChat says it expires (at most half its life), by one process at a time: a cache lock
  (`cache.add`), the others wait for the new token instead of asking WeChat for their own (each new
  token invalidates the previous one at WeChat, and the daily quota is small).
- `oauth_openid(code)`: OAuth2 web authorisation (snsapi_base): the code -> openid (sns/oauth2/access_token).
- `template_send(...)`: a template message (cgi-bin/message/template/send) -> msgid.

Errors are `WechatApiError` with WeChat's errcode and whether trying again can help."""
from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

log = logging.getLogger(__name__)

# errcodes after which a later attempt can succeed: system busy, API frequency / daily limits.
RETRYABLE_CODES = {-1, 45009, 45011, 45047}
# The token was refused (invalid, expired, not the latest): refresh it and try once more at once.
TOKEN_CODES = {40001, 40014, 41001, 42001}
LOCK_SECONDS = 15
WAIT_SECONDS = 5.0


class WechatApiError(Exception):
    def __init__(self, message: str, *, errcode: int | str = "", retryable: bool = False):
        super().__init__(message)
        self.errcode = errcode
        self.retryable = retryable


def configured() -> bool:
    return bool(settings.WECHAT_APP_ID and settings.WECHAT_APP_SECRET)


def _url(path: str, query: dict[str, str]) -> str:
    return f"{settings.WECHAT_API_BASE.rstrip('/')}/{path.lstrip('/')}?{urllib.parse.urlencode(query)}"


def _call(url: str, payload: dict | None = None) -> dict:
    """GET (payload None) or POST JSON; the decoded answer. Network trouble and 5xx are retryable."""
    data = None if payload is None else json.dumps(payload, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json; charset=utf-8"} if data is not None else {}
    request = urllib.request.Request(url, data=data, headers=headers, method="GET" if data is None else "POST")
    try:
        with urllib.request.urlopen(request, timeout=settings.WECHAT_HTTP_TIMEOUT) as response:  # noqa: S310
            answer = json.loads(response.read().decode("utf-8") or "{}")
    except urllib.error.HTTPError as exc:
        raise WechatApiError(f"HTTP {exc.code}", errcode=f"http_{exc.code}",
                             retryable=exc.code >= 500 or exc.code == 429) from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise WechatApiError(f"network error: {exc}", errcode="network", retryable=True) from None
    except ValueError as exc:
        raise WechatApiError(f"unreadable answer: {exc}", errcode="bad_answer", retryable=True) from None
    if not isinstance(answer, dict):
        raise WechatApiError("unreadable answer", errcode="bad_answer", retryable=True)
    errcode = answer.get("errcode", 0)
    if errcode:
        raise WechatApiError(f"{errcode}: {answer.get('errmsg', '')}", errcode=errcode,
                             retryable=errcode in RETRYABLE_CODES)
    return answer


# ---------------------------------------------------------------- access token


def _token_key() -> str:
    return f"wechat:access-token:{settings.WECHAT_APP_ID}"


def _lock_key() -> str:
    return f"wechat:access-token-lock:{settings.WECHAT_APP_ID}"


@dataclass(frozen=True)
class CachedToken:
    token: str
    refresh_at: float    # refresh from this moment (epoch seconds)
    expires_at: float    # WeChat stops taking it then


def _fresh(cached) -> CachedToken | None:
    if isinstance(cached, dict) and cached.get("token") and time.time() < cached.get("refresh_at", 0):
        return CachedToken(cached["token"], cached["refresh_at"], cached["expires_at"])
    return None


def _fetch_token() -> dict:
    answer = _call(_url("cgi-bin/token", {"grant_type": "client_credential", "appid": settings.WECHAT_APP_ID,
                                          "secret": settings.WECHAT_APP_SECRET}))
    token, expires_in = answer.get("access_token"), int(answer.get("expires_in") or 0)
    if not token or expires_in <= 0:
        raise WechatApiError("no access_token in the answer", errcode="bad_answer", retryable=True)
    now = time.time()
    margin = min(settings.WECHAT_TOKEN_REFRESH_MARGIN_SECONDS, expires_in / 2)
    value = {"token": token, "refresh_at": now + expires_in - margin, "expires_at": now + expires_in}
    cache.set(_token_key(), value, timeout=max(int(expires_in), 1))
    log.info("wechat access token refreshed (valid %s s)", expires_in)
    return value


def access_token(*, force: bool = False, stale: str = "") -> str:
    """The cached token, or a new one when it is due for refresh (or `force`: WeChat refused `stale`)."""
    if not force:
        fresh = _fresh(cache.get(_token_key()))
        if fresh:
            return fresh.token
    deadline = time.monotonic() + WAIT_SECONDS
    owner = uuid.uuid4().hex
    while True:
        if cache.add(_lock_key(), owner, timeout=LOCK_SECONDS):
            try:
                # Another process may have refreshed while we waited for the lock.
                cached = cache.get(_token_key())
                fresh = _fresh(cached)
                if fresh and (not force or fresh.token != stale):
                    return fresh.token
                return _fetch_token()["token"]
            finally:
                if cache.get(_lock_key()) == owner:
                    cache.delete(_lock_key())
        cached = cache.get(_token_key())
        fresh = _fresh(cached)
        if fresh and fresh.token != stale:
            return fresh.token
        if time.monotonic() >= deadline:
            # The refresher is slow or died: a token not yet expired still works.
            if isinstance(cached, dict) and cached.get("token") != stale and time.time() < cached.get("expires_at", 0):
                return cached["token"]
            raise WechatApiError("waiting for another process to refresh the access token", errcode="token_lock",
                                 retryable=True)
        time.sleep(0.05)


def _with_token(path: str, payload: dict) -> dict:
    token = access_token()
    try:
        return _call(_url(path, {"access_token": token}), payload)
    except WechatApiError as exc:
        if exc.errcode not in TOKEN_CODES:
            raise
        log.warning("wechat refused the access token (%s): refreshing", exc.errcode)
        return _call(_url(path, {"access_token": access_token(force=True, stale=token)}), payload)


# ---------------------------------------------------------------- OAuth2 web authorisation and messages


def oauth_authorize_url(*, redirect_uri: str, state: str) -> str:
    query = urllib.parse.urlencode({"appid": settings.WECHAT_APP_ID, "redirect_uri": redirect_uri,
                                    "response_type": "code", "scope": "snsapi_base", "state": state})
    return f"{settings.WECHAT_OAUTH_BASE.rstrip('/')}/connect/oauth2/authorize?{query}#wechat_redirect"


@dataclass(frozen=True)
class OauthIdentity:
    openid: str
    unionid: str = ""


def oauth_openid(code: str) -> OauthIdentity:
    answer = _call(_url("sns/oauth2/access_token", {"appid": settings.WECHAT_APP_ID,
                                                    "secret": settings.WECHAT_APP_SECRET, "code": code,
                                                    "grant_type": "authorization_code"}))
    if not answer.get("openid"):
        raise WechatApiError("no openid in the answer", errcode="bad_answer")
    return OauthIdentity(openid=str(answer["openid"]), unionid=str(answer.get("unionid") or ""))


def template_send(*, openid: str, template_id: str, data: dict[str, str], url: str = "",
                  client_msg_id: str = "") -> str:
    """Send a template message; WeChat's msgid. `client_msg_id` makes WeChat itself drop a resend."""
    payload: dict = {"touser": openid, "template_id": template_id,
                     "data": {key: {"value": str(value)} for key, value in data.items()}}
    if url:
        payload["url"] = url
    if client_msg_id:
        payload["client_msg_id"] = client_msg_id[:64]
    answer = _with_token("cgi-bin/message/template/send", payload)
    if not answer.get("msgid"):
        raise WechatApiError("no msgid in the answer", errcode="bad_answer", retryable=True)
    return str(answer["msgid"])
