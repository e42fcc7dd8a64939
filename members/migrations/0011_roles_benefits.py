from django.db import migrations


def refresh(apps, schema_editor):
    from members.reference import ensure_reference_data

    ensure_reference_data(apps)


class Migration(migrations.Migration):
    """Operations managers edit the benefit catalogue and member-day settings (idempotent)."""

    dependencies = [("members", "0010_roles_campaigns"), ("benefits", "0002_seed"), ("amenities", "0003_schedule_and_roles")]
    operations = [migrations.RunPython(refresh, migrations.RunPython.noop)]
