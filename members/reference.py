"""Reference data every installation has: default tiers and the staff roles (permission groups).

Used by the data migration and by tests that flush the database (transactional tests)."""
from __future__ import annotations

from django.contrib.auth.management import create_permissions

from .roles import ensure_roles

DEFAULT_TIERS = [("normal", "普通"), ("silver", "银卡"), ("gold", "金卡"), ("platinum", "白金卡")]


def ensure_reference_data(apps) -> None:
    """Idempotent; `apps` is the migration state or django.apps.apps."""
    for app_config in apps.get_app_configs():
        had_models = getattr(app_config, "models_module", None)
        app_config.models_module = had_models or True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = had_models
    Tier = apps.get_model("members", "Tier")
    for rank, (code, name) in enumerate(DEFAULT_TIERS):
        Tier.objects.get_or_create(code=code, defaults={"name": name, "rank": rank})
    ensure_roles(apps)
