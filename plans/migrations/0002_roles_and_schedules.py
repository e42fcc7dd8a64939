from django.db import migrations

# The paid-membership permissions as members.roles.ROLE_PERMISSIONS lists them (ensure_roles re-attaches them).
ROLE_PLAN_PERMISSIONS = {
    "前台": ["view_membershipplan", "view_paidmembership", "add_paidmembership", "refund_paidmembership",
           "view_membershipevent"],
    "客服": ["view_membershipplan", "view_paidmembership", "view_membershipevent"],
    "运营经理": ["view_membershipplan", "add_membershipplan", "change_membershipplan", "view_paidmembership",
             "add_paidmembership", "refund_paidmembership", "view_membershipevent"],
    "审计": ["view_membershipplan", "view_paidmembership", "view_membershipevent"],
}

SCHEDULES = [
    # job, hour, minute (Asia/Shanghai)
    ("plans_lapse", 0, 50),  # after the business day closed, before the tills open
    ("plans_monthly_coupons", 1, 10),  # daily: once per membership and month by its idem keys
    ("plans_renewal_reminders", 10, 0),  # daytime, so reminders do not arrive at night
]


def seed(apps, schema_editor):
    from members.reference import ensure_reference_data

    ensure_reference_data(apps)  # creates the permissions of the apps in this migration state
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLE_PLAN_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(*Permission.objects.filter(content_type__app_label="plans", codename__in=codenames))
    admin_group = Group.objects.filter(name="管理员").first()
    if admin_group:
        admin_group.permissions.add(*Permission.objects.filter(content_type__app_label="plans"))
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
        ("plans", "0001_initial"),
        ("tiers", "0002_roles_and_schedule"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
