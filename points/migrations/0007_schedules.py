from django.db import migrations

SCHEDULES = [
    # job, hour, minute (Asia/Shanghai): after expiry at 00:10
    ("remind_expiring_points", 9, 30),  # daytime, so reminders do not arrive at night
    ("expire_coupons", 0, 20),
]


def seed(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    for name, hour, minute in SCHEDULES:
        cron, _ = CrontabSchedule.objects.get_or_create(
            minute=str(minute), hour=str(hour), day_of_week="*", day_of_month="*", month_of_year="*",
            timezone="Asia/Shanghai",
        )
        PeriodicTask.objects.get_or_create(
            name=f"nightly: {name}",
            defaults={"task": "core.tasks.run_job_task", "crontab": cron, "args": f'["{name}"]', "queue": "nightly"},
        )


class Migration(migrations.Migration):
    dependencies = [("points", "0006_entry_indexes"), ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
