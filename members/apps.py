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

        # The till path reads a device by its token hash from core.reference_cache (members.api_auth).
        from core import reference_cache

        from .models import Device, Store

        reference_cache.invalidate_on_change("devices", Device, Store)
