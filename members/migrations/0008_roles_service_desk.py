from django.db import migrations


def refresh(apps, schema_editor):
    from members.reference import ensure_reference_data

    ensure_reference_data(apps)


class Migration(migrations.Migration):
    """Re-attach role permissions now that the service desk has its own (idempotent)."""

    dependencies = [("members", "0007_roles_consent"), ("service_desk", "0002_defaults")]
    operations = [migrations.RunPython(refresh, migrations.RunPython.noop)]
