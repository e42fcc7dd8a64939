"""The one clock arithmetic of the service desk: every time limit of complaints (SD-2, SD-9),
consultations (SD-8) and after-sales cases (SD-7), and the satisfaction check after an after-sales
case closes, is `deadline_add(start, minutes, working_days=...)`.

Calendar clocks add elapsed minutes. Working-day clocks (002 五(三)2 "[X]个工作日内", 003 3.4 "一般情况下
不应超过一个工作日", 001 3.4 "3个工作日内") count only the time that falls on a working day in
Asia/Shanghai: Monday to Friday, except the active dates of the holiday calendar that operations keep
in messaging (messaging.Holiday). A complaint received on Friday at 15:00 with 24 h on a working-day
clock is due on Monday at 15:00; one received on Saturday is due on Tuesday at 00:00 (all of Monday).

The holiday dates are read once per call (or once per sweep through `HolidayCalendar`), never per
day. `deadline_text` is how the customer is told a deadline (003 3.5): Chinese, local time.
`duration_text` is how staff read the time left or over on every clock of the desk (complaint queue and
page, consultations, after-sales): days and hours from one day on, hours and minutes below (issue 16)."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Bounds the walk: no time limit of the desk is longer than a year of working days.
MAX_DAYS = 800
WEEKDAYS_ZH = "一二三四五六日"


class HolidayCalendar:
    """Non-working dates (messaging.Holiday, active) loaded in one query for a window of days."""

    def __init__(self, dates: set[dt.date], *, start: dt.date, end: dt.date):
        self.dates, self.start, self.end = dates, start, end

    @classmethod
    def load(cls, start: dt.date, end: dt.date) -> HolidayCalendar:
        from messaging.models import Holiday

        dates = set(Holiday.objects.filter(active=True, date__gte=start, date__lte=end)
                    .values_list("date", flat=True))
        return cls(dates, start=start, end=end)

    def covers(self, day: dt.date) -> bool:
        return self.start <= day <= self.end

    def is_working_day(self, day: dt.date) -> bool:
        return day.weekday() < 5 and day not in self.dates


def duration_text(minutes: int) -> str:
    """"55 天 6 小时" from a day on (the minutes no longer matter), "3 小时 20 分钟" below a day."""
    minutes = max(int(minutes), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return _("%(d)d d %(h)d h") % {"d": days, "h": hours}
    return _("%(h)d h %(m)02d min") % {"h": hours, "m": mins}


def calendar_for(start: dt.datetime, minutes: int) -> HolidayCalendar:
    """A calendar long enough for `minutes` of working time from `start` in all but absurd cases
    (two weeks of holidays in a row); `deadline_add` extends it if it is not."""
    first = start.astimezone(SHANGHAI).date()
    days = minutes // (24 * 60) + 1
    return HolidayCalendar.load(first, first + dt.timedelta(days=days * 2 + 21))


def deadline_add(start: dt.datetime, minutes: int, *, working_days: bool,
                 calendar: HolidayCalendar | None = None) -> dt.datetime:
    """`start` + `minutes`, on a calendar clock or counting working days only (see module)."""
    if minutes < 0:
        raise ValueError("minutes must not be negative")
    if not working_days:
        return start + dt.timedelta(minutes=minutes)
    calendar = calendar or calendar_for(start, minutes)
    at = start.astimezone(SHANGHAI)
    left = dt.timedelta(minutes=minutes)
    for _step in range(MAX_DAYS):
        day = at.date()
        if not calendar.covers(day):
            calendar = HolidayCalendar.load(day, day + dt.timedelta(days=60))
        midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=SHANGHAI)
        if calendar.is_working_day(day):
            if at + left <= midnight:
                return (at + left).astimezone(dt.UTC)
            left -= midnight - at
        at = midnight
    raise ValueError("time limit too long")


def deadlines_add(start: dt.datetime, minutes: list[int], *, working_days: bool) -> list[dt.datetime]:
    """Several limits from one start, one holiday query."""
    calendar = calendar_for(start, max(minutes)) if working_days and minutes else None
    return [deadline_add(start, m, working_days=working_days, calendar=calendar) for m in minutes]


def deadline_text(at: dt.datetime) -> str:
    """How a deadline is told to the customer (003 3.5): "2026年11月25日（星期三）10:00", Shanghai time."""
    local = at.astimezone(SHANGHAI)
    return f"{local.year}年{local.month}月{local.day}日（星期{WEEKDAYS_ZH[local.weekday()]}）{local:%H:%M}"
