from django.db import migrations


def refresh(apps, schema_editor):
    from members.reference import ensure_reference_data

    ensure_reference_data(apps)


class Migration(migrations.Migration):
    """Re-attach role permissions now that evaluation, dashboards and care have theirs (idempotent)."""

    dependencies = [
        ("members", "0008_roles_service_desk"),
        ("evaluation", "0003_snapshot_keys"),
        ("dashboards", "0002_roles_and_schedules"),
        ("care", "0003_roles_and_schedule"),
        ("messaging", "0003_schedules"),
    ]
    operations = [migrations.RunPython(refresh, migrations.RunPython.noop)]
