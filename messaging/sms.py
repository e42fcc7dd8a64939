"""SMS entry points kept for existing imports: the backends live in `messaging.backends`, and
`send_sms` now logs and delivers through the message service like every other SMS."""
from __future__ import annotations

from .backends import BaseBackend, ConsoleBackend, InMemoryBackend, SmsMessage, SmsSendError, get_backend

__all__ = ["BaseBackend", "ConsoleBackend", "InMemoryBackend", "SmsMessage", "SmsSendError", "get_backend",
           "send_sms"]


def send_sms(*, mobile: str, text: str, kind: str) -> str:
    """Send a free-text SMS to a number (security codes): a logged Message, delivered by the queue.
    Returns the provider message id once sent (at once with eager tasks), else the message id."""
    from .services import message_send_security_code

    message = message_send_security_code(mobile=mobile, text=text, kind=kind)
    message.refresh_from_db(fields=["provider_id"])
    return message.provider_id or str(message.pk)
