"""Admin (unfold): store scope, append-only records, masked export, services behind actions."""
import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import User
from django.urls import reverse

from core.models import AuditLog, JobRun
from members import roles
from members.api_auth import _hash
from members.models import (
    ChangeRequest,
    ConsentLog,
    Device,
    Member,
    MemberChange,
    SmsCode,
    StaffProfile,
    Tag,
)
from members.services import Actor, change_request_submit, consent_set_marketing
from tests.factories import MemberFactory, StoreFactory, make_staff

pytestmark = pytest.mark.django_db

MOBILE = "13912345678"


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def store():
    return StoreFactory()


@pytest.fixture
def member(store):
    return MemberFactory(home_store=store, mobile=MOBILE, name="王小明")


@pytest.fixture
def superuser():
    return User.objects.create_superuser("root", "root@example.com", "a-long-password-1")


def changelist(model):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def change(obj):
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def test_every_changelist_renders_for_the_administrator(client, superuser, member, store):
    """Smoke: each registered admin page renders (catches bad list_display / filters)."""
    Tag.objects.create(name="母婴")
    client.force_login(superuser)
    for model in admin.site._registry:
        response = client.get(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"))
        assert response.status_code == 200, model
    assert client.get(change(member)).status_code == 200
    assert client.get(reverse("admin:members_device_add")).status_code == 200
    assert client.get(reverse("admin:members_tag_add")).status_code == 200
    assert client.get(reverse("admin:auth_user_add")).status_code == 200
    staff = make_staff(roles.FRONT_DESK, store=store)
    response = client.get(change(staff))
    assert response.status_code == 200
    assert "staff_profile-0-store" in response.content.decode()


def test_member_changelist_is_store_scoped_and_masked(client, store, member):
    stranger = MemberFactory(name="外店会员")
    desk = make_staff(roles.FRONT_DESK, store=store)
    client.force_login(desk)
    response = client.get(changelist(Member))
    assert response.status_code == 200
    body = response.content.decode()
    assert member.member_no in body and "139****5678" in body
    assert MOBILE not in body
    assert stranger.member_no not in body
    # the store filter offers only the staff member's store
    assert stranger.home_store.name not in body
    # another store's member cannot be opened
    assert client.get(change(stranger)).status_code == 302
    assert client.get(change(member)).status_code == 200


def test_member_detail_is_read_only_without_encrypted_fields(client, store, member):
    client.force_login(make_staff(roles.FRONT_DESK, store=store))
    response = client.get(change(member))
    body = response.content.decode()
    assert "139****5678" in body
    assert MOBILE not in body
    assert member.mobile_enc not in body and member.mobile_hash not in body
    assert 'name="name"' not in body  # no editable inputs
    response = client.post(change(member), {"name": "改名"})
    assert response.status_code == 403
    member.refresh_from_db()
    assert member.name == "王小明"
    assert client.get(reverse("admin:members_member_add")).status_code == 403
    assert client.post(reverse("admin:members_member_delete", args=[member.pk])).status_code == 403


def test_member_search_by_exact_mobile_uses_the_lookup_hash(client, store, member):
    other = MemberFactory(mobile="13700001111")  # other store
    client.force_login(make_staff(roles.FRONT_DESK, store=store))
    response = client.get(changelist(Member), {"q": MOBILE})
    assert list(response.context["cl"].result_list) == [member]
    response = client.get(changelist(Member), {"q": "13700001111"})
    assert list(response.context["cl"].result_list) == []
    client.force_login(make_staff(roles.FRONT_DESK, chain_wide=True))
    response = client.get(changelist(Member), {"q": "13700001111"})
    assert list(response.context["cl"].result_list) == [other]
    response = client.get(changelist(Member), {"q": member.member_no})
    assert list(response.context["cl"].result_list) == [member]


@pytest.mark.parametrize("model", [ChangeRequest, MemberChange, ConsentLog, AuditLog, SmsCode, JobRun])
def test_history_and_log_models_are_append_only(model, superuser):
    model_admin = admin.site._registry[model]
    rf_request = type("R", (), {"user": superuser})()
    assert model_admin.has_add_permission(rf_request) is False
    assert model_admin.has_change_permission(rf_request) is False
    assert model_admin.has_delete_permission(rf_request) is False


def test_history_pages_view_only_through_the_client(client, superuser, member, store):
    desk = make_staff(roles.FRONT_DESK, store=store)
    cr = change_request_submit(member=member, changes={"city": "杭州"}, actor=Actor.staff(desk))
    consent_set_marketing(member=member, granted=True, channel="desk", actor_user=desk)
    log = ConsentLog.objects.get(member=member)
    client.force_login(superuser)
    for obj in (cr, log):
        assert client.get(change(obj)).status_code == 200
        assert client.post(change(obj), {"granted": "False", "summary": "x"}).status_code == 403
        delete_url = reverse(f"admin:members_{obj._meta.model_name}_delete", args=[obj.pk])
        assert client.post(delete_url, {"post": "yes"}).status_code == 403
    cr.refresh_from_db()
    assert cr.summary.startswith("city")
    assert ConsentLog.objects.filter(pk=log.pk, granted=True).exists()
    body = client.get(change(cr)).content.decode()
    assert cr.payload_enc not in body
    assert reverse("desk:reviews") in body


def test_history_lists_are_store_scoped(client, store, member):
    stranger = MemberFactory()
    AuditLog.objects.create(actor_label="a", action="reveal", member=member, field="mobile")
    AuditLog.objects.create(actor_label="b", action="reveal", member=stranger, field="mobile")
    client.force_login(make_staff(roles.AUDITOR, store=store))
    response = client.get(changelist(AuditLog))
    assert response.status_code == 200
    assert [e.member for e in response.context["cl"].result_list] == [member]


def test_member_export_is_masked_scoped_audited_and_needs_permission(client, store, member):
    """MEM-8 export, SEC-2 masking: only members.export_member holders may export."""
    MemberFactory(name="外店会员")
    manager = make_staff(roles.OPERATIONS_MANAGER, store=store)
    client.force_login(manager)
    export_url = reverse("admin:members_member_export")
    assert client.get(changelist(Member)).context["has_export_permission"] is True
    response = client.post(export_url, {"format": "0", "resource": "0"})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    text = response.content.decode("utf-8-sig")
    assert member.member_no in text
    assert "139****5678" in text and "王**" in text
    assert MOBILE not in text and "王小明" not in text and "外店会员" not in text
    assert "mobile_enc" not in text and member.mobile_hash not in text
    assert AuditLog.objects.filter(actor=manager, action=AuditLog.Action.EXPORT).count() == 1

    desk = make_staff(roles.FRONT_DESK, store=store)
    client.force_login(desk)
    assert client.get(changelist(Member)).context["has_export_permission"] is False
    assert client.post(export_url, {"format": "0", "resource": "0"}).status_code == 403
    assert client.get(export_url).status_code == 403


def test_status_action_asks_for_reason_and_calls_the_service(client, store, member):
    """MEM-5 from the admin list: the action goes through member_set_status."""
    manager = make_staff(roles.OPERATIONS_MANAGER, store=store)
    client.force_login(manager)
    data = {"action": "suspend_members", ACTION_CHECKBOX_NAME: [member.pk], "index": "0"}
    response = client.post(changelist(Member), data)
    assert response.status_code == 200
    assert 'name="reason"' in response.content.decode()
    response = client.post(changelist(Member), {**data, "apply": "1", "reason": ""})
    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    member.refresh_from_db()
    assert member.status == Member.Status.ACTIVE

    response = client.post(changelist(Member), {**data, "apply": "1", "reason": "资料不实"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.status == Member.Status.SUSPENDED and member.status_reason == "资料不实"
    assert AuditLog.objects.filter(member=member, action="status").exists()


def test_status_action_not_offered_without_permission(client, store, member):
    client.force_login(make_staff(roles.FRONT_DESK, store=store))
    response = client.get(changelist(Member))
    assert "suspend_members" not in response.content.decode()
    data = {"action": "suspend_members", ACTION_CHECKBOX_NAME: [member.pk], "index": "0", "apply": "1",
            "reason": "x"}
    client.post(changelist(Member), data)
    member.refresh_from_db()
    assert member.status == Member.Status.ACTIVE


def test_tag_rule_is_validated(client, superuser):
    client.force_login(superuser)
    add_url = reverse("admin:members_tag_add")
    response = client.post(add_url, {"name": "高净值", "kind": "rule", "rule": '{"colour": "red"}', "description": ""})
    assert response.status_code == 200
    assert "rule" in response.context["adminform"].form.errors
    assert not Tag.objects.exists()
    response = client.post(add_url, {"name": "高净值", "kind": "rule", "rule": '{"min_age": "abc"}',
                                     "description": ""})
    assert "rule" in response.context["adminform"].form.errors
    response = client.post(add_url, {"name": "高净值", "kind": "rule", "rule": '{"tier": ["gold"], "min_age": 30}',
                                     "description": ""})
    assert response.status_code == 302
    assert Tag.objects.get().rule == {"tier": ["gold"], "min_age": 30}


def test_device_token_is_shown_once_and_only_hashed(client, superuser, store):
    client.force_login(superuser)
    response = client.post(reverse("admin:members_device_add"), {"name": "收银台1", "store": store.pk})
    assert response.status_code == 200
    device = Device.objects.get()
    token = response.context["token"]
    prefix, _, secret = token.partition(".")
    assert prefix == device.key_prefix and device.key_hash == _hash(secret)
    assert f"Device {token}" in response.content.decode()
    listing = client.get(changelist(Device)).content.decode()
    assert device.key_prefix in listing and secret not in listing
    assert secret not in client.get(change(device)).content.decode()


def test_device_store_choices_are_scoped(client, store):
    other = StoreFactory()
    admin_of_store = make_staff(roles.ADMINISTRATOR, store=store)
    client.force_login(admin_of_store)
    response = client.get(reverse("admin:members_device_add"))
    choices = [c[0].value for c in response.context["adminform"].form.fields["store"].choices if c[0]]
    assert choices == [store.pk]
    response = client.post(reverse("admin:members_device_add"), {"name": "x", "store": other.pk})
    assert response.status_code == 200
    assert not Device.objects.exists()


def test_user_admin_scoped_and_staff_inline_saves(client, store):
    admin_of_store = make_staff(roles.ADMINISTRATOR, store=store)
    colleague = make_staff(roles.FRONT_DESK, store=store)
    outsider = make_staff(roles.FRONT_DESK)
    client.force_login(admin_of_store)
    body = client.get(changelist(User)).content.decode()
    assert colleague.username in body and outsider.username not in body
    assert client.get(change(outsider)).status_code == 302
    response = client.get(change(colleague))
    assert response.status_code == 200
    assert 'name="staff_profile-0-chain_wide"' not in response.content.decode()  # read-only for store admins
    assert StaffProfile.objects.get(user=colleague).chain_wide is False


def test_jobrun_run_now_action_is_superuser_only(client, superuser, store, django_capture_on_commit_callbacks):
    run = JobRun.objects.create(name="purge_sms_codes", run_date="2026-01-01", status="succeeded")
    manager = make_staff(roles.OPERATIONS_MANAGER, store=store)
    client.force_login(manager)
    assert client.get(changelist(JobRun)).status_code == 200
    data = {"action": "run_again_now", ACTION_CHECKBOX_NAME: [run.pk], "index": "0"}
    with django_capture_on_commit_callbacks(execute=True):
        client.post(changelist(JobRun), data)
    assert JobRun.objects.count() == 1
    client.force_login(superuser)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(changelist(JobRun), data)
    assert response.status_code == 302
    new = JobRun.objects.exclude(pk=run.pk).get()
    assert (new.name, new.status, new.triggered_by) == ("purge_sms_codes", "succeeded", "celery")
