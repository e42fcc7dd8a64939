"""Content-Security-Policy on every page (SEC-5, issue 13): desk, portal and admin; and the lean
middleware stack of token API calls (TokenApiMiddleware, issue 17).

Django 5.2 has no CSP of its own; one small middleware is less to keep up than a dependency for a
header. The policies are settings (`CONTENT_SECURITY_POLICY`, `CONTENT_SECURITY_POLICY_ADMIN`, a dict
of directive -> sources) switched on by `CONTENT_SECURITY_POLICY_ENABLED` (on in production). Our
templates carry no inline script, inline event handler or `javascript:` URL, so script-src is
'self' without nonces; see the settings for why the admin's policy differs."""
from __future__ import annotations

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.core.handlers.base import BaseHandler
from django.core.handlers.exception import convert_exception_to_response
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.module_loading import import_string

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
        self._admin = None  # resolved on first use: the URLconf may not be importable yet at start-up

    def __call__(self, request):
        response = self.get_response(request)
        if not settings.CONTENT_SECURITY_POLICY_ENABLED:
            return response
        header = REPORT_ONLY_HEADER if settings.CONTENT_SECURITY_POLICY_REPORT_ONLY else HEADER
        if header in response.headers:  # a view that set its own policy keeps it
            return response
        if self._admin is None:
            self._admin = _admin_prefix() or ""
        admin = self._admin
        policy = (settings.CONTENT_SECURITY_POLICY_ADMIN if admin and request.path.startswith(admin)
                  else settings.CONTENT_SECURITY_POLICY)
        response.headers[header] = policy_header(policy)
        return response


class _ChainHandler(BaseHandler):
    """A request handler over its own middleware list (sync), ending in the URL resolver and view like
    Django's; what BaseHandler.load_middleware does with settings.MIDDLEWARE, for another list."""

    def __init__(self, middleware: list[str]):
        super().__init__()
        self._view_middleware, self._template_response_middleware, self._exception_middleware = [], [], []
        handler = convert_exception_to_response(self._get_response)
        for path in reversed(middleware):
            try:
                instance = import_string(path)(handler)
            except MiddlewareNotUsed:
                continue
            if hasattr(instance, "process_view"):
                self._view_middleware.insert(0, instance.process_view)
            if hasattr(instance, "process_template_response"):
                self._template_response_middleware.append(instance.process_template_response)
            if hasattr(instance, "process_exception"):
                self._exception_middleware.append(instance.process_exception)
            handler = convert_exception_to_response(instance)
        self._middleware_chain = handler


def token_api_request(request) -> bool:
    """A till's or staff app's call: under API_PATH_PREFIX, authenticated by an Authorization header,
    with no cookie at all (so no session, CSRF token or portal login can matter)."""
    meta = request.META
    return (bool(meta.get("HTTP_AUTHORIZATION")) and not meta.get("HTTP_COOKIE")
            and request.path_info.startswith(settings.API_PATH_PREFIX))


class TokenApiMiddleware:
    """First in MIDDLEWARE: a token API call goes through settings.API_MIDDLEWARE only (security
    headers, CSP, APPEND_SLASH, frame options), not sessions, locale negotiation, CSRF, auth, messages,
    htmx, the portal member or axes, none of which a cookie-less token call uses. It answers in the
    site's language (LANGUAGE_CODE, Chinese), as it did without an Accept-Language. Everything else,
    including the API used with a staff session cookie, takes the full stack."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.api_chain = _ChainHandler(settings.API_MIDDLEWARE)._middleware_chain

    def __call__(self, request):
        if not token_api_request(request):
            return self.get_response(request)
        translation.activate(settings.LANGUAGE_CODE)
        request.LANGUAGE_CODE = settings.LANGUAGE_CODE
        return self.api_chain(request)
