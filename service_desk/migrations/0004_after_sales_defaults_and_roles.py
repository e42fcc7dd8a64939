"""SD-7 default after-sales time limits (standard: respond 24 h, resolve 48 h, 001 3.4; urgent faults
and safety issues: 12 / 24 h), SD-8 consultation time limits (every channel: one working day, 003
3.4), the staff-alert message templates of escalations (SD-9) and the roles' new permissions,
including the regional manager (区域经理, members.roles)."""
from django.db import migrations

KINDS = ["repair", "exchange", "inspection"]
PRIORITY_HOURS = {"standard": (24, 48), "urgent": (12, 24)}
CHANNELS = ["desk", "hotline", "portal", "wechat", "email"]
TEMPLATES = [
    ("staff_alert", "sms", "员工提醒（短信）", "", "{title}: {body}", ["title", "body"]),
    ("staff_alert", "email", "员工提醒（邮件）", "{title}", "{body}", []),
]


def seed(apps, schema_editor):
    from members.reference import ensure_reference_data

    Policy = apps.get_model("service_desk", "AfterSalesPolicy")
    for kind in KINDS:
        for priority, (respond, resolve) in PRIORITY_HOURS.items():
            Policy.objects.get_or_create(kind=kind, priority=priority,
                                         defaults={"respond_hours": respond, "resolve_hours": resolve})
    Limit = apps.get_model("service_desk", "ConsultationTimeLimit")
    for channel in CHANNELS:
        Limit.objects.get_or_create(channel=channel, defaults={"reply_hours": 24, "working_days": True})
    Template = apps.get_model("messaging", "MessageTemplate")
    for code, channel, name, subject, body, names in TEMPLATES:
        Template.objects.get_or_create(code=code, channel=channel, defaults={
            "kind": "service", "name": name, "subject": subject, "body": body, "provider_param_names": names})
    ensure_reference_data(apps)


def unseed(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="区域经理").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("service_desk", "0003_after_sales_clocks_escalation_levels"),
        ("messaging", "0005_message_secret"),
        ("members", "0011_roles_benefits"),
    ]
    operations = [migrations.RunPython(seed, unseed)]
