from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CareConfig(AppConfig):
    name = "care"
    verbose_name = _("Member care")

    def ready(self):
        from core.panels import DESK_MEMBER_SERVICE, Panel, panel_register

        # The member 360 page (members) shows the care section (account manager, open visits, interview
        # answers) in its 客服 panel, the member's service history (issue 16), as an htmx slot loading
        # care_desk:member_panel.
        panel_register(Panel(page=DESK_MEMBER_SERVICE, key="care", title=_("Member care"),
                             template="care/desk/_panel_slot.html", order=40))

        # Its sections of the member's data download (members.member_data, issue 15) through core.member_data.
        from .member_data import register as register_member_data

        register_member_data()
