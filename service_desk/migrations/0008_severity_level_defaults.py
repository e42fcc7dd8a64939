"""Seed the severities' default time limits (issue 16) and give the serious and urgent category policies
their shorter hours where they still have the single 24 / 48 / 72 they were seeded with (0002): a policy
someone already edited in the admin is left as it is.

normal 24 / 48 / 72 h is SD-2's standard case; serious and urgent are shorter (001 2.3: accepted within
24 h, answered within 48 h is the ceiling, a serious case is not left to it)."""
from django.db import migrations

DEFAULTS = {
    # severity: (accept, reply, close hours, when to choose it)
    "normal": (24, 48, 72, "一般问题：按标准时限处理"),
    "serious": (8, 24, 48, "影响较大或顾客情绪激动：当日受理，一天内答复"),
    "urgent": (2, 8, 24, "涉及人身安全、财产损失或媒体关注：立即受理，一天内结案"),
}
SEEDED = (24, 48, 72)


def seed(apps, schema_editor):
    SeverityLevel = apps.get_model("service_desk", "SeverityLevel")
    SlaPolicy = apps.get_model("service_desk", "SlaPolicy")
    for severity, (accept, reply, close, description) in DEFAULTS.items():
        SeverityLevel.objects.get_or_create(severity=severity, defaults={
            "accept_hours": accept, "reply_hours": reply, "close_hours": close, "description": description})
        SlaPolicy.objects.filter(severity=severity, accept_hours=SEEDED[0], reply_hours=SEEDED[1],
                                 close_hours=SEEDED[2]).update(accept_hours=accept, reply_hours=reply,
                                                               close_hours=close)


def unseed(apps, schema_editor):
    apps.get_model("service_desk", "SeverityLevel").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("service_desk", "0007_severity_levels")]
    operations = [migrations.RunPython(seed, unseed)]
