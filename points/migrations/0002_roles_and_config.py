from django.db import migrations


def seed(apps, schema_editor):
    from members.reference import ensure_reference_data

    ensure_reference_data(apps)
    PointsConfig = apps.get_model("points", "PointsConfig")
    PointsConfig.objects.get_or_create(pk=1, defaults={"reminder_days": [30, 7]})
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    cron, _ = CrontabSchedule.objects.get_or_create(
        minute="10", hour="0", day_of_week="*", day_of_month="*", month_of_year="*", timezone="Asia/Shanghai"
    )
    PeriodicTask.objects.get_or_create(
        name="nightly: expire_points",
        defaults={"task": "core.tasks.run_job_task", "crontab": cron, "args": '["expire_points"]', "queue": "nightly"},
    )


class Migration(migrations.Migration):
    dependencies = [("points", "0001_initial"), ("members", "0004_tier_defaults")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
