"""Staff login lock-out (SEC-5): django-axes' database handler with a second, larger limit per IP.

Axes locks a username at one IP after `AXES_FAILURE_LIMIT` failures. Password spraying (a few
wrong passwords for each of many accounts from one address) never reaches that limit, so failures
from one IP are also counted across usernames: `AXES_IP_FAILURE_LIMIT` of them within the cool-off
lock the whole address, with axes' own lock-out response, until the cool-off has passed.

Why a handler rather than settings alone: axes 8.3.1 accepts several `AXES_LOCKOUT_PARAMETERS`
combinations but compares all of them with one `AXES_FAILURE_LIMIT` (the callable form receives the
request and credentials, not the combination), so it cannot lock a user at 5 and an IP at 20. And
with `["ip_address"]` among the combinations, `AXES_RESET_ON_SUCCESS` would wipe every failure from
the address whenever anyone there logs in, so a sprayer holding one valid account could reset the
count. Here the per-IP count is read from the same AccessAttempt rows, and a successful login still
clears only that user's failures at that address."""
from __future__ import annotations

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum


def ip_failures(request) -> int:
    """Failed staff logins from the request's address within the cool-off, whatever the username."""
    attempts = AccessAttempt.objects.filter(ip_address=request.axes_ip_address)
    if settings.AXES_COOLOFF_TIME is not None:
        attempts = attempts.filter(attempt_time__gte=get_cool_off_threshold(request))
    return attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0


class StaffLoginLockoutHandler(AxesDatabaseHandler):
    """AXES_HANDLER: the per username+IP limit of axes, and `AXES_IP_FAILURE_LIMIT` per IP."""

    def get_failures(self, request, credentials: dict | None = None) -> int:
        failures = super().get_failures(request, credentials)
        if request.axes_ip_address and ip_failures(request) >= settings.AXES_IP_FAILURE_LIMIT:
            # Reported as reaching the per-user limit, so every axes check (the backend refusing the
            # login, the lock-out signal and response) treats the address as locked.
            return max(failures, get_failure_limit(request, credentials))
        return failures
