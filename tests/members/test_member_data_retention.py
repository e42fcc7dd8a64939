"""The full data download (SEC-4; PIPL art. 45) and the retention schedule with its purge register and the
incident register (seed 000 信息安全; PIPL art. 19, 47, 57) — issue 15."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from core import crypto
from core.errors import ValidationFailed
from core.jobs import run_job
from core.models import AuditLog
from members import roles
from members.models import (
    ConsentLog,
    Member,
    MemberChange,
    RetentionPurge,
    RetentionRule,
    SecurityIncident,
    SmsCode,
)
from members.portal_auth import SESSION_KEY
from members.retention import ANONYMOUS_NAME
from members.services import Actor, incident_save, member_close
from tests.factories import MemberFactory, StoreFactory, make_staff

pytestmark = [pytest.mark.django_db, pytest.mark.pinned_at("2026-11-25T12:00+08:00")]

SECTIONS = {"consents", "guardian_consents", "changes", "change_requests", "tags", "purchases", "points_ledger",
            "coupons", "gift_orders", "offsets", "complaints", "consultations", "visits", "survey_answers",
            "bookings", "loans", "parking", "event_registrations", "messages", "notices"}


def login_as(client, member: Member) -> None:
    session = client.session
    session[SESSION_KEY] = member.pk
    session.save()


# ---------------------------------------------------------------- data download


def test_download_has_every_section_with_local_times_and_is_audited(client):
    from messaging.models import Notice

    member = MemberFactory(mobile="13812345678")
    ConsentLog.objects.create(member=member, kind="privacy", granted=True, version="2026-11", channel="portal")
    Notice.objects.create(member=member, kind="test", ref="t1", title="积分到账", body="您获得了100积分")
    login_as(client, member)
    response = client.post(reverse("portal:my_data_download"))
    data = json.loads(response.content)
    assert SECTIONS <= set(data), SECTIONS - set(data)
    assert data["notices"][0]["body"] == "您获得了100积分"
    assert data["consents"][0]["at"].endswith("+08:00")  # Asia/Shanghai
    assert data["section_titles"]["purchases"]
    audit = AuditLog.objects.get(action=AuditLog.Action.EXPORT, member=member)
    assert "json" in audit.detail and "notices=1" in audit.detail


def test_readable_page_shows_every_section_in_chinese_and_is_audited(client):
    from messaging.models import Notice

    member = MemberFactory()
    Notice.objects.create(member=member, kind="test", ref="t1", title="积分到账", body="您获得了100积分")
    login_as(client, member)
    assert client.get(reverse("portal:my_data_view")).status_code == 405
    response = client.post(reverse("portal:my_data_view"))
    html = response.content.decode()
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    for key in SECTIONS:
        assert f'id="my-data-{key}"' in html, key
    assert "您获得了100积分" in html
    local = timezone.localtime(Notice.objects.get().created_at).strftime("%Y-%m-%d %H:%M")
    assert local in html
    assert AuditLog.objects.filter(action=AuditLog.Action.EXPORT, member=member, detail__contains="page").exists()


def test_download_includes_a_purchase_and_its_ledger_entry(client):
    """The points sections come from points' registered exporter, not from members."""
    from points.models import Entry, Purchase

    member = MemberFactory()
    purchase = Purchase.objects.create(store=member.home_store, order_no="A-1", member=member,
                                       occurred_at=timezone.now(), amount_total="100.00", amount_paid="100.00",
                                       points_earned=100, lines=[], tenders=[], request_hash="x", source="till")
    Entry.objects.create(member=member, kind=Entry._meta.get_field("kind").choices[0][0], points=100,
                         balance_after=100, purchase=purchase, idem_key="h2-test")
    login_as(client, member)
    data = json.loads(client.post(reverse("portal:my_data_download")).content)
    assert data["purchases"][0]["order_no"] == "A-1" and data["purchases"][0]["amount_paid"] == "100.00"
    assert data["points_ledger"][0]["points"] == 100


# ---------------------------------------------------------------- retention


def _old(model, pk, **fields):
    model.objects.filter(pk=pk).update(**fields)


def test_nightly_retention_purges_and_anonymises_set_wise_with_a_register():
    from messaging.models import Message

    now = timezone.now()
    store = StoreFactory()
    rejected = MemberFactory(home_store=store, status=Member.Status.REJECTED, name="李四",
                             reviewed_at=now - dt.timedelta(days=400), id_number_consent=True,
                             id_number_enc=crypto.encrypt("11010519491231002X"))
    fresh_rejected = MemberFactory(home_store=store, status=Member.Status.REJECTED, name="王五",
                                   reviewed_at=now - dt.timedelta(days=3))
    MemberChange.objects.create(member=rejected, field="name", old_value="李", new_value="李四",
                                actor_label="x", channel="desk")
    closed = MemberFactory(home_store=store)
    member_close(member=closed, actor=Actor.member())
    _old(Member, closed.pk, closed_at=now - dt.timedelta(days=60))
    old_code = SmsCode.objects.create(mobile_hash="h", purpose="login", code_hash="c",
                                      expires_at=now - dt.timedelta(days=20))
    _old(SmsCode, old_code.pk, created_at=now - dt.timedelta(days=20))
    new_code = SmsCode.objects.create(mobile_hash="h", purpose="login", code_hash="c", expires_at=now)
    old_message = Message.objects.create(member=rejected, channel="sms", kind="service", event_key="e1",
                                         text="您的申请未通过", mobile_enc=crypto.encrypt("13800000000"))
    _old(Message, old_message.pk, created_at=now - dt.timedelta(days=400))
    new_message = Message.objects.create(member=rejected, channel="sms", kind="service", event_key="e2",
                                         text="新消息")

    run = run_job("apply_retention")
    assert run.status == "succeeded", run.error
    rejected.refresh_from_db(), fresh_rejected.refresh_from_db(), closed.refresh_from_db()
    assert rejected.name == ANONYMOUS_NAME and rejected.mobile_enc is None
    assert MemberChange.objects.get(member=rejected, field="name").new_value == ""
    assert rejected.id_number_enc is None and not rejected.id_number_consent
    assert ConsentLog.objects.filter(member=rejected, kind="id_number", granted=False).exists()
    assert fresh_rejected.name == "王五"
    assert closed.name == ANONYMOUS_NAME
    assert not SmsCode.objects.filter(pk=old_code.pk).exists() and SmsCode.objects.filter(pk=new_code.pk).exists()
    old_message.refresh_from_db(), new_message.refresh_from_db()
    assert "申请" not in old_message.text and old_message.mobile_enc == "" and new_message.text == "新消息"

    register = {r.target: r.rows for r in RetentionPurge.objects.filter(job_run=run)}
    assert register == {"rejected_signups": 1, "closed_accounts": 1, "sms_codes": 1, "message_texts": 1}
    assert run.counts["rejected_signups"] == 1
    assert AuditLog.objects.filter(action=AuditLog.Action.RETENTION, field="sms_codes").exists()

    again = run_job("apply_retention")  # idempotent: nothing left to do, a register row of 0 per rule
    assert {r.target: r.rows for r in RetentionPurge.objects.filter(job_run=again)} == {
        "rejected_signups": 0, "closed_accounts": 0, "sms_codes": 0, "message_texts": 0}


def test_an_inactive_rule_keeps_its_data_and_the_period_is_configurable():
    now = timezone.now()
    code = SmsCode.objects.create(mobile_hash="h", purpose="login", code_hash="c", expires_at=now)
    _old(SmsCode, code.pk, created_at=now - dt.timedelta(days=3))
    RetentionRule.objects.filter(target="sms_codes").update(keep_days=2)
    RetentionRule.objects.exclude(target="sms_codes").update(is_active=False)
    run_job("apply_retention")
    assert not SmsCode.objects.filter(pk=code.pk).exists()
    assert set(RetentionPurge.objects.values_list("target", flat=True)) == {"sms_codes"}


def test_retention_rule_admin_refuses_an_unknown_data_set_and_an_unsupported_action(client):
    client.force_login(make_staff(roles.DATA_PROTECTION, chain_wide=True))
    url = reverse("admin:members_retentionrule_add")
    response = client.post(url, {"target": "everything", "keep_days": 5, "action": "purge", "is_active": "on"})
    assert response.status_code == 200 and "target" in response.context["adminform"].form.errors
    response = client.post(url, {"target": "message_texts", "keep_days": 5, "action": "purge", "is_active": "on"})
    assert "action" in response.context["adminform"].form.errors
    assert client.get(reverse("admin:members_retentionpurge_changelist")).status_code == 200


# ---------------------------------------------------------------- incident register


def test_incident_is_recorded_with_notifications_and_audited():
    officer = make_staff(roles.DATA_PROTECTION, chain_wide=True)
    detected = timezone.now() - dt.timedelta(hours=5)
    incident = incident_save(staff=officer, incident=None, data={
        "title": "门店电脑丢失", "description": "含会员导出文件", "severity": "high", "detected_at": detected,
        "members_affected": 120, "handled_by": officer, "status": "open"})
    assert AuditLog.objects.filter(action=AuditLog.Action.INCIDENT, detail__contains=f"#{incident.pk}").exists()
    with pytest.raises(ValidationFailed) as exc:
        incident_save(staff=officer, incident=incident, data={"status": "closed"})
    assert "measures" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        incident_save(staff=officer, incident=incident, data={"authority_notified_at": detected + dt.timedelta(hours=1)})
    assert "authority" in exc.value.fields
    incident = incident_save(staff=officer, incident=incident, data={
        "status": "closed", "measures": "远程锁定并修改密码", "members_notified_at": detected + dt.timedelta(hours=2),
        "authority_notified_at": detected + dt.timedelta(hours=3), "authority": "市网信办"})
    assert incident.closed_at is not None
    assert AuditLog.objects.filter(action=AuditLog.Action.INCIDENT).count() == 2


def test_incident_admin_for_the_data_protection_role_read_only_for_auditors(client):
    officer = make_staff(roles.DATA_PROTECTION, chain_wide=True)
    client.force_login(officer)
    local = timezone.localtime(timezone.now() - dt.timedelta(hours=1))
    response = client.post(reverse("admin:members_securityincident_add"), {
        "title": "短信平台账号异常登录", "description": "供应商通报", "severity": "medium",
        "detected_at_0": local.strftime("%Y-%m-%d"), "detected_at_1": local.strftime("%H:%M:%S"),
        "members_affected": "0", "status": "open"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    incident = SecurityIncident.objects.get()
    assert incident.recorded_by == officer
    assert AuditLog.objects.filter(action=AuditLog.Action.INCIDENT).count() == 1
    auditor = make_staff(roles.AUDITOR, chain_wide=True)
    client.force_login(auditor)
    assert client.get(reverse("admin:members_securityincident_changelist")).status_code == 200
    assert client.get(reverse("admin:members_securityincident_add")).status_code == 403
    clerk = make_staff(roles.FRONT_DESK, store=StoreFactory())
    client.force_login(clerk)
    assert client.get(reverse("admin:members_securityincident_changelist")).status_code == 403


def test_privacy_policy_admin_adds_a_version_through_the_service(client):
    client.force_login(make_staff(roles.DATA_PROTECTION, chain_wide=True))
    local = timezone.localtime(timezone.now() + dt.timedelta(days=7))
    response = client.post(reverse("admin:members_privacypolicy_add"), {
        "version": "2027-01", "title": "会员隐私政策", "text": "新版正文", "summary_of_changes": "保存期限",
        "effective_at_0": local.strftime("%Y-%m-%d"), "effective_at_1": local.strftime("%H:%M:%S")})
    assert response.status_code == 302
    assert AuditLog.objects.filter(action=AuditLog.Action.POLICY, detail__contains="2027-01").exists()


def test_privacy_policy_admin_list_marks_the_version_in_effect_in_one_query(client, django_assert_max_num_queries):
    from members.models import PrivacyPolicy

    client.force_login(make_staff(roles.DATA_PROTECTION, chain_wide=True))
    PrivacyPolicy.objects.create(version="2027-06", title="未来版", text="x",
                                 effective_at=timezone.now() + dt.timedelta(days=200))
    MemberFactory()
    with django_assert_max_num_queries(12):
        response = client.get(reverse("admin:members_privacypolicy_changelist"))
    rows = {p.version: (p.pk == p.current_pk, p.accepted_count) for p in response.context["cl"].result_list}
    assert rows == {"2026-11": (True, 1), "2027-06": (False, None)}
