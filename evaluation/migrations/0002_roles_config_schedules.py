from django.db import migrations

# Until members.roles.ROLE_PERMISSIONS lists them, the evaluation permissions are attached here.
ROLE_EVALUATION_PERMISSIONS = {
    "运营经理": ["view_rfmrun", "view_rfmsnapshot", "view_closenesssnapshot", "view_lifecyclesnapshot",
             "view_closenessweights", "change_closenessweights", "view_lifecyclerule", "change_lifecyclerule",
             "view_segment", "add_segment", "change_segment", "delete_segment", "view_referral", "add_referral"],
    "前台": ["view_referral", "add_referral"],
    "客服": ["view_referral", "add_referral"],
    "审计": ["view_rfmrun", "view_rfmsnapshot", "view_closenesssnapshot", "view_lifecyclesnapshot",
           "view_closenessweights", "view_lifecyclerule", "view_segment", "view_referral"],
}

# Nightly, after the tier evaluation (00:40): RFM first, lifecycle reads its classes.
SCHEDULES = [("compute_rfm", 1, 10), ("compute_closeness", 1, 25), ("compute_lifecycle", 1, 40)]


def seed(apps, schema_editor):
    from members.reference import ensure_reference_data

    ensure_reference_data(apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLE_EVALUATION_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(*Permission.objects.filter(content_type__app_label="evaluation",
                                                         codename__in=codenames))
    apps.get_model("evaluation", "ClosenessWeights").objects.get_or_create(pk=1)
    apps.get_model("evaluation", "LifecycleRule").objects.get_or_create(pk=1)
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
        ("evaluation", "0001_initial"),
        ("members", "0007_roles_consent"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
