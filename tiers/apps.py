from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TiersConfig(AppConfig):
    name = "tiers"
    verbose_name = _("Tiers")

    def ready(self):
        from points import hooks

        from .services import tier_upgrade_on_purchase

        hooks.register_purchase_posted(tier_upgrade_on_purchase)
