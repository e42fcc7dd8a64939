"""SD-2 default time limits (24 / 48 / 72 h for every category and severity), starting departments,
the sweep schedule (every 10 minutes) and, until members.roles lists them, the roles' permissions."""
from django.db import migrations

CATEGORIES = ["quality", "attitude", "payment", "returns", "other"]
SEVERITIES = ["normal", "serious", "urgent"]
DEPARTMENTS = ["客服中心", "楼面管理", "财务收银", "售后物流"]

ROLE_SERVICE_DESK_PERMISSIONS = {
    "前台": ["view_complaint", "add_complaint", "view_complaintevent", "view_consultation", "add_consultation",
           "change_consultation", "view_faqarticle"],
    "客服": ["view_complaint", "add_complaint", "handle_complaint", "compensate_complaint", "view_complaintevent",
           "add_followupcall", "view_consultation", "add_consultation", "change_consultation", "view_faqarticle",
           "add_faqarticle", "change_faqarticle"],
    "运营经理": ["view_complaint", "handle_complaint", "compensate_complaint", "view_complaintevent",
             "view_compliance_report", "view_escalation", "view_slapolicy", "change_slapolicy",
             "view_tierslashortening", "add_tierslashortening", "change_tierslashortening", "view_department",
             "add_department", "change_department", "view_consultation", "view_faqarticle", "add_faqarticle",
             "change_faqarticle", "delete_faqarticle"],
    "审计": ["view_complaint", "view_complaintevent", "view_escalation", "view_compliance_report",
           "view_consultation", "view_compensation", "view_complaintrating", "view_followupcall"],
}


def seed(apps, schema_editor):
    from members.reference import ensure_reference_data

    SlaPolicy = apps.get_model("service_desk", "SlaPolicy")
    for category in CATEGORIES:
        for severity in SEVERITIES:
            SlaPolicy.objects.get_or_create(category=category, severity=severity,
                                            defaults={"accept_hours": 24, "reply_hours": 48, "close_hours": 72})
    Department = apps.get_model("service_desk", "Department")
    for name in DEPARTMENTS:
        Department.objects.get_or_create(name=name)
    ensure_reference_data(apps)  # creates this app's permissions in the migration state
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLE_SERVICE_DESK_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(*Permission.objects.filter(content_type__app_label="service_desk",
                                                         codename__in=codenames))
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every10, _ = IntervalSchedule.objects.get_or_create(every=10, period="minutes")
    PeriodicTask.objects.get_or_create(
        name="every 10 min: sweep_complaints",
        defaults={"task": "core.tasks.run_job_task", "interval": every10, "args": '["sweep_complaints"]',
                  "queue": "nightly"},
    )


class Migration(migrations.Migration):
    dependencies = [
        ("service_desk", "0001_initial"),
        ("members", "0001_initial"),
        ("tiers", "0002_roles_and_schedule"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
