"""After-sales cases (SD-7; 001 3.4, 002 五(一)2): clocks, vendor hand-offs, the satisfaction check
within 3 working days, through the services, the desk and portal pages and the API."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.service_cases import case_sources
from members import roles
from members.portal_auth import SESSION_KEY
from messaging.models import Holiday, Notice
from service_desk import after_sales as svc
from service_desk.models import AfterSalesCase, AfterSalesHandoff, AfterSalesPolicy
from tests.factories import MemberFactory, make_staff

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.service_desk.urls")]
SH = ZoneInfo("Asia/Shanghai")
MON_10 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=SH)
THU_16 = dt.datetime(2026, 11, 26, 16, 0, tzinfo=SH)


def open_case(store, staff, member=None, **kw):
    values = {"kind": "repair", "channel": "desk", "store": store, "product": "破壁料理机 X1",
              "description": "开机无反应", "member": member, "staff": staff}
    if member is None:
        values["contact_name"] = "张先生"
    values.update(kw)
    return svc.after_sales_open(**values)


def at(moment):
    return time_machine.travel(moment, tick=False)


# ---------------------------------------------------------------- services


def test_intake_sets_respond_24h_and_resolve_48h_and_tells_the_member(store, agent, member):
    """SD-7 (001 3.4): standard cases respond within 24 h and resolve within 48 h; 003 3.5: the member
    is told both deadlines in Chinese."""
    with at(MON_10):
        case = open_case(store, agent, member)
    assert case.status == "received" and case.respond_due == MON_10 + dt.timedelta(hours=24)
    assert case.resolve_due == MON_10 + dt.timedelta(hours=48)
    notice = Notice.objects.get(member=member, kind="after_sales_intake")
    assert "2026年11月24日（星期二）10:00" in notice.body and "2026年11月25日（星期三）10:00" in notice.body
    assert case.events.get().action == "intake"


def test_policy_is_configurable_per_kind_priority_and_clock(store, agent):
    """Operations change the limits in the admin: urgent exchanges 4 h / 8 h on working days."""
    AfterSalesPolicy.objects.filter(kind="exchange", priority="urgent").update(respond_hours=4, resolve_hours=8,
                                                                              working_days=True)
    friday_22 = dt.datetime(2026, 11, 27, 22, 0, tzinfo=SH)
    with at(friday_22):
        case = open_case(store, agent, kind="exchange", priority="urgent")
    assert case.respond_due == dt.datetime(2026, 11, 30, 2, 0, tzinfo=SH)
    assert case.resolve_due == dt.datetime(2026, 11, 30, 6, 0, tzinfo=SH)


def test_intake_rejects_bad_input_with_field_messages(store, agent):
    with pytest.raises(ValidationFailed) as exc:
        svc.after_sales_open(kind="polish", channel="portal", store=store, product="", description="x" * 2001,
                             staff=agent)
    assert set(exc.value.fields) >= {"kind", "channel", "product", "description", "contact_name"}


def test_intake_is_limited_to_the_staff_store(store, other_store, agent):
    with pytest.raises(PermissionDenied):
        open_case(other_store, agent)


def test_intake_is_idempotent_on_request_id(store, agent):
    first = open_case(store, agent, request_id="hotline-42")
    again = open_case(store, agent, request_id="hotline-42")
    assert first.pk == again.pk and AfterSalesCase.objects.count() == 1


def test_handoff_and_return_record_vendor_and_times(store, agent, member):
    """Parts/vendor hand-off: who it was handed to, when, their reference, when it came back."""
    with at(MON_10):
        case = open_case(store, agent, member)
    with at(MON_10 + dt.timedelta(hours=2)):
        handoff = svc.after_sales_handoff(case=case, staff=agent, vendor="美的售后武汉站", reference="RMA-8812")
    case.refresh_from_db()
    assert case.status == "at_vendor" and case.responded_at == MON_10 + dt.timedelta(hours=2)
    with pytest.raises(Conflict):  # one open hand-off at a time
        svc.after_sales_handoff(case=case, staff=agent, vendor="另一家")
    with pytest.raises(Conflict) as exc:
        svc.after_sales_close(case=case, staff=agent, resolution="已修好")
    assert exc.value.code == "at_vendor"
    with at(MON_10 + dt.timedelta(hours=30)):
        svc.after_sales_return(case=case, staff=agent, note="更换主板")
    handoff.refresh_from_db()
    assert (handoff.vendor, handoff.reference, handoff.returned_by) == ("美的售后武汉站", "RMA-8812", agent)
    assert handoff.returned_at - handoff.sent_at == dt.timedelta(hours=28)
    case.refresh_from_db()
    assert case.status == "in_progress"
    assert [e.action for e in case.events.all()] == ["intake", "handoff", "return"]


def test_illegal_steps_are_conflicts(store, agent):
    case = open_case(store, agent)
    with pytest.raises(Conflict):
        svc.after_sales_close(case=case, staff=agent, resolution="x")
    with pytest.raises(Conflict):
        svc.after_sales_return(case=case, staff=agent, note="x")
    svc.after_sales_respond(case=case, staff=agent, note="已约上门检测")
    with pytest.raises(Conflict):
        svc.after_sales_respond(case=case, staff=agent, note="again")
    with pytest.raises(ValidationFailed):
        svc.after_sales_close(case=case, staff=agent, resolution=" ")


def test_close_sets_satisfaction_check_three_working_days_later(store, agent, member):
    """001 3.4 (满意度调查…3个工作日内): closed on Thursday 16:00, the check is due on Tuesday 16:00
    (Friday, Monday, Tuesday; the weekend does not count), and the member is asked to rate."""
    with at(MON_10):
        case = open_case(store, agent, member)
        svc.after_sales_respond(case=case, staff=agent, note="收到")
    with at(THU_16):
        case = svc.after_sales_close(case=case, staff=agent, resolution="已更换新机。")
    assert case.status == "closed" and case.closed_at == THU_16
    assert case.satisfaction_due == dt.datetime(2026, 12, 1, 16, 0, tzinfo=SH)
    notice = Notice.objects.get(member=member, kind="after_sales_closed")
    assert "已更换新机" in notice.body and "2026年12月1日（星期二）16:00" in notice.body


def test_satisfaction_check_skips_a_holiday(store, agent):
    Holiday.objects.create(date=dt.date(2026, 11, 30), name="公司假日")
    with at(MON_10):
        case = open_case(store, agent)
        svc.after_sales_respond(case=case, staff=agent, note="收到")
    with at(THU_16):
        case = svc.after_sales_close(case=case, staff=agent, resolution="已修好")
    assert case.satisfaction_due == dt.datetime(2026, 12, 2, 16, 0, tzinfo=SH)


def test_rating_once_by_member_or_by_phone(store, agent, member):
    case = open_case(store, agent, member)
    with pytest.raises(Conflict):
        svc.after_sales_rate(case_id=case.pk, member=member, score=5)
    svc.after_sales_respond(case=case, staff=agent, note="收到")
    svc.after_sales_close(case=case, staff=agent, resolution="已修好")
    with pytest.raises(ValidationFailed):
        svc.after_sales_rate(case_id=case.pk, member=member, score=6)
    other = MemberFactory(home_store=store)
    with pytest.raises(NotFound):
        svc.after_sales_rate(case_id=case.pk, member=other, score=5)
    rated = svc.after_sales_rate(case_id=case.pk, member=member, score=4, comment="维修及时")
    assert (rated.satisfaction_score, rated.satisfaction_channel) == (4, "portal")
    with pytest.raises(Conflict):
        svc.after_sales_rate(case_id=case.pk, staff=agent, score=5, channel="phone")


def test_closed_cases_reach_care_through_the_case_source(store, agent, member):
    """SD-10 hook: member care reads closed after-sales cases (and open counts) via core.service_cases."""
    source = next(s for s in case_sources() if s.kind == "after_sales")
    with at(MON_10):
        case = open_case(store, agent, member)
        assert source.open_counts([member.pk]) == {member.pk: 1}
        svc.after_sales_respond(case=case, staff=agent, note="收到")
        svc.after_sales_close(case=case, staff=agent, resolution="已修好")
    closed = source.closed_between(MON_10 - dt.timedelta(hours=1), MON_10 + dt.timedelta(hours=1))
    assert [(c.member_id, c.ref) for c in closed] == [(member.pk, f"after_sales:{case.pk}")]
    assert source.open_counts([member.pk]) == {}


# ---------------------------------------------------------------- desk pages


def test_desk_intake_page_confirms_the_deadline(client, store, agent, member):
    client.force_login(agent)
    with at(MON_10):
        response = client.post(reverse("sd_desk:after_sales_new"), {
            "kind": "inspection", "priority": "standard", "channel": "hotline", "store": store.pk,
            "member_no": member.member_no, "product": "羊绒大衣", "description": "起球严重，申请质检"}, follow=True)
    case = AfterSalesCase.objects.get()
    assert response.status_code == 200 and case.kind == "inspection" and case.created_by == agent
    assert "2026年11月24日（星期二）10:00" in response.content.decode()


def test_desk_intake_page_shows_errors(client, store, agent):
    client.force_login(agent)
    response = client.post(reverse("sd_desk:after_sales_new"), {
        "kind": "repair", "priority": "standard", "channel": "desk", "store": store.pk, "product": "x",
        "description": "坏了"})
    assert response.status_code == 400 and AfterSalesCase.objects.count() == 0


def test_desk_queue_detail_and_actions(client, store, agent, member, django_assert_max_num_queries):
    with at(MON_10):
        case = open_case(store, agent, member)
        open_case(store, agent)
    client.force_login(agent)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("sd_desk:after_sales_queue"))
    assert page.status_code == 200 and f'id="case-{case.pk}"' in page.content.decode()
    action = reverse("sd_desk:after_sales_action")
    assert client.post(action, {"id": case.pk, "action": "handoff", "vendor": "品牌维修中心",
                                "reference": "W-1"}).status_code == 302
    refused = client.post(action, {"id": case.pk, "action": "close", "note": "已修好"})
    assert refused.status_code == 409 and 'id="action-error"' in refused.content.decode()
    assert client.post(action, {"id": case.pk, "action": "return", "note": "已修复"}).status_code == 302
    assert client.post(action, {"id": case.pk, "action": "close", "note": "已修好交还顾客"}).status_code == 302
    detail = client.get(reverse("sd_desk:after_sales"), {"id": case.pk}).content.decode()
    assert "品牌维修中心" in detail and 'id="satisfaction-check"' in detail
    assert client.post(reverse("sd_desk:after_sales_rate"), {"id": case.pk, "score": "5", "channel": "phone",
                                                              "comment": "满意"}).status_code == 302
    case.refresh_from_db()
    assert (case.satisfaction_score, case.satisfaction_channel) == (5, "phone")


def test_desk_satisfaction_list_shows_closed_unrated_cases(client, store, agent):
    case = open_case(store, agent)
    svc.after_sales_respond(case=case, staff=agent, note="收到")
    svc.after_sales_close(case=case, staff=agent, resolution="已修好")
    client.force_login(agent)
    page = client.get(reverse("sd_desk:after_sales_queue"), {"satisfaction": "on"}).content.decode()
    assert f'id="case-{case.pk}"' in page


def test_desk_pages_are_store_scoped_and_need_the_permission(client, store, other_store, agent):
    case = open_case(store, agent)
    client.force_login(make_staff(roles.CUSTOMER_SERVICE, store=other_store))
    assert client.get(reverse("sd_desk:after_sales"), {"id": case.pk}).status_code == 404
    assert client.post(reverse("sd_desk:after_sales_action"),
                       {"id": case.pk, "action": "respond", "note": "x"}).status_code == 404
    client.force_login(make_staff(roles.FRONT_DESK, store=store))
    assert client.post(reverse("sd_desk:after_sales_action"),
                       {"id": case.pk, "action": "respond", "note": "x"}).status_code == 403


# ---------------------------------------------------------------- portal


def portal_login(client, member):
    session = client.session
    session[SESSION_KEY] = member.pk
    session.save()


def test_portal_request_follow_and_rate(client, store, agent, member):
    portal_login(client, member)
    with at(MON_10):
        response = client.post(reverse("sd_portal:after_sales"), {
            "kind": "exchange", "store": store.pk, "product": "运动鞋", "description": "尺码不合适"}, follow=True)
    case = AfterSalesCase.objects.get()
    assert case.channel == "portal" and case.member == member and case.created_by is None
    assert "2026年11月24日（星期二）10:00" in response.content.decode()
    svc.after_sales_respond(case=case, staff=agent, note="请到店换货")
    svc.after_sales_close(case=case, staff=agent, resolution="已换 42 码")
    page = client.get(reverse("sd_portal:after_sales")).content.decode()
    assert "已换 42 码" in page and reverse("sd_portal:after_sales_rate") in page
    assert client.post(reverse("sd_portal:after_sales_rate"), {"id": case.pk, "score": "5"}).status_code == 302
    again = client.post(reverse("sd_portal:after_sales_rate"), {"id": case.pk, "score": "3"})
    assert again.status_code == 409
    case.refresh_from_db()
    assert case.satisfaction_score == 5


def test_portal_cannot_rate_another_members_case(client, store, agent, member):
    case = open_case(store, agent, member)
    portal_login(client, MemberFactory(home_store=store))
    assert client.post(reverse("sd_portal:after_sales_rate"), {"id": case.pk, "score": "1"}).status_code == 404


# ---------------------------------------------------------------- API


def test_api_create_act_and_conflict(client, store, agent, member):
    client.force_login(agent)
    created = client.post("/api/v1/after-sales/", {"kind": "repair", "channel": "hotline", "member_no": member.member_no,
                                                  "product": "电饭煲", "description": "内胆涂层脱落"},
                          content_type="application/json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "received" and body["clocks"][0]["due_text"].startswith("20")
    case_id = body["id"]
    conflict = client.post(f"/api/v1/after-sales/{case_id}/actions/", {"action": "return", "note": "x"},
                           content_type="application/json")
    assert conflict.status_code == 409 and conflict.json()["code"] == "illegal_transition"
    moved = client.post(f"/api/v1/after-sales/{case_id}/actions/",
                        {"action": "handoff", "vendor": "厂家", "reference": "R1"}, content_type="application/json")
    assert moved.status_code == 200 and moved.json()["handoffs"][0]["vendor"] == "厂家"
    listing = client.get("/api/v1/after-sales/").json()
    assert listing["count"] == 1
    assert AfterSalesHandoff.objects.count() == 1


def test_api_other_store_is_404(client, store, other_store, agent):
    case = open_case(store, agent)
    client.force_login(make_staff(roles.CUSTOMER_SERVICE, store=other_store))
    assert client.get(f"/api/v1/after-sales/{case.pk}/").status_code == 404


def test_member_data_download_includes_after_sales_cases(client, store, agent, member):
    """The member's data download (issue 15) holds the after-sales cases too."""
    import json

    open_case(store, agent, member)
    portal_login(client, member)
    data = json.loads(client.post(reverse("portal:my_data_download")).content)
    assert data["after_sales"][0]["product"] == "破壁料理机 X1"
    assert data["after_sales"][0]["received_at"].endswith("+08:00")
