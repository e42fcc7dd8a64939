from django.db import migrations

# tier code: (parking hours per day, gift wraps per month, items on loan at once, loan hours)
DEFAULTS = {"normal": (2, 0, 1, 24), "silver": (3, 2, 1, 24), "gold": (4, 4, 2, 48), "platinum": (8, 10, 2, 72)}


def seed(apps, schema_editor):
    Tier = apps.get_model("members", "Tier")
    QuotaPolicy = apps.get_model("amenities", "QuotaPolicy")
    for tier in Tier.objects.all():
        hours, wraps, loans, loan_hours = DEFAULTS.get(tier.code, (0, 0, 1, 24))
        QuotaPolicy.objects.get_or_create(tier=tier, defaults={
            "parking_hours_per_day": hours, "gift_wraps_per_month": wraps, "max_open_loans": loans,
            "loan_hours": loan_hours})


class Migration(migrations.Migration):
    dependencies = [("amenities", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
