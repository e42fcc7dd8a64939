from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MembersConfig(AppConfig):
    name = "members"
    verbose_name = _("Members")

    def ready(self) -> None:
        from .member_data import register_member_sections
        from .retention import register_member_targets

        register_member_sections()
        register_member_targets()
