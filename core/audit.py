"""The one writer of the audit log (Zulip-style): every sensitive action calls `audit_record` in the
same atomic block as the change it records, so if the change is there, so is its record.

Nothing else constructs `AuditLog` rows; tests/core/test_audit.py scans the source tree for it."""
from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction

from .models import AuditLog

_DETAIL_MAX = AuditLog._meta.get_field("detail").max_length
_FIELD_MAX = AuditLog._meta.get_field("field").max_length
_LABEL_MAX = AuditLog._meta.get_field("actor_label").max_length


def _actor_fields(actor: Any) -> tuple[AbstractBaseUser | None, str, str | None]:
    """(user FK, label, ip) for whoever acts. Duck-typed, because core sits below members."""
    if isinstance(actor, str):  # "member", "command", "system", ...
        return None, actor, None
    if isinstance(actor, AbstractBaseUser):  # a staff user
        return actor, actor.get_username(), None
    if hasattr(actor, "user") and hasattr(actor, "label"):  # members.services.Actor
        return actor.user, actor.label, getattr(actor, "ip", None)
    device = getattr(actor, "device", actor)  # members.api_auth.DevicePrincipal stands in for a user
    if hasattr(device, "key_prefix") and hasattr(device, "name"):  # members.models.Device (a till)
        return None, f"device:{device.name}", None
    raise TypeError(f"audit_record cannot tell who acts from {actor!r}")


def audit_record(
    *, actor: Any, action: str, member=None, field: str = "", detail: str = "", ip: str | None = None
) -> AuditLog:
    """Write one audit log row.

    `actor` is a user, a members `Actor` (its `ip` is used when `ip` is not given), a till `Device`
    (or the `DevicePrincipal` standing in for it), or a plain label such as "member" or "command".
    Must run inside the transaction of the change it records; outside one it raises."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must be called inside the transaction of the change it records")
    user, label, actor_ip = _actor_fields(actor)
    return AuditLog.objects.create(
        actor=user, actor_label=label[:_LABEL_MAX], action=action, member=member,
        field=(field or "")[:_FIELD_MAX], detail=(detail or "")[:_DETAIL_MAX],
        ip=ip if ip is not None else actor_ip,
    )
