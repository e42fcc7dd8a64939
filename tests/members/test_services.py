"""Member lifecycle services (MEM-1..7, SEC-2..4)."""
import datetime as dt

import pytest

from core import crypto
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.models import AuditLog
from members import roles
from members.models import ChangeRequest, ConsentLog, Member, MemberChange
from members.selectors import rereview_due_for_staff
from members.services import (
    Actor,
    change_request_review,
    change_request_submit,
    consent_set_marketing,
    corporate_buyer_link,
    member_close,
    member_register_desk,
    member_register_online,
    member_rereview,
    member_reveal,
    member_review,
    member_set_status,
)
from tests.factories import MemberFactory, StoreFactory, make_staff

pytestmark = pytest.mark.django_db

VALID = {"name": "张三", "mobile": "13812345678", "gender": "M", "birthday": "1990-03-07", "email": "zs@example.com"}


def test_online_signup_with_sms_code_is_active_and_records_consent(get_sms_code):
    """MEM-1, MEM-2, MEM-6."""
    store = StoreFactory()
    code = get_sms_code("13812345678", ip="1.2.3.4")
    member = member_register_online(data=VALID, sms_code=code, store=store, marketing=False,
                                    privacy_accepted=True)
    assert member.status == Member.Status.ACTIVE
    assert member.mobile_masked == "138****5678"
    assert "13812345678" not in member.mobile_enc
    assert crypto.decrypt(member.mobile_enc) == "13812345678"
    kinds = {(c.kind, c.granted) for c in ConsentLog.objects.filter(member=member)}
    assert kinds == {("privacy", True), ("marketing", False)}
    assert len(member.member_no) == 12


def test_online_signup_wrong_code_refused_and_code_single_use(get_sms_code):
    store = StoreFactory()
    code = get_sms_code("13812345678")
    with pytest.raises(ValidationFailed) as exc:
        member_register_online(data=VALID, sms_code="000000" if code != "000000" else "111111",
                               store=store, marketing=False, privacy_accepted=True)
    assert "sms_code" in exc.value.fields
    member_register_online(data=VALID, sms_code=code, store=store, marketing=False, privacy_accepted=True)
    with pytest.raises(ValidationFailed):
        member_register_online(data={**VALID, "mobile": "13812345678"}, sms_code=code, store=store,
                               marketing=False, privacy_accepted=True)


@pytest.mark.parametrize(
    "field,value",
    [("mobile", "12345"), ("mobile", "02112345678"), ("id_number", "110101199003071235"),
     ("birthday", (dt.date.today() + dt.timedelta(days=2)).isoformat()), ("email", "not-an-email"), ("name", "")],
)
def test_field_level_errors(field, value):
    """MEM-1: format checks say which field is wrong."""
    staff = make_staff()
    with pytest.raises(ValidationFailed) as exc:
        member_register_desk(data={**VALID, field: value}, staff=staff, marketing=False, privacy_accepted=True)
    assert field in exc.value.fields


def test_duplicate_mobile_refused_with_message():
    staff = make_staff()
    MemberFactory(mobile="13812345678")
    with pytest.raises(ValidationFailed) as exc:
        member_register_desk(data=VALID, staff=staff, marketing=False, privacy_accepted=True)
    assert exc.value.code == "duplicate"
    assert "mobile" in exc.value.fields


def test_desk_signup_needs_second_staff_to_approve():
    """MEM-2: four eyes."""
    store = StoreFactory()
    clerk = make_staff(store=store)
    other = make_staff(store=store)
    member = member_register_desk(data=VALID, staff=clerk, marketing=True, privacy_accepted=True)
    assert member.status == Member.Status.PENDING
    with pytest.raises(PermissionDenied):
        member_review(member=member, reviewer=clerk, approve=True)
    member = member_review(member=member, reviewer=other, approve=True)
    assert member.status == Member.Status.ACTIVE
    with pytest.raises(Conflict):
        member_review(member=member, reviewer=other, approve=True)


def test_rejection_keeps_reason_and_frees_the_mobile():
    store = StoreFactory()
    clerk, other = make_staff(store=store), make_staff(store=store)
    member = member_register_desk(data=VALID, staff=clerk, marketing=False, privacy_accepted=True)
    with pytest.raises(ValidationFailed):
        member_review(member=member, reviewer=other, approve=False, reason=" ")
    member = member_review(member=member, reviewer=other, approve=False, reason="身份证照片不清晰")
    assert member.status == Member.Status.REJECTED and member.status_reason == "身份证照片不清晰"
    again = member_register_desk(data=VALID, staff=clerk, marketing=False, privacy_accepted=True)
    assert again.status == Member.Status.PENDING


def test_staff_of_another_store_cannot_review():
    """MEM-9: store scope."""
    clerk = make_staff()
    outsider = make_staff()
    member = member_register_desk(data=VALID, staff=clerk, marketing=False, privacy_accepted=True)
    with pytest.raises(NotFound):
        member_review(member=member, reviewer=outsider, approve=True)
    chain = make_staff(chain_wide=True)
    assert member_review(member=member, reviewer=chain, approve=True).status == Member.Status.ACTIVE


def test_change_request_applies_on_approval_with_masked_history(get_sms_code):
    """MEM-4 (the new mobile proved by the code sent to it)."""
    store = StoreFactory()
    clerk, other = make_staff(store=store), make_staff(store=store)
    member = MemberFactory(home_store=store, mobile="13812345678")
    req = change_request_submit(member=member, changes={"mobile": "13987654321", "occupation": "教师"},
                                actor=Actor.staff(clerk),
                                mobile_code=get_sms_code("13987654321", purpose="change_mobile"))
    member.refresh_from_db()
    assert member.mobile_masked == "138****5678"  # nothing applied yet
    with pytest.raises(PermissionDenied):
        change_request_review(request=req, reviewer=clerk, approve=True)
    change_request_review(request=req, reviewer=other, approve=True)
    member.refresh_from_db()
    assert member.mobile_masked == "139****4321" and member.occupation == "教师"
    history = {c.field: (c.old_value, c.new_value) for c in MemberChange.objects.filter(change_request=req)}
    assert history["mobile"] == ("138****5678", "139****4321")
    assert req.summary and "13987654321" not in ChangeRequest.objects.get(pk=req.pk).summary


def test_one_pending_change_request_per_member():
    member = MemberFactory()
    change_request_submit(member=member, changes={"occupation": "医生"}, actor=Actor.member())
    with pytest.raises(Conflict):
        change_request_submit(member=member, changes={"occupation": "律师"}, actor=Actor.member())


def test_suspend_and_reinstate_with_reason_and_audit():
    """MEM-5."""
    manager = make_staff(roles.OPERATIONS_MANAGER, chain_wide=True)
    member = MemberFactory()
    with pytest.raises(ValidationFailed):
        member_set_status(member=member, staff=manager, action="suspend", reason="")
    member = member_set_status(member=member, staff=manager, action="suspend", reason="资料虚假")
    assert member.status == Member.Status.SUSPENDED and not member.can_transact
    with pytest.raises(Conflict):
        member_set_status(member=member, staff=manager, action="suspend", reason="again")
    member = member_set_status(member=member, staff=manager, action="reinstate", reason="核实无误")
    assert member.can_transact
    assert AuditLog.objects.filter(member=member, action="status").count() == 2


def test_front_desk_cannot_suspend():
    clerk = make_staff()
    member = MemberFactory(home_store=clerk.staff_profile.store)
    with pytest.raises(PermissionDenied):
        member_set_status(member=member, staff=clerk, action="suspend", reason="x")


def test_marketing_consent_withdrawal_logged_with_channel():
    """MEM-6."""
    member = MemberFactory(marketing_consent=True)
    consent_set_marketing(member=member, granted=False, channel=ConsentLog.Channel.SMS)
    consent_set_marketing(member=member, granted=False, channel=ConsentLog.Channel.SMS)  # idempotent
    logs = ConsentLog.objects.filter(member=member, kind="marketing")
    assert [(c.granted, c.channel) for c in logs] == [(False, "sms")]


def test_reveal_requires_permission_and_is_audited():
    """SEC-2."""
    store = StoreFactory()
    clerk = make_staff(store=store)
    auditor = make_staff(roles.AUDITOR, store=store)
    member = MemberFactory(home_store=store, mobile="13812345678")
    assert member_reveal(member=member, field="mobile", staff=clerk, ip="10.0.0.1") == "13812345678"
    log = AuditLog.objects.get(action="reveal")
    assert (log.actor, log.member, log.field) == (clerk, member, "mobile")
    with pytest.raises(PermissionDenied):
        member_reveal(member=member, field="mobile", staff=auditor)


def test_close_account_anonymises_but_keeps_row():
    """SEC-4."""
    member = MemberFactory(mobile="13812345678", marketing_consent=True)
    change_request_submit(member=member, changes={"occupation": "医生"}, actor=Actor.member())
    member = member_close(member=member, actor=Actor.member())
    member.refresh_from_db()
    assert member.status == Member.Status.CLOSED
    assert member.mobile_enc is None and member.mobile_hash is None and member.mobile_masked == ""
    assert member.birthday is None and member.name == "已注销"
    assert not member.marketing_consent
    assert Member.objects.filter(pk=member.pk).exists()


def test_corporate_member_links_buyers():
    """MEM-1: corporate members with linked staff buyers."""
    store = StoreFactory()
    clerk, other = make_staff(store=store), make_staff(store=store)
    company = member_register_desk(
        data={**VALID, "name": "王经理"}, staff=clerk, marketing=False, privacy_accepted=True,
        corporate={"company_name": "上海某某贸易有限公司", "credit_code": "91110000600037341L", "contact_person": "王经理"},
    )
    member_review(member=company, reviewer=other, approve=True)
    buyer = MemberFactory(home_store=store)
    profile = corporate_buyer_link(company=company, buyer=buyer, staff=clerk)
    assert list(profile.buyers.all()) == [buyer]
    with pytest.raises(ValidationFailed):
        corporate_buyer_link(company=buyer, buyer=company, staff=clerk)


def test_corporate_signup_rejects_bad_credit_code():
    staff = make_staff()
    with pytest.raises(ValidationFailed) as exc:
        member_register_desk(data=VALID, staff=staff, marketing=False, privacy_accepted=True,
                             corporate={"company_name": "某公司", "credit_code": "91110000600037341X",
                                        "contact_person": "王"})
    assert "credit_code" in exc.value.fields


def test_periodic_rereview_confirms_or_suspends():
    """MEM-5."""
    manager = make_staff(roles.OPERATIONS_MANAGER, chain_wide=True)
    due = MemberFactory(next_review_on=dt.date(2020, 1, 1))
    assert list(rereview_due_for_staff(manager)) == [due]
    due = member_rereview(member=due, staff=manager, outcome="confirmed")
    assert due.next_review_on > dt.date.today()
    assert not rereview_due_for_staff(manager).exists()
    other = MemberFactory(next_review_on=dt.date(2020, 1, 1))
    other = member_rereview(member=other, staff=manager, outcome="suspend", reason="资料虚假")
    assert other.status == Member.Status.SUSPENDED
    clerk = make_staff(store=other.home_store)
    with pytest.raises(PermissionDenied):
        member_rereview(member=other, staff=clerk, outcome="disqualify", reason="x")


def test_resubmitting_an_empty_sensitive_field_is_not_a_change():
    """Regression: an empty address read as None made "" look like a change."""
    member = MemberFactory()
    with pytest.raises(ValidationFailed) as exc:
        change_request_submit(member=member, changes={"address": ""}, actor=Actor.member())
    assert exc.value.code == "no_change"
