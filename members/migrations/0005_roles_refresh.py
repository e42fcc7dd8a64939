from django.db import migrations


def refresh(apps, schema_editor):
    from members.reference import ensure_reference_data

    ensure_reference_data(apps)


class Migration(migrations.Migration):
    """Role permissions grow with each app; re-attach them (idempotent)."""

    dependencies = [("members", "0004_tier_defaults"), ("points", "0002_roles_and_config")]
    operations = [migrations.RunPython(refresh, migrations.RunPython.noop)]
