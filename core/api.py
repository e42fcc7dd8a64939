"""The DRF toolkit every app's API uses: who is calling (a till device or a staff session), per-caller
rate limits, documented error responses, and domain errors as JSON with a stable code.

core imports no app: a till's `request.auth` is recognised by its `is_till_device` marker (members.Device),
and the member / store a caller acts on is resolved in members.callers."""
from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse
from rest_framework import permissions, serializers, status, throttling
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.api_input import (  # noqa: F401 - re-exported: the toolkit is one import
    MAX_JSON_BYTES,
    MAX_JSON_DEPTH,
    MAX_OFFSET,
    MAX_PAGE_SIZE,
    BoundedJSONParser,
    BoundedLimitOffsetPagination,
)
from core.errors import MemberHubError
from core.money import parse_plain_decimal


class ErrorSerializer(serializers.Serializer):
    """Shape of every error response (documented in the OpenAPI schema)."""

    code = serializers.CharField()
    detail = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


def exception_handler(exc, context):
    if isinstance(exc, MemberHubError):
        body = {"code": exc.code, "detail": exc.message, "fields": exc.fields or {}}
        return Response(body, status=exc.status)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if response.status_code == status.HTTP_400_BAD_REQUEST and isinstance(data, dict | list) and not (
            isinstance(data, dict) and set(data) == {"detail"}):
        response.data = {"code": "invalid", "detail": "Invalid input.", "fields": flatten_field_errors(data)}
    elif isinstance(data, dict) and "detail" in data:
        code = getattr(data["detail"], "code", None) or "error"
        response.data = {"code": str(code), "detail": str(data["detail"]), "fields": {}}
    else:
        response.data = {"code": "error", "detail": str(data), "fields": {}}
    return response


def flatten_field_errors(data, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested errors ({"lines": [{"amount": [...]}, {}]}) as the documented flat map
    {"lines[0].amount": [...]}: ErrorSerializer's `fields` is field -> list of messages."""
    out: dict[str, list[str]] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(key, int) or (isinstance(key, str) and key.isdigit() and prefix):
                name = f"{prefix}[{key}]"  # ListSerializer errors are keyed by the item's index
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            if key == "non_field_errors" and not prefix:
                name = "non_field_errors"
            out.update(flatten_field_errors(value, name))
    elif isinstance(data, list):
        if all(not isinstance(item, dict | list) for item in data):
            out[prefix or "non_field_errors"] = [str(item) for item in data]
        else:
            for i, item in enumerate(data):
                out.update(flatten_field_errors(item, f"{prefix}[{i}]"))
    elif data is not None:
        out[prefix or "non_field_errors"] = [str(data)]
    return out


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


# ---------------------------------------------------------------- bounded input (issue 13)

MAX_ID = 2**63 - 1               # a database id is a bigint: larger numbers are a 400, not a 500
MAX_POINTS_INPUT = 100_000_000   # sanity bound of any points field; business maxima live in PointsConfig


def document_common_errors(result, generator, request, public):
    """drf-spectacular postprocessing hook: the errors any operation can answer, documented on every one —
    401 (no or bad credentials: device token or staff session), 413 (a body over MAX_JSON_BYTES) on those
    with a body, and 414 (a request line longer than the server accepts; gunicorn answers it before Django,
    so it has no JSON body)."""
    error_ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    has_error_component = "Error" in result.get("components", {}).get("schemas", {})
    for methods in result.get("paths", {}).values():
        for method, operation in methods.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            if operation.get("security") != [{}] and "401" not in responses:
                responses["401"] = {"description": ERROR_TEXT[401], **({"content": error_ref} if has_error_component else {})}
            if method in ("post", "put", "patch") and "413" not in responses:
                responses["413"] = {"description": ERROR_TEXT[413], **({"content": error_ref} if has_error_component else {})}
            responses.setdefault("414", {"description": ERROR_TEXT[414]})
    return result


def paginated(serializer_class, name: str):
    """The documented shape of a BoundedLimitOffsetPagination page of `serializer_class`, for views that
    paginate by hand (an APIView's get): {count, next, previous, results}."""
    return type(name, (serializers.Serializer,), {
        "count": serializers.IntegerField(),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": serializer_class(many=True),
        "Meta": type("Meta", (), {"ref_name": name}),
    })


def IdField(**kwargs) -> serializers.IntegerField:  # noqa: N802 - a field factory reads like a field class
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


def PointsField(**kwargs) -> serializers.IntegerField:  # noqa: N802
    kwargs.setdefault("min_value", -MAX_POINTS_INPUT)
    kwargs.setdefault("max_value", MAX_POINTS_INPUT)
    return serializers.IntegerField(**kwargs)


class PlainDecimalField(serializers.DecimalField):
    """serializers.DecimalField that accepts plain decimals only (see parse_plain_decimal)."""

    default_error_messages = {"plain": _("Enter the amount as a plain number such as 128.50.")}

    def to_internal_value(self, data):
        try:
            parse_plain_decimal(data)
        except ValueError:
            self.fail("plain")
        return super().to_internal_value(data)
