from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """Demo data for `python3 dev.py run`: the top layer, so it may call every app's demo step."""

    name = "demo"
    verbose_name = _("Demo data")
