"""The access token (cached, shared, refreshed before expiry by one process at a time) and the callback
URL (signature, safe-mode encryption, receipts), against the local fake WeChat server (issue 18)."""
from __future__ import annotations

import threading
import time
import urllib.parse
import uuid

import pytest
import time_machine
from django.db import transaction

from members.services import Actor
from messaging.models import Message
from messaging.services import notify_member
from tests.factories import MemberFactory
from wechat import client as wx
from wechat.services import wechat_bind

from .conftest import APP_ID, TOKEN, post_encrypted, post_plain, receipt_xml, wx_signature

pytestmark = pytest.mark.django_db


def _send(openid="o-token"):
    return wx.template_send(openid=openid, template_id="TPL", data={"first": "你好"})


def test_the_token_is_fetched_once_and_shared_until_it_is_due(wechat):
    _send(), _send(), _send()
    assert wechat.token_requests == 1 and len(wechat.sends) == 3


def test_the_token_is_refreshed_before_it_expires(wechat, settings):
    wechat.token_ttl = 600
    settings.WECHAT_TOKEN_REFRESH_MARGIN_SECONDS = 120
    with time_machine.travel(time.time(), tick=False) as traveller:
        _send()
        traveller.shift(479)            # 600 - 120 - 1: still the cached one
        _send()
        assert wechat.token_requests == 1
        traveller.shift(2)              # within the margin: refreshed before WeChat would refuse it
        _send()
    assert wechat.token_requests == 2 and wechat.refused == []


def test_a_token_wechat_refuses_is_replaced_and_the_call_made_once_more(wechat):
    _send()
    wechat.tokens.clear()               # e.g. another system fetched a token for the same app
    _send()
    assert wechat.refused and wechat.refused[0][1] == 40001
    assert wechat.token_requests == 2 and len(wechat.sends) == 2


def test_one_refresher_at_a_time(wechat):
    """Eight workers find no token at once: one asks WeChat, the others wait for its token."""
    wechat.token_delay = 0.3
    tokens, errors = [], []

    def worker():
        try:
            tokens.append(wx.access_token())
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and wechat.token_requests == 1 and set(tokens) == {"ACCESS_TOKEN_1"}


@pytest.fixture
def redis_cache(settings, wechat):
    import redis

    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/15").ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    prefix = f"mh-test-{uuid.uuid4().hex}"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:6379/15", "KEY_PREFIX": prefix}}
    yield prefix
    conn = redis.Redis.from_url("redis://127.0.0.1:6379/15")
    for key in conn.scan_iter(f"{prefix}:*"):
        conn.delete(key)


def test_the_token_lives_in_redis_for_every_process(redis_cache, wechat):
    """Production caches in Redis (CACHE_URL): the token one process fetched is what another reads."""
    import redis
    from django.core.cache.backends.redis import RedisCache

    wechat.token_delay = 0.2
    threads = [threading.Thread(target=wx.access_token) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wechat.token_requests == 1
    other_process = RedisCache("redis://127.0.0.1:6379/15", {"KEY_PREFIX": redis_cache})
    assert other_process.get(f"wechat:access-token:{APP_ID}")["token"] == "ACCESS_TOKEN_1"
    assert redis.Redis.from_url("redis://127.0.0.1:6379/15").ttl(f"{redis_cache}:1:wechat:access-token:{APP_ID}") > 7000


# ---------------------------------------------------------------- the callback URL


def test_server_check_answers_echostr_only_with_the_right_signature(client, wechat):
    ts, nonce = str(int(time.time())), "n1"
    good = {"signature": wx_signature(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce, "echostr": "e-123"}
    r = client.get("/wechat/callback/", good)
    assert r.status_code == 200 and r.content == b"e-123"
    bad = {**good, "signature": wx_signature("other-token", ts, nonce)}
    assert client.get("/wechat/callback/", bad).status_code == 403
    assert client.get("/wechat/callback/", {"echostr": "e"}).status_code == 403


@pytest.fixture
def sent_message(wechat, wechat_templates, django_capture_on_commit_callbacks):
    member = MemberFactory()
    with transaction.atomic():
        wechat_bind(member=member, openid="o-receipt", actor=Actor.member())
    with django_capture_on_commit_callbacks(execute=True):
        notify_member(member=member, kind="tier_change", ref="rc", title="等级变更", body="升级")
    message = Message.objects.get(member=member, channel="wechat")
    assert message.status == Message.Status.SENT and message.provider_id == "1001"
    return message


def test_receipt_marks_the_message_delivered_and_a_repeat_changes_nothing(client, sent_message):
    for _ in range(2):
        r = post_plain(client, receipt_xml("1001", "success"))
        assert r.status_code == 200 and r.content == b"success"
    sent_message.refresh_from_db()
    assert sent_message.status == Message.Status.DELIVERED


def test_failed_receipt_marks_the_message_failed_with_the_reason(client, sent_message):
    post_plain(client, receipt_xml("1001", "failed:user block"))
    sent_message.refresh_from_db()
    assert sent_message.status == Message.Status.FAILED and "user block" in sent_message.error


def test_unsigned_forged_or_stale_pushes_change_nothing(client, sent_message):
    xml = receipt_xml("1001", "success")
    assert post_plain(client, xml, token="guessed").status_code == 403
    assert post_plain(client, xml, timestamp=str(int(time.time()) - 3600)).status_code == 403
    assert client.post("/wechat/callback/", data=xml, content_type="text/xml").status_code == 403
    sent_message.refresh_from_db()
    assert sent_message.status == Message.Status.SENT


def test_safe_mode_push_is_verified_decrypted_and_applied(client, sent_message):
    assert post_encrypted(client, receipt_xml("1001", "success"), tamper=True).status_code == 403
    assert post_encrypted(client, receipt_xml("1001", "success"), app_id="wxSOMEONEELSE").status_code == 400
    sent_message.refresh_from_db()
    assert sent_message.status == Message.Status.SENT
    r = post_encrypted(client, receipt_xml("1001", "success"))
    assert r.status_code == 200 and r.content == b"success"
    sent_message.refresh_from_db()
    assert sent_message.status == Message.Status.DELIVERED


def test_xml_with_a_dtd_is_refused(client, wechat):
    xml = '<!DOCTYPE x [<!ENTITY a "aaaa">]><xml><MsgType>&a;</MsgType></xml>'
    assert post_plain(client, xml).status_code == 400


def test_our_encryption_matches_the_documented_scheme(wechat):
    """wechat.crypto decrypts what the test's own implementation of WeChat's scheme encrypted, and back."""
    from wechat import crypto

    from .conftest import AES_KEY, wx_encrypt

    assert crypto.decrypt(wx_encrypt("<xml>你好</xml>"), encoding_aes_key=AES_KEY, app_id=APP_ID) == "<xml>你好</xml>"
    ours = crypto.encrypt("<xml>回复</xml>", encoding_aes_key=AES_KEY, app_id=APP_ID)
    assert crypto.decrypt(ours, encoding_aes_key=AES_KEY, app_id=APP_ID) == "<xml>回复</xml>"
    assert urllib.parse.quote(ours)   # plain base64
