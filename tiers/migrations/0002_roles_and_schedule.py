from django.db import migrations

# Until members.roles.ROLE_PERMISSIONS lists them, the tier permissions are attached here.
ROLE_TIER_PERMISSIONS = {
    "运营经理": ["view_tierchange", "grant_tier", "view_tierproposal", "decide_tierproposal"],
    "前台": ["view_tierchange"],
    "客服": ["view_tierchange"],
    "审计": ["view_tierchange", "view_tierproposal"],
}


def seed(apps, schema_editor):
    from members.reference import ensure_reference_data

    ensure_reference_data(apps)  # creates the permissions of the apps in this migration state
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLE_TIER_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(*Permission.objects.filter(content_type__app_label="tiers", codename__in=codenames))
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    cron, _ = CrontabSchedule.objects.get_or_create(
        minute="40", hour="0", day_of_week="*", day_of_month="*", month_of_year="*", timezone="Asia/Shanghai"
    )
    PeriodicTask.objects.get_or_create(
        name="nightly: evaluate_tiers",
        defaults={"task": "core.tasks.run_job_task", "crontab": cron, "args": '["evaluate_tiers"]', "queue": "nightly"},
    )


class Migration(migrations.Migration):
    dependencies = [
        ("tiers", "0001_initial"),
        ("points", "0002_roles_and_config"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
