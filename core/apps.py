from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("System")

    def ready(self) -> None:
        # Jobs register themselves on import of each app's jobs module.
        from django.utils.module_loading import autodiscover_modules

        autodiscover_modules("jobs")

        from .beat import readable_names

        readable_names()  # periodic tasks and their schedules as words in the admin
