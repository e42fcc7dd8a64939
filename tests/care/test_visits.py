"""Follow-up visits (SD-5): scheduling by tier, no duplicates, balanced load, outcome, overdue."""
from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest
import time_machine
from django.db import connection

from care.errors import CareConflict, CareError
from care.models import Visit, VisitPolicy
from care.selectors import visit_list_for_staff
from care.services.visits import visit_period, visit_record_outcome, visits_schedule
from core.errors import JobAlreadyRunning, NotFound
from core.jobs import run_job
from core.models import JobRun
from members import roles
from tests.factories import MemberFactory, StoreFactory, make_staff

pytestmark = pytest.mark.django_db
DAY = dt.date(2025, 5, 20)


def test_visit_period_splits_the_year_by_tier_frequency():
    """SD-5: 1 / 2 / 4 / 12 a year are the year, halves, quarters, months; others equal runs of days."""
    assert visit_period(DAY, 1) == (dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    assert visit_period(DAY, 2) == (dt.date(2025, 1, 1), dt.date(2025, 6, 30))
    assert visit_period(DAY, 4) == (dt.date(2025, 4, 1), dt.date(2025, 6, 30))
    assert visit_period(DAY, 12) == (dt.date(2025, 5, 1), dt.date(2025, 5, 31))
    # 5 a year: 73-day periods that tile the year without gaps.
    starts = sorted({visit_period(dt.date(2025, 1, 1) + dt.timedelta(days=d), 5) for d in range(365)})
    assert len(starts) == 5 and starts[0][0] == dt.date(2025, 1, 1) and starts[-1][1] == dt.date(2025, 12, 31)
    assert all(a[1] + dt.timedelta(days=1) == b[0] for a, b in zip(starts, starts[1:], strict=False))


def test_schedule_visits_creates_one_visit_per_member_for_the_current_period(tiers):
    """SD-5: each active member gets the visit of their tier's current period; inactive ones none."""
    store = StoreFactory()
    desk = make_staff(roles.FRONT_DESK, store=store)
    gold = MemberFactory(home_store=store, tier=tiers["gold"])
    normal = MemberFactory(home_store=store)
    MemberFactory(home_store=store, status="suspended")
    VisitPolicy.objects.filter(tier=tiers["silver"]).update(visits_per_year=0)
    MemberFactory(home_store=store, tier=tiers["silver"])

    result = visits_schedule(day=DAY)

    assert result["created"] == 2
    visits = {v.member_id: v for v in Visit.objects.all()}
    assert set(visits) == {gold.pk, normal.pk}
    assert (visits[gold.pk].period_start, visits[gold.pk].due_on) == (dt.date(2025, 4, 1), dt.date(2025, 6, 30))
    assert visits[normal.pk].due_on == dt.date(2025, 12, 31)
    assert {v.assignee_id for v in visits.values()} == {desk.pk}


def test_schedule_visits_rerun_and_next_day_create_no_duplicates(tiers):
    """SD-5: a re-run (or a run after a crash) for the same period creates nothing twice."""
    store = StoreFactory()
    make_staff(roles.CUSTOMER_SERVICE, store=store)
    MemberFactory.create_batch(3, home_store=store, tier=tiers["platinum"])
    assert run_job("schedule_visits", date=DAY).counts["created"] == 3
    assert run_job("schedule_visits", date=DAY).counts["created"] == 0
    assert run_job("schedule_visits", date=DAY + dt.timedelta(days=1)).counts["created"] == 0
    assert Visit.objects.count() == 3
    # The next month is a new period for monthly (platinum) visits.
    assert run_job("schedule_visits", date=dt.date(2025, 6, 1)).counts["created"] == 3


def test_schedule_visits_small_batches_give_the_same_result(tiers):
    """SD-5 / jobs: batching by member id changes neither the count nor the balance."""
    store = StoreFactory()
    a, b = make_staff(roles.FRONT_DESK, store=store), make_staff(roles.FRONT_DESK, store=store)
    MemberFactory.create_batch(7, home_store=store)
    calls = []
    visits_schedule(day=DAY, batch_size=2, progress=lambda done, total: calls.append((done, total)))
    loads = Counter(Visit.objects.values_list("assignee_id", flat=True))
    assert sum(loads.values()) == 7 and sorted(loads.values()) == [3, 4] and set(loads) == {a.pk, b.pk}
    assert calls and calls[-1][0] == calls[-1][1]


def test_schedule_visits_balances_load_fewest_open_visits_first(tiers):
    """SD-5: new visits go to the store's staff with the fewest open visits (water-filling)."""
    store = StoreFactory()
    busy = make_staff(roles.FRONT_DESK, store=store)
    idle = make_staff(roles.CUSTOMER_SERVICE, store=store)
    make_staff(roles.AUDITOR, store=store)  # not a visiting role
    make_staff(roles.FRONT_DESK, store=StoreFactory())  # another store
    for m in MemberFactory.create_batch(3, home_store=store, status="suspended"):  # no new visits of their own
        Visit.objects.create(member=m, store=store, period_start=dt.date(2024, 1, 1), due_on=dt.date(2024, 12, 31),
                             assignee=busy)
    MemberFactory.create_batch(5, home_store=store, tier=tiers["gold"])

    visits_schedule(day=DAY)

    new = Counter(Visit.objects.filter(period_start=dt.date(2025, 4, 1)).values_list("assignee_id", flat=True))
    assert new == {idle.pk: 4, busy.pk: 1}  # both end with 4 open visits
    open_load = Counter(Visit.objects.filter(status="open").values_list("assignee_id", flat=True))
    assert open_load[idle.pk] == open_load[busy.pk] == 4


def test_schedule_visits_leaves_visits_unassigned_when_the_store_has_no_staff(tiers):
    """SD-5: no eligible staff → the visit exists unassigned and is counted for the store list."""
    MemberFactory()
    assert visits_schedule(day=DAY) == {"created": 1, "unassigned": 1}


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_schedule_runs_never_duplicate_visits():
    """SD-5: two runs at once: the job lock turns one away or serialises them; the unique key holds."""
    store = StoreFactory()
    make_staff(roles.FRONT_DESK, store=store)
    MemberFactory.create_batch(20, home_store=store)
    barrier = threading.Barrier(2)
    outcomes = []

    def run():
        try:
            barrier.wait()
            outcomes.append(run_job("schedule_visits", date=DAY).counts.get("created"))
        except JobAlreadyRunning:
            outcomes.append("locked")
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Visit.objects.count() == 20
    assert sorted(outcomes, key=str) in ([0, 20], [20, "locked"])
    assert JobRun.objects.filter(name="schedule_visits", status="succeeded").exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_direct_scheduling_is_held_by_the_unique_key():
    """SD-5: even without the job lock (two services at once), (member, period_start) stays unique."""
    store = StoreFactory()
    make_staff(roles.FRONT_DESK, store=store)
    MemberFactory.create_batch(30, home_store=store)
    barrier = threading.Barrier(2)
    errors = []

    def run():
        try:
            barrier.wait()
            visits_schedule(day=DAY)
        except Exception as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert Visit.objects.count() == 30


@pytest.fixture
def visit(tiers):
    store = StoreFactory()
    staff = make_staff(roles.FRONT_DESK, store=store)
    MemberFactory(home_store=store)
    visits_schedule(day=DAY)
    return Visit.objects.get(), staff


def test_visit_outcome_recorded_by_store_staff(visit):
    """SD-5: reached, feedback, satisfaction and follow-up are recorded once, with who and when."""
    v, staff = visit
    done = visit_record_outcome(visit_id=v.pk, staff=staff, reached=True, feedback=" 希望增加停车位 ",
                                satisfaction=4, follow_up_needed=True)
    done.refresh_from_db()
    assert (done.status, done.outcome, done.satisfaction, done.feedback, done.follow_up_needed, done.done_by) == (
        "done", "reached", 4, "希望增加停车位", True, staff)
    with pytest.raises(CareConflict):
        visit_record_outcome(visit_id=v.pk, staff=staff, reached=False)


@pytest.mark.parametrize("kwargs, field", [
    ({"reached": True, "satisfaction": None}, "satisfaction"),
    ({"reached": True, "satisfaction": 6}, "satisfaction"),
    ({"reached": False, "satisfaction": 3}, "satisfaction"),
    ({"reached": False, "feedback": "x" * 2001}, "feedback"),
])
def test_visit_outcome_rejects_bad_input(visit, kwargs, field):
    """SD-5: a rating only from a reached member, 1-5; bounded feedback; nothing is written."""
    v, staff = visit
    with pytest.raises(CareError) as err:
        visit_record_outcome(visit_id=v.pk, staff=staff, **kwargs)
    assert field in err.value.fields
    v.refresh_from_db()
    assert v.status == "open"


def test_visit_outcome_of_another_store_is_not_found(visit):
    """SD-5 / SEC-3: staff of another store cannot see or record the visit."""
    v, _ = visit
    other = make_staff(roles.FRONT_DESK, store=StoreFactory())
    with pytest.raises(NotFound):
        visit_record_outcome(visit_id=v.pk, staff=other, reached=False)
    assert not visit_list_for_staff(other).exists()


def test_overdue_visits_are_flagged_after_the_due_date(tiers):
    """SD-5: a visit still open after its due date is overdue; done ones never are."""
    store = StoreFactory()
    staff = make_staff(roles.FRONT_DESK, store=store)
    MemberFactory.create_batch(2, home_store=store, tier=tiers["gold"])
    visits_schedule(day=DAY)  # due 2025-06-30
    first = Visit.objects.order_by("pk").first()
    visit_record_outcome(visit_id=first.pk, staff=staff, reached=True, satisfaction=4)
    assert not visit_list_for_staff(staff, overdue=True, today=dt.date(2025, 6, 30)).exists()
    late = visit_list_for_staff(staff, today=dt.date(2025, 7, 1))
    assert {v.pk: v.overdue for v in late} == {first.pk: False, first.pk + 1: True}
    with time_machine.travel(dt.datetime(2025, 7, 1, 9, tzinfo=dt.UTC)):
        assert Visit.objects.get(pk=first.pk + 1).is_overdue
