import django.core.validators
from django.db import migrations, models

SCHEDULES = [
    # job, hour, minute (Asia/Shanghai): after the day closed, before the desks open
    ("expire_gift_orders", 0, 40),
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


def unseed(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[f"nightly: {name}" for name, _h, _m in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("points", "0008_config_input_bounds"), ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [
        migrations.AddField(
            model_name="pointsconfig",
            name="gift_collect_days",
            field=models.PositiveSmallIntegerField(
                default=30, validators=[django.core.validators.MaxValueValidator(366)],
                verbose_name="collect a reserved gift within (days)",
                help_text="Counted from the day of the order; after the last day the order is cancelled overnight "
                          "and its points and stock come back. 0 = reserved gifts are never cancelled automatically.",
            ),
        ),
        migrations.RunPython(seed, unseed),
    ]
