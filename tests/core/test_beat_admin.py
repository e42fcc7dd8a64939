"""Periodic tasks in the admin read as words (issue 16, "Language"): each task shows its job's label from
the job registry and its schedule as "每天 02:30", not `core.tasks.run_job_task` and `30 2 * * *`."""
import pytest
from django.urls import reverse
from django.utils import translation
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from core.beat import crontab_text, interval_text, schedule_text, task_job_name, task_label
from core.jobs import _LABELS, job_names

CRON_SYNTAX = ["* * *", "(m/h/dM/MY/d)", "core.tasks.run_job_task"]


def cron(minute, hour, day_of_month="*", month_of_year="*", day_of_week="*", timezone="Asia/Shanghai"):
    return CrontabSchedule(minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month_of_year,
                           day_of_week=day_of_week, timezone=timezone)


@pytest.mark.parametrize(("schedule", "chinese", "english"), [
    (cron("30", "2"), "每天 02:30", "Every day at 02:30"),
    (cron("0", "9"), "每天 09:00", "Every day at 09:00"),
    (cron("5", "*"), "每小时第 5 分", "Every hour at minute 5"),
    (cron("*/15", "*"), "每 15 分钟", "Every 15 minutes"),
    (cron("0", "8", day_of_week="1,3"), "每星期一、星期三 08:00", "Every Monday, Wednesday at 08:00"),
    (cron("0", "8", day_of_week="0"), "每星期日 08:00", "Every Sunday at 08:00"),
    (cron("15", "4", day_of_month="1"), "每月 1 日 04:15", "On day 1 of every month at 04:15"),
    (cron("0", "1-5"), "Cron 表达式 0 1-5 * * *", "Cron expression 0 1-5 * * *"),
    (cron("30", "2", timezone="UTC"), "每天 02:30（UTC 时间）", "Every day at 02:30 (UTC time)"),
])
def test_a_crontab_reads_as_words_in_both_languages(schedule, chinese, english):
    with translation.override("zh-hans"):
        assert crontab_text(schedule) == chinese
    with translation.override("en"):
        assert crontab_text(schedule) == english


def test_an_interval_reads_as_words():
    with translation.override("zh-hans"):
        assert interval_text(IntervalSchedule(every=10, period="minutes")) == "每 10 分钟"
        assert interval_text(IntervalSchedule(every=1, period="minutes")) == "每 1 分钟"
    with translation.override("en"):
        assert interval_text(IntervalSchedule(every=1, period="minutes")) == "Every minute"
        assert interval_text(IntervalSchedule(every=2, period="hours")) == "Every 2 hours"


def test_every_registered_job_has_a_label():
    """The job registry is where the admin reads a job's name; a job added without a label shows its key."""
    unlabelled = [name for name in job_names() if name not in _LABELS and not name.startswith("_test")]
    assert unlabelled == []


@pytest.mark.django_db
def test_every_seeded_periodic_task_runs_a_registered_job_shown_in_chinese():
    """What the migrations seed: each task names a registered job, whose label and schedule read in Chinese."""
    tasks = list(PeriodicTask.objects.select_related("crontab", "interval"))
    assert len(tasks) >= 15
    with translation.override("zh-hans"):
        for task in tasks:
            job = task_job_name(task)
            assert job in job_names(), task.name
            label, schedule = task_label(task), schedule_text(task)
            assert label != job and not any(s in schedule for s in CRON_SYNTAX), (task.name, label, schedule)
            assert "Cron" not in schedule, (task.name, schedule)  # every seeded pattern has words


@pytest.fixture
def expire_points_task(db):
    return PeriodicTask.objects.get(name="nightly: expire_points")


@pytest.mark.django_db
def test_the_periodic_task_list_shows_labels_and_schedules(admin_client, expire_points_task):
    response = admin_client.get(reverse("admin:django_celery_beat_periodictask_changelist"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "到期积分作废" in html and "每天 00:10" in html and "每 10 分钟" in html
    assert not [s for s in CRON_SYNTAX if s in html]


@pytest.mark.django_db
def test_the_periodic_task_form_shows_the_job_and_schedule_choices_in_words(admin_client, expire_points_task):
    url = reverse("admin:django_celery_beat_periodictask_change", args=[expire_points_task.pk])
    response = admin_client.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert "到期积分作废" in html and "每天 00:10" in html
    assert "(m/h/dM/MY/d)" not in html and "Translation:" not in html
    assert "执行计划" in html  # the fieldset, not our campaigns' "定时发送"


@pytest.mark.django_db
def test_the_periodic_task_form_still_saves(admin_client, expire_points_task):
    """The package's form checks stay: the form posts back as it came and the task is changed."""
    url = reverse("admin:django_celery_beat_periodictask_change", args=[expire_points_task.pk])
    task = expire_points_task
    data = {
        "name": task.name, "regtask": task.task, "task": task.task, "enabled": "", "description": "",
        "crontab": task.crontab_id, "interval": "", "solar": "", "clocked": "", "start_time_0": "",
        "start_time_1": "", "args": task.args, "kwargs": task.kwargs, "expires_0": "", "expires_1": "",
        "expire_seconds": "", "queue": task.queue or "", "exchange": "", "routing_key": "", "priority": "",
        "headers": task.headers,
    }
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    task.refresh_from_db()
    assert task.enabled is False


@pytest.mark.django_db
def test_the_schedules_read_in_english_in_english(client, admin_user, expire_points_task):
    client.force_login(admin_user)
    client.cookies["django_language"] = "en"
    html = client.get(reverse("admin:django_celery_beat_periodictask_changelist")).content.decode()
    assert "Expire due points" in html and "Every day at 00:10" in html
    html = client.get(reverse("admin:django_celery_beat_crontabschedule_changelist")).content.decode()
    assert "Every day at 00:10" in html and "(m/h/dM/MY/d)" not in html


@pytest.mark.django_db
def test_the_crontab_list_reads_as_words(admin_client):
    html = admin_client.get(reverse("admin:django_celery_beat_crontabschedule_changelist")).content.decode()
    assert "每天 00:10" in html and "每小时第 5 分" in html
    assert "(m/h/dM/MY/d)" not in html and "At 12:10 AM" not in html
