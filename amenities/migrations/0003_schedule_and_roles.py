from django.db import migrations


def seed(apps, schema_editor):
    from members.reference import ensure_reference_data

    ensure_reference_data(apps)
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    cron, _ = CrontabSchedule.objects.get_or_create(
        minute="5", hour="*", day_of_week="*", day_of_month="*", month_of_year="*", timezone="Asia/Shanghai"
    )
    PeriodicTask.objects.get_or_create(
        name="hourly: remind_reservations",
        defaults={"task": "core.tasks.run_job_task", "crontab": cron, "args": '["remind_reservations"]',
                  "queue": "nightly"},
    )


class Migration(migrations.Migration):
    """Reservation reminders every hour; role permissions for quotas, loans, reservations, partners, events."""

    dependencies = [
        ("amenities", "0002_quota_policy_defaults"),
        ("engagement", "0001_initial"),
        ("members", "0010_roles_campaigns"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
