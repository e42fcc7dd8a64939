"""Content-Security-Policy on every page (SEC-5, issue 13): desk, portal and admin.

Django 5.2 has no CSP of its own; one small middleware is less to keep up than a dependency for a
header. The policies are settings (`CONTENT_SECURITY_POLICY`, `CONTENT_SECURITY_POLICY_ADMIN`, a dict
of directive -> sources) switched on by `CONTENT_SECURITY_POLICY_ENABLED` (on in production). Our
templates carry no inline script, inline event handler or `javascript:` URL, so script-src is
'self' without nonces; see the settings for why the admin's policy differs."""
from __future__ import annotations

from django.conf import settings
from django.urls import NoReverseMatch, reverse

HEADER = "Content-Security-Policy"
REPORT_ONLY_HEADER = "Content-Security-Policy-Report-Only"


def policy_header(policy: dict[str, list[str]]) -> str:
    """{"default-src": ["'self'"], "upgrade-insecure-requests": []} -> "default-src 'self'; upgrade-insecure-requests"."""
    return "; ".join(" ".join([directive, *sources]) for directive, sources in policy.items())


def _admin_prefix() -> str | None:
    try:
        return reverse("admin:index")
    except NoReverseMatch:
        return None


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not settings.CONTENT_SECURITY_POLICY_ENABLED:
            return response
        header = REPORT_ONLY_HEADER if settings.CONTENT_SECURITY_POLICY_REPORT_ONLY else HEADER
        if header in response.headers:  # a view that set its own policy keeps it
            return response
        admin = _admin_prefix()
        policy = (settings.CONTENT_SECURITY_POLICY_ADMIN if admin and request.path.startswith(admin)
                  else settings.CONTENT_SECURITY_POLICY)
        response.headers[header] = policy_header(policy)
        return response
