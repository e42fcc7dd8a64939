"""Service figures per staff member and store (seed 001 1.4 服务考核, 8.1, 8.4): members recruited, complaint
time limits and times, CSI of the cases handled, visits done on time; the page, its store scope and export.

Period 2026-11-01 … 2026-11-20 (Asia/Shanghai), now 2026-11-25 12:00. Stores S1, S2; staff alice, bob (S1),
carol (S2). Hours are local. Complaint deadlines are accept / reply / close.
  recruited: alice 2 active in S1 (+1 pending, +1 before the period), bob 1 in S1, carol 2 in S2,
             one S1 sign-up without a staff member.
  c1 alice S1 rcv 11-02 10:00, due 11-03/04/05 10:00; accepted 12:00 (2 h), replied 11-03 10:00, closed 11-04
     10:00 (48 h): all on time; rated 5.
  c2 alice S1 rcv 11-10 10:00, due 11-11/12/13 10:00; accepted 11-11 16:00 (30 h, late), replied 11-13 (late),
     open and past its close deadline (counted, late).
  c3 bob S1 rcv 11-15 09:00, due 11-16/17/18 09:00; accepted 10:00 (1 h), replied 12:00, closed 11-17 09:00
     (48 h): on time; rated 3 (not satisfied).
  c4 bob S1 rcv 11-20 20:00, deadlines after now, nothing done: no step counted yet.
  c5 unassigned S1 rcv 11-05 10:00, nothing done, every deadline passed: counted, late.
  c6 carol S2 rcv 11-08 10:00, due 11-09/10/11; accepted 11:00 (1 h), replied 15:00, closed 11-09 10:00 (24 h);
     rated 4.
  c7 (10-31) and c8 (11-21) are outside the period.
  visits: alice S1 due 11-10 done 11-09 (on time), due 11-15 done 11-16 (late), due 11-18 open,
          due 11-30 (outside); carol S2 due 11-12 done 11-12 23:30 (on time), due 11-12 done 11-13 07:00 (late:
          the local date counts, though it is still 11-12 in UTC).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.utils import timezone

from care.models import Visit
from dashboards.service_figures import staff_service_figures
from members import roles
from members.models import Member, StaffProfile
from service_desk.models import Complaint, ComplaintRating
from tests.factories import MemberFactory, StoreFactory, make_staff

pytestmark = [pytest.mark.django_db, pytest.mark.pinned_at("2026-11-25T12:00+08:00"),
              pytest.mark.urls("tests.dashboards.urls")]

PAGE = "/desk/dashboards/staff/"
PERIOD = {"date_from": "2026-11-01", "date_to": "2026-11-20"}
START, END = dt.date(2026, 11, 1), dt.date(2026, 11, 20)


def at(month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime(2026, month, day, hour, minute))


def _staff(store, name):
    user = make_staff(roles.CUSTOMER_SERVICE, store=store)
    StaffProfile.objects.filter(user=user).update(display_name=name)
    return user


def _recruit(by, store, day, *, status=Member.Status.ACTIVE):
    member = MemberFactory(home_store=store, status=status)
    Member.objects.filter(pk=member.pk).update(created_by=by, created_at=at(11, day, 10) if day else at(10, 20, 10))
    return member


def _complaint(store, assignee, received, dues, accepted=None, replied=None, closed=None, rating=None):
    c = Complaint.objects.create(
        channel="desk", category="attitude", store=store, assignee=assignee, description="…", received_at=received,
        accept_due=dues[0], reply_due=dues[1], close_due=dues[2], accepted_at=accepted, first_replied_at=replied,
        closed_at=closed, status="closed" if closed else "received")
    if rating:
        ComplaintRating.objects.create(complaint=c, score=rating, at=(closed or received) + dt.timedelta(hours=1))
    return c


def _visit(store, assignee, due, done_at=None):
    member = MemberFactory(home_store=store)
    return Visit.objects.create(
        member=member, store=store, period_start=due - dt.timedelta(days=30), due_on=due, assignee=assignee,
        status=Visit.Status.DONE if done_at else Visit.Status.OPEN, outcome="reached" if done_at else "",
        done_at=done_at, done_by=assignee if done_at else None)


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def world():
    s1, s2 = StoreFactory(code="S1", name="一店"), StoreFactory(code="S2", name="二店")
    alice, bob, carol = _staff(s1, "王丽"), _staff(s1, "李强"), _staff(s2, "=HYPERLINK(1)")
    for day in (3, 9):
        _recruit(alice, s1, day)
    _recruit(alice, s1, 12, status=Member.Status.PENDING)
    _recruit(alice, s1, None)
    _recruit(bob, s1, 15)
    _recruit(carol, s2, 4)
    _recruit(carol, s2, 19)
    Member.objects.filter(pk=MemberFactory(home_store=s1).pk).update(created_at=at(11, 6, 9))

    def dues(month, day, hour):
        first = at(month, day, hour)
        return first, first + dt.timedelta(days=1), first + dt.timedelta(days=2)

    _complaint(s1, alice, at(11, 2, 10), dues(11, 3, 10), at(11, 2, 12), at(11, 3, 10), at(11, 4, 10), rating=5)
    _complaint(s1, alice, at(11, 10, 10), dues(11, 11, 10), at(11, 11, 16), at(11, 13, 10))
    _complaint(s1, bob, at(11, 15, 9), dues(11, 16, 9), at(11, 15, 10), at(11, 15, 12), at(11, 17, 9), rating=3)
    _complaint(s1, bob, at(11, 20, 20), dues(11, 26, 20))
    _complaint(s1, None, at(11, 5, 10), dues(11, 6, 10))
    _complaint(s2, carol, at(11, 8, 10), dues(11, 9, 10), at(11, 8, 11), at(11, 8, 15), at(11, 9, 10), rating=4)
    _complaint(s1, alice, at(10, 31, 10), dues(11, 1, 10), at(10, 31, 11))
    _complaint(s2, carol, at(11, 21, 10), dues(11, 22, 10), at(11, 21, 11))

    _visit(s1, alice, dt.date(2026, 11, 10), at(11, 9, 15))
    _visit(s1, alice, dt.date(2026, 11, 15), at(11, 16, 9))
    _visit(s1, alice, dt.date(2026, 11, 18))
    _visit(s1, alice, dt.date(2026, 11, 30))
    _visit(s2, carol, dt.date(2026, 11, 12), at(11, 12, 23, 30))
    _visit(s2, carol, dt.date(2026, 11, 12), at(11, 13, 7))
    return {"s1": s1, "s2": s2, "alice": alice, "bob": bob, "carol": carol}


# Columns after the labels: recruited, complaints, accepted on time %, avg h to accept, first reply on time %,
# closed on time %, avg h to close, cases rated, CSI %, average rating, visits due, visits on time %.
D = Decimal


def test_figures_by_staff_and_store_hand_checked(world):
    data = staff_service_figures(store_ids=None, date_from=START, date_to=END)
    by_staff = {(r[0], r[1]): r[2:] for r in data["tables"]["by_staff"].rows}
    assert by_staff == {
        ("王丽", "S1 一店"): [2, 2, 50.0, D("16.0"), 50.0, 50.0, D("48.0"), 1, 100.0, D("5.00"), 3, 33.3],
        ("李强", "S1 一店"): [1, 2, 100.0, D("1.0"), 100.0, 100.0, D("48.0"), 1, 0.0, D("3.00"), 0, None],
        ("(not assigned)", "S1 一店"): [0, 1, 0.0, None, 0.0, 0.0, None, 0, None, None, 0, None],
        ("=HYPERLINK(1)", "S2 二店"): [2, 1, 100.0, D("1.0"), 100.0, 100.0, D("24.0"), 1, 100.0, D("4.00"), 2, 50.0],
    }
    by_store = {r[0]: r[1:] for r in data["tables"]["by_store"].rows}
    assert by_store == {
        "S1 一店": [3, 5, 50.0, D("11.0"), 50.0, 50.0, D("48.0"), 2, 50.0, D("4.00"), 3, 33.3],
        "S2 二店": [2, 1, 100.0, D("1.0"), 100.0, 100.0, D("24.0"), 1, 100.0, D("4.00"), 2, 50.0],
        "All": [5, 6, 60.0, D("8.5"), 60.0, 60.0, D("40.0"), 3, 66.7, D("4.00"), 5, 40.0],
    }
    only_s2 = staff_service_figures(store_ids=[world["s2"].pk], date_from=START, date_to=END)
    assert [r[0] for r in only_s2["tables"]["by_store"].rows] == ["S2 二店"]


def test_figures_cost_a_fixed_number_of_queries(world, django_assert_num_queries):
    with django_assert_num_queries(5):  # recruited, complaints, visits, stores, staff names
        staff_service_figures(store_ids=None, date_from=START, date_to=END)


def test_store_manager_sees_own_store_only_and_exports_safe_csv(world, client, django_assert_max_num_queries):
    client.force_login(make_staff(roles.OPERATIONS_MANAGER, store=world["s1"]))
    with django_assert_max_num_queries(16):
        page = client.get(PAGE, {**PERIOD, "store": world["s2"].pk})  # another store: dropped, own store shown
    assert page.status_code == 200
    rows = page.context["data"]["tables"]["by_staff"].rows
    assert {r[1] for r in rows} == {"S1 一店"} and "HYPERLINK" not in page.content.decode()
    assert 'id="k-recruited">3<' in page.content.decode()

    export = client.get(f"{PAGE}export/by_store.csv", PERIOD)
    assert export.status_code == 200 and export["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert lines[0][0] == "Store" and [r[0] for r in lines[1:]] == ["S1 一店"]

    chain = make_staff(roles.OPERATIONS_MANAGER, chain_wide=True)
    client.force_login(chain)
    export = client.get(f"{PAGE}export/by_staff.csv", PERIOD)
    cells = [r[0] for r in csv.reader(io.StringIO(export.content.decode("utf-8-sig")))]
    assert "'=HYPERLINK(1)" in cells and "=HYPERLINK(1)" not in cells  # formula neutralised
    xlsx = client.get(f"{PAGE}export/by_staff.xlsx", PERIOD)
    assert xlsx.status_code == 200
    assert client.get(f"{PAGE}export/nope.csv", PERIOD).status_code == 404


def test_page_needs_the_dashboard_permission(world, client):
    client.force_login(world["alice"])  # customer service: no dashboards.view_dashboard
    assert client.get(PAGE).status_code == 403
    assert client.get(f"{PAGE}export/by_staff.csv").status_code == 403
