from django.db import migrations


def seed(apps, schema_editor):
    from members.reference import TIER_RULES

    Tier = apps.get_model("members", "Tier")
    for code, (upgrade, retention, rate) in TIER_RULES.items():
        Tier.objects.filter(code=code).update(upgrade_amount=upgrade, retention_amount=retention, points_rate=rate)


class Migration(migrations.Migration):
    dependencies = [("members", "0003_tier_rules")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
