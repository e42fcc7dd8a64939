"""One-time SMS codes (MEM-1, SEC-5): expiring, single use, limited attempts, rate-limited per
number and per IP. Codes are stored hashed; the text goes out through messaging.sms."""
from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import crypto
from core.errors import RateLimited, ValidationFailed

from .locks import sms_code_lock_latest
from .models import SmsCode
from .validation import normalize_mobile

# How a code reaches the phone: messaging registers its sender in MessagingConfig.ready() (members sits
# below messaging in the layers contract, so it names the hook, not the module).
_code_sender = None


def register_code_sender(sender) -> None:
    """`sender(*, mobile, text, kind, params, event_key)` queues the security-code SMS."""
    global _code_sender
    _code_sender = sender


def _send(**kwargs) -> None:
    if _code_sender is None:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("No SMS code sender registered: is the messaging app installed?")
    _code_sender(**kwargs)


def _code_hash(mobile: str, code: str) -> str:
    return crypto.lookup_hash(f"otp:{mobile}:{code}")


@transaction.atomic
def sms_code_send(*, mobile: str, purpose: str, ip: str | None = None) -> SmsCode:
    try:
        mobile = normalize_mobile(mobile)
    except ValueError as exc:
        raise ValidationFailed(str(exc), fields={"mobile": [str(exc)]}) from None
    if purpose not in SmsCode.Purpose.values:
        raise ValidationFailed(_("Unknown purpose."), fields={"purpose": [_("Unknown purpose.")]})
    now = timezone.now()
    mobile_hash = crypto.lookup_hash(mobile)
    # Serialise sends per number so two parallel requests cannot both pass the limit.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [mobile_hash])
    recent = SmsCode.objects.filter(mobile_hash=mobile_hash)
    # The resend wait is per purpose (a new member logging in right after sign-up need not wait);
    # the daily cap counts every purpose, so a number cannot be flooded.
    if recent.filter(purpose=purpose,
                     created_at__gt=now - dt.timedelta(seconds=settings.SMS_CODE_RESEND_SECONDS)).exists():
        raise RateLimited(_("A code was just sent; please wait a minute before asking again."), code="too_soon")
    if recent.filter(created_at__gt=now - dt.timedelta(days=1)).count() >= settings.SMS_CODE_MAX_PER_MOBILE_PER_DAY:
        raise RateLimited(_("Too many codes for this number today; try again tomorrow."), code="daily_limit")
    if ip and SmsCode.objects.filter(ip=ip, created_at__gt=now - dt.timedelta(hours=1)).count() >= (
        settings.SMS_CODE_MAX_PER_IP_PER_HOUR
    ):
        raise RateLimited(_("Too many requests from this network; try again later."), code="ip_limit")
    code = f"{secrets.randbelow(1_000_000):06d}"
    obj = SmsCode.objects.create(
        mobile_hash=mobile_hash, purpose=purpose, code_hash=_code_hash(mobile, code), ip=ip,
        expires_at=now + dt.timedelta(seconds=settings.SMS_CODE_TTL_SECONDS),
    )
    text = _("[MemberHub] Your verification code is %(code)s, valid for %(minutes)s minutes. "
             "Do not share it.") % {"code": code, "minutes": settings.SMS_CODE_TTL_SECONDS // 60}
    # Written in this transaction, delivered after commit (messaging queues it on_commit).
    _send(mobile=mobile, text=text, kind="otp", params={"code": code}, event_key=f"otp:{obj.pk}")
    return obj


def sms_code_verify(*, mobile: str, purpose: str, code: str) -> None:
    """Consume the latest live code for the number; raise ValidationFailed if it does not match.

    Runs in its own transaction so a wrong attempt is counted even when the caller rolls back."""
    mobile = normalize_mobile(mobile)
    mobile_hash = crypto.lookup_hash(mobile)
    error = ValidationFailed(_("The verification code is wrong or has expired."), code="bad_code",
                             fields={"sms_code": [_("The verification code is wrong or has expired.")]})
    with transaction.atomic(savepoint=True):
        latest = sms_code_lock_latest(mobile_hash=mobile_hash, purpose=purpose, now=timezone.now())
        if latest is None or latest.attempts >= settings.SMS_CODE_MAX_ATTEMPTS:
            raise error
        if not secrets.compare_digest(latest.code_hash, _code_hash(mobile, (code or "").strip())):
            SmsCode.objects.filter(pk=latest.pk).update(attempts=latest.attempts + 1)
            wrong = error
        else:
            SmsCode.objects.filter(pk=latest.pk).update(used_at=timezone.now())
            return
    raise wrong
