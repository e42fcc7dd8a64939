from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TiersConfig(AppConfig):
    name = "tiers"
    verbose_name = _("Tiers")

    def ready(self):
        from points import hooks

        from .services import tier_upgrade_on_purchase

        hooks.register_purchase_posted(tier_upgrade_on_purchase)

        from core.panels import DESK_MEMBER, PORTAL_HOME, PORTAL_POINTS, Panel, panel_register

        # The tier panel of the member 360 page and the tier summary on the portal points page: htmx
        # slots that load from tiers' own URLs, so members and points name no tier code.
        panel_register(Panel(page=DESK_MEMBER, key="tier", title=_("Tier"),
                             template="tiers/desk/_panel_slot.html", order=20))
        panel_register(Panel(page=PORTAL_POINTS, key="tier", title=_("My tier"),
                             template="tiers/portal/_summary_slot.html", order=20))
        # The member centre (portal home): the tier and the amount still needed for the next one.
        panel_register(Panel(page=PORTAL_HOME, key="tier", title=_("My tier"),
                             template="tiers/portal/_home_progress_slot.html", order=20))
