from django.db import migrations


def seed(apps, schema_editor):
    """Care settings with the defaults (account managers for gold and platinum: seed 002 三(二)3 金卡 专属客服
    一对一, 白金卡 专属客服团队), the role permissions of this wave, and the nightly event-visit job."""
    from members.reference import ensure_reference_data

    ensure_reference_data(apps)
    CareConfig = apps.get_model("care", "CareConfig")
    Tier = apps.get_model("members", "Tier")
    config, created = CareConfig.objects.get_or_create(pk=1)
    if created:
        config.account_manager_tiers.set(Tier.objects.filter(code__in=["gold", "platinum"]))
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    cron, _ = CrontabSchedule.objects.get_or_create(
        minute="20", hour="1", day_of_week="*", day_of_month="*", month_of_year="*", timezone="Asia/Shanghai"
    )
    PeriodicTask.objects.get_or_create(
        name="nightly: schedule_event_visits",
        defaults={"task": "core.tasks.run_job_task", "crontab": cron, "args": '["schedule_event_visits"]',
                  "queue": "nightly"},
    )


class Migration(migrations.Migration):
    dependencies = [
        ("care", "0005_visit_events_account_managers_survey_channels"),
        ("amenities", "0004_booking_on_behalf"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
