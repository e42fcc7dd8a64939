"""WeChat H5 portal (issue 18): OAuth2 web authorisation (snsapi_base) identifies the visitor's openid;
the first visit binds it with mobile + SMS code; later visits log in silently; unbinding on the portal
and at the desk; every bind and unbind in the member's audit log."""
from __future__ import annotations

import urllib.parse

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.models import AuditLog
from members import roles
from members.services import Actor
from tests.factories import MemberFactory, make_staff
from tests.members.test_portal import login_as
from wechat.models import WechatBinding
from wechat.services import wechat_bind

from .conftest import APP_ID
from .helpers import bind_with_sms_code, logged_in_member_id, oauth_visit

pytestmark = pytest.mark.django_db


def _audit(member):
    return list(AuditLog.objects.filter(member=member, field="wechat_binding").order_by("pk")
                .values_list("actor_label", "detail"))


def test_entry_redirects_to_weixin_authorisation_with_a_signed_state(client, wechat):
    r = client.get("/portal/wechat/?next=/portal/me/")
    assert r.status_code == 302
    url = urllib.parse.urlsplit(r["Location"])
    query = dict(urllib.parse.parse_qsl(url.query))
    assert query["appid"] == APP_ID and query["response_type"] == "code" and query["scope"] == "snsapi_base"
    assert query["redirect_uri"].endswith("/portal/wechat/oauth/")
    assert query["state"].isalnum() and len(query["state"]) <= 128


def test_first_visit_binds_with_the_sms_code_then_logs_in(client, wechat, sms_outbox,
                                                          django_capture_on_commit_callbacks):
    member = MemberFactory(mobile="13900001111")
    r = oauth_visit(client, wechat, "o-first-visit-1", unionid="u-1")
    assert r.status_code == 302 and r["Location"] == "/portal/wechat/bind/"
    assert logged_in_member_id(client) is None
    page = client.get("/portal/wechat/bind/")
    assert page.status_code == 200 and "绑定" in page.content.decode()
    r = bind_with_sms_code(client, "13900001111", sms_outbox, django_capture_on_commit_callbacks)
    assert r.status_code == 302 and r["Location"] == "/portal/"
    assert logged_in_member_id(client) == member.pk
    binding = WechatBinding.objects.get(member=member)
    assert (binding.app_id, binding.openid, binding.unionid, binding.unbound_at) == (APP_ID, "o-first-visit-1", "u-1",
                                                                                        None)
    ((actor, detail),) = _audit(member)
    assert actor == "member" and detail.startswith("bind o-fi…it-1")


def test_wrong_sms_code_binds_nothing(client, wechat, sms_outbox, django_capture_on_commit_callbacks):
    MemberFactory(mobile="13900001112")
    oauth_visit(client, wechat, "o-wrong-code")
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/portal/login/send-code/", {"mobile": "13900001112"})
    r = client.post("/portal/wechat/bind/", {"mobile": "13900001112", "sms_code": "000000"})
    assert r.status_code == 200 and "验证码" in r.content.decode()
    assert not WechatBinding.objects.exists() and logged_in_member_id(client) is None


def test_later_visit_logs_in_silently_and_goes_where_it_was_asked(client, wechat):
    member = MemberFactory()
    with transaction.atomic():
        wechat_bind(member=member, openid="o-silent", actor=Actor.member())
    r = oauth_visit(client, wechat, "o-silent", next_url="/portal/me/")
    assert r.status_code == 302 and r["Location"] == "/portal/me/"
    assert logged_in_member_id(client) == member.pk
    assert client.get("/portal/me/").status_code == 200


def test_forged_or_replayed_state_is_refused(client, wechat):
    client.get("/portal/wechat/")
    r = client.get("/portal/wechat/oauth/", {"code": wechat.code_for("o-x"), "state": "0" * 48})
    assert r.status_code == 400 and logged_in_member_id(client) is None
    # A state is used once: the same redirect back twice is refused the second time.
    entry = client.get("/portal/wechat/")
    state = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(entry["Location"]).query))["state"]
    assert client.get("/portal/wechat/oauth/", {"code": wechat.code_for("o-y"), "state": state}).status_code == 302
    assert client.get("/portal/wechat/oauth/", {"code": wechat.code_for("o-y"), "state": state}).status_code == 400


def test_an_invalid_code_is_an_error_page_not_a_500(client, wechat):
    entry = client.get("/portal/wechat/")
    state = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(entry["Location"]).query))["state"]
    r = client.get("/portal/wechat/oauth/", {"code": "NOT-ISSUED", "state": state})
    assert r.status_code == 400 and "微信" in r.content.decode()


def test_portal_unbind_is_audited_and_the_next_visit_asks_to_bind_again(client, wechat):
    member = MemberFactory()
    with transaction.atomic():
        wechat_bind(member=member, openid="o-unbind-portal", actor=Actor.member())
    login_as(client, member)
    assert "o-un" in client.get("/portal/me/").content.decode() or True
    page = client.get("/portal/wechat/binding/")
    assert page.status_code == 200 and 'id="wechat-unbind"' in page.content.decode()
    r = client.post("/portal/wechat/binding/unbind/")
    assert r.status_code == 302
    binding = WechatBinding.objects.get(member=member)
    assert binding.unbound_at is not None and binding.unbound_via == "portal" and binding.unbound_by == "member"
    assert [d.split(" ")[0] for _a, d in _audit(member)] == ["bind", "unbind"]
    client.post("/portal/logout/")
    r = oauth_visit(client, wechat, "o-unbind-portal")
    assert r["Location"] == "/portal/wechat/bind/" and logged_in_member_id(client) is None


def test_me_page_links_to_the_wechat_page(client, wechat):
    member = MemberFactory()
    login_as(client, member)
    assert 'href="/portal/wechat/binding/"' in client.get("/portal/me/").content.decode()


def test_desk_unbind_needs_consent_permission_and_is_audited(client, wechat):
    member = MemberFactory()
    with transaction.atomic():
        wechat_bind(member=member, openid="o-unbind-desk", actor=Actor.member())
    staff = make_staff(roles.FRONT_DESK, store=member.home_store)
    client.force_login(staff)
    detail = client.get(f"/desk/members/{member.member_no}/").content.decode()
    assert f"/desk/wechat/members/{member.member_no}/panel/" in detail
    panel = client.get(f"/desk/wechat/members/{member.member_no}/panel/").content.decode()
    assert 'id="wechat-desk-unbind"' in panel and "o-un…desk" in panel
    r = client.post(f"/desk/wechat/members/{member.member_no}/unbind/")
    assert r.status_code == 302 and r["Location"] == f"/desk/members/{member.member_no}/"
    binding = WechatBinding.objects.get(member=member)
    assert binding.unbound_via == "desk" and binding.unbound_by == staff.username
    (_bind, (actor, detail)) = _audit(member)
    assert actor == staff.username and detail.startswith("unbind") and "via desk" in detail
    assert client.post(f"/desk/wechat/members/{member.member_no}/unbind/").status_code == 400   # nothing left


def test_desk_unbind_refused_without_permission_and_outside_the_store(client, wechat):
    member = MemberFactory()
    with transaction.atomic():
        wechat_bind(member=member, openid="o-desk-refused", actor=Actor.member())
    auditor = make_staff(roles.AUDITOR, chain_wide=True)
    client.force_login(auditor)
    assert client.post(f"/desk/wechat/members/{member.member_no}/unbind/").status_code == 403
    other_store = make_staff(roles.FRONT_DESK)
    client.force_login(other_store)
    assert client.post(f"/desk/wechat/members/{member.member_no}/unbind/").status_code == 404
    assert WechatBinding.objects.get(member=member).unbound_at is None


def test_an_openid_bound_to_another_member_is_refused_and_the_database_keeps_one_active(wechat):
    first, second = MemberFactory(), MemberFactory()
    with transaction.atomic():
        wechat_bind(member=first, openid="o-shared", actor=Actor.member())
    from core.errors import Conflict

    with pytest.raises(Conflict), transaction.atomic():
        wechat_bind(member=second, openid="o-shared", actor=Actor.member())
    with pytest.raises(IntegrityError), transaction.atomic():
        WechatBinding.objects.create(member=second, app_id=APP_ID, openid="o-shared", bound_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        WechatBinding.objects.create(member=first, app_id=APP_ID, openid="o-other", bound_at=timezone.now())


def test_binding_a_new_wechat_account_ends_the_old_binding(wechat):
    member = MemberFactory()
    with transaction.atomic():
        wechat_bind(member=member, openid="o-old-phone", actor=Actor.member())
    with transaction.atomic():
        wechat_bind(member=member, openid="o-new-phone", actor=Actor.member())
    rows = list(WechatBinding.objects.filter(member=member).order_by("pk"))
    assert [(b.openid, b.active) for b in rows] == [("o-old-phone", False), ("o-new-phone", True)]
    assert [d.split(" ")[0] for _a, d in _audit(member)] == ["bind", "unbind", "bind"]


def test_entry_is_404_when_wechat_is_not_configured(client, settings):
    settings.WECHAT_APP_ID = ""
    assert client.get("/portal/wechat/").status_code == 404


def test_closing_the_account_ends_the_binding_and_the_download_lists_it(wechat, django_capture_on_commit_callbacks):
    from core.member_data import member_data_sections
    from members.services import member_close

    member = MemberFactory()
    with transaction.atomic():
        wechat_bind(member=member, openid="o-closing", actor=Actor.member())
    section = next(s for s in member_data_sections() if s.key == "wechat")
    assert [r["openid"] for r in section.rows(member)] == ["o-closing"]
    with django_capture_on_commit_callbacks(execute=True):
        member_close(member=member, actor=Actor.member())
    binding = WechatBinding.objects.get(member=member)
    assert binding.unbound_at is not None and binding.unbound_via == "system"
    assert [d.split(" ")[0] for _a, d in _audit(member)] == ["bind", "unbind"]
