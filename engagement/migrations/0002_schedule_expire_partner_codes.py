from django.db import migrations


def seed(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    cron, _ = CrontabSchedule.objects.get_or_create(
        minute="25", hour="0", day_of_week="*", day_of_month="*", month_of_year="*", timezone="Asia/Shanghai",
    )
    PeriodicTask.objects.get_or_create(
        name="nightly: expire_partner_codes",
        defaults={"task": "core.tasks.run_job_task", "crontab": cron, "args": '["expire_partner_codes"]',
                  "queue": "nightly"},
    )


class Migration(migrations.Migration):
    dependencies = [("engagement", "0001_initial"), ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
