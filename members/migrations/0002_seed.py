from django.db import migrations


def seed(apps, schema_editor):
    from members.reference import ensure_reference_data

    ensure_reference_data(apps)

    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    for name, hour, minute in [("refresh_rule_tags", 1, 30), ("purge_sms_codes", 4, 0)]:
        cron, _ = CrontabSchedule.objects.get_or_create(
            minute=str(minute), hour=str(hour), day_of_week="*", day_of_month="*", month_of_year="*",
            timezone="Asia/Shanghai",
        )
        PeriodicTask.objects.get_or_create(
            name=f"nightly: {name}",
            defaults={"task": "core.tasks.run_job_task", "crontab": cron, "args": f'["{name}"]', "queue": "nightly"},
        )


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0001_initial"),
        ("core", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE SEQUENCE IF NOT EXISTS member_no_seq START 100001",
            "DROP SEQUENCE IF EXISTS member_no_seq",
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
