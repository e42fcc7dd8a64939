from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServiceDeskConfig(AppConfig):
    name = "service_desk"
    verbose_name = _("Service desk")

    def ready(self):
        from core.service_cases import register_case_source

        from .case_feed import AFTER_SALES, COMPLAINTS

        # Member care (same layer) reads closed and open complaints and after-sales cases through
        # core.service_cases.
        register_case_source(COMPLAINTS)
        register_case_source(AFTER_SALES)

        # Its sections of the member's data download (members.member_data, issue 15) through core.member_data.
        from .member_data import register as register_member_data

        register_member_data()

        # The member 360 page (members): the 客服 panel with the member's service history and the open
        # complaints in the summary bar, htmx slots loading from sd_desk (issue 16 desk workspace).
        from core.panels import DESK_MEMBER_SERVICE, DESK_MEMBER_SUMMARY, Panel, panel_register

        panel_register(Panel(page=DESK_MEMBER_SERVICE, key="service_desk", title="",
                             template="service_desk/desk/_member_panel_slot.html", order=10))
        panel_register(Panel(page=DESK_MEMBER_SUMMARY, key="complaints", title=_("Complaints"),
                             template="service_desk/desk/_member_summary_slot.html", order=30))
