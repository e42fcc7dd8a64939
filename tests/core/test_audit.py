"""One audit function (core.audit.audit_record): who acts, in the change's transaction, the only writer."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import User
from django.db import transaction
from django.urls import reverse
from rest_framework.test import APIClient

from core.audit import audit_record
from core.models import AuditLog
from engagement.models import Partner
from engagement.services import partner_by_key
from members import roles
from members.api_auth import DevicePrincipal, device_create
from members.services import Actor
from tests.factories import MemberFactory, StoreFactory, make_staff

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
LOOKUP = "/api/v1/members/lookup/"


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def superuser():
    return User.objects.create_superuser("root", "root@example.com", "a-long-password-1")


# ---------------------------------------------------------------- who acts


def test_audit_record_from_a_staff_user_keeps_the_user_and_username():
    staff = make_staff(roles.FRONT_DESK)
    member = MemberFactory()
    log = audit_record(actor=staff, action=AuditLog.Action.REVEAL, member=member, field="mobile", ip="10.0.0.1")
    log = AuditLog.objects.get(pk=log.pk)
    assert (log.actor, log.actor_label, log.action, log.member, log.field, log.ip) == (
        staff, staff.get_username(), "reveal", member, "mobile", "10.0.0.1")


def test_audit_record_from_a_members_actor_takes_user_label_and_ip():
    staff = make_staff(roles.FRONT_DESK)
    log = audit_record(actor=Actor.staff(staff, ip="10.0.0.2"), action=AuditLog.Action.STATUS)
    assert (log.actor, log.actor_label, log.ip) == (staff, staff.get_username(), "10.0.0.2")
    portal = audit_record(actor=Actor.member(ip="10.0.0.3"), action=AuditLog.Action.CLOSE, ip="10.0.0.4")
    assert (portal.actor, portal.actor_label, portal.ip) == (None, "member", "10.0.0.4")  # explicit ip wins


def test_audit_record_from_a_till_device_or_its_principal_is_labelled_by_device():
    device, _token = device_create(name="收银台3", store=StoreFactory())
    for actor in (device, DevicePrincipal(device)):
        log = audit_record(actor=actor, action=AuditLog.Action.LOGIN)
        assert (log.actor, log.actor_label) == (None, "device:收银台3")


def test_audit_record_from_a_plain_label():
    log = audit_record(actor="member", action=AuditLog.Action.EXPORT, member=MemberFactory(), field="member_data")
    assert (log.actor, log.actor_label) == (None, "member")


def test_audit_record_refuses_an_actor_it_cannot_name():
    with pytest.raises(TypeError):
        audit_record(actor=object(), action=AuditLog.Action.LOGIN)
    assert not AuditLog.objects.exists()


def test_audit_record_truncates_detail_field_and_label_to_the_columns():
    log = audit_record(actor="x" * 400, action=AuditLog.Action.EXPORT, field="f" * 100, detail="详" * 900)
    log.refresh_from_db()
    assert log.detail == "详" * 500 and log.field == "f" * 64 and log.actor_label == "x" * 150


def test_audit_record_outside_a_transaction_raises_and_writes_nothing(monkeypatch):
    # The test itself runs in a transaction; pretend the caller forgot its atomic block. (A
    # transactional test would flush the reused database's reference data.)
    connection = transaction.get_connection()
    monkeypatch.setattr(connection, "in_atomic_block", False)
    with pytest.raises(RuntimeError):
        audit_record(actor="command", action=AuditLog.Action.IMPORT)
    monkeypatch.undo()
    assert not AuditLog.objects.exists()
    audit_record(actor="command", action=AuditLog.Action.IMPORT)
    assert AuditLog.objects.count() == 1


# ---------------------------------------------------------------- actions that had no record


def test_revoking_a_till_token_in_the_admin_is_audit_logged_and_the_token_refused(client, superuser):
    store = StoreFactory()
    device, token = device_create(name="收银台1", store=store)
    till = APIClient()
    till.credentials(HTTP_AUTHORIZATION=f"Device {token}")
    member = MemberFactory(home_store=store)
    assert till.get(LOOKUP, {"card": member.member_no}).status_code == 200
    client.force_login(superuser)
    url = reverse("admin:members_device_change", args=[device.pk])
    response = client.post(url, {"name": "收银台1"})  # "active" unticked
    assert response.status_code == 302, response.content
    device.refresh_from_db()
    assert not device.is_active
    log = AuditLog.objects.get(action=AuditLog.Action.REVOKE)
    assert log.actor == superuser and log.field == "device_token" and device.key_prefix in log.detail
    assert till.get(LOOKUP, {"card": member.member_no}).status_code == 401
    # Saving the already revoked device again (a rename) records nothing more.
    assert client.post(url, {"name": "收银台1（旧）"}).status_code == 302
    device.refresh_from_db()
    assert device.name == "收银台1（旧）"
    assert AuditLog.objects.filter(action=AuditLog.Action.REVOKE).count() == 1


def test_renaming_an_active_till_is_not_a_revocation(client, superuser):
    device, _token = device_create(name="收银台2", store=StoreFactory())
    client.force_login(superuser)
    response = client.post(reverse("admin:members_device_change", args=[device.pk]),
                           {"name": "收银台2号", "is_active": "on"})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.is_active and device.name == "收银台2号"
    assert not AuditLog.objects.filter(action=AuditLog.Action.REVOKE).exists()


def test_rotating_a_partner_key_in_the_admin_is_audit_logged_without_the_key(client, superuser):
    partner = Partner.objects.create(name="海底捞", kind="restaurant")
    client.force_login(superuser)
    response = client.post(reverse("admin:engagement_partner_changelist"),
                           {"action": "rotate_key", ACTION_CHECKBOX_NAME: [partner.pk]}, follow=True)
    assert response.status_code == 200
    key = next(m.message for m in response.context["messages"]).rsplit(": ", 1)[1]
    assert partner_by_key(key) == partner
    log = AuditLog.objects.get(action=AuditLog.Action.ROTATE_KEY)
    assert log.actor == superuser and log.field == "partner_api_key" and "海底捞" in log.detail
    assert key not in log.detail


# ---------------------------------------------------------------- the only writer

_WRITES = re.compile(
    r"AuditLog\.(?:objects|_default_manager)\.(?:create|bulk_create|get_or_create|update_or_create)\b"
    r"|(?<!class )\bAuditLog\("
)


def test_nothing_outside_core_audit_constructs_audit_log_rows():
    """Zulip-style: every audit row goes through core.audit.audit_record (STYLE.md, issue 12)."""
    offenders = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        parts = rel.parts
        if parts[0].startswith(".") or parts[0] in ("tests", "node_modules") or "migrations" in parts:
            continue
        if rel.as_posix() == "core/audit.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if _WRITES.search(line):
                offenders.append(f"{rel}:{number}: {line.strip()}")
    assert offenders == [], "write audit rows with core.audit.audit_record:\n" + "\n".join(offenders)


def test_the_scan_sees_the_ways_of_writing_a_row():
    for line in ("AuditLog.objects.create(actor=None)", "AuditLog.objects.bulk_create(rows)",
                 "AuditLog(actor_label='x').save()", "row = AuditLog(x)"):
        assert _WRITES.search(line), line
    assert not _WRITES.search("class AuditLog(models.Model):")
    assert not _WRITES.search("class AuditLogAdmin(ReadOnlyAdmin):")
