from django.db import migrations


def seed(apps, schema_editor):
    from members.reference import ensure_reference_data

    ensure_reference_data(apps)
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    cron, _ = CrontabSchedule.objects.get_or_create(
        minute="10", hour="1", day_of_week="*", day_of_month="*", month_of_year="*", timezone="Asia/Shanghai"
    )
    PeriodicTask.objects.get_or_create(
        name="nightly: schedule_visits",
        defaults={"task": "core.tasks.run_job_task", "crontab": cron, "args": '["schedule_visits"]', "queue": "nightly"},
    )


class Migration(migrations.Migration):
    dependencies = [
        ("care", "0002_visit_policy_defaults"),
        ("members", "0008_roles_service_desk"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
