"""sweep_complaints (SD-2): breaches flagged and escalated once per complaint and kind."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from core.jobs import run_job
from core.models import JobRun
from service_desk import services
from service_desk.models import ComplaintEvent, Escalation, StaffNotice

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=SH)


def file(store, agent, member):
    return services.complaint_file(channel="desk", category="attitude", store=store, member=member,
                                   description="导购态度很差，不理人", staff=agent)


def sweep(at):
    with time_machine.travel(at, tick=False):
        run = run_job("sweep_complaints")
    assert run.status == JobRun.Status.SUCCEEDED, run.error
    return run


def test_double_sweep_escalates_once(store, manager, agent, member):
    """SD-2: a breach escalates once to the store's manager; running the sweep twice changes nothing."""
    with time_machine.travel(T0, tick=False):
        late = file(store, agent, member)
        on_time = file(store, agent, member)
        services.complaint_transition(complaint=on_time, action="accept", staff=agent)
    first = sweep(T0 + dt.timedelta(hours=25))
    second = sweep(T0 + dt.timedelta(hours=26))
    assert first.counts["escalated"] == 1 and first.counts["notices"] == 1
    assert second.counts["escalated"] == 0 and second.counts["notices"] == 0
    escalation = Escalation.objects.get()
    assert (escalation.complaint, escalation.kind, escalation.manager) == (late, "accept", manager)
    notice = StaffNotice.objects.get()
    assert notice.user == manager and notice.complaint == late and f"#{late.pk}" in notice.text
    assert ComplaintEvent.objects.filter(complaint=late, action="breach").count() == 1


def test_sweep_escalates_each_breach_kind_once(store, manager, agent, member):
    """SD-2: accept, reply and close breaches are separate kinds, each escalated once."""
    with time_machine.travel(T0, tick=False):
        c = file(store, agent, member)
    sweep(T0 + dt.timedelta(hours=30))   # accept breached
    sweep(T0 + dt.timedelta(hours=50))   # reply breached too
    sweep(T0 + dt.timedelta(hours=80))   # and close
    sweep(T0 + dt.timedelta(hours=90))
    assert sorted(Escalation.objects.filter(complaint=c, level=1).values_list("kind", flat=True)) == [
        "accept", "close", "reply"]
    assert StaffNotice.objects.filter(user=manager).count() == 3


def test_sweep_flags_breach_without_a_manager(store, agent, member):
    """SD-2: a store without a manager still gets the breach flagged (no notice to send)."""
    with time_machine.travel(T0, tick=False):
        file(store, agent, member)
    run = sweep(T0 + dt.timedelta(hours=25))
    assert run.counts["escalated"] == 1 and run.counts["notices"] == 0
    assert Escalation.objects.get().manager is None


def test_sweep_leaves_done_and_not_yet_due_steps_alone(store, manager, agent, member):
    """SD-2: a step done in time or still within its limit is not a breach."""
    with time_machine.travel(T0, tick=False):
        c = file(store, agent, member)
        services.complaint_transition(complaint=c, action="accept", staff=agent)
        services.complaint_transition(complaint=c, action="reply", staff=agent, note="已退款")
    run = sweep(T0 + dt.timedelta(hours=60))
    assert run.counts["escalated"] == 0 and not Escalation.objects.exists()
