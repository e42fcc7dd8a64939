from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PointsConfig(AppConfig):
    name = "points"
    verbose_name = _("Points")

    def ready(self):
        from core.panels import DESK_MEMBER, Panel, panel_register

        # The member 360 page (members) shows the points panel as an htmx slot loading points_desk:panel.
        panel_register(Panel(page=DESK_MEMBER, key="points", title=_("Points"),
                             template="points/desk/_panel_slot.html", order=10))
