"""Staff desk pages (MEM-1..7, MEM-9, SEC-2, SEC-3) through the Django test client."""
import csv
import io

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from core import crypto
from core.models import AuditLog
from members import roles
from members.models import ChangeRequest, ConsentLog, CorporateProfile, Member, MemberTag, Tag
from members.services import Actor, change_request_submit, member_register_desk
from tests.factories import MemberFactory, StoreFactory, make_staff

pytestmark = pytest.mark.django_db

MOBILE = "13912345678"
SIGNUP = {
    "kind": "personal", "name": "李四", "mobile": "13812345678", "gender": "F", "birthday": "1990-01-05",
    "email": "ls@example.com", "privacy_accepted": "on",
}


@pytest.fixture
def store():
    return StoreFactory()


@pytest.fixture
def desk(store):
    return make_staff(roles.FRONT_DESK, store=store)


@pytest.fixture
def member(store):
    return MemberFactory(home_store=store, mobile=MOBILE, name="王小明")


@pytest.fixture(autouse=True)
def _english(settings):
    """Assertions read English messages; the zh-hans catalogue must not change what is tested."""
    settings.LANGUAGE_CODE = "en"


def page_messages(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def url(name, *args):
    return reverse(f"desk:{name}", args=args)


# ---------------------------------------------------------------- access


def test_anonymous_and_non_staff_are_sent_to_the_staff_login(client):
    response = client.get(url("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("staff_login"))
    user = User.objects.create_user("customer", password="x-very-long-1", is_staff=False)
    client.force_login(user)
    response = client.get(url("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("staff_login"))


def test_home_shows_review_queue_counts(client, desk, store):
    other = make_staff(roles.FRONT_DESK, store=store)
    member_register_desk(data={"name": "赵六", "mobile": "13700001111"}, staff=other, marketing=False,
                         privacy_accepted=True)
    member_register_desk(data={"name": "钱七", "mobile": "13700002222"}, staff=make_staff(), marketing=False,
                         privacy_accepted=True)  # another store: not counted
    client.force_login(desk)
    response = client.get(url("home"))
    assert response.status_code == 200
    assert response.context["pending_signups"] == 1
    assert response.context["pending_changes"] == 0
    assert b'id="pending-signups">1<' in response.content


# ---------------------------------------------------------------- search


def test_search_list_is_masked_store_scoped_and_query_bounded(client, desk, store, django_assert_max_num_queries):
    """SEC-2 masked list, SEC-3 store scope, no query per row."""
    for i in range(30):
        MemberFactory(home_store=store, name=f"张{i:02d}", mobile=f"136000000{i:02d}")
    MemberFactory(name="张外店")  # another store
    client.force_login(desk)
    client.get(url("home"))  # warm the session
    with django_assert_max_num_queries(10):
        response = client.get(url("search"), {"q": "张"})
    assert response.status_code == 200
    page = response.context["page"]
    assert page.paginator.count == 30
    assert len(page.object_list) == 25
    body = response.content.decode()
    assert "136****0029" in body
    assert "13600000029" not in body
    assert "张外店" not in body
    response = client.get(url("search"), {"q": "张", "page": 2})
    assert len(response.context["page"].object_list) == 5


def test_search_by_full_mobile_opens_the_member(client, desk, member):
    client.force_login(desk)
    response = client.get(url("search"), {"q": MOBILE})
    assert response.status_code == 302
    assert response["Location"] == url("member", member.member_no)


def test_search_does_not_find_other_stores_member_by_mobile(client, desk):
    MemberFactory(mobile="13511112222")
    client.force_login(desk)
    response = client.get(url("search"), {"q": "13511112222"})
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 0


def test_desk_csv_export_is_masked_audited_and_needs_export_permission(client, store):
    MemberFactory(home_store=store, name="张三丰", mobile="13600001234")
    manager = make_staff(roles.OPERATIONS_MANAGER, store=store)
    client.force_login(manager)
    response = client.get(url("search_export"), {"q": "张"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 2
    assert "136****1234" in rows[1]
    assert "张**" in rows[1]
    assert "13600001234" not in text and "张三丰" not in text
    assert AuditLog.objects.filter(actor=manager, action=AuditLog.Action.EXPORT).count() == 1

    client.force_login(make_staff(roles.FRONT_DESK, store=store))
    assert client.get(url("search_export"), {"q": "张"}).status_code == 403


# ---------------------------------------------------------------- member 360


def test_member_page_renders_masked_with_ecard_and_slots(client, desk, member):
    client.force_login(desk)
    response = client.get(url("member", member.member_no))
    assert response.status_code == 200
    body = response.content.decode()
    assert "139****5678" in body
    assert MOBILE not in body
    assert "<svg" in body
    assert 'id="panel-points"' in body and 'id="panel-service"' in body
    assert url("member_reveal", member.member_no, "mobile") in body


def test_member_page_query_count_does_not_grow_with_tags_and_history(client, desk, member,
                                                                     django_assert_max_num_queries):
    for i in range(8):
        tag = Tag.objects.create(name=f"标签{i}")
        client.force_login(desk)
        client.post(url("member_tag_add", member.member_no), {"tag": tag.pk})
        client.post(url("member_consent", member.member_no), {"granted": "1" if i % 2 == 0 else "0"})
    assert MemberTag.objects.filter(member=member).count() == 8
    assert ConsentLog.objects.filter(member=member).count() == 8
    with django_assert_max_num_queries(14):
        response = client.get(url("member", member.member_no))
    assert response.status_code == 200


def test_member_page_of_another_store_is_404(client, desk):
    stranger = MemberFactory()
    client.force_login(desk)
    assert client.get(url("member", stranger.member_no)).status_code == 404
    assert client.post(url("member_reveal", stranger.member_no, "mobile")).status_code == 404
    assert client.post(url("member_consent", stranger.member_no), {"granted": "1"}).status_code == 404
    assert AuditLog.objects.count() == 0


def test_chain_wide_staff_sees_every_store(client, member):
    client.force_login(make_staff(roles.CUSTOMER_SERVICE, chain_wide=True))
    assert client.get(url("member", member.member_no)).status_code == 200


def test_reveal_returns_full_value_and_writes_audit_log(client, desk, member):
    """SEC-2: each full view is audit-logged with who, what and the IP."""
    client.force_login(desk)
    response = client.post(url("member_reveal", member.member_no, "mobile"), HTTP_HX_REQUEST="true",
                           REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 200
    assert MOBILE in response.content.decode()
    log = AuditLog.objects.get()
    assert (log.actor, log.action, log.member, log.field, log.ip) == (desk, "reveal", member, "mobile", "10.1.2.3")


def test_reveal_refused_for_auditor_without_audit_row(client, store, member):
    auditor = make_staff(roles.AUDITOR, store=store)
    client.force_login(auditor)
    page = client.get(url("member", member.member_no))
    assert page.status_code == 200
    assert url("member_reveal", member.member_no, "mobile") not in page.content.decode()
    response = client.post(url("member_reveal", member.member_no, "mobile"))
    assert response.status_code == 403
    assert MOBILE not in response.content.decode()
    assert AuditLog.objects.count() == 0


def test_reveal_needs_post_and_a_known_field(client, desk, member):
    client.force_login(desk)
    assert client.get(url("member_reveal", member.member_no, "mobile")).status_code == 405
    assert client.post(url("member_reveal", member.member_no, "name")).status_code == 404
    assert AuditLog.objects.count() == 0


def test_status_change_needs_reason_and_permission(client, store, member):
    """MEM-5."""
    manager = make_staff(roles.OPERATIONS_MANAGER, store=store)
    client.force_login(manager)
    response = client.post(url("member_status", member.member_no), {"action": "suspend", "reason": " "})
    assert response.status_code == 400
    assert response.context["status_form"].errors["reason"]
    member.refresh_from_db()
    assert member.status == Member.Status.ACTIVE

    response = client.post(url("member_status", member.member_no), {"action": "suspend", "reason": "虚假资料"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.status == Member.Status.SUSPENDED
    assert member.status_reason == "虚假资料"

    # an illegal transition comes back as a form error, not a crash
    response = client.post(url("member_status", member.member_no), {"action": "suspend", "reason": "again"})
    assert response.status_code == 400
    assert "cannot be changed" in str(response.context["status_form"].non_field_errors())

    client.force_login(make_staff(roles.FRONT_DESK, store=store))
    response = client.post(url("member_status", member.member_no), {"action": "reinstate", "reason": "ok"})
    assert response.status_code == 403
    member.refresh_from_db()
    assert member.status == Member.Status.SUSPENDED


def test_manual_tags_added_and_removed(client, desk, member):
    """MEM-7."""
    tag = Tag.objects.create(name="母婴")
    rule_tag = Tag.objects.create(name="高净值", kind=Tag.Kind.RULE, rule={"tier": ["gold"]})
    client.force_login(desk)
    assert client.post(url("member_tag_add", member.member_no), {"tag": tag.pk}).status_code == 302
    assert MemberTag.objects.filter(member=member, tag=tag, added_by=desk).exists()
    response = client.post(url("member_tag_add", member.member_no), {"tag": rule_tag.pk})
    assert response.status_code == 400
    assert not MemberTag.objects.filter(tag=rule_tag).exists()
    assert client.post(url("member_tag_remove", member.member_no, tag.pk)).status_code == 302
    assert not MemberTag.objects.filter(member=member).exists()


def test_desk_consent_toggle_is_logged_with_channel_desk(client, desk, member):
    """MEM-6."""
    client.force_login(desk)
    response = client.post(url("member_consent", member.member_no), {"granted": "1"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.marketing_consent is True
    log = ConsentLog.objects.get(member=member)
    assert (log.kind, log.granted, log.channel, log.actor) == ("marketing", True, "desk", desk)
    page = client.get(url("member", member.member_no))
    assert page.context["consents"][0] == log


def test_auditor_cannot_toggle_consent(client, store, member):
    client.force_login(make_staff(roles.AUDITOR, store=store))
    assert client.post(url("member_consent", member.member_no), {"granted": "1"}).status_code == 403
    assert not ConsentLog.objects.exists()


def test_change_request_from_the_desk_is_masked_and_pending(client, desk, member, get_sms_code):
    """MEM-4."""
    client.force_login(desk)
    response = client.post(url("member_change_request", member.member_no), {"mobile": "12345"})
    assert response.status_code == 400
    assert response.context["change_form"].errors["mobile"]
    response = client.post(url("member_change_request", member.member_no), {})
    assert response.status_code == 400
    assert not ChangeRequest.objects.exists()

    code = get_sms_code("13700009999", purpose="change_mobile")  # MEM-4: the member reads it out
    response = client.post(url("member_change_request", member.member_no),
                           {"mobile": "13700009999", "province": "330000", "city": "330100",
                            "sms_code": code})
    assert response.status_code == 302
    cr = ChangeRequest.objects.get(member=member)
    assert cr.status == "pending" and cr.requested_by == desk
    assert "137****9999" in cr.summary and "13700009999" not in cr.summary
    page = client.get(url("member", member.member_no))
    assert "137****9999" in page.content.decode()
    assert "13700009999" not in page.content.decode()
    # a second one is refused while the first waits
    response = client.post(url("member_change_request", member.member_no), {"province": "330000", "city": "330200"})
    assert response.status_code == 400
    assert "already waiting for review" in response.content.decode()
    assert ChangeRequest.objects.filter(member=member).count() == 1


# ---------------------------------------------------------------- desk sign-up


def test_desk_signup_goes_to_the_review_queue(client, desk, store):
    """MEM-1, MEM-2."""
    client.force_login(desk)
    assert client.get(url("member_new")).status_code == 200
    response = client.post(url("member_new"), {**SIGNUP, "marketing": "on"})
    assert response.status_code == 302
    member = Member.objects.get(mobile_hash=crypto.lookup_hash("13812345678"))
    assert member.status == Member.Status.PENDING
    assert member.home_store == store and member.created_by == desk and member.channel == "desk"
    assert member.marketing_consent is True
    assert response["Location"] == url("member", member.member_no)


def test_desk_signup_shows_field_errors(client, desk):
    client.force_login(desk)
    response = client.post(url("member_new"), {**SIGNUP, "mobile": "12345", "email": "nope"})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "mobile" in errors and "email" in errors
    body = response.content.decode()
    assert 'id="field-mobile"' in body and "has-error" in body
    response = client.post(url("member_new"), {k: v for k, v in SIGNUP.items() if k != "privacy_accepted"})
    assert response.status_code == 400
    assert "privacy_accepted" in response.context["form"].errors
    assert not Member.objects.exists()


def test_corporate_signup_with_invalid_credit_code_is_refused(client, desk):
    client.force_login(desk)
    data = {**SIGNUP, "kind": "corporate", "name": "", "company_name": "杭州示例有限公司",
            "credit_code": "91110000600037341A", "contact_person": "周经理"}
    response = client.post(url("member_new"), data)
    assert response.status_code == 400
    assert "credit_code" in response.context["form"].errors
    assert not Member.objects.exists()

    response = client.post(url("member_new"), {**data, "credit_code": "91110000600037341L"})
    assert response.status_code == 302
    member = Member.objects.get()
    assert member.kind == Member.Kind.CORPORATE and member.name == "杭州示例有限公司"
    assert CorporateProfile.objects.get(member=member).credit_code == "91110000600037341L"
    page = client.get(url("member", member.member_no))
    assert "91110000600037341L" in page.content.decode() and "周经理" in page.content.decode()


def test_auditor_cannot_open_signup(client, store):
    client.force_login(make_staff(roles.AUDITOR, store=store))
    assert client.get(url("member_new")).status_code == 403


# ---------------------------------------------------------------- review queues


@pytest.fixture
def pending(desk):
    return member_register_desk(data={"name": "孙八", "mobile": "13800001111"}, staff=desk, marketing=False,
                                privacy_accepted=True)


def test_review_queue_lists_and_second_staff_approves(client, store, pending):
    reviewer = make_staff(roles.CUSTOMER_SERVICE, store=store)
    client.force_login(reviewer)
    page = client.get(url("reviews"))
    assert page.status_code == 200
    assert pending.member_no in page.content.decode()
    response = client.post(url("review_signup", pending.member_no), {"decision": "approve"})
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == Member.Status.ACTIVE and pending.reviewed_by == reviewer


def test_registering_staff_cannot_approve_own_signup(client, desk, pending):
    """MEM-2 four eyes: the service refuses and the page says why."""
    client.force_login(desk)
    response = client.post(url("review_signup", pending.member_no), {"decision": "approve"}, follow=True)
    assert response.status_code == 200
    assert "second staff member" in page_messages(response)
    pending.refresh_from_db()
    assert pending.status == Member.Status.PENDING


def test_reject_needs_a_reason(client, store, pending):
    client.force_login(make_staff(roles.FRONT_DESK, store=store))
    response = client.post(url("review_signup", pending.member_no), {"decision": "reject", "reason": ""},
                           follow=True)
    assert "Give the reason for the rejection." in page_messages(response)
    pending.refresh_from_db()
    assert pending.status == Member.Status.PENDING
    client.post(url("review_signup", pending.member_no), {"decision": "reject", "reason": "资料不全"})
    pending.refresh_from_db()
    assert pending.status == Member.Status.REJECTED and pending.status_reason == "资料不全"


def test_review_of_another_store_is_404_and_auditor_refused(client, store, pending):
    client.force_login(make_staff(roles.FRONT_DESK))
    assert client.post(url("review_signup", pending.member_no), {"decision": "approve"}).status_code == 404
    client.force_login(make_staff(roles.AUDITOR, store=store))
    assert client.get(url("reviews")).status_code == 403
    assert client.post(url("review_signup", pending.member_no), {"decision": "approve"}).status_code == 403
    pending.refresh_from_db()
    assert pending.status == Member.Status.PENDING


def test_change_request_review_through_the_page(client, desk, store, member, get_sms_code):
    """MEM-4: approved by a second staff member, applied with masked history; requester refused."""
    cr = change_request_submit(member=member, changes={"mobile": "13700005555"}, actor=Actor.staff(desk),
                               mobile_code=get_sms_code("13700005555", purpose="change_mobile"))
    client.force_login(desk)
    page = client.get(url("reviews"))
    assert "137****5555" in page.content.decode() and "13700005555" not in page.content.decode()
    response = client.post(url("review_change", cr.pk), {"decision": "approve"}, follow=True)
    assert "second staff member" in page_messages(response)
    cr.refresh_from_db()
    assert cr.status == "pending"

    client.force_login(make_staff(roles.FRONT_DESK))  # other store
    assert client.post(url("review_change", cr.pk), {"decision": "approve"}).status_code == 404

    client.force_login(make_staff(roles.CUSTOMER_SERVICE, store=store))
    assert client.post(url("review_change", cr.pk), {"decision": "approve"}).status_code == 302
    cr.refresh_from_db()
    member.refresh_from_db()
    assert cr.status == "approved"
    assert member.mobile_masked == "137****5555"


# ---------------------------------------------------------------- audit log


def test_audit_log_page_for_auditors_with_filters(client, store, desk, member):
    client.force_login(desk)
    client.post(url("member_reveal", member.member_no, "mobile"))
    client.post(url("member_reveal", member.member_no, "id_number"))
    other = MemberFactory()
    AuditLog.objects.create(actor_label="x", action="reveal", member=other, field="mobile")  # other store

    auditor = make_staff(roles.AUDITOR, store=store)
    client.force_login(auditor)
    response = client.get(url("audit_log"))
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 2
    response = client.get(url("audit_log"), {"member_no": member.member_no, "action": "reveal",
                                             "staff": desk.username})
    assert response.context["page"].paginator.count == 2
    response = client.get(url("audit_log"), {"action": "review"})
    assert response.context["page"].paginator.count == 0
    response = client.get(url("audit_log"), {"date_from": "2030-01-02", "date_to": "2030-01-01"})
    assert response.context["form"].errors["date_to"]

    client.force_login(desk)
    assert client.get(url("audit_log")).status_code == 403
