"""Token authentication of tills and staff apps: `Authorization: Device <prefix>.<secret>`.

A device is bound to one store; the API reads `request.auth` (the Device) to scope what it does."""
from __future__ import annotations

import hashlib
import secrets

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from core import reference_cache

from .models import Device, Store


class DevicePrincipal:
    """Stands in for request.user when a device calls; never staff, never superuser."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    is_active = True

    def __init__(self, device: Device):
        self.device = device
        self.pk = None

    def get_username(self) -> str:
        return f"device:{self.device.name}"

    def has_perm(self, perm, obj=None) -> bool:
        return False

    def __str__(self) -> str:
        return self.get_username()


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def device_create(*, name: str, store: Store) -> tuple[Device, str]:
    """Create a device and return its token once; only a hash is stored."""
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    device = Device.objects.create(name=name, store=store, key_prefix=prefix, key_hash=_hash(secret))
    return device, f"{prefix}.{secret}"


def _device_for_token(token: str) -> Device | None:
    """The active device (with its store) whose token this is, or None."""
    prefix, _, secret = token.partition(".")
    device = Device.objects.select_related("store").filter(key_prefix=prefix, is_active=True).first()
    if device is None or not secrets.compare_digest(device.key_hash, _hash(secret)):
        return None
    return device


class DeviceTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Device"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode(errors="ignore")
        if not header.startswith(self.keyword + " "):
            return None
        token = header[len(self.keyword) + 1:].strip()
        # Cached per process by the hash of the whole token (core.reference_cache; a save of a Device or
        # Store, or device_update's revoke, reaches every process within REFERENCE_CACHE_CHECK_SECONDS).
        device = reference_cache.cached("devices", _hash(token), lambda: _device_for_token(token))
        if device is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked device token.")
        now = timezone.now()
        if not device.last_seen_at or (now - device.last_seen_at).total_seconds() > 300:
            Device.objects.filter(pk=device.pk).update(last_seen_at=now)
            device.last_seen_at = now  # the cached copy too, or every later request would write again
        return DevicePrincipal(device), device

    def authenticate_header(self, request):
        return self.keyword


class DeviceTokenScheme(OpenApiAuthenticationExtension):
    target_class = DeviceTokenAuthentication
    name = "DeviceToken"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`Device <prefix>.<secret>` issued per till in the admin."}
