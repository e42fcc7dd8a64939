"""App configs for third-party apps whose admin would otherwise speak English.

INSTALLED_APPS names these instead of the package (Django's documented way to give an installed app
another verbose name); the label stays the package's, so its tables, migrations and permissions are unchanged."""
from axes.apps import AppConfig as AxesAppConfig
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "-"


def access_log_str(log) -> str:
    return gettext("Login of %(username)s at %(time)s") % {"username": log.username, "time": _local(log.attempt_time)}


def access_attempt_str(attempt) -> str:
    return gettext("Failed logins of %(username)s since %(time)s") % {
        "username": attempt.username, "time": _local(attempt.attempt_time)}


def access_failure_str(failure) -> str:
    text = gettext("Failed login of %(username)s at %(time)s from %(ip)s") % {
        "username": failure.username, "time": _local(failure.attempt_time), "ip": failure.ip_address}
    return gettext("%(failure)s (locked out)") % {"failure": text} if failure.locked_out else text


class AxesConfig(AxesAppConfig):
    """django-axes: staff login attempts and lock-outs (SEC-5). Its app is named "Axes" and its records'
    str() (admin titles, breadcrumbs, delete pages) is English f-strings, so both are replaced here."""

    verbose_name = _("Login lock-out")

    def ready(self):
        super().ready()
        from axes.models import AccessAttempt, AccessFailureLog, AccessLog

        AccessLog.__str__ = access_log_str
        AccessAttempt.__str__ = access_attempt_str
        AccessFailureLog.__str__ = access_failure_str
