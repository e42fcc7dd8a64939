"""The one clock of the service desk (service_desk.clocks; SD-8, SD-9): calendar and working-day
limits, weekends and the holiday calendar of messaging, and the deadline as told to the customer."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from messaging.models import Holiday
from service_desk import services
from service_desk.clocks import deadline_add, deadline_text
from service_desk.models import SlaPolicy

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
FRI_15 = dt.datetime(2026, 11, 27, 15, 0, tzinfo=SH)  # a Friday


def test_calendar_clock_adds_elapsed_time():
    assert deadline_add(FRI_15, 24 * 60, working_days=False) == dt.datetime(2026, 11, 28, 15, 0, tzinfo=SH)


def test_working_day_clock_skips_the_weekend():
    """SD-9: 24 h from Friday 15:00 on a working-day clock ends on Monday 15:00."""
    assert deadline_add(FRI_15, 24 * 60, working_days=True) == dt.datetime(2026, 11, 30, 15, 0, tzinfo=SH)
    assert deadline_add(FRI_15, 6 * 60, working_days=True) == dt.datetime(2026, 11, 27, 21, 0, tzinfo=SH)


def test_working_day_clock_started_on_saturday_counts_from_monday():
    saturday = dt.datetime(2026, 11, 28, 10, 0, tzinfo=SH)
    assert deadline_add(saturday, 24 * 60, working_days=True) == dt.datetime(2026, 12, 1, 0, 0, tzinfo=SH)


def test_working_day_clock_skips_active_holidays_only():
    """The holiday calendar operations keep in messaging: an active holiday is no working day."""
    Holiday.objects.create(date=dt.date(2026, 11, 30), name="调休")
    Holiday.objects.create(date=dt.date(2026, 12, 1), name="停用", active=False)
    assert deadline_add(FRI_15, 24 * 60, working_days=True) == dt.datetime(2026, 12, 1, 15, 0, tzinfo=SH)


def test_working_day_clock_over_a_long_holiday():
    """National Day week: seven holidays in a row, the clock waits them out in one call."""
    for day in range(1, 8):
        Holiday.objects.create(date=dt.date(2026, 10, day), name="国庆节")
    start = dt.datetime(2026, 9, 30, 12, 0, tzinfo=SH)  # Wednesday
    assert deadline_add(start, 3 * 24 * 60, working_days=True) == dt.datetime(2026, 10, 12, 12, 0, tzinfo=SH)


def test_deadline_text_is_chinese_local_time():
    """003 3.5: the customer is told the deadline in Chinese, Shanghai time, whatever zone it is stored in."""
    assert deadline_text(dt.datetime(2026, 11, 30, 7, 0, tzinfo=dt.UTC)) == "2026年11月30日（星期一）15:00"


def test_negative_minutes_refused():
    with pytest.raises(ValueError):
        deadline_add(FRI_15, -1, working_days=False)


def test_complaint_policy_on_working_days_moves_deadlines_past_the_weekend(store, agent, member):
    """SD-9: a policy flagged for working days: a complaint filed on Friday at 15:00 is to be
    accepted by Monday 15:00, replied to by Tuesday and closed by Wednesday."""
    SlaPolicy.objects.filter(category="quality", severity="normal").update(working_days=True)
    with time_machine.travel(FRI_15, tick=False):
        c = services.complaint_file(channel="hotline", category="quality", store=store, member=member,
                                    description="拉链坏了，无法拉上", staff=agent)
    assert c.accept_due == dt.datetime(2026, 11, 30, 15, 0, tzinfo=SH)
    assert c.reply_due == dt.datetime(2026, 12, 1, 15, 0, tzinfo=SH)
    assert c.close_due == dt.datetime(2026, 12, 2, 15, 0, tzinfo=SH)


def test_complaint_policy_on_calendar_hours_is_unchanged(store, agent, member):
    with time_machine.travel(FRI_15, tick=False):
        c = services.complaint_file(channel="hotline", category="quality", store=store, member=member,
                                    description="拉链坏了，无法拉上", staff=agent)
    assert c.accept_due == dt.datetime(2026, 11, 28, 15, 0, tzinfo=SH)


def test_hotline_intake_tells_the_member_the_deadline(store, agent, member):
    """003 3.5: the member's notice (inbox and SMS, the hotline took it down) gives the reply and close
    deadlines in Chinese, local time."""
    from messaging.models import Message, Notice

    with time_machine.travel(dt.datetime(2026, 11, 23, 10, 0, tzinfo=SH), tick=False):
        c = services.complaint_file(channel="hotline", category="quality", store=store, member=member,
                                    description="拉链坏了，无法拉上", staff=agent)
    notice = Notice.objects.get(member=member, kind="complaint_intake")
    assert notice.ref == f"complaint:{c.pk}"
    assert "2026年11月25日（星期三）10:00" in notice.body and "2026年11月26日（星期四）10:00" in notice.body
    assert notice.title == "您的投诉已登记"
    assert Message.objects.filter(member=member, channel="sms", event_key=f"complaint_intake:complaint:{c.pk}").exists()
    assert services.complaint_intake_notice(c) == notice.body
