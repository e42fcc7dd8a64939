"""App configs for third-party apps whose admin section would otherwise carry an English name.

INSTALLED_APPS names these instead of the package (Django's documented way to give an installed app
another verbose name); the label stays the package's, so its tables, migrations and permissions are unchanged."""
from axes.apps import AppConfig as AxesAppConfig
from django.utils.translation import gettext_lazy as _


class AxesConfig(AxesAppConfig):
    """django-axes: staff login attempts and lock-outs (SEC-5); its verbose name is the package's label "Axes"."""

    verbose_name = _("Login lock-out")
