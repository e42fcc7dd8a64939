from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AmenitiesConfig(AppConfig):
    name = "amenities"
    verbose_name = _("Quotas and reservations")

    def ready(self):
        # Its sections of the member's data download (members.member_data, issue 15) through core.member_data.
        from .member_data import register as register_member_data

        register_member_data()

        from core.panels import DESK_MEMBER_SERVICE, Panel, panel_register

        # The member 360 page (members) links to the quota desk and to reservations on the member's behalf
        # (seed 000 热线电话平台) in its 客服 panel (issue 16); the section is links only, no query.
        panel_register(Panel(page=DESK_MEMBER_SERVICE, key="amenities", title=_("Quotas and reservations"),
                             template="amenities/desk/_panel_links.html", order=50))
