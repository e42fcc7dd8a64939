from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EngagementConfig(AppConfig):
    name = "engagement"
    verbose_name = _("Partners and events")

    def ready(self):
        from core import figures

        from . import attendance

        # evaluation (below engagement) counts event attendance for closeness through core.figures.
        figures.register_event_attendance(attendance)

        # Its sections of the member's data download (members.member_data, issue 15) through core.member_data.
        from .member_data import register as register_member_data

        register_member_data()
