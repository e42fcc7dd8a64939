from django.db import migrations


def seed(apps, schema_editor):
    from members.reference import ensure_reference_data

    # Creates the new permissions (points.approve_adjustment and those of the redemption models) and
    # re-attaches the role permissions listed in members.roles.
    ensure_reference_data(apps)


class Migration(migrations.Migration):
    dependencies = [("points", "0003_redemption")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
