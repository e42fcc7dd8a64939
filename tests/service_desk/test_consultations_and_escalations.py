"""SD-8 consultations with a time limit, department transfer and suggestion decisions; SD-9 the
second escalation level (regional manager) and escalations by SMS / e-mail through messaging."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from core.errors import Conflict, ValidationFailed
from core.jobs import run_job
from core.models import JobRun
from members import roles
from members.portal_auth import SESSION_KEY
from messaging.models import Message, Notice
from service_desk import after_sales, services
from service_desk.models import (
    ConsultationEvent,
    ConsultationTimeLimit,
    Department,
    Escalation,
    SlaPolicy,
    StaffNotice,
)
from tests.factories import make_staff

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.service_desk.urls")]
SH = ZoneInfo("Asia/Shanghai")
FRI_18 = dt.datetime(2026, 11, 27, 18, 0, tzinfo=SH)
MON_9 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=SH)


def at(moment):
    return time_machine.travel(moment, tick=False)


def log(store, staff=None, member=None, **kw):
    values = {"kind": "consultation", "category": "points", "channel": "portal" if staff is None else "hotline",
              "store": store, "question": "积分什么时候过期？", "staff": staff, "member": member}
    values.update(kw)
    return services.consultation_log(**values)


# ---------------------------------------------------------------- SD-8


def test_online_consultation_is_due_within_one_working_day(store, member):
    """003 3.4: online questions are answered within one working day: Friday 18:00 → Monday 18:00."""
    with at(FRI_18):
        item = log(store, member=member)
    assert item.reply_due == dt.datetime(2026, 11, 30, 18, 0, tzinfo=SH)
    assert "2026年11月30日（星期一）18:00" in services.consultation_intake_notice(item)


def test_consultation_limit_is_configurable_per_channel(store, agent):
    ConsultationTimeLimit.objects.filter(channel="hotline").update(reply_hours=4, working_days=False)
    with at(FRI_18):
        item = log(store, agent)
    assert item.reply_due == FRI_18 + dt.timedelta(hours=4)


def test_transfer_between_departments_is_logged(store, agent):
    floor, finance = Department.objects.get(name="楼面管理"), Department.objects.get(name="财务收银")
    item = log(store, agent, department=floor)
    services.consultation_transition(consultation=item, action="transfer", staff=agent, department=finance,
                                     note="涉及发票")
    item.refresh_from_db()
    assert item.department == finance and item.status == "received"
    event = ConsultationEvent.objects.get(consultation=item, action="transfer")
    assert "楼面管理 → 财务收银" in event.note and "涉及发票" in event.note and event.actor == agent
    with pytest.raises(Conflict):
        services.consultation_transition(consultation=item, action="transfer", staff=agent, department=finance)
    with pytest.raises(ValidationFailed):
        services.consultation_transition(consultation=item, action="transfer", staff=agent)


def test_suggestion_adopted_with_feedback_notifies_the_member(store, agent, member):
    """002 五(三)3: an adopted / not adopted decision with feedback the member receives and sees."""
    item = log(store, member=member, kind="suggestion", category="store", question="希望停车场增加充电桩")
    decided = services.suggestion_decide(consultation=item, staff=agent, adopted=True,
                                         feedback="已采纳，B2 层将于下月安装 10 个充电桩。")
    assert (decided.decision, decided.status, decided.decided_by) == ("adopted", "answered", agent)
    notice = Notice.objects.get(member=member, kind="suggestion_decision", ref=f"consultation:{item.pk}")
    assert notice.title == "您的建议已被采纳" and "充电桩" in notice.body
    assert Message.objects.filter(member=member, event_key=f"suggestion_decision:consultation:{item.pk}",
                                  channel="inbox").exists()
    with pytest.raises(Conflict):
        services.suggestion_decide(consultation=item, staff=agent, adopted=False, feedback="改主意")


def test_only_suggestions_are_decided_and_feedback_is_required(store, agent, member):
    question = log(store, member=member)
    with pytest.raises(Conflict):
        services.suggestion_decide(consultation=question, staff=agent, adopted=True, feedback="好")
    suggestion = log(store, member=member, kind="suggestion")
    with pytest.raises(ValidationFailed):
        services.suggestion_decide(consultation=suggestion, staff=agent, adopted=False, feedback="  ")


def test_desk_transfer_and_decision_pages(client, store, agent, member):
    suggestion = log(store, member=member, kind="suggestion", question="试衣间太少")
    finance = Department.objects.get(name="财务收银")
    client.force_login(agent)
    page = client.get(reverse("sd_desk:consultations")).content.decode()
    assert reverse("sd_desk:suggestion_decide") in page and "sd-clock" in page
    assert client.post(reverse("sd_desk:consultation_action"), {"id": suggestion.pk, "action": "transfer",
                                                                 "department": finance.pk}).status_code == 302
    response = client.post(reverse("sd_desk:suggestion_decide"), {"id": suggestion.pk, "adopted": "0",
                                                                   "feedback": "场地有限，暂不增加。"})
    assert response.status_code == 302
    suggestion.refresh_from_db()
    assert suggestion.decision == "not_adopted" and suggestion.department == finance
    refused = client.post(reverse("sd_desk:suggestion_decide"), {"id": suggestion.pk, "adopted": "1",
                                                                  "feedback": "x"})
    assert refused.status_code == 409


def test_front_desk_cannot_decide(client, store, desk_clerk, member):
    suggestion = log(store, member=member, kind="suggestion")
    client.force_login(desk_clerk)
    assert client.post(reverse("sd_desk:suggestion_decide"), {"id": suggestion.pk, "adopted": "1",
                                                               "feedback": "好"}).status_code == 403


def test_portal_shows_the_decision_and_the_deadline(client, store, agent, member):
    session = client.session
    session[SESSION_KEY] = member.pk
    session.save()
    with at(FRI_18):
        response = client.post(reverse("sd_portal:consultations"), {
            "kind": "suggestion", "category": "store", "store": store.pk, "question": "希望延长营业时间"}, follow=True)
    assert "2026年11月30日（星期一）18:00" in response.content.decode()
    item = member.consultations.get()
    services.suggestion_decide(consultation=item, staff=agent, adopted=True, feedback="周末延长至 22:00。")
    page = client.get(reverse("sd_portal:consultations")).content.decode()
    assert "周末延长至 22:00。" in page


# ---------------------------------------------------------------- SD-9 escalations


def sweep(moment):
    with at(moment):
        run = run_job("sweep_complaints")
    assert run.status == JobRun.Status.SUCCEEDED, run.error
    return run


@pytest.fixture
def regional(store):
    """A regional manager (区域经理) covering the store, reachable by SMS and e-mail."""
    user = make_staff(roles.REGIONAL_MANAGER, chain_wide=True, email="region@example.com")
    services.escalation_contact_save(user=user, mobile="13800138000", regional_stores=[store])
    return user


def test_second_level_goes_to_the_regional_manager_by_notice_sms_and_email(store, manager, agent, member, regional):
    """SD-9: an accept breach goes to the store manager; still not accepted 24 h after it was due,
    to the regional manager, as a desk notice and by SMS and e-mail through messaging; once."""
    services.escalation_contact_save(user=manager, mobile="13900139000", by_email=False)
    with at(MON_9):
        c = services.complaint_file(channel="desk", category="attitude", store=store, member=member,
                                    description="导购态度差", staff=agent)
    first = sweep(MON_9 + dt.timedelta(hours=25))
    assert first.counts["escalated"] == 1 and first.counts["escalated_level2"] == 0
    assert first.counts["alerts"] == 1  # the store manager's SMS (no e-mail wanted)
    sms = Message.objects.get(channel="sms", member=None, event_key__startswith="escalation:")
    assert f"#{c.pk}" in sms.text and sms.mobile_enc and "13900139000" not in sms.text
    second = sweep(MON_9 + dt.timedelta(hours=49))
    # the regional manager by SMS and e-mail (accept, level 2) and the store manager by SMS (reply, level 1)
    assert second.counts["escalated_level2"] == 1 and second.counts["alerts"] == 3
    level2 = Escalation.objects.get(complaint=c, level=2)
    assert (level2.kind, level2.manager) == ("accept", regional)
    notice = StaffNotice.objects.get(user=regional, complaint=c)
    assert notice.kind == "escalation2_accept" and "区域经理" in notice.text
    assert Message.objects.filter(channel="email", event_key=f"escalation:{level2.pk}:user:{regional.pk}").exists()
    assert Message.objects.filter(channel="sms", event_key=f"escalation:{level2.pk}:user:{regional.pk}").exists()
    again = sweep(MON_9 + dt.timedelta(hours=50))
    assert {k: again.counts[k] for k in ("escalated", "escalated_level2", "notices", "alerts")} == {
        "escalated": 0, "escalated_level2": 0, "notices": 0, "alerts": 0}


def test_second_level_waits_for_an_accepted_complaint(store, manager, agent, member, regional):
    with at(MON_9):
        c = services.complaint_file(channel="desk", category="attitude", store=store, member=member,
                                    description="导购态度差", staff=agent)
    sweep(MON_9 + dt.timedelta(hours=25))
    with at(MON_9 + dt.timedelta(hours=30)):
        services.complaint_transition(complaint=c, action="accept", staff=agent)
    sweep(MON_9 + dt.timedelta(hours=49))
    assert not Escalation.objects.filter(complaint=c, kind="accept", level=2).exists()


def test_second_level_on_a_working_day_policy_waits_out_the_weekend(store, manager, agent, member, regional):
    """A working-day policy: accept due Monday 09:00 (filed Friday 09:00), second level 24 working
    hours later = Tuesday 09:00; the calendar 24 h would have been Saturday."""
    SlaPolicy.objects.filter(category="attitude", severity="normal").update(working_days=True)
    friday_9 = dt.datetime(2026, 11, 27, 9, 0, tzinfo=SH)
    with at(friday_9):
        c = services.complaint_file(channel="desk", category="attitude", store=store, member=member,
                                    description="导购态度差", staff=agent)
    assert c.accept_due == dt.datetime(2026, 11, 30, 9, 0, tzinfo=SH)
    sweep(dt.datetime(2026, 11, 30, 10, 0, tzinfo=SH))
    run = sweep(dt.datetime(2026, 11, 30, 23, 0, tzinfo=SH))
    assert run.counts["escalated_level2"] == 0
    run = sweep(dt.datetime(2026, 12, 1, 9, 30, tzinfo=SH))
    assert run.counts["escalated_level2"] >= 1
    assert Escalation.objects.filter(complaint=c, kind="accept", level=2).exists()


def test_regional_manager_needs_the_permission(store, manager, agent, member):
    """Covering the store is not enough: without the regional-manager permission nobody is told."""
    plain = make_staff(roles.CUSTOMER_SERVICE, store=store)
    services.escalation_contact_save(user=plain, mobile="13700137000", regional_stores=[store])
    with at(MON_9):
        services.complaint_file(channel="desk", category="attitude", store=store, member=member,
                                description="导购态度差", staff=agent)
    sweep(MON_9 + dt.timedelta(hours=25))
    sweep(MON_9 + dt.timedelta(hours=49))
    assert not StaffNotice.objects.filter(user=plain).exists()
    assert Escalation.objects.get(level=2).manager is None


def test_after_sales_breach_is_escalated(store, manager, agent, member, regional):
    """SD-7: after-sales clocks are swept like complaints (respond, resolve; both levels)."""
    with at(MON_9):
        case = after_sales.after_sales_open(kind="repair", channel="desk", store=store, member=member,
                                            product="电吹风", description="冒烟", staff=agent)
    run = sweep(MON_9 + dt.timedelta(hours=25))
    assert run.counts["escalated_respond"] == 1
    assert StaffNotice.objects.get(user=manager, after_sales=case).kind == "escalation_respond"
    assert case.events.filter(action="breach").count() == 1
    sweep(MON_9 + dt.timedelta(hours=49))
    kinds = set(Escalation.objects.filter(after_sales=case).values_list("kind", "level"))
    assert ("respond", 2) in kinds and ("resolve", 1) in kinds
    assert StaffNotice.objects.filter(user=regional, after_sales=case, kind="escalation2_respond").exists()


def test_escalation_contact_mobile_is_checked_and_encrypted(manager):
    with pytest.raises(ValidationFailed):
        services.escalation_contact_save(user=manager, mobile="12345")
    contact = services.escalation_contact_save(user=manager, mobile="13800138000")
    assert contact.mobile_masked.startswith("138") and "13800138000" not in contact.mobile_enc
    assert services.escalation_contact_save(user=manager, mobile="").mobile_enc == ""


def test_desk_list_puts_the_nearest_open_deadline_first(client, store, agent, member):
    """SD-8: unanswered items by answer deadline (an overdue one on top), answered ones after."""
    with at(MON_9):
        overdue = log(store, member=member, question="第一个问题：停车怎么收费")
        answered = log(store, member=member, question="第二个问题：积分怎么查")
        services.consultation_transition(consultation=answered, action="answer", staff=agent, answer="会员中心查看")
    with at(MON_9 + dt.timedelta(hours=30)):
        fresh = log(store, member=member, question="第三个问题：会员日是哪天")
        client.force_login(agent)
        page = client.get(reverse("sd_desk:consultations")).content.decode()
    order = [page.index(f'id="consultation-{c.pk}"') for c in (overdue, fresh, answered)]
    assert order == sorted(order)
    assert 'data-state="overdue"' in page


def test_unanswered_consultation_is_escalated_once_to_the_store_manager(store, manager, agent, member):
    """SD-8: past its answer deadline a consultation is flagged and the store manager told, once."""
    with at(FRI_18):
        late = log(store, member=member)
        on_time = log(store, member=member, question="会员卡丢了怎么办")
    with at(dt.datetime(2026, 11, 30, 10, 0, tzinfo=SH)):
        services.consultation_transition(consultation=on_time, action="answer", staff=agent, answer="到服务台补办")
    run = sweep(dt.datetime(2026, 11, 30, 19, 0, tzinfo=SH))
    assert run.counts["escalated_answer"] == 1
    assert Escalation.objects.get(consultation__isnull=False).consultation == late
    notice = StaffNotice.objects.get(user=manager, consultation=late)
    assert notice.kind == "escalation_answer" and f"#{late.pk}" in notice.text
    assert ConsultationEvent.objects.filter(consultation=late, action="breach").count() == 1
    assert sweep(dt.datetime(2026, 11, 30, 20, 0, tzinfo=SH)).counts["escalated_answer"] == 0
