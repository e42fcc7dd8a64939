"""SMS entry points kept for existing imports: the backends live in `messaging.backends`, and
`send_sms` now logs and delivers through the message service like every other SMS."""
from __future__ import annotations

import math
from dataclasses import dataclass

from .backends import BaseBackend, ConsoleBackend, InMemoryBackend, SmsMessage, SmsSendError, get_backend

__all__ = ["BaseBackend", "ConsoleBackend", "InMemoryBackend", "SmsMessage", "SmsSegments", "SmsSendError",
           "get_backend", "send_sms", "sms_segments"]

# GSM 03.38: the basic character set (one septet each) and its extension table (escape + char: two).
_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
_GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True)
class SmsSegments:
    chars: int          # characters as a person counts them
    encoding: str       # "GSM-7" or "UCS-2"
    units: int          # septets (GSM-7, extension characters count two) or UTF-16 code units (UCS-2)
    segments: int       # SMS billed: one up to the single limit, else ceil(units / per-part limit)
    single_limit: int   # 160 / 70
    part_limit: int     # 153 / 67 (the rest of each part carries the concatenation header)


def sms_segments(text: str) -> SmsSegments:
    """How many SMS a text costs. GSM-7 when every character is in the GSM 03.38 alphabet
    (160 in one SMS, 153 a part when concatenated; ^{}[]~|€\\ and form feed count two), otherwise
    UCS-2, which any Chinese character forces (70 in one SMS, 67 a part; characters outside the BMP,
    emoji, count two). The one counter of messaging: template previews and campaign pages use it."""
    text = text or ""
    if all(c in _GSM7_BASIC or c in _GSM7_EXTENSION for c in text):
        encoding, single, part = "GSM-7", 160, 153
        units = sum(2 if c in _GSM7_EXTENSION else 1 for c in text)
    else:
        encoding, single, part = "UCS-2", 70, 67
        units = len(text.encode("utf-16-le")) // 2
    if units == 0:
        segments = 0
    elif units <= single:
        segments = 1
    else:
        segments = math.ceil(units / part)
    return SmsSegments(chars=len(text), encoding=encoding, units=units, segments=segments, single_limit=single,
                       part_limit=part)


def send_sms(*, mobile: str, text: str, kind: str) -> str:
    """Send a free-text SMS to a number (security codes): a logged Message, delivered by the queue.
    Returns the provider message id once sent (at once with eager tasks), else the message id."""
    from .services import message_send_security_code

    message = message_send_security_code(mobile=mobile, text=text, kind=kind)
    message.refresh_from_db(fields=["provider_id"])
    return message.provider_id or str(message.pk)
