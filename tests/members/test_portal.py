"""Member self-service portal pages, through the Django test client (MEM-1, MEM-3, MEM-4, MEM-6,
SEC-1, SEC-3, SEC-4, SEC-5)."""
from __future__ import annotations

import datetime as dt
import json
import re

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from django.utils import translation

from core import crypto
from core.models import AuditLog
from members import portal_urls
from members.models import ChangeRequest, ConsentLog, Member, MemberChange, MemberTag, Tag
from members.portal_auth import SESSION_KEY
from members.services import Actor, member_close, member_set_status
from tests.factories import MemberFactory, StoreFactory, make_staff

pytestmark = pytest.mark.django_db

MOBILE = "13812345678"


@pytest.fixture(autouse=True)
def _clear_cache():
    # The login send-code throttle lives in the cache; start every test with none.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def send_code_page(client, sms_outbox, django_capture_on_commit_callbacks):
    """Press a page's "send code" button (htmx POST) and return (response, code or None)."""

    def _send(url_name: str, mobile: str):
        before = len(sms_outbox)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse(url_name), {"mobile": mobile}, HTTP_HX_REQUEST="true")
        code = None
        if len(sms_outbox) > before:
            code = re.search(r"(\d{6})", sms_outbox[-1].text).group(1)
        return response, code

    return _send


def zh(message: str) -> str:
    """A UI text as the default (zh-hans) page shows it, whether or not it is translated yet."""
    with translation.override(settings.LANGUAGE_CODE):
        return translation.gettext(message)


TOO_SOON = "A code was just sent; please wait a minute before asking again."


def login_as(client, member: Member) -> None:
    session = client.session
    session[SESSION_KEY] = member.pk
    session.save()


def signup_data(store, **overrides) -> dict:
    data = {
        "home_store": store.pk, "name": "张三", "mobile": MOBILE, "sms_code": "000000", "gender": "M",
        "birthday": "1990-03-07", "province": "上海市", "city": "上海市", "district": "黄浦区",
        "address": "南京东路100号", "occupation": "教师", "email": "zs@example.com", "id_number": "",
        "privacy_accepted": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def field_errors(response) -> dict[str, list[str]]:
    form = response.context["form"]
    return {k: [str(e) for e in v] for k, v in form.errors.items()}


# ---------------------------------------------------------------- sign-up


def test_signup_page_offers_active_stores_and_separate_unchecked_marketing_opt_in(client):
    """MEM-6, SEC-1: privacy policy (with version) and marketing are separate; marketing is off by default."""
    open_store = StoreFactory(name="南京路店")
    closed_store = StoreFactory(name="已关闭门店", is_active=False)
    response = client.get(reverse("portal:signup"))
    html = response.content.decode()
    assert response.status_code == 200
    assert open_store.name in html
    assert closed_store.name not in html
    marketing = re.search(r'<input[^>]*name="marketing"[^>]*>', html).group(0)
    assert "checked" not in marketing
    assert re.search(r'<input[^>]*name="privacy_accepted"', html)
    assert settings.PRIVACY_POLICY_VERSION in html
    assert reverse("portal:privacy") in html
    assert f'hx-post="{reverse("portal:signup_send_code")}"' in html


def test_privacy_policy_page_is_public_and_states_purpose_and_version(client):
    """SEC-1: the purpose of collection is stated."""
    response = client.get(reverse("portal:privacy"))
    html = response.content.decode()
    assert response.status_code == 200
    assert settings.PRIVACY_POLICY_VERSION in html
    assert zh("Why we collect your data") in html


def test_signup_with_sms_code_creates_active_member_logs_in_and_shows_card(client, send_code_page):
    """MEM-1, MEM-2, MEM-3, MEM-6: online sign-up is verified by SMS code and active at once."""
    store = StoreFactory()
    response, code = send_code_page("portal:signup_send_code", MOBILE)
    assert response.status_code == 200 and code
    assert 'class="code-status ok"' in response.content.decode()

    response = client.post(reverse("portal:signup"), signup_data(store, sms_code=code))
    assert response.status_code == 302 and response["Location"] == reverse("portal:home")
    member = Member.objects.get(mobile_hash=crypto.lookup_hash(MOBILE))
    assert member.status == Member.Status.ACTIVE
    assert member.channel == Member.Channel.PORTAL
    assert member.home_store == store
    assert member.marketing_consent is False
    assert crypto.decrypt(member.address_enc) == "南京东路100号"
    consents = {(c.kind, c.granted, c.version, c.channel) for c in member.consents.all()}
    assert consents == {
        ("privacy", True, settings.PRIVACY_POLICY_VERSION, "portal"),
        ("marketing", False, settings.PRIVACY_POLICY_VERSION, "portal"),
    }
    card = client.get(reverse("portal:home"))
    assert card.status_code == 200
    assert member.member_no in card.content.decode()


def test_signup_marketing_opt_in_is_recorded_when_ticked(client, send_code_page):
    """MEM-6: the separate marketing choice is honoured and logged."""
    store = StoreFactory()
    _, code = send_code_page("portal:signup_send_code", MOBILE)
    client.post(reverse("portal:signup"), signup_data(store, sms_code=code, marketing="on"))
    member = Member.objects.get(mobile_hash=crypto.lookup_hash(MOBILE))
    assert member.marketing_consent is True
    assert member.consents.filter(kind="marketing", granted=True).exists()


@pytest.mark.parametrize(
    "field,value",
    [
        ("mobile", "12345"),
        ("email", "not-an-email"),
        ("id_number", "110101199003071235"),  # wrong check digit
        ("birthday", (dt.date.today() + dt.timedelta(days=3)).isoformat()),
        ("name", ""),
        ("home_store", ""),
    ],
)
def test_signup_bad_input_is_shown_on_the_field_and_creates_nothing(client, send_code_page, field, value):
    """MEM-1, MEM-2: automatic format checks, reported per field."""
    store = StoreFactory()
    _, code = send_code_page("portal:signup_send_code", MOBILE)
    response = client.post(reverse("portal:signup"), signup_data(store, sms_code=code, **{field: value}))
    assert response.status_code == 200
    errors = field_errors(response)
    assert field in errors, errors
    assert f'data-field="{field}"' in response.content.decode()
    assert not Member.objects.exists()
    assert SESSION_KEY not in client.session


def test_signup_without_privacy_acceptance_is_refused_on_that_field(client, send_code_page):
    """MEM-6: accepting the privacy policy is required."""
    store = StoreFactory()
    _, code = send_code_page("portal:signup_send_code", MOBILE)
    response = client.post(reverse("portal:signup"), signup_data(store, sms_code=code, privacy_accepted=None))
    assert "privacy_accepted" in field_errors(response)
    assert not Member.objects.exists()


def test_signup_wrong_sms_code_is_refused_on_the_code_field(client, send_code_page):
    store = StoreFactory()
    _, code = send_code_page("portal:signup_send_code", MOBILE)
    wrong = "111111" if code != "111111" else "222222"
    response = client.post(reverse("portal:signup"), signup_data(store, sms_code=wrong))
    assert "sms_code" in field_errors(response)
    assert not Member.objects.exists()


def test_signup_duplicate_mobile_is_refused(client, send_code_page):
    """MEM-1: mobile numbers are unique."""
    MemberFactory(mobile=MOBILE)
    store = StoreFactory()
    _, code = send_code_page("portal:signup_send_code", MOBILE)
    response = client.post(reverse("portal:signup"), signup_data(store, sms_code=code))
    errors = field_errors(response)
    assert "mobile" in errors
    assert Member.objects.count() == 1
    assert SESSION_KEY not in client.session


def test_signup_send_code_is_rate_limited_per_number(client, send_code_page, sms_outbox):
    """SEC-5: a second code within the resend window is refused with a clear message."""
    first, code = send_code_page("portal:signup_send_code", MOBILE)
    assert code
    second, second_code = send_code_page("portal:signup_send_code", MOBILE)
    assert second_code is None
    html = second.content.decode()
    assert 'class="code-status error"' in html
    assert zh(TOO_SOON) in html
    assert len(sms_outbox) == 1


def test_signup_send_code_rejects_a_malformed_mobile(send_code_page, sms_outbox):
    response, code = send_code_page("portal:signup_send_code", "0211234")
    assert code is None
    assert 'class="code-status error"' in response.content.decode()
    assert sms_outbox == []


# ---------------------------------------------------------------- login


def test_login_with_correct_code_opens_the_card(client, send_code_page):
    """MEM-1, SEC-5: login by SMS code."""
    member = MemberFactory(mobile=MOBILE)
    _, code = send_code_page("portal:login_send_code", MOBILE)
    assert code
    response = client.post(reverse("portal:login"), {"mobile": MOBILE, "sms_code": code})
    assert response.status_code == 302 and response["Location"] == reverse("portal:home")
    assert client.session[SESSION_KEY] == member.pk
    assert member.member_no in client.get(reverse("portal:home")).content.decode()


def test_login_with_wrong_code_is_refused(client, send_code_page):
    MemberFactory(mobile=MOBILE)
    _, code = send_code_page("portal:login_send_code", MOBILE)
    wrong = "111111" if code != "111111" else "222222"
    response = client.post(reverse("portal:login"), {"mobile": MOBILE, "sms_code": wrong})
    assert response.status_code == 200
    assert "sms_code" in field_errors(response)
    assert SESSION_KEY not in client.session


def test_login_with_expired_code_is_refused(client, send_code_page):
    """SEC-5: codes expire after SMS_CODE_TTL_SECONDS."""
    MemberFactory(mobile=MOBILE)
    _, code = send_code_page("portal:login_send_code", MOBILE)
    later = dt.datetime.now(tz=dt.UTC) + dt.timedelta(seconds=settings.SMS_CODE_TTL_SECONDS + 5)
    with time_machine.travel(later, tick=False):
        response = client.post(reverse("portal:login"), {"mobile": MOBILE, "sms_code": code})
    assert "sms_code" in field_errors(response)
    assert SESSION_KEY not in client.session


def test_login_code_is_single_use(client, send_code_page):
    MemberFactory(mobile=MOBILE)
    _, code = send_code_page("portal:login_send_code", MOBILE)
    assert client.post(reverse("portal:login"), {"mobile": MOBILE, "sms_code": code}).status_code == 302
    client.post(reverse("portal:logout"))
    response = client.post(reverse("portal:login"), {"mobile": MOBILE, "sms_code": code})
    assert "sms_code" in field_errors(response)


def test_login_send_code_answers_the_same_for_members_and_strangers(send_code_page, sms_outbox):
    """SEC-5: numbers cannot be probed; only a member's number receives a code."""
    MemberFactory(mobile=MOBILE)
    member_response, member_code = send_code_page("portal:login_send_code", MOBILE)
    stranger_response, stranger_code = send_code_page("portal:login_send_code", "13900001111")
    assert member_code and stranger_code is None
    assert member_response.content == stranger_response.content
    assert [m.mobile for m in sms_outbox] == [MOBILE]


def test_login_send_code_is_rate_limited_for_members_and_strangers_alike(send_code_page, sms_outbox):
    """SEC-5: the resend limit applies (and reads) the same whether or not the number is a member's."""
    MemberFactory(mobile=MOBILE)
    send_code_page("portal:login_send_code", MOBILE)
    send_code_page("portal:login_send_code", "13900001111")
    member_again, _ = send_code_page("portal:login_send_code", MOBILE)
    stranger_again, _ = send_code_page("portal:login_send_code", "13900001111")
    assert zh(TOO_SOON) in member_again.content.decode()
    assert member_again.content == stranger_again.content
    assert len(sms_outbox) == 1


def test_login_send_code_is_limited_per_network(settings, send_code_page, sms_outbox):
    """SEC-5: one IP cannot spray codes across many numbers."""
    settings.SMS_CODE_MAX_PER_IP_PER_HOUR = 2
    for i in range(2):
        MemberFactory(mobile=f"1390000000{i}")
        _, code = send_code_page("portal:login_send_code", f"1390000000{i}")
        assert code
    response, code = send_code_page("portal:login_send_code", "13900000009")
    assert code is None
    assert zh("Too many requests from this network; try again later.") in response.content.decode()


def test_suspended_member_can_log_in_and_sees_why(client, send_code_page):
    """MEM-5: a suspended member sees the status and reason, and no usable card."""
    member = MemberFactory(mobile=MOBILE)
    member_set_status(member=member, staff=make_staff("运营经理", store=member.home_store), action="suspend",
                      reason="资料不实")
    _, code = send_code_page("portal:login_send_code", MOBILE)
    assert code
    assert client.post(reverse("portal:login"), {"mobile": MOBILE, "sms_code": code}).status_code == 302
    html = client.get(reverse("portal:home")).content.decode()
    assert 'id="status-notice"' in html
    assert "资料不实" in html
    assert "<svg" not in html


def test_closed_member_cannot_log_in_and_is_sent_no_code(client, send_code_page, sms_outbox):
    """SEC-4: a closed account has no login."""
    member = MemberFactory(mobile=MOBILE)
    member_close(member=member, actor=Actor.member())
    _, code = send_code_page("portal:login_send_code", MOBILE)
    assert code is None and sms_outbox == []
    response = client.post(reverse("portal:login"), {"mobile": MOBILE, "sms_code": "123456"})
    assert "sms_code" in field_errors(response)
    assert SESSION_KEY not in client.session


# ---------------------------------------------------------------- e-card


def test_ecard_shows_member_number_tier_and_qr_and_refreshes_itself(client):
    """MEM-3: card number as text and QR; the QR payload expires, so the card re-fetches it."""
    member = MemberFactory()
    login_as(client, member)
    html = client.get(reverse("portal:home")).content.decode()
    assert member.member_no in html
    assert member.tier.name in html
    assert member.name in html
    assert "<svg" in html
    assert 'hx-trigger="every 240s"' in html
    assert f'hx-get="{reverse("portal:ecard")}"' in html
    partial = client.get(reverse("portal:ecard"), HTTP_HX_REQUEST="true")
    assert partial.status_code == 200
    assert "<svg" in partial.content.decode() and "<html" not in partial.content.decode()


def test_htmx_card_refresh_after_session_end_redirects_the_whole_page(client):
    response = client.get(reverse("portal:ecard"), HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == reverse("portal:login")


# ---------------------------------------------------------------- profile and change requests


def test_profile_shows_own_data_in_full(client):
    """SEC-2/SEC-4: the member sees their own values unmasked."""
    member = MemberFactory(mobile=MOBILE, address_enc=crypto.encrypt("南京东路100号"), address_masked="南京东路10****")
    login_as(client, member)
    html = client.get(reverse("portal:profile")).content.decode()
    assert MOBILE in html
    assert "南京东路100号" in html


def test_change_request_is_pending_and_changes_nothing_until_approved(client, get_sms_code):
    """MEM-4: a change of personal data waits for review; the new mobile is proved by its code."""
    member = MemberFactory(mobile=MOBILE, email="old@example.com")
    login_as(client, member)
    form = client.get(reverse("portal:profile")).context["form"]
    data = {k: (v or "") for k, v in form.initial.items()}
    data["email"] = "new@example.com"
    data["mobile"] = "13987654321"
    data["sms_code"] = get_sms_code("13987654321", purpose="change_mobile")
    response = client.post(reverse("portal:profile"), data)
    assert response.status_code == 302
    request = ChangeRequest.objects.get(member=member)
    assert request.status == ChangeRequest.Status.PENDING
    assert request.channel == Member.Channel.PORTAL
    assert "139****4321" in request.summary and "13987654321" not in request.summary
    member.refresh_from_db()
    assert member.email == "old@example.com"
    assert crypto.decrypt(member.mobile_enc) == MOBILE
    assert not MemberChange.objects.filter(member=member, field="email").exists()
    html = client.get(reverse("portal:profile")).content.decode()
    assert 'id="pending-request"' in html
    # A second request while one waits is refused, and still nothing changes.
    again = client.post(reverse("portal:profile"), {**data, "email": "third@example.com"})
    assert again.status_code == 200
    assert again.context["form"].non_field_errors()
    assert ChangeRequest.objects.filter(member=member).count() == 1


def test_change_request_bad_input_is_shown_on_the_field(client):
    member = MemberFactory()
    login_as(client, member)
    data = {k: (v or "") for k, v in client.get(reverse("portal:profile")).context["form"].initial.items()}
    response = client.post(reverse("portal:profile"), {**data, "email": "nope"})
    assert "email" in field_errors(response)
    assert not ChangeRequest.objects.exists()


def test_change_request_with_no_change_is_refused(client):
    member = MemberFactory()
    login_as(client, member)
    data = {k: (v or "") for k, v in client.get(reverse("portal:profile")).context["form"].initial.items()}
    response = client.post(reverse("portal:profile"), data)
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert not ChangeRequest.objects.exists()


def test_profile_lists_rejected_requests_with_reason_and_masked_history(client, get_sms_code):
    """MEM-4: rejected requests keep their reason; history is masked."""
    from members.services import change_request_review, change_request_submit

    member = MemberFactory(mobile=MOBILE)
    clerk = make_staff(store=member.home_store)
    reviewer = make_staff(store=member.home_store)
    req = change_request_submit(member=member, changes={"occupation": "医生"}, actor=Actor.staff(clerk))
    change_request_review(request=req, reviewer=reviewer, approve=False, reason="证明材料不足")
    req = change_request_submit(member=member, changes={"mobile": "13987654321"}, actor=Actor.staff(clerk),
                                mobile_code=get_sms_code("13987654321", purpose="change_mobile"))
    change_request_review(request=req, reviewer=reviewer, approve=True)
    login_as(client, member)
    html = client.get(reverse("portal:profile")).content.decode()
    assert "证明材料不足" in html
    assert "138****5678" in html and "139****4321" in html  # history, masked
    assert "13987654321" in html  # own current number, in full


# ---------------------------------------------------------------- consents


def test_marketing_consent_toggle_is_logged_with_portal_channel(client):
    """MEM-6: consent can be given and withdrawn in the portal; each change is logged."""
    member = MemberFactory(marketing_consent=False)
    login_as(client, member)
    assert client.post(reverse("portal:consents"), {"granted": "1"}).status_code == 302
    member.refresh_from_db()
    assert member.marketing_consent is True
    client.post(reverse("portal:consents"), {"granted": "0"})
    member.refresh_from_db()
    assert member.marketing_consent is False
    logs = list(ConsentLog.objects.filter(member=member, kind="marketing").order_by("at", "id"))
    assert [(log.granted, log.channel) for log in logs] == [(True, "portal"), (False, "portal")]
    html = client.get(reverse("portal:consents")).content.decode()
    assert member.privacy_version in html
    assert html.count("<tr>") >= 3  # header + two records


def test_consent_post_with_bad_value_changes_nothing(client):
    member = MemberFactory(marketing_consent=False)
    login_as(client, member)
    response = client.post(reverse("portal:consents"), {"granted": "maybe"})
    assert response.status_code == 200
    member.refresh_from_db()
    assert member.marketing_consent is False
    assert not ConsentLog.objects.filter(member=member).exists()


# ---------------------------------------------------------------- my data


def test_data_download_contains_own_data_only_and_is_audited(client):
    """SEC-4: the member exports their own data; SEC-2: the export is audit-logged."""
    member = MemberFactory(mobile=MOBILE)
    other = MemberFactory(mobile="13900001111")
    tag = Tag.objects.create(name="珠宝偏好")
    MemberTag.objects.create(member=member, tag=tag)
    ConsentLog.objects.create(member=member, kind="privacy", granted=True, version="2026-11", channel="portal")
    login_as(client, member)
    assert client.get(reverse("portal:my_data_download")).status_code == 405
    response = client.post(reverse("portal:my_data_download"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["profile"]["member_no"] == member.member_no
    assert data["profile"]["mobile"] == MOBILE
    assert data["tags"] == [{"name": "珠宝偏好"}]
    assert data["consents"][0]["kind"] == zh("Privacy policy")  # sections carry readable labels
    body = response.content.decode()
    assert other.member_no not in body and "13900001111" not in body
    audit = AuditLog.objects.get(action=AuditLog.Action.EXPORT)
    assert audit.member == member and audit.actor_label == "member" and audit.actor is None


# ---------------------------------------------------------------- close account


def test_close_account_with_wrong_number_changes_nothing(client):
    member = MemberFactory()
    login_as(client, member)
    response = client.post(reverse("portal:close"), {"member_no": "861234567890"})
    assert "member_no" in field_errors(response)
    member.refresh_from_db()
    assert member.status == Member.Status.ACTIVE


def test_close_account_anonymises_and_logs_out(client):
    """SEC-4: closing anonymises personal data and ends the session."""
    member = MemberFactory(mobile=MOBILE)
    login_as(client, member)
    response = client.post(reverse("portal:close"), {"member_no": member.member_no})
    assert response.status_code == 302 and response["Location"] == reverse("portal:closed")
    member.refresh_from_db()
    assert member.status == Member.Status.CLOSED
    assert member.mobile_enc is None and member.mobile_hash is None and member.name != "" and MOBILE not in (
        member.mobile_masked + member.name
    )
    assert AuditLog.objects.filter(member=member, action=AuditLog.Action.CLOSE, actor_label="member").exists()
    assert SESSION_KEY not in client.session
    assert client.get(reverse("portal:home"))["Location"] == reverse("portal:login")


# ---------------------------------------------------------------- access (SEC-3)

MEMBER_PAGES = ["portal:home", "portal:ecard", "portal:profile", "portal:consents", "portal:my_data", "portal:close"]


@pytest.mark.parametrize("name", MEMBER_PAGES)
def test_member_pages_redirect_anonymous_visitors_to_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:login")


@pytest.mark.parametrize("name", ["portal:my_data_download", "portal:close", "portal:consents", "portal:profile"])
def test_member_writes_refused_for_anonymous_visitors(client, name):
    response = client.post(reverse(name), {"granted": "1", "member_no": "x"})
    assert response.status_code == 302 and response["Location"] == reverse("portal:login")
    assert not AuditLog.objects.exists() and not ConsentLog.objects.exists()


def test_portal_urls_carry_no_member_id():
    """SEC-3: no portal URL names a member, so there is nothing to swap for another's id."""
    for pattern in portal_urls.urlpatterns:
        assert not pattern.pattern.converters, pattern


def test_member_cannot_reach_another_members_data_by_any_parameter(client):
    """SEC-3: ids or numbers in the query string are ignored; pages read only the session's member."""
    me = MemberFactory(mobile=MOBILE)
    other = MemberFactory(mobile="13900001111", email="other@example.com")
    login_as(client, me)
    for name in ("portal:home", "portal:profile", "portal:consents"):
        for params in ({"member": other.pk}, {"id": other.pk}, {"member_no": other.member_no}, {"pk": other.pk}):
            html = client.get(reverse(name), params).content.decode()
            assert other.member_no not in html and "13900001111" not in html and other.name not in html
    data = json.loads(client.post(reverse("portal:my_data_download") + f"?member={other.pk}",
                                  {"member": other.pk, "member_no": other.member_no}).content)
    assert data["profile"]["member_no"] == me.member_no
    client.post(reverse("portal:consents") + f"?member={other.pk}", {"granted": "1", "member": other.pk})
    other.refresh_from_db()
    assert other.marketing_consent is False


def test_logout_is_post_only_and_ends_the_session(client):
    member = MemberFactory()
    login_as(client, member)
    assert client.get(reverse("portal:logout")).status_code == 405
    assert SESSION_KEY in client.session
    response = client.post(reverse("portal:logout"))
    assert response["Location"] == reverse("portal:login")
    assert client.get(reverse("portal:profile"))["Location"] == reverse("portal:login")


# ---------------------------------------------------------------- language


def test_portal_defaults_to_chinese_and_switches_to_english(client):
    """The portal is zh-hans by default; set_language switches to English."""
    html = client.get(reverse("portal:login")).content.decode()
    assert '<html lang="zh-hans">' in html
    assert 'title="英语"' in html  # Django's own catalogue translates the language names
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("portal:login")})
    assert response.status_code == 302 and response["Location"] == reverse("portal:login")
    html = client.get(reverse("portal:login")).content.decode()
    assert '<html lang="en">' in html
    assert 'title="English"' in html
    assert "Log in" in html
