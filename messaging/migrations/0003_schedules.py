from django.db import migrations


def seed(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    # Releases quiet-hours holds and due retries; on the sms queue so long nightly jobs never delay it.
    PeriodicTask.objects.get_or_create(
        name="messaging: retry_due_messages",
        defaults={"task": "core.tasks.run_job_task", "interval": every_minute, "args": '["retry_due_messages"]',
                  "queue": "sms"},
    )
    cron, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="9", day_of_week="*", day_of_month="*", month_of_year="*", timezone="Asia/Shanghai",
    )
    PeriodicTask.objects.get_or_create(
        name="daily: send_greetings",
        defaults={"task": "core.tasks.run_job_task", "crontab": cron, "args": '["send_greetings"]', "queue": "sms"},
    )


class Migration(migrations.Migration):
    dependencies = [("messaging", "0002_messages"), ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
