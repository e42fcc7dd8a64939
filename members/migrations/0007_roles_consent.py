from django.db import migrations


def refresh(apps, schema_editor):
    from members.reference import ensure_reference_data

    ensure_reference_data(apps)


class Migration(migrations.Migration):
    """Front desk and customer service record consent with their own permission."""

    dependencies = [("members", "0006_alter_tier_offset_cap_percent"), ("points", "0007_schedules")]
    operations = [migrations.RunPython(refresh, migrations.RunPython.noop)]
