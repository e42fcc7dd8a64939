"""Desk and portal pages of the service desk through the test client (SD-1..4, SEC-3)."""
from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from core.jobs import run_job
from members import roles
from members.portal_auth import SESSION_KEY
from service_desk import services
from service_desk.models import Complaint, ComplaintRating, Consultation, StaffNotice
from tests.factories import MemberFactory, make_staff

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.service_desk.urls")]
SH = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 11, 23, 22, 30, tzinfo=SH)


def url(name):
    return reverse(name)


def file(store, staff, **kw):
    values = {"channel": "desk", "category": "quality", "store": store, "description": "鞋子开胶了，要求退货",
              "contact_name": "李女士", "staff": staff}
    values.update(kw)
    return services.complaint_file(**values)


def portal_login(client, member):
    session = client.session
    session[SESSION_KEY] = member.pk
    session.save()


# ---------------------------------------------------------------- desk


def test_queue_shows_clocks_sorted_and_manager_notices(client, store, manager, agent):
    """SD-2: the queue sorts by nearest deadline with a clock per row; the manager sees escalations."""
    with time_machine.travel(T0, tick=False):
        old = file(store, agent)
    with time_machine.travel(T0 + dt.timedelta(hours=3), tick=False):
        new = file(store, agent)
    with time_machine.travel(T0 + dt.timedelta(hours=25), tick=False):
        run_job("sweep_complaints")
        client.force_login(manager)
        response = client.get(url("sd_desk:queue"))
        html = response.content.decode()
        assert response.status_code == 200
        assert html.index(f"complaint-{old.pk}") < html.index(f"complaint-{new.pk}")
        assert "overdue by 1 h 00 min" in html and "2 h 00 min left" in html
        notice = StaffNotice.objects.get(user=manager)
        assert f"notice-{notice.pk}" in html
        client.post(url("sd_desk:notice_read"), {"id": notice.pk})  # the staff session is young at this instant
    assert StaffNotice.objects.get(pk=notice.pk).read_at is not None


def test_queue_filters_by_status_and_category(client, store, agent):
    """SD-1: filters status, store, category."""
    a = file(store, agent, category="payment")
    b = file(store, agent, category="quality")
    client.force_login(agent)
    html = client.get(url("sd_desk:queue"), {"category": "payment"}).content.decode()
    assert f"complaint-{a.pk}" in html and f"complaint-{b.pk}" not in html
    html = client.get(url("sd_desk:queue"), {"status": "closed"}).content.decode()
    assert f"complaint-{a.pk}" not in html


def test_desk_intake_form_records_a_walk_in(client, store, agent, member):
    """SD-1: the intake form records the complaint and opens its page; bad input shows field errors."""
    client.force_login(agent)
    response = client.post(url("sd_desk:complaint_new"), {
        "channel": "wechat", "store": store.pk, "member_no": member.member_no, "category": "attitude",
        "severity": "serious", "description": "专柜导购不理人"})
    c = Complaint.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"?id={c.pk}")
    assert (c.channel, c.member, c.created_by) == ("wechat", member, agent)
    bad = client.post(url("sd_desk:complaint_new"), {"channel": "wechat", "store": store.pk, "category": "attitude",
                                                       "severity": "normal", "description": "专柜导购不理人"})
    assert bad.status_code == 400 and "contact_name" in bad.context["form"].errors


def test_desk_actions_and_illegal_step_409(client, store, agent, member):
    """SD-3: accept / reply / close from the complaint page; an illegal step re-renders with 409."""
    c = file(store, agent, member=member, contact_name="")
    client.force_login(agent)
    page = client.get(url("sd_desk:complaint"), {"id": c.pk})
    assert page.status_code == 200 and 'value="accept"' in page.content.decode()
    bad = client.post(url("sd_desk:complaint_action"), {"id": c.pk, "action": "close"})
    assert bad.status_code == 409 and "cannot be closed" in bad.content.decode()
    for action, note in [("accept", ""), ("reply", "已为您换新"), ("close", "")]:
        r = client.post(url("sd_desk:complaint_action"), {"id": c.pk, "action": action, "note": note})
        assert r.status_code == 302, r.content.decode()[:500]
    c.refresh_from_db()
    assert c.status == "closed"
    r = client.post(url("sd_desk:complaint_compensate"), {"id": c.pk, "points": 200, "reason": "致歉"})
    assert r.status_code == 302
    again = client.post(url("sd_desk:complaint_compensate"), {"id": c.pk, "points": 200, "reason": "致歉"})
    assert again.status_code == 409
    r = client.post(url("sd_desk:complaint_follow_up"), {"id": c.pk, "reached": "on", "outcome": "顾客满意"})
    assert r.status_code == 302
    c.refresh_from_db()
    assert c.loop_closed_at is not None


def test_desk_complaint_of_another_store_is_404(client, store, other_store, agent):
    """SEC-3: a complaint of another store looks missing on every desk page."""
    foreign = file(other_store, make_staff(roles.CUSTOMER_SERVICE, store=other_store))
    client.force_login(agent)
    assert client.get(url("sd_desk:complaint"), {"id": foreign.pk}).status_code == 404
    assert client.post(url("sd_desk:complaint_action"), {"id": foreign.pk, "action": "accept"}).status_code == 404
    assert client.get(url("sd_desk:complaint"), {"id": "x"}).status_code == 404


def test_desk_consultations_and_faq(client, store, agent):
    """SD-4: consultations are recorded, answered and closed at the desk; staff search the FAQ."""
    client.force_login(agent)
    r = client.post(url("sd_desk:consultations"), {"kind": "consultation", "category": "points", "channel": "hotline",
                                                   "store": store.pk, "contact_name": "张先生",
                                                   "question": "积分多久过期？"})
    assert r.status_code == 302
    item = Consultation.objects.get()
    client.post(url("sd_desk:consultation_action"), {"id": item.pk, "action": "answer", "answer": "24个月"})
    client.post(url("sd_desk:consultation_action"), {"id": item.pk, "action": "close"})
    item.refresh_from_db()
    assert item.status == "closed"
    services.faq_article_save(title="积分过期规则", body="积分有效期24个月", category="points", published=True)
    html = client.get(url("sd_desk:faq"), {"q": "积分过期"}).content.decode()
    assert "积分过期规则" in html


# ---------------------------------------------------------------- compliance report


def _complaint_at(store, agent, received, accepted=None, replied=None, closed=None):
    with time_machine.travel(received, tick=False):
        c = file(store, agent)
    for at, action, note in [(accepted, "accept", ""), (replied, "reply", "已处理"), (closed, "close", "")]:
        if at is not None:
            with time_machine.travel(at, tick=False):
                services.complaint_transition(complaint=c, action=action, staff=agent, note=note)
    return c


def test_compliance_rates_hand_checked(client, store, other_store, agent):
    """SD-2 report: on-time rates per store for a small hand-checked set.

    Store A, complaints received 2026-11-02 09:00 (deadlines +24/+48/+72 h), report at 11-20:
      1: accepted +2 h, replied +10 h, closed +20 h   -> on time, on time, on time
      2: accepted +30 h, replied +40 h, closed +80 h  -> late, on time, late
      3: never accepted                                -> late (overdue), late, late
    accept 1/3, reply 2/3, close 1/3. Store B: one complaint received 11-19 23:00, nothing done at
    11-20 10:00 -> not yet due: counted 0, rate empty. A complaint of 10-31 is outside the period."""
    t = dt.datetime(2026, 11, 2, 9, 0, tzinfo=SH)
    h = dt.timedelta(hours=1)
    _complaint_at(store, agent, t, t + 2 * h, t + 10 * h, t + 20 * h)
    _complaint_at(store, agent, t, t + 30 * h, t + 40 * h, t + 80 * h)
    _complaint_at(store, agent, t)
    _complaint_at(store, agent, dt.datetime(2026, 10, 31, 12, 0, tzinfo=SH))
    boss = make_staff(roles.OPERATIONS_MANAGER, chain_wide=True)
    _complaint_at(other_store, make_staff(roles.CUSTOMER_SERVICE, store=other_store),
                  dt.datetime(2026, 11, 19, 23, 0, tzinfo=SH))
    client.force_login(boss)
    with time_machine.travel(dt.datetime(2026, 11, 20, 10, 0, tzinfo=SH), tick=False):
        response = client.get(url("sd_desk:report"), {"start": "2026-11-01", "end": "2026-11-30"})
        rows = {r["store__code"]: r for r in response.context["rows"]}
        a, b = rows[store.code], rows[other_store.code]
        assert (a["total"], a["accept_on_time"], a["accept_counted"], a["accept_rate"]) == (3, 1, 3, 33.3)
        assert (a["reply_on_time"], a["reply_counted"], a["reply_rate"]) == (2, 3, 66.7)
        assert (a["close_on_time"], a["close_counted"], a["close_rate"]) == (1, 3, 33.3)
        assert (b["total"], b["accept_counted"], b["accept_rate"]) == (1, 0, None)
        assert "compliance-chart" in response.content.decode() and "vendor/echarts.min.js" in response.content.decode()
        exported = client.get(url("sd_desk:report"), {"start": "2026-11-01", "end": "2026-11-30", "format": "csv"})
        monthly = client.get(url("sd_desk:report"), {"start": "2026-10-01", "end": "2026-11-30", "by_month": "on"})
        months = sorted((r["store__code"], f"{r['month']:%Y-%m}", r["total"]) for r in monthly.context["rows"])
        assert months == sorted([(store.code, "2026-10", 1), (store.code, "2026-11", 3),
                                 (other_store.code, "2026-11", 1)])
        assert client.get(url("sd_desk:report"), {"start": "2026-10-01", "end": "2026-11-30", "by_month": "on",
                                                  "format": "csv"}).status_code == 200
    lines = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert lines[1][:6] == [store.code, store.name, "3", "1", "3", "33.3"]
    # store scope: the agent's own store only
    client.force_login(make_staff(roles.AUDITOR, store=other_store))
    with time_machine.travel(dt.datetime(2026, 11, 20, 10, 0, tzinfo=SH), tick=False):
        rows = client.get(url("sd_desk:report"), {"start": "2026-11-01", "end": "2026-11-30"}).context["rows"]
    assert [r["store__code"] for r in rows] == [other_store.code]


def test_report_needs_the_permission(client, agent):
    """The compliance report is for operations and auditors."""
    client.force_login(agent)
    assert client.get(url("sd_desk:report")).status_code == 403


# ---------------------------------------------------------------- portal


def test_portal_file_follow_and_rate(client, store, agent, member):
    """SD-1, SD-3: a member files on the portal, sees the clocks, and rates once after the reply."""
    portal_login(client, member)
    r = client.post(url("sd_portal:complaint_new"), {"store": store.pk, "category": "payment",
                                                     "description": "收银多收了二十元"})
    c = Complaint.objects.get()
    assert r.status_code == 302 and (c.channel, c.member) == ("portal", member)
    html = client.get(url("sd_portal:complaints")).content.decode()
    assert f"complaint-{c.pk}" in html and "left" in html
    early = client.post(url("sd_portal:complaint_rate"), {"id": c.pk, "score": 5})
    assert early.status_code == 409 and not ComplaintRating.objects.exists()
    for action, note in [("accept", ""), ("reply", "已退还二十元")]:
        services.complaint_transition(complaint=c, action=action, staff=agent, note=note)
    page = client.get(url("sd_portal:complaint"), {"id": c.pk}).content.decode()
    assert "已退还二十元" in page and 'name="score"' in page
    assert 'class="stars"' in page and page.count('type="radio" id="id_score-') == 5  # tappable stars (issue 16)
    assert client.post(url("sd_portal:complaint_rate"), {"id": c.pk, "score": 4, "comment": "谢谢"}).status_code == 302
    again = client.post(url("sd_portal:complaint_rate"), {"id": c.pk, "score": 1})
    assert again.status_code in (400, 409)
    assert ComplaintRating.objects.get(complaint=c).score == 4


def test_portal_other_members_complaint_is_404(client, store, agent, member):
    """SEC-3: another member's complaint id answers 404 on every portal page."""
    other = MemberFactory(home_store=store)
    theirs = services.complaint_file(channel="portal", category="quality", store=store, member=other,
                                     description="商品质量问题严重")
    services.complaint_transition(complaint=theirs, action="accept", staff=agent)
    services.complaint_transition(complaint=theirs, action="reply", staff=agent, note="已处理")
    portal_login(client, member)
    assert client.get(url("sd_portal:complaint"), {"id": theirs.pk}).status_code == 404
    assert client.post(url("sd_portal:complaint_rate"), {"id": theirs.pk, "score": 1}).status_code == 404
    assert f"complaint-{theirs.pk}" not in client.get(url("sd_portal:complaints")).content.decode()
    assert not ComplaintRating.objects.exists()


def test_portal_requires_login_and_searches_faq(client, member):
    """SD-4: the portal FAQ search shows published articles only; pages need a member login."""
    assert client.get(url("sd_portal:complaints")).status_code == 302
    services.faq_article_save(title="退货需要什么凭证", body="凭小票", category="products", published=True)
    services.faq_article_save(title="退货内部草稿", body="未发布", category="products", published=False)
    portal_login(client, member)
    html = client.get(url("sd_portal:faq"), {"q": "退货"}).content.decode()
    assert "退货需要什么凭证" in html and "退货内部草稿" not in html


def test_queue_and_api_list_query_counts_do_not_grow(client, store, agent, member, django_assert_max_num_queries):
    """The queue page and the API list read complaints, stores, members and notices in a fixed number of queries."""
    for _ in range(8):
        file(store, agent, member=member)
    client.force_login(agent)
    with django_assert_max_num_queries(12):
        assert client.get(url("sd_desk:queue")).status_code == 200
    with django_assert_max_num_queries(10):
        assert client.get("/api/v1/complaints/").status_code == 200


def test_seed_complaints_demo_is_repeatable(store, member):
    """seed_demo hook: complaints in several states, FAQ articles; a re-run adds nothing."""
    from django.contrib.auth.models import User

    from service_desk.demo import seed_complaints

    User.objects.create_superuser("root", password="x")
    members = [member.pk] + [MemberFactory(home_store=store).pk for _ in range(9)]
    first = seed_complaints(members, seed=7)
    assert first["complaints"] == 10 and first["faq"] == 5
    assert Complaint.objects.count() == 10
    assert all(c.received_at <= c.accept_due <= c.reply_due <= c.close_due for c in Complaint.objects.all())
    second = seed_complaints(members, seed=7)
    assert second["complaints"] == 0 and Complaint.objects.count() == 10


def test_member_asks_a_question_on_the_portal_and_sees_the_answer(client, store, agent):
    """SD-4: consultations and suggestions from the portal, answered at the desk, shown to the member only."""
    member, other = MemberFactory(home_store=store), MemberFactory(home_store=store)
    portal_login(client, member)
    response = client.post(url("sd_portal:consultations"), {
        "kind": Consultation.Kind.CONSULTATION, "category": Consultation.Category.choices[0][0],
        "store": store.pk, "question": "会员日有哪些品牌参加？"})
    assert response.status_code == 302
    item = Consultation.objects.get(member=member)
    assert item.channel == "portal"
    services.consultation_transition(consultation=item, action="answer", staff=agent, answer="化妆品和服装品牌都参加。")
    page = client.get(url("sd_portal:consultations")).content.decode()
    assert "化妆品和服装品牌都参加" in page
    portal_login(client, other)
    assert "会员日有哪些品牌参加" not in client.get(url("sd_portal:consultations")).content.decode()
    bad = client.post(url("sd_portal:consultations"), {"kind": "consultation", "category": "x", "store": store.pk,
                                                       "question": ""})
    assert bad.status_code == 400
