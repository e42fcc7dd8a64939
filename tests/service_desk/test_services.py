"""Service desk services (SD-1..4) against the real database."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from members.models import Tier
from points.models import Coupon, CouponType, Entry, PointsAccount
from points.reconcile import reconcile
from service_desk import selectors, services
from service_desk.models import (
    Compensation,
    Complaint,
    ComplaintEvent,
    ComplaintRating,
    Consultation,
    Department,
    SlaPolicy,
    TierSlaShortening,
)
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def file(store, agent, member=None, **kw):
    values = {"channel": "hotline", "category": "quality", "severity": "normal", "store": store,
              "description": "衣服穿了一次就开线了", "member": member, "staff": agent}
    if member is None:
        values["contact_name"] = "李女士"
    values.update(kw)
    return services.complaint_file(**values)


def walk(complaint, agent, *actions):
    for action in actions:
        complaint = services.complaint_transition(complaint=complaint, action=action, staff=agent,
                                                  note="已处理" if action in ("reply", "reopen") else "")
    return complaint


# ---------------------------------------------------------------- SD-1 intake


def test_complaint_intake_sets_deadlines_and_logs_intake(store, agent, member):
    """SD-1, SD-2: deadlines 24/48/72 h from intake are stored on the complaint; intake is logged."""
    with time_machine.travel(dt.datetime(2026, 11, 23, 10, 0, tzinfo=SH), tick=False):
        c = file(store, agent, member)
    assert c.status == "received" and c.channel == "hotline"
    assert c.accept_due == dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH)
    assert c.reply_due == dt.datetime(2026, 11, 25, 10, 0, tzinfo=SH)
    assert c.close_due == dt.datetime(2026, 11, 26, 10, 0, tzinfo=SH)
    event = c.events.get()
    assert (event.action, event.to_status, event.actor) == ("intake", "received", agent)


def test_complaint_intake_rejects_bad_input(store, agent):
    """SD-1: unknown channel/category, short description, walk-in without a name: field errors."""
    with pytest.raises(ValidationFailed) as exc:
        services.complaint_file(channel="fax", category="nope", store=store, description="x", staff=agent)
    assert {"channel", "category", "description", "contact_name"} <= set(exc.value.fields)
    with pytest.raises(ValidationFailed) as exc:  # staff do not record the portal channel
        file(store, agent, channel="portal")
    assert "channel" in exc.value.fields
    assert not Complaint.objects.exists()


def test_complaint_intake_in_another_store_is_refused(other_store, agent):
    """SD-1, SEC-3: staff record complaints only for stores in their scope."""
    with pytest.raises(PermissionDenied):
        file(other_store, agent)


def test_portal_complaint_needs_the_member(store, member):
    """SD-1: the portal channel comes from a member; staff channels need staff."""
    c = services.complaint_file(channel="portal", category="payment", store=store, member=member,
                                description="多收了二十元钱")
    assert c.member == member and c.events.get().actor_label == "member"
    with pytest.raises(ValidationFailed):
        services.complaint_file(channel="hotline", category="payment", store=store, member=member,
                                description="多收了二十元钱")


def test_complaint_intake_is_idempotent_on_request_id(store, agent):
    """SD-1: a repeated intake with the same request id returns the first complaint."""
    a = file(store, agent, request_id="r-1")
    b = file(store, agent, request_id="r-1")
    assert a.pk == b.pk and Complaint.objects.count() == 1


# ---------------------------------------------------------------- SD-2 time limits and clocks


def test_deadlines_follow_the_policy_and_are_shortened_per_tier(store, agent):
    """SD-2: category × severity hours from SlaPolicy; a tier percentage shortens every limit."""
    SlaPolicy.objects.filter(category="payment", severity="urgent").update(accept_hours=4, reply_hours=12,
                                                                         close_hours=24)
    gold = Tier.objects.get(code="gold")
    TierSlaShortening.objects.create(tier=gold, percent=25)
    gold_member = MemberFactory(home_store=store, tier=gold)
    normal_member = MemberFactory(home_store=store)
    with time_machine.travel(dt.datetime(2026, 11, 23, 9, 0, tzinfo=SH), tick=False):
        fast = file(store, agent, gold_member, category="payment", severity="urgent")
        plain = file(store, agent, normal_member, category="payment", severity="urgent")
        default = file(store, agent, gold_member)
    start = dt.datetime(2026, 11, 23, 9, 0, tzinfo=SH)
    assert (fast.accept_due - start, fast.reply_due - start, fast.close_due - start) == (
        dt.timedelta(hours=3), dt.timedelta(hours=9), dt.timedelta(hours=18))
    assert (plain.accept_due - start, plain.close_due - start) == (dt.timedelta(hours=4), dt.timedelta(hours=24))
    assert default.close_due - start == dt.timedelta(hours=54)  # 72 h less 25 %


def test_clocks_across_day_boundaries(store, agent, member):
    """SD-2: a complaint received late in the evening shows time left / overdue across midnight."""
    with time_machine.travel(dt.datetime(2026, 11, 23, 22, 30, tzinfo=SH), tick=False):
        c = file(store, agent, member)
    at = dt.datetime(2026, 11, 24, 21, 0, tzinfo=SH)
    accept, reply, close = selectors.complaint_clocks(c, now=at)
    assert (accept.state, accept.minutes, accept.text) == ("open", 90, "1 h 30 min left")
    assert reply.text == "1 d 1 h left"  # a day or more: days and hours (issue 16)
    assert accept.due_local.date() == dt.date(2026, 11, 24)
    after_midnight = dt.datetime(2026, 11, 25, 0, 15, tzinfo=SH)
    accept = selectors.complaint_clocks(c, now=after_midnight)[0]
    assert (accept.state, accept.text) == ("overdue", "overdue by 1 h 45 min")
    with time_machine.travel(dt.datetime(2026, 11, 25, 1, 0, tzinfo=SH), tick=False):
        c = walk(c, agent, "accept")
        accept, reply, _close = selectors.complaint_clocks(c)
    assert (accept.state, accept.text) == ("late", "late by 2 h 30 min")
    assert reply.state == "open" and selectors.complaint_current_clock(c).label == "Reply"


# ---------------------------------------------------------------- SD-3 workflow


def test_full_workflow_logs_every_step(store, agent, member):
    """SD-3: received → accepted → in progress (transfer) → replied → closed → reopened → closed, each logged."""
    c = file(store, agent, member)
    floor = Department.objects.get(name="楼面管理")
    c = walk(c, agent, "accept", "start")
    c = services.complaint_transition(complaint=c, action="transfer", staff=agent, department=floor, note="转楼面")
    c = walk(c, agent, "reply", "close", "reopen", "reply", "close")
    log = list(c.events.values_list("action", "from_status", "to_status", "actor_id"))
    assert [e[:3] for e in log] == [
        ("intake", "", "received"), ("accept", "received", "accepted"), ("start", "accepted", "in_progress"),
        ("transfer", "in_progress", "in_progress"), ("reply", "in_progress", "replied"),
        ("close", "replied", "closed"), ("reopen", "closed", "in_progress"), ("reply", "in_progress", "replied"),
        ("close", "replied", "closed"),
    ]
    assert all(e[3] == agent.pk for e in log)
    assert "楼面管理" in c.events.get(action="transfer").note
    assert c.department == floor and c.assignee == agent and c.closed_at and c.first_replied_at


@pytest.mark.parametrize("done, action", [
    ([], "close"), ([], "reply"), ([], "reopen"), (["accept"], "accept"), (["accept", "reply"], "transfer"),
    (["accept", "reply", "close"], "close"), (["accept", "reply", "close"], "reply"),
])
def test_illegal_transitions_are_conflicts(store, agent, member, done, action):
    """SD-3: only the transition table's steps; anything else is a Conflict (409) and nothing is logged."""
    c = walk(file(store, agent, member), agent, *done)
    events = c.events.count()
    with pytest.raises(Conflict) as exc:
        services.complaint_transition(complaint=c, action=action, staff=agent, note="x",
                                      department=Department.objects.first())
    assert exc.value.code == "illegal_transition" and exc.value.status == 409
    assert c.events.count() == events


def test_transition_needs_reply_text_and_scope(store, agent, member, other_store):
    """SD-3: a reply needs its text; staff of another store cannot touch the complaint."""
    from tests.factories import make_staff

    c = walk(file(store, agent, member), agent, "accept")
    with pytest.raises(ValidationFailed):
        services.complaint_transition(complaint=c, action="reply", staff=agent, note=" ")
    stranger = make_staff("客服", store=other_store)
    with pytest.raises(PermissionDenied):
        services.complaint_transition(complaint=c, action="start", staff=stranger)


def test_reply_notifies_the_member(store, agent, member):
    """SD-3: the reply reaches the member's inbox through messaging.notify_member."""
    from messaging.models import Notice

    walk(file(store, agent, member), agent, "accept", "reply")
    assert Notice.objects.filter(member=member, kind="complaint_reply").count() == 1


# ---------------------------------------------------------------- resolution


def test_compensation_credits_points_once_through_the_ledger(store, agent, member):
    """SD-3: compensation goes through ledger.credit with the complaint as source, once; the ledger reconciles."""
    c = walk(file(store, agent, member), agent, "accept")
    services.complaint_compensate(complaint=c, staff=agent, reason="补偿", points=500)
    with pytest.raises(Conflict) as exc:
        services.complaint_compensate(complaint=c, staff=agent, reason="补偿", points=500)
    assert exc.value.code == "already_compensated"
    entry = Entry.objects.get(member=member)
    assert (entry.points, entry.idem_key, entry.source_ref, entry.staff_id) == (
        500, f"complaint:{c.pk}:points", f"complaint:{c.pk}", agent.pk)
    assert PointsAccount.objects.get(member=member).balance == 500
    assert Compensation.objects.filter(complaint=c).count() == 1
    assert c.events.filter(action="compensate").count() == 1
    assert reconcile() == []


def test_compensation_coupon_and_refusals(store, agent, member):
    """SD-3: a coupon through coupon_issue; not before acceptance; not without a member."""
    ctype = CouponType.objects.create(name="投诉补偿券", face_value=20, validity_days=30)
    c = file(store, agent, member)
    with pytest.raises(Conflict):
        services.complaint_compensate(complaint=c, staff=agent, reason="补偿", coupon_type=ctype)
    c = walk(c, agent, "accept")
    services.complaint_compensate(complaint=c, staff=agent, reason="补偿", coupon_type=ctype)
    coupon = Coupon.objects.get(member=member)
    assert coupon.source == "compensation" and coupon.idem_key == f"complaint:{c.pk}:coupon"
    walk_in = walk(file(store, agent), agent, "accept")
    with pytest.raises(Conflict) as exc:
        services.complaint_compensate(complaint=walk_in, staff=agent, reason="补偿", points=10)
    assert exc.value.code == "no_member"
    with pytest.raises(ValidationFailed):
        services.complaint_compensate(complaint=c, staff=agent, reason="补偿", points=-5)


def test_rating_once_and_only_after_reply(store, agent, member):
    """SD-3: the member rates 1-5 once, only when the complaint is replied or closed; never another's."""
    c = walk(file(store, agent, member), agent, "accept")
    with pytest.raises(Conflict) as exc:
        services.complaint_rate(complaint_id=c.pk, member=member, score=5)
    assert exc.value.code == "not_ratable"
    c = walk(c, agent, "reply")
    with pytest.raises(ValidationFailed):
        services.complaint_rate(complaint_id=c.pk, member=member, score=6)
    other = MemberFactory(home_store=store)
    with pytest.raises(NotFound):
        services.complaint_rate(complaint_id=c.pk, member=other, score=1)
    services.complaint_rate(complaint_id=c.pk, member=member, score=4, comment="还可以")
    with pytest.raises(Conflict) as exc:
        services.complaint_rate(complaint_id=c.pk, member=member, score=5)
    assert exc.value.code == "already_rated"
    assert ComplaintRating.objects.get(complaint=c).score == 4
    assert c.events.filter(action="rate").count() == 1


def test_follow_up_call_closes_the_loop(store, agent, member):
    """SD-3: a follow-up call after closing; one that reaches the customer closes the loop."""
    c = walk(file(store, agent, member), agent, "accept", "reply")
    with pytest.raises(Conflict):
        services.complaint_follow_up(complaint=c, staff=agent, reached=True, outcome="满意")
    c = walk(c, agent, "close")
    services.complaint_follow_up(complaint=c, staff=agent, reached=False, outcome="无人接听")
    c.refresh_from_db()
    assert c.loop_closed_at is None
    services.complaint_follow_up(complaint=c, staff=agent, reached=True, outcome="顾客满意")
    c.refresh_from_db()
    assert c.loop_closed_at is not None
    with pytest.raises(Conflict):
        services.complaint_follow_up(complaint=c, staff=agent, reached=True, outcome="again")
    assert c.events.filter(action="follow_up").count() == 2


# ---------------------------------------------------------------- SD-4 consultations


def test_consultation_workflow_received_answered_closed(store, agent, member):
    """SD-4: consultations and suggestions are logged; received → answered → closed; others are conflicts."""
    item = services.consultation_log(kind="suggestion", category="store", channel="wechat", store=store,
                                     question="建议增加母婴室", staff=agent, member=member)
    with pytest.raises(Conflict):
        services.consultation_transition(consultation=item, action="close", staff=agent)
    item = services.consultation_transition(consultation=item, action="answer", staff=agent, answer="已转交物业")
    item = services.consultation_transition(consultation=item, action="close", staff=agent)
    assert item.status == Consultation.Status.CLOSED
    assert list(item.events.values_list("action", flat=True)) == ["intake", "answer", "close"]
    with pytest.raises(ValidationFailed):
        services.consultation_log(kind="x", category="store", channel="wechat", store=store, question="", staff=agent)


def test_complaint_events_are_append_only_in_admin(admin_client, store, agent, member):
    """SD-3: the log has no add/change/delete path in the admin."""
    c = file(store, agent, member)
    event = ComplaintEvent.objects.get(complaint=c)
    response = admin_client.post(f"/admin/service_desk/complaintevent/{event.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert ComplaintEvent.objects.filter(pk=event.pk).exists()
