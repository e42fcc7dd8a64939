from django.db import migrations

# Until members.roles.ROLE_PERMISSIONS lists it, the dashboard permission is attached here.
ROLES_WITH_DASHBOARDS = ["运营经理", "审计", "管理员"]

# Nightly, after compute_lifecycle (01:40): daily figures, the consumption cube, then the summaries
# of the evaluation snapshots.
SCHEDULES = [("dashboard_daily", 2, 0), ("consumption_cube", 2, 10), ("dashboard_evaluation", 2, 40)]


def seed(apps, schema_editor):
    from members.reference import ensure_reference_data

    ensure_reference_data(apps)  # creates the permissions of the apps in this migration state
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    perm = Permission.objects.filter(content_type__app_label="dashboards", codename="view_dashboard")
    for role in ROLES_WITH_DASHBOARDS:
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(*perm)
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
    dependencies = [
        ("dashboards", "0001_initial"),
        ("evaluation", "0002_roles_config_schedules"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
