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
