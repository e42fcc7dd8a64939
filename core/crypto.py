"""Encryption at rest, lookup hashes and masking of personal data (SEC-2)."""
from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


@lru_cache(maxsize=1)
def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in settings.FIELD_ENCRYPTION_KEYS])


def encrypt(value: str | None) -> str | None:
    if value in (None, ""):
        return None
    return _fernet().encrypt(value.encode()).decode()


def decrypt(token: str | None) -> str | None:
    if not token:
        return None
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        return None


def lookup_hash(value: str | None) -> str | None:
    """Keyed hash for exact-match lookup (mobile, ID number) without storing the clear value."""
    if not value:
        return None
    return hmac.new(settings.FIELD_HASH_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


def mask_mobile(mobile: str | None) -> str:
    """13812345678 / +8613812345678 -> 138****5678."""
    if not mobile:
        return ""
    digits = mobile[-11:]
    return f"{digits[:3]}****{digits[-4:]}"


def mask_id_number(value: str | None) -> str:
    """110101199003071234 -> 1101**********1234."""
    if not value:
        return ""
    return f"{value[:4]}{'*' * (len(value) - 8)}{value[-4:]}"


def mask_text(value: str | None, keep: int = 6) -> str:
    """Addresses and similar free text: keep the head (province/city), hide the rest."""
    if not value:
        return ""
    return value[:keep] + "****" if len(value) > keep else value[:1] + "****"


def mask_code(value: str | None) -> str:
    """A coupon / redemption code: the last 4 characters only (C00000001234 -> ********1234)."""
    if not value:
        return ""
    return "*" * max(len(value) - 4, 4) + value[-4:]


def mask_name(value: str | None) -> str:
    if not value:
        return ""
    return value[0] + "*" * (len(value) - 1) if len(value) > 1 else value
