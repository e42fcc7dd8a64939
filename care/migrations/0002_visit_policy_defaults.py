"""SD-5 defaults: visits per year by tier (Normal 1, Silver 2, Gold 4, Platinum 12)."""
from django.db import migrations

DEFAULT_VISITS_PER_YEAR = {"normal": 1, "silver": 2, "gold": 4, "platinum": 12}


def seed(apps, schema_editor):
    Tier = apps.get_model("members", "Tier")
    VisitPolicy = apps.get_model("care", "VisitPolicy")
    for tier in Tier.objects.filter(code__in=DEFAULT_VISITS_PER_YEAR):
        VisitPolicy.objects.get_or_create(tier=tier, defaults={"visits_per_year": DEFAULT_VISITS_PER_YEAR[tier.code]})


class Migration(migrations.Migration):
    dependencies = [("care", "0001_initial"), ("members", "0004_tier_defaults")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
