from django.db import migrations


def refresh(apps, schema_editor):
    from members.reference import ensure_reference_data

    ensure_reference_data(apps)


class Migration(migrations.Migration):
    """Operations managers run message campaigns; auditors see them (idempotent)."""

    dependencies = [("members", "0009_roles_evaluation"), ("messaging", "0004_campaigns")]
    operations = [migrations.RunPython(refresh, migrations.RunPython.noop)]
