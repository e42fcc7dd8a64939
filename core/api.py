"""The DRF toolkit every app's API uses: who is calling (a till device or a staff session), per-caller
rate limits, documented error responses, and domain errors as JSON with a stable code.

core imports no app: a till's `request.auth` is recognised by its `is_till_device` marker (members.Device),
and the member / store a caller acts on is resolved in members.callers."""
from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse
from rest_framework import permissions, serializers, status, throttling
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import MemberHubError


class ErrorSerializer(serializers.Serializer):
    """Shape of every error response (documented in the OpenAPI schema)."""

    code = serializers.CharField()
    detail = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


def exception_handler(exc, context):
    if isinstance(exc, MemberHubError):
        body = {"code": exc.code, "detail": exc.message}
        if exc.fields:
            body["fields"] = exc.fields
        return Response(body, status=exc.status)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if response.status_code == status.HTTP_400_BAD_REQUEST and isinstance(data, dict):
        response.data = {"code": "invalid", "detail": "Invalid input.", "fields": data}
    elif isinstance(data, dict) and "detail" in data:
        code = getattr(data["detail"], "code", None) or "error"
        response.data = {"code": str(code), "detail": str(data["detail"])}
    return response


# ---------------------------------------------------------------- callers


def device_of(request):
    """The till device behind the request, or None for staff sessions."""
    auth = getattr(request, "auth", None)
    return auth if getattr(auth, "is_till_device", False) else None


class IsDevice(permissions.BasePermission):
    message = "Only a till / device token may call this."

    def has_permission(self, request, view) -> bool:
        return device_of(request) is not None


class IsStaffUser(permissions.BasePermission):
    """A staff session (a real Django user with is_staff), not a device."""

    message = "Only staff may call this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return (
            device_of(request) is None
            and bool(user and user.is_authenticated and user.is_active and getattr(user, "is_staff", False))
        )


class CallerRateThrottle(throttling.SimpleRateThrottle):
    """Per device (or per staff user) rate; the rate comes from REST_FRAMEWORK's
    DEFAULT_THROTTLE_RATES[scope] when configured, else `default_rate`."""

    default_rate = "60/min"

    def get_rate(self):
        return settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES", {}).get(self.scope) or self.default_rate

    def get_cache_key(self, request, view):
        device = device_of(request)
        if device is not None:
            ident = f"device-{device.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"ip-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


# ---------------------------------------------------------------- schema


ERROR_TEXT = {
    400: "Invalid input: `fields` maps each field to its messages.",
    401: "No or invalid credentials (device token or staff session).",
    403: "The caller may not do this (device vs staff, or the role lacks the permission).",
    404: "No such member (or not in the caller's store).",
    409: "Conflicts with the current state.",
    413: "The request body is too large.",
    414: "The request URI is too long.",
    429: "Rate limited; retry later.",
}


def api_errors(*codes: int) -> dict:
    """Documented error responses: every one has the shape of ErrorSerializer."""
    return {code: OpenApiResponse(ErrorSerializer, description=ERROR_TEXT[code]) for code in codes}
