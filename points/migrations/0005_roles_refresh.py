from django.db import migrations


def refresh(apps, schema_editor):
    from members.reference import ensure_reference_data

    ensure_reference_data(apps)


class Migration(migrations.Migration):
    """Re-attach role permissions after redemption and tiers added theirs (idempotent)."""

    dependencies = [("points", "0004_redemption_seed"), ("tiers", "0002_roles_and_schedule")]
    operations = [migrations.RunPython(refresh, migrations.RunPython.noop)]
