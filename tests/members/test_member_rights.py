"""Member lifecycle and rights (issue 15): periodic re-review dates (MEM-5, seed 002 二(二)3), a verified new
mobile (MEM-4, seed 002 二(三)1), privacy policy versions, the ID-number and guardian's consents (MEM-6, seed
003 2.5, PIPL art. 28-31) — through the services and the desk / portal pages."""
from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from core import crypto
from core.errors import Conflict, ValidationFailed
from members import roles
from members.models import ChangeRequest, ConsentLog, GuardianConsent, Member, MemberChange, MemberSettings
from members.portal_auth import SESSION_KEY
from members.review_schedule import review_dates_backfill
from members.selectors import current_privacy_version, rereview_due_for_staff
from members.services import (
    Actor,
    change_request_review,
    change_request_submit,
    consent_set_id_number,
    member_register_desk,
    member_register_online,
    member_register_till,
    member_rereview,
    member_review,
    privacy_policy_accept,
    privacy_policy_save,
)
from tests.factories import MemberFactory, StoreFactory, make_staff

pytestmark = [pytest.mark.django_db, pytest.mark.pinned_at("2026-11-25T12:00+08:00")]

VALID = {"name": "张三", "mobile": "13812345678", "gender": "M", "birthday": "1990-03-07"}
NEW_MOBILE = "13987654321"


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


def login_as(client, member: Member) -> None:
    session = client.session
    session[SESSION_KEY] = member.pk
    session.save()


def today() -> dt.date:
    return timezone.localdate()


# ---------------------------------------------------------------- MEM-5 periodic re-review


def test_desk_signup_and_approval_schedule_the_first_re_review_by_the_configured_interval():
    """MEM-5: next_review_on is set at registration and reset at approval, from MemberSettings."""
    MemberSettings.objects.filter(pk=1).update(review_interval_days=200)
    store = StoreFactory()
    clerk, reviewer = make_staff(store=store), make_staff(store=store)
    member = member_register_desk(data=VALID, staff=clerk, marketing=False, privacy_accepted=True)
    assert member.next_review_on == today() + dt.timedelta(days=200)
    member = member_review(member=member, reviewer=reviewer, approve=True)
    member.refresh_from_db()
    assert member.next_review_on == today() + dt.timedelta(days=200)


def test_online_signup_schedules_the_re_review(get_sms_code):
    code = get_sms_code("13812345678")
    member = member_register_online(data=VALID, sms_code=code, store=StoreFactory(), marketing=False,
                                    privacy_accepted=True)
    assert member.next_review_on == today() + dt.timedelta(days=MemberSettings.get().review_interval_days)


def test_backfill_puts_existing_members_on_their_sign_up_anniversary_set_wise():
    """Members without a date get the first anniversary on or after today; dated members are untouched."""
    store = StoreFactory()
    old = MemberFactory(home_store=store)
    recent = MemberFactory(home_store=store)
    dated = MemberFactory(home_store=store, next_review_on=dt.date(2030, 1, 1))
    closed = MemberFactory(home_store=store, status=Member.Status.CLOSED)
    Member.objects.filter(pk=old.pk).update(created_at=dt.datetime(2024, 3, 10, 12, tzinfo=dt.UTC))
    Member.objects.filter(pk=recent.pk).update(created_at=dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC))
    changed = review_dates_backfill(connection, today=today(), interval_days=365)
    assert changed == 2
    old.refresh_from_db(), recent.refresh_from_db(), dated.refresh_from_db(), closed.refresh_from_db()
    # 2024-03-10 + 365 = 2025-03-10 (past), + 730 = 2026-03-10 (past), + 1095 = 2027-03-10.
    assert old.next_review_on == dt.date(2024, 3, 10) + dt.timedelta(days=1095)
    assert recent.next_review_on == dt.date(2027, 11, 20)
    assert dated.next_review_on == dt.date(2030, 1, 1) and closed.next_review_on is None
    assert review_dates_backfill(connection, today=today(), interval_days=365) == 0


def test_desk_home_shows_the_re_review_queue_and_completing_a_review_sets_the_next_date(client):
    store = StoreFactory()
    due = MemberFactory(home_store=store, next_review_on=today() - dt.timedelta(days=1))
    MemberFactory(home_store=store, next_review_on=today() + dt.timedelta(days=30))
    staff = make_staff(roles.OPERATIONS_MANAGER, store=store)
    client.force_login(staff)
    html = client.get(reverse("desk:home")).content.decode()
    assert re.search(r'id="rereviews-due">1<', html)
    page = client.get(reverse("desk:rereviews")).content.decode()
    assert due.member_no in page
    detail = client.get(reverse("desk:member", args=[due.member_no])).content.decode()
    assert 'id="next-review">' in detail and due.next_review_on.isoformat() in detail
    response = client.post(reverse("desk:rereview_member", args=[due.member_no]), {"outcome": "confirmed"})
    assert response.status_code == 302
    due.refresh_from_db()
    assert due.next_review_on == today() + dt.timedelta(days=MemberSettings.get().review_interval_days)
    assert not rereview_due_for_staff(staff).exists()


def test_re_review_uses_the_configured_interval():
    MemberSettings.objects.filter(pk=1).update(review_interval_days=90)
    store = StoreFactory()
    member = MemberFactory(home_store=store, next_review_on=today())
    member = member_rereview(member=member, staff=make_staff(roles.OPERATIONS_MANAGER, store=store),
                             outcome="confirmed")
    assert member.next_review_on == today() + dt.timedelta(days=90)


# ---------------------------------------------------------------- MEM-4 a new mobile is verified first


def test_mobile_change_without_the_code_of_the_new_number_is_refused(get_sms_code):
    store = StoreFactory()
    member = MemberFactory(home_store=store)
    staff = make_staff(store=store)
    with pytest.raises(ValidationFailed) as exc:
        change_request_submit(member=member, changes={"mobile": NEW_MOBILE}, actor=Actor.staff(staff))
    assert exc.value.code == "mobile_unverified" and "sms_code" in exc.value.fields
    old_code = get_sms_code(crypto.decrypt(member.mobile_enc), purpose="change_mobile")  # the OLD number's code
    with pytest.raises(ValidationFailed):
        change_request_submit(member=member, changes={"mobile": NEW_MOBILE}, actor=Actor.staff(staff),
                              mobile_code=old_code)
    assert not ChangeRequest.objects.exists()


def test_verified_mobile_change_is_approved_and_applied(get_sms_code):
    store = StoreFactory()
    member = MemberFactory(home_store=store)
    clerk, reviewer = make_staff(store=store), make_staff(store=store)
    code = get_sms_code(NEW_MOBILE, purpose="change_mobile")
    request = change_request_submit(member=member, changes={"mobile": NEW_MOBILE}, actor=Actor.staff(clerk),
                                    mobile_code=code)
    assert request.mobile_verified_at is not None
    change_request_review(request=request, reviewer=reviewer, approve=True)
    member.refresh_from_db()
    assert crypto.decrypt(member.mobile_enc) == NEW_MOBILE


def test_approval_refuses_an_unverified_mobile_change_with_a_chinese_error():
    """A request from before verification existed (or written around the service) cannot be approved."""
    store = StoreFactory()
    member = MemberFactory(home_store=store)
    request = ChangeRequest.objects.create(
        member=member, channel="portal", summary="mobile: 139****4321",
        payload_enc=crypto.encrypt(json.dumps({"mobile": NEW_MOBILE})),
    )
    with pytest.raises(Conflict) as exc:
        change_request_review(request=request, reviewer=make_staff(store=store), approve=True)
    assert exc.value.code == "mobile_unverified"
    request.refresh_from_db()
    assert request.status == ChangeRequest.Status.PENDING


def test_desk_clerk_sends_a_code_to_the_new_number_and_enters_what_the_member_reads_out(
        client, sms_outbox, django_capture_on_commit_callbacks):
    store = StoreFactory()
    member = MemberFactory(home_store=store)
    client.force_login(make_staff(store=store))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("desk:member_change_send_code", args=[member.member_no]),
                               {"mobile": NEW_MOBILE}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "code-status ok" in response.content.decode()
    code = re.search(r"(\d{6})", sms_outbox[-1].text).group(1)
    url = reverse("desk:member_change_request", args=[member.member_no])
    response = client.post(url, {"mobile": NEW_MOBILE, "sms_code": "000000" if code != "000000" else "111111"})
    assert response.status_code == 400 and not ChangeRequest.objects.exists()
    code = _fresh_code(client, member, sms_outbox, django_capture_on_commit_callbacks)
    response = client.post(url, {"mobile": NEW_MOBILE, "sms_code": code})
    assert response.status_code == 302
    assert ChangeRequest.objects.get(member=member).mobile_verified_at is not None


def _fresh_code(client, member, sms_outbox, capture) -> str:
    # The resend wait is per number and purpose: let it pass instead of sleeping.
    from members.models import SmsCode

    SmsCode.objects.update(created_at=timezone.now() - dt.timedelta(minutes=5))
    with capture(execute=True):
        client.post(reverse("desk:member_change_send_code", args=[member.member_no]), {"mobile": NEW_MOBILE})
    return re.search(r"(\d{6})", sms_outbox[-1].text).group(1)


def test_portal_mobile_change_needs_the_code_of_the_new_number(client, sms_outbox, django_capture_on_commit_callbacks):
    member = MemberFactory()
    login_as(client, member)
    response = client.post(reverse("portal:profile"), {"name": member.name, "mobile": NEW_MOBILE})
    assert response.status_code == 200 and "sms_code" in response.context["form"].errors
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("portal:profile_send_code"), {"mobile": NEW_MOBILE}, HTTP_HX_REQUEST="true")
    code = re.search(r"(\d{6})", sms_outbox[-1].text).group(1)
    response = client.post(reverse("portal:profile"), {"name": member.name, "mobile": NEW_MOBILE, "sms_code": code})
    assert response.status_code == 302
    assert ChangeRequest.objects.get(member=member).mobile_verified_at is not None


# ---------------------------------------------------------------- privacy policy versions (MEM-6)


def _publish(version: str, *, effective_at=None):
    admin = make_staff(roles.DATA_PROTECTION, chain_wide=True)
    return privacy_policy_save(staff=admin, policy=None, data={
        "version": version, "title": "会员隐私政策", "text": "第二版正文", "summary_of_changes": "新增保存期限",
        "effective_at": effective_at or timezone.now() - dt.timedelta(minutes=1)})


def test_a_new_policy_version_is_accepted_at_the_next_portal_visit(client):
    member = MemberFactory()
    login_as(client, member)
    assert client.get(reverse("portal:home")).status_code == 200
    _publish("2026-12")
    response = client.get(reverse("portal:home"))
    assert response.status_code == 302 and response["Location"] == reverse("portal:privacy_accept")
    assert client.get(reverse("portal:my_data")).status_code == 200  # their data stays reachable
    page = client.get(reverse("portal:privacy_accept"))
    assert "第二版正文" in page.content.decode()
    response = client.post(reverse("portal:privacy_accept"), {"version": "2026-12", "accepted": "on"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.privacy_version == "2026-12"
    log = ConsentLog.objects.get(member=member, kind="privacy", version="2026-12")
    assert log.granted and log.channel == "portal"
    assert client.get(reverse("portal:home")).status_code == 200


def test_a_future_version_is_not_yet_asked_for_and_an_outdated_accept_is_refused():
    member = MemberFactory()
    _publish("2027-01", effective_at=timezone.now() + dt.timedelta(days=10))
    assert current_privacy_version() == "2026-11"
    with pytest.raises(Conflict):
        privacy_policy_accept(member=member, version="2027-01")


def test_a_version_in_effect_cannot_be_edited():
    policy = _publish("2026-12")
    with pytest.raises(Conflict) as exc:
        privacy_policy_save(staff=make_staff(roles.DATA_PROTECTION, chain_wide=True), policy=policy,
                            data={"text": "改写"})
    assert exc.value.code == "policy_in_effect"


def test_desk_sees_who_has_not_accepted_the_current_version(client):
    store = StoreFactory()
    behind = MemberFactory(home_store=store)
    _publish("2026-12")
    accepted = MemberFactory(home_store=store, privacy_version="2026-12")
    MemberFactory(privacy_version="2026-11")  # another store: not in this clerk's scope
    client.force_login(make_staff(store=store))
    html = client.get(reverse("desk:home")).content.decode()
    assert re.search(r'id="policy-pending">1<', html)
    page = client.get(reverse("desk:privacy_pending")).content.decode()
    assert behind.member_no in page and accepted.member_no not in page


# ---------------------------------------------------------------- ID number: sensitive, its own consent


def test_id_number_is_stored_only_with_its_separate_consent():
    store = StoreFactory()
    staff = make_staff(store=store)
    data = {**VALID, "birthday": "1949-12-31", "id_number": "11010519491231002X"}
    with pytest.raises(ValidationFailed) as exc:
        member_register_desk(data=data, staff=staff, marketing=False, privacy_accepted=True)
    assert "id_number_consent" in exc.value.fields
    member = member_register_desk(data=data, staff=staff, marketing=False, privacy_accepted=True,
                                  id_number_consent=True)
    assert member.id_number_consent and member.id_number_enc
    assert ConsentLog.objects.filter(member=member, kind="id_number", granted=True).exists()


def test_withdrawing_the_id_number_consent_erases_the_number_with_a_record(client):
    member = MemberFactory(id_number_enc=crypto.encrypt("11010519491231002X"),
                           id_number_hash=crypto.lookup_hash("11010519491231002X"),
                           id_number_masked="110105********002X", id_number_consent=True)
    login_as(client, member)
    response = client.post(reverse("portal:consent_id_number"), {"granted": "0"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.id_number_enc is None and member.id_number_hash is None and member.id_number_masked == ""
    assert not member.id_number_consent
    assert ConsentLog.objects.filter(member=member, kind="id_number", granted=False).exists()
    assert MemberChange.objects.filter(member=member, field="id_number", new_value="").exists()
    # Idempotent: withdrawing again writes nothing.
    consent_set_id_number(member=member, granted=False, channel="portal", actor=Actor.member())
    assert ConsentLog.objects.filter(member=member, kind="id_number").count() == 1


def test_desk_records_the_id_number_consent(client):
    store = StoreFactory()
    member = MemberFactory(home_store=store)
    client.force_login(make_staff(store=store))
    response = client.post(reverse("desk:member_id_consent", args=[member.member_no]), {"granted": "1"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.id_number_consent
    log = ConsentLog.objects.get(member=member, kind="id_number")
    assert log.channel == "desk" and log.actor is not None


# ---------------------------------------------------------------- under 14: the guardian's consent


CHILD = {**VALID, "name": "小明", "birthday": "2018-05-01"}
GUARDIAN = {"guardian_name": "张大明", "guardian_relation": "父亲", "guardian_mobile": "13700001111",
            "guardian_verified_how": "id_seen"}


def test_desk_signup_of_a_child_needs_the_guardians_consent():
    store = StoreFactory()
    staff = make_staff(store=store)
    with pytest.raises(ValidationFailed) as exc:
        member_register_desk(data=CHILD, staff=staff, marketing=False, privacy_accepted=True)
    assert exc.value.code == "guardian_required" and "guardian_name" in exc.value.fields
    member = member_register_desk(data=CHILD, staff=staff, marketing=False, privacy_accepted=True,
                                  guardian=GUARDIAN)
    consent = GuardianConsent.objects.get(member=member)
    assert consent.guardian_mobile_masked == "137****1111" and consent.verified_how == "id_seen"
    assert ConsentLog.objects.filter(member=member, kind="guardian", granted=True).exists()


def test_approval_of_a_child_without_the_guardians_consent_is_refused():
    store = StoreFactory()
    child = MemberFactory(home_store=store, status=Member.Status.PENDING, birthday=dt.date(2018, 5, 1),
                          created_by=make_staff(store=store))
    with pytest.raises(Conflict) as exc:
        member_review(member=child, reviewer=make_staff(store=store), approve=True)
    assert exc.value.code == "guardian_required"


def test_desk_signup_page_records_the_guardian(client):
    store = StoreFactory()
    client.force_login(make_staff(store=store))
    response = client.post(reverse("desk:member_new"), {
        "kind": "personal", **CHILD, "privacy_accepted": "on", **GUARDIAN, "guardian_relation": "母亲"})
    assert response.status_code == 302
    assert GuardianConsent.objects.get().relation == "母亲"
    response = client.post(reverse("desk:member_new"), {
        "kind": "personal", **CHILD, "mobile": "13600002222", "privacy_accepted": "on"})
    assert response.status_code == 400 and "guardian_name" in response.context["form"].errors


def test_online_signup_of_a_child_is_by_the_guardian_with_the_verified_mobile(get_sms_code):
    store = StoreFactory()
    code = get_sms_code("13812345678")
    with pytest.raises(ValidationFailed) as exc:
        member_register_online(data=CHILD, sms_code=code, store=store, marketing=False, privacy_accepted=True,
                               guardian=GUARDIAN)
    assert "guardian_mobile" in exc.value.fields
    member = member_register_online(data=CHILD, sms_code=code, store=store, marketing=False,
                                    privacy_accepted=True, guardian={**GUARDIAN, "guardian_mobile": "13812345678"})
    assert GuardianConsent.objects.get(member=member).verified_how == "sms"


def test_a_till_does_not_sign_up_a_child():
    with pytest.raises(ValidationFailed) as exc:
        member_register_till(data=CHILD, sms_code="123456", store=StoreFactory(), device_label="till",
                             marketing=False, privacy_accepted=True)
    assert exc.value.code == "guardian_required"


def test_backfill_command_schedules_members_without_a_date():
    from io import StringIO

    from django.core.management import call_command

    member = MemberFactory()
    out = StringIO()
    call_command("backfill_review_dates", stdout=out)
    member.refresh_from_db()
    assert member.next_review_on is not None and "1 members" in out.getvalue()


def test_desk_records_a_guardians_consent_so_a_pending_child_can_be_approved(client):
    store = StoreFactory()
    clerk = make_staff(store=store)
    child = MemberFactory(home_store=store, status=Member.Status.PENDING, birthday=dt.date(2018, 5, 1),
                          created_by=make_staff(store=store))
    client.force_login(clerk)
    page = client.get(reverse("desk:member", args=[child.member_no])).content.decode()
    assert 'id="guardian-form"' in page
    url = reverse("desk:member_guardian_consent", args=[child.member_no])
    response = client.post(url, {**GUARDIAN, "guardian_mobile": "123"})
    assert response.status_code == 400 and not GuardianConsent.objects.exists()
    assert client.post(url, GUARDIAN).status_code == 302
    member_review(member=child, reviewer=clerk, approve=True)
    child.refresh_from_db()
    assert child.status == Member.Status.ACTIVE
    adult = MemberFactory(home_store=store)
    assert client.post(reverse("desk:member_guardian_consent", args=[adult.member_no]), GUARDIAN).status_code == 400


def test_desk_records_the_acceptance_of_the_new_version_for_a_member_present(client):
    store = StoreFactory()
    member = MemberFactory(home_store=store)
    _publish("2026-12")
    clerk = make_staff(store=store)
    client.force_login(clerk)
    page = client.get(reverse("desk:member", args=[member.member_no])).content.decode()
    assert 'id="privacy-accept-form"' in page
    url = reverse("desk:member_privacy_accept", args=[member.member_no])
    assert client.post(url, {"version": "2026-11"}).status_code == 409  # an outdated version is refused
    assert client.post(url, {"version": "2026-12"}).status_code == 302
    member.refresh_from_db()
    assert member.privacy_version == "2026-12"
    log = ConsentLog.objects.get(member=member, kind="privacy", version="2026-12")
    assert log.channel == "desk" and log.actor == clerk


def test_closing_the_account_logs_the_end_of_the_id_number_consent():
    from members.services import member_close

    member = MemberFactory(id_number_consent=True, id_number_enc=crypto.encrypt("11010519491231002X"))
    member_close(member=member, actor=Actor.member())
    member.refresh_from_db()
    assert member.id_number_enc is None and not member.id_number_consent
    assert ConsentLog.objects.filter(member=member, kind="id_number", granted=False).exists()


def test_a_change_request_that_makes_the_member_a_child_needs_the_guardians_consent():
    """PIPL art. 31 also when the birthday is corrected later: approval waits for the guardian."""
    from members.services import guardian_consent_record

    store = StoreFactory()
    member = MemberFactory(home_store=store, birthday=dt.date(1990, 3, 7))
    clerk, reviewer = make_staff(store=store), make_staff(store=store)
    request = change_request_submit(member=member, changes={"birthday": "2018-05-01"}, actor=Actor.staff(clerk))
    with pytest.raises(Conflict) as exc:
        change_request_review(request=request, reviewer=reviewer, approve=True)
    assert exc.value.code == "guardian_required"
    assert ChangeRequest.objects.get(pk=request.pk).status == ChangeRequest.Status.PENDING  # nothing applied
    guardian_consent_record(member=member, guardian=GUARDIAN, staff=clerk)
    change_request_review(request=request, reviewer=reviewer, approve=True)
    member.refresh_from_db()
    assert member.birthday == dt.date(2018, 5, 1)


def test_an_imported_child_is_refused_with_the_way_to_register_at_the_desk():
    from members.importing import member_import

    StoreFactory(code="SH01")
    rows = [{"name": "小红", "mobile": "13800000021", "birthday": "2016-01-01", "store_code": "SH01",
             "marketing_consent": "否"},
            {"name": "大红", "mobile": "13800000022", "birthday": "1996-01-01", "store_code": "SH01",
             "marketing_consent": "否"}]
    report = member_import(rows=rows, store_default=None, actor_user=None, dry_run=True)
    assert [(e.row, e.field) for e in report.errors] == [(2, "birthday")]
    assert "服务台" in report.errors[0].message or "desk" in report.errors[0].message
