"""What staff read about a periodic task (django-celery-beat) instead of task paths and cron syntax: the
job's label from the job registry (core.jobs) and its schedule in words, e.g. "每天 02:30" for the crontab
`30 2 * * *` (issue 16, "Language"). Covers what the migrations seed (daily at a time, hourly at a minute,
every N minutes) plus weekly and monthly crontabs; anything else shows its cron expression.

`readable_names()` (CoreConfig.ready) makes these the models' str(), because the admin prints str() in
titles, breadcrumbs, select choices, delete confirmations and its change log, which no ModelAdmin option
reaches; beat's scheduler names its entries by `PeriodicTask.name` and never calls str()."""
from __future__ import annotations

import json

from django.conf import settings
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext, ngettext, pgettext

from .jobs import job_label

RUN_JOB_TASK = "core.tasks.run_job_task"


def _numbers(field: str) -> list[int] | None:
    """"5" or "1,15" as numbers; None for anything else ("*", "*/10", "1-5")."""
    parts = field.split(",")
    return [int(p) for p in parts] if all(p.isdigit() for p in parts) else None


def _joined(items: list[str]) -> str:
    return pgettext("list separator", ", ").join(items)


def crontab_text(crontab) -> str:
    minute, hour = crontab.minute, crontab.hour
    day_of_month, month_of_year, day_of_week = crontab.day_of_month, crontab.month_of_year, crontab.day_of_week
    every_day = day_of_month == "*" and month_of_year == "*" and day_of_week == "*"
    minutes, hours = _numbers(minute), _numbers(hour)
    text = None
    at = f"{hours[0]:02d}:{minutes[0]:02d}" if minutes and hours and len(minutes) == len(hours) == 1 else None
    if at and every_day:
        text = gettext("Every day at %(time)s") % {"time": at}
    elif minutes and len(minutes) == 1 and hour == "*" and every_day:
        text = gettext("Every hour at minute %(minute)s") % {"minute": minutes[0]}
    elif minute.startswith("*/") and minute[2:].isdigit() and hour == "*" and every_day:
        n = int(minute[2:])
        text = ngettext("Every minute", "Every %(n)s minutes", n) % {"n": n}
    elif at and day_of_month == "*" and month_of_year == "*" and _numbers(day_of_week):
        # Celery counts Sunday as 0 (and 7); Django's WEEKDAYS start with Monday at 0.
        days = [str(WEEKDAYS[(d - 1) % 7]) for d in sorted(set(d % 7 for d in _numbers(day_of_week)),
                                                            key=lambda d: (d - 1) % 7)]
        text = gettext("Every %(weekdays)s at %(time)s") % {"weekdays": _joined(days), "time": at}
    elif at and _numbers(day_of_month) and month_of_year == "*" and day_of_week == "*":
        text = gettext("On day %(days)s of every month at %(time)s") % {
            "days": _joined([str(d) for d in _numbers(day_of_month)]), "time": at}
    if text is None:
        text = gettext("Cron expression %(expression)s") % {
            "expression": f"{minute} {hour} {day_of_month} {month_of_year} {day_of_week}"}
    timezone = str(crontab.timezone)
    if timezone != settings.TIME_ZONE:
        text = gettext("%(schedule)s (%(timezone)s time)") % {"schedule": text, "timezone": timezone}
    return text


def interval_text(interval) -> str:
    n = interval.every
    forms = {
        "days": ngettext("Every day", "Every %(n)s days", n),
        "hours": ngettext("Every hour", "Every %(n)s hours", n),
        "minutes": ngettext("Every minute", "Every %(n)s minutes", n),
        "seconds": ngettext("Every second", "Every %(n)s seconds", n),
    }
    form = forms.get(interval.period)
    return form % {"n": n} if form else str(interval)


def schedule_text(task) -> str:
    """The periodic task's schedule in words, whichever kind of schedule it has."""
    if task.crontab_id:
        return crontab_text(task.crontab)
    if task.interval_id:
        return interval_text(task.interval)
    if task.clocked_id:
        return gettext("Once at %(time)s") % {"time": task.clocked}
    if task.solar_id:
        return str(task.solar)
    return gettext("No schedule")


def task_job_name(task) -> str | None:
    """The registered job a periodic task runs (every seeded one goes through core.tasks.run_job_task)."""
    if task.task != RUN_JOB_TASK:
        return None
    try:
        args = json.loads(task.args or "[]")
    except ValueError:
        return None
    return args[0] if args and isinstance(args[0], str) else None


def task_label(task) -> str:
    """The job's label, or the Celery task's path for a task that is not a registered job."""
    job = task_job_name(task)
    return job_label(job) if job else task.task


def periodic_task_str(task) -> str:
    return gettext("%(job)s (%(schedule)s)") % {"job": task_label(task), "schedule": schedule_text(task)}


def readable_names() -> None:
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    PeriodicTask.__str__ = periodic_task_str
    CrontabSchedule.__str__ = crontab_text
    IntervalSchedule.__str__ = interval_text
