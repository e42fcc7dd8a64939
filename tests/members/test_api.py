"""Members REST API for tills and staff apps (MEM-1..6, SEC-2, SEC-3)."""
import datetime as dt
import io
import json
import re

import pytest
import time_machine
from django.core.cache import cache
from django.core.management import call_command
from rest_framework.test import APIClient

from members import roles
from members.api import MemberLookupThrottle
from members.api_auth import device_create
from members.ecard import qr_payload
from members.models import ChangeRequest, ConsentLog, Device, Member, MemberChange
from members.services import change_request_review
from tests.factories import MemberFactory, StoreFactory, make_staff

pytestmark = pytest.mark.django_db

LOOKUP = "/api/v1/members/lookup/"
CREATE = "/api/v1/members/"
SMS = "/api/v1/sms-codes/"
SECRET_KEYS = re.compile(r"_enc|_hash|payload")


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()  # throttle counters live in the cache
    yield
    cache.clear()


@pytest.fixture
def store():
    return StoreFactory()


@pytest.fixture
def till(store):
    device, token = device_create(name="Till 1", store=store)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {token}")
    client.device = device
    return client


def staff_client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def desk(store):
    user = make_staff(roles.FRONT_DESK, store=store)
    client = staff_client(user)
    client.user = user
    return client


def assert_no_secrets(body) -> None:
    text = json.dumps(body, ensure_ascii=False)
    assert not SECRET_KEYS.search(text), text


# ---------------------------------------------------------------- lookup


def test_till_looks_up_member_of_any_store_by_mobile_masked(till):
    """SEC-3: members shop in every store, so a till finds them all — masked, minimal."""
    member = MemberFactory(mobile="13812345678", name="张三丰", home_store=StoreFactory())
    response = till.get(LOOKUP, {"mobile": "138 1234 5678"})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body == {
        "member_no": member.member_no, "name": "张**", "mobile": "138****5678",
        "tier": {"code": "normal", "name": member.tier.name}, "status": "active", "can_transact": True,
    }
    assert_no_secrets(body)


def test_till_looks_up_by_card_and_by_fresh_qr(till):
    member = MemberFactory()
    assert till.get(LOOKUP, {"card": member.member_no}).json()["member_no"] == member.member_no
    assert till.get(LOOKUP, {"qr": qr_payload(member)}).json()["member_no"] == member.member_no


def test_forged_or_expired_qr_is_bad_qr(till, settings):
    """MEM-3: a screenshot stops working after MEMBER_QR_TTL_SECONDS; a forged number is refused."""
    member = MemberFactory()
    payload = qr_payload(member)
    forged = payload.replace(member.member_no, MemberFactory().member_no)
    response = till.get(LOOKUP, {"qr": forged})
    assert response.status_code == 400
    assert response.json()["code"] == "bad_qr"
    assert "qr" in response.json()["fields"]
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=settings.MEMBER_QR_TTL_SECONDS + 5)):
        expired = till.get(LOOKUP, {"qr": payload})
    assert expired.status_code == 400
    assert expired.json()["code"] == "bad_qr"


@pytest.mark.parametrize("params", [{}, {"mobile": "13812345678", "card": "860000000001"}, {"card": "  "}])
def test_lookup_needs_exactly_one_key(till, params):
    response = till.get(LOOKUP, params)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert response.json()["fields"]


def test_lookup_invalid_mobile_is_a_field_error(till):
    response = till.get(LOOKUP, {"mobile": "12345"})
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"mobile"}


def test_lookup_unknown_member_is_404(till):
    response = till.get(LOOKUP, {"mobile": "13900000000"})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_till_sees_suspended_as_not_transacting_but_not_pending_signups(till):
    suspended = MemberFactory(status=Member.Status.SUSPENDED)
    pending = MemberFactory(status=Member.Status.PENDING)
    body = till.get(LOOKUP, {"card": suspended.member_no}).json()
    assert body["status"] == "suspended"
    assert body["can_transact"] is False
    assert till.get(LOOKUP, {"card": pending.member_no}).status_code == 404


def test_staff_lookup_is_limited_to_their_store(desk, store):
    """SEC-3: staff see their store's members only; others look missing."""
    mine = MemberFactory(home_store=store)
    theirs = MemberFactory(home_store=StoreFactory())
    assert desk.get(LOOKUP, {"card": mine.member_no}).status_code == 200
    response = desk.get(LOOKUP, {"card": theirs.member_no})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_lookup_unauthenticated_is_401():
    response = APIClient().get(LOOKUP, {"card": MemberFactory().member_no})
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Device"


def test_revoked_or_wrong_device_token_is_401(till):
    member = MemberFactory()
    Device.objects.filter(pk=till.device.pk).update(is_active=False)
    assert till.get(LOOKUP, {"card": member.member_no}).status_code == 401
    wrong = APIClient()
    wrong.credentials(HTTP_AUTHORIZATION="Device abcd1234.not-the-secret")
    assert wrong.get(LOOKUP, {"card": member.member_no}).status_code == 401


def test_lookup_is_throttled_per_device(till, store, monkeypatch):
    monkeypatch.setattr(MemberLookupThrottle, "rate", "2/min", raising=False)
    member = MemberFactory()
    for _ in range(2):
        assert till.get(LOOKUP, {"card": member.member_no}).status_code == 200
    response = till.get(LOOKUP, {"card": member.member_no})
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    # another till of the same store has its own budget
    _device, token = device_create(name="Till 2", store=store)
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Device {token}")
    assert other.get(LOOKUP, {"card": member.member_no}).status_code == 200


# ---------------------------------------------------------------- SMS codes and till sign-up


def _till_code(till, sms_outbox, capture, mobile="13812345678") -> str:
    with capture(execute=True):
        response = till.post(SMS, {"mobile": mobile, "purpose": "till"}, format="json")
    assert response.status_code == 202, response.json()
    return re.search(r"(\d{6})", sms_outbox[-1].text).group(1)


TILL_SIGNUP = {"name": "李四", "mobile": "13812345678", "gender": "F", "birthday": "1992-05-01",
               "marketing_consent": True, "privacy_accepted": True}


def test_till_sends_sms_code_masked_and_resend_is_rate_limited(till, sms_outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = till.post(SMS, {"mobile": "13812345678", "purpose": "till"}, format="json")
    assert response.status_code == 202
    assert response.json()["mobile"] == "138****5678"
    assert sms_outbox[-1].mobile == "13812345678"
    again = till.post(SMS, {"mobile": "13812345678", "purpose": "till"}, format="json")
    assert again.status_code == 429
    assert again.json()["code"] == "too_soon"


@pytest.mark.parametrize("body,field", [({"mobile": "123", "purpose": "till"}, "mobile"),
                                        ({"mobile": "13812345678", "purpose": "signup"}, "purpose")])
def test_sms_code_bad_input(till, body, field):
    response = till.post(SMS, body, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_sms_code_is_for_devices_only(desk):
    assert desk.post(SMS, {"mobile": "13812345678", "purpose": "till"}, format="json").status_code == 403


def test_till_signup_with_code_is_active_in_the_till_store(till, store, sms_outbox,
                                                           django_capture_on_commit_callbacks):
    """MEM-1/6: a till sign-up verified by SMS is active at once; consent logged with channel till."""
    code = _till_code(till, sms_outbox, django_capture_on_commit_callbacks)
    response = till.post(CREATE, {**TILL_SIGNUP, "sms_code": code}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "active" and body["can_transact"] is True
    assert body["name"] == "李*" and body["mobile"] == "138****5678"
    assert_no_secrets(body)
    member = Member.objects.get(member_no=body["member_no"])
    assert member.home_store == store
    assert member.channel == Member.Channel.TILL
    assert set(ConsentLog.objects.filter(member=member).values_list("kind", "granted", "channel")) == {
        ("privacy", True, "till"), ("marketing", True, "till")}


def test_till_signup_wrong_or_missing_code_refused(till, sms_outbox, django_capture_on_commit_callbacks):
    code = _till_code(till, sms_outbox, django_capture_on_commit_callbacks)
    wrong = till.post(CREATE, {**TILL_SIGNUP, "sms_code": "111111" if code != "111111" else "222222"},
                      format="json")
    assert wrong.status_code == 400
    assert wrong.json()["code"] == "bad_code"
    missing = till.post(CREATE, TILL_SIGNUP, format="json")
    assert missing.status_code == 400
    assert "sms_code" in missing.json()["fields"]
    assert not Member.objects.exists()


def test_till_signup_without_privacy_does_not_spend_the_code(till, sms_outbox,
                                                             django_capture_on_commit_callbacks):
    code = _till_code(till, sms_outbox, django_capture_on_commit_callbacks)
    refused = till.post(CREATE, {**TILL_SIGNUP, "privacy_accepted": False, "sms_code": code}, format="json")
    assert refused.status_code == 400
    assert "privacy_accepted" in refused.json()["fields"]
    assert till.post(CREATE, {**TILL_SIGNUP, "sms_code": code}, format="json").status_code == 201


def test_till_signup_duplicate_mobile(till):
    MemberFactory(mobile="13812345678")
    response = till.post(CREATE, {**TILL_SIGNUP, "sms_code": "123456"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "duplicate"
    assert "mobile" in response.json()["fields"]


def test_till_cannot_register_corporate_members(till):
    body = {**TILL_SIGNUP, "sms_code": "123456",
            "corporate": {"company_name": "某某公司", "credit_code": "91110000600037341L", "contact_person": "王五"}}
    response = till.post(CREATE, body, format="json")
    assert response.status_code == 400
    assert "corporate" in response.json()["fields"]


# ---------------------------------------------------------------- desk sign-up


DESK_SIGNUP = {"name": "王五", "mobile": "13912345678", "gender": "M", "birthday": "1990-03-07",
               "id_number": "110101199003071233", "address": "北京市东城区某某街道1号", "email": "wangwu@example.com",
               "privacy_accepted": True, "id_number_consent": True}


def test_desk_signup_is_pending_and_masked(desk, store):
    """MEM-2: offline sign-ups wait for review; SEC-2: the answer is masked."""
    id_number = DESK_SIGNUP["id_number"]
    response = desk.post(CREATE, DESK_SIGNUP, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "pending"
    assert body["home_store"]["code"] == store.code
    assert body["mobile"] == "139****5678"
    assert body["id_number"] == id_number[:4] + "*" * 10 + id_number[-4:]
    assert body["email"] == "w****@example.com"
    assert "东城区某某街道1号" not in json.dumps(body, ensure_ascii=False)
    assert_no_secrets(body)


def test_desk_signup_corporate_member(desk):
    body = {**DESK_SIGNUP, "id_number": "",
            "corporate": {"company_name": "某某百货供应公司", "credit_code": "91110000600037341L",
                          "contact_person": "赵六"}}
    response = desk.post(CREATE, body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["kind"] == "corporate"
    assert response.json()["corporate"]["company_name"] == "某某百货供应公司"


def test_desk_signup_bad_input_names_fields(desk):
    response = desk.post(CREATE, {**DESK_SIGNUP, "id_number": "110101199003071235", "birthday": "1990-13-01",
                                  "mobile": "02112345678"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "birthday" in response.json()["fields"]
    response = desk.post(CREATE, {**DESK_SIGNUP, "id_number": "110101199003071235", "mobile": "02112345678"},
                         format="json")
    assert response.status_code == 400
    assert {"mobile", "id_number"} <= set(response.json()["fields"])


def test_desk_signup_duplicate_mobile(desk):
    MemberFactory(mobile="13912345678")
    response = desk.post(CREATE, {**DESK_SIGNUP, "id_number": ""}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "duplicate"


def test_desk_signup_needs_add_member_permission(store):
    auditor = staff_client(make_staff(roles.AUDITOR, store=store))
    response = auditor.post(CREATE, {**DESK_SIGNUP, "id_number": ""}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission"


# ---------------------------------------------------------------- detail, change requests, history


def test_staff_detail_is_masked_and_scoped(desk, store):
    member = MemberFactory(home_store=store, mobile="13712345678", email="someone@example.com")
    response = desk.get(f"/api/v1/members/{member.member_no}/")
    assert response.status_code == 200
    body = response.json()
    assert body["mobile"] == "137****5678"
    assert body["email"] == "s****@example.com"
    assert_no_secrets(body)
    other = MemberFactory(home_store=StoreFactory())
    assert desk.get(f"/api/v1/members/{other.member_no}/").status_code == 404


def test_chain_wide_staff_see_every_store():
    member = MemberFactory(home_store=StoreFactory())
    client = staff_client(make_staff(roles.CUSTOMER_SERVICE, chain_wide=True))
    assert client.get(f"/api/v1/members/{member.member_no}/").status_code == 200


def test_devices_cannot_read_profiles_or_history(till):
    member = MemberFactory()
    assert till.get(f"/api/v1/members/{member.member_no}/").status_code == 403
    assert till.get(f"/api/v1/members/{member.member_no}/changes/").status_code == 403
    assert till.patch(f"/api/v1/members/{member.member_no}/", {"city": "杭州市"}, format="json").status_code == 403


def test_detail_unauthenticated_is_401():
    assert APIClient().get(f"/api/v1/members/{MemberFactory().member_no}/").status_code == 401


def test_patch_creates_change_request_and_second_one_conflicts(desk, store, get_sms_code):
    """MEM-4: nothing changes until a second staff member approves; the new mobile is proved by its code."""
    member = MemberFactory(home_store=store, mobile="13712345678", city="上海市")
    url = f"/api/v1/members/{member.member_no}/"
    refused = desk.patch(url, {"mobile": "13612345678", "city": "杭州市"}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "mobile_unverified"
    code = get_sms_code("13612345678", purpose="change_mobile")
    response = desk.patch(url, {"mobile": "13612345678", "city": "杭州市", "sms_code": code}, format="json")
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["status"] == "pending"
    assert "136****5678" in body["summary"] and "13612345678" not in body["summary"]
    request = ChangeRequest.objects.get(pk=body["id"])
    assert request.requested_by == desk.user
    member.refresh_from_db()
    assert member.city == "上海市"
    again = desk.patch(url, {"city": "南京市"}, format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "pending_exists"


@pytest.mark.parametrize("body,field", [({"status": "active"}, "status"), ({"mobile": "123"}, "mobile"),
                                        ({"birthday": "not-a-date"}, "birthday")])
def test_patch_bad_input(desk, store, body, field):
    member = MemberFactory(home_store=store)
    response = desk.patch(f"/api/v1/members/{member.member_no}/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_patch_nothing_to_change(desk, store):
    member = MemberFactory(home_store=store)
    response = desk.patch(f"/api/v1/members/{member.member_no}/", {}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "no_change"


def test_patch_other_store_is_404_and_needs_permission(desk, store):
    other = MemberFactory(home_store=StoreFactory())
    assert desk.patch(f"/api/v1/members/{other.member_no}/", {"city": "杭州市"}, format="json").status_code == 404
    auditor = staff_client(make_staff(roles.AUDITOR, store=store))
    mine = MemberFactory(home_store=store)
    response = auditor.patch(f"/api/v1/members/{mine.member_no}/", {"city": "杭州市"}, format="json")
    assert response.status_code == 403
    assert not ChangeRequest.objects.exists()


def test_change_history_is_masked_and_scoped(desk, store, get_sms_code):
    member = MemberFactory(home_store=store, mobile="13712345678")
    code = get_sms_code("13612345678", purpose="change_mobile")
    change_id = desk.patch(f"/api/v1/members/{member.member_no}/", {"mobile": "13612345678", "sms_code": code},
                           format="json").json()["id"]
    reviewer = make_staff(roles.FRONT_DESK, store=store)
    change_request_review(request=ChangeRequest.objects.get(pk=change_id), reviewer=reviewer, approve=True)
    response = desk.get(f"/api/v1/members/{member.member_no}/changes/")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(r["field"], r["old_value"], r["new_value"]) for r in rows] == [("mobile", "137****5678", "136****5678")]
    assert rows[0]["change_request"] == change_id
    assert_no_secrets(rows)
    other = MemberFactory(home_store=StoreFactory())
    MemberChange.objects.create(member=other, field="name", old_value="a", new_value="b", actor_label="x",
                                channel="desk")
    assert desk.get(f"/api/v1/members/{other.member_no}/changes/").status_code == 404


# ---------------------------------------------------------------- consent


def test_staff_withdraws_marketing_consent_desk_channel(desk, store):
    """MEM-6: withdrawal at the desk, logged with channel."""
    member = MemberFactory(home_store=store, marketing_consent=True)
    response = desk.post(f"/api/v1/members/{member.member_no}/consents/", {"marketing": False}, format="json")
    assert response.status_code == 200
    assert response.json() == {"member_no": member.member_no, "marketing_consent": False}
    log = ConsentLog.objects.get(member=member)
    assert (log.kind, log.granted, log.channel, log.actor) == ("marketing", False, "desk", desk.user)


def test_till_records_consent_with_till_channel(till):
    member = MemberFactory(home_store=StoreFactory(), marketing_consent=False)
    response = till.post(f"/api/v1/members/{member.member_no}/consents/", {"marketing": True}, format="json")
    assert response.status_code == 200
    assert ConsentLog.objects.get(member=member).channel == "till"


def test_consent_bad_input_and_scope(desk):
    other = MemberFactory(home_store=StoreFactory())
    url = f"/api/v1/members/{other.member_no}/consents/"
    assert desk.post(url, {"marketing": False}, format="json").status_code == 404
    response = desk.post(url, {}, format="json")
    assert response.status_code == 400
    assert "marketing" in response.json()["fields"]
    assert not ConsentLog.objects.filter(member=other).exists()


# ---------------------------------------------------------------- device tokens, schema, docs


def test_create_device_command_prints_a_working_token_once(store):
    out, err = io.StringIO(), io.StringIO()
    call_command("create_device", "Till 9", "--store", store.code, stdout=out, stderr=err)
    token = out.getvalue().strip()
    device = Device.objects.get(name="Till 9")
    assert device.store == store
    assert token not in err.getvalue()
    assert device.key_hash not in token
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {token}")
    assert client.get(LOOKUP, {"card": MemberFactory().member_no}).status_code == 200


def test_create_device_unknown_store_fails():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("create_device", "Till 9", "--store", "NOPE", stdout=io.StringIO(), stderr=io.StringIO())


def test_openapi_schema_builds_without_warnings_and_documents_members(tmp_path):
    """`manage.py spectacular --validate --fail-on-warn` over the whole project."""
    target = tmp_path / "schema.json"
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", "--file", str(target))
    schema = json.loads(target.read_text())
    paths = schema["paths"]
    for path, method in [("/api/v1/members/lookup/", "get"), ("/api/v1/members/", "post"),
                         ("/api/v1/sms-codes/", "post"), ("/api/v1/members/{member_no}/", "get"),
                         ("/api/v1/members/{member_no}/", "patch"),
                         ("/api/v1/members/{member_no}/consents/", "post"),
                         ("/api/v1/members/{member_no}/changes/", "get")]:
        operation = paths[path][method]
        assert operation["tags"] == ["members"]
        # 414 is answered by gunicorn before Django, without a JSON body (core.api.document_common_errors)
        errors = [code for code in operation["responses"] if code.startswith("4") and code != "414"]
        assert errors and all(
            operation["responses"][code]["content"]["application/json"]["schema"]["$ref"]
            == "#/components/schemas/Error" for code in errors
        ), path
    lookup_params = {p["name"] for p in paths["/api/v1/members/lookup/"]["get"]["parameters"]}
    assert {"mobile", "card", "qr"} <= lookup_params
    assert "DeviceToken" in schema["components"]["securitySchemes"]


def test_api_docs_served_locally_without_cdn():
    response = APIClient().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert not re.search(r"https?://(cdn|unpkg|fonts)\.|jsdelivr|cdnjs", html), html
    assert APIClient().get("/api/schema/").status_code == 200


def test_lookup_and_detail_query_counts_are_flat(till, desk, store, django_assert_max_num_queries):
    member = MemberFactory(home_store=store)
    till.get(LOOKUP, {"card": member.member_no})  # first call stamps last_seen_at
    with django_assert_max_num_queries(2):
        assert till.get(LOOKUP, {"card": member.member_no}).status_code == 200
    with django_assert_max_num_queries(6):
        assert desk.get(f"/api/v1/members/{member.member_no}/").status_code == 200
