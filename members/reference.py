"""Reference data every installation has: default tiers and the staff roles (permission groups).

Used by the data migration and by tests that flush the database (transactional tests)."""
from __future__ import annotations

from django.contrib.auth.management import create_permissions

from .roles import ensure_roles

DEFAULT_TIERS = [("normal", "普通"), ("silver", "银卡"), ("gold", "金卡"), ("platinum", "白金卡")]
# code: (upgrade amount, retention amount, points per yuan): SPEC TIER-2 and PTS-1 defaults.
TIER_RULES = {
    "normal": ("0", "0", "1"),
    "silver": ("5000", "5000", "1.2"),
    "gold": ("20000", "20000", "1.5"),
    "platinum": ("100000", "100000", "2"),
}


def ensure_reference_data(apps) -> None:
    """Idempotent; `apps` is the migration state or django.apps.apps."""
    for app_config in apps.get_app_configs():
        had_models = getattr(app_config, "models_module", None)
        app_config.models_module = had_models or True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = had_models
    Tier = apps.get_model("members", "Tier")
    for rank, (code, name) in enumerate(DEFAULT_TIERS):
        tier, _ = Tier.objects.get_or_create(code=code, defaults={"name": name, "rank": rank})
        if hasattr(tier, "points_rate"):  # the migration state before 0003 has no rule fields
            upgrade, retention, rate = TIER_RULES[code]
            Tier.objects.filter(pk=tier.pk, upgrade_amount=0, points_rate=1).update(
                upgrade_amount=upgrade, retention_amount=retention, points_rate=rate
            )
    ensure_roles(apps)
