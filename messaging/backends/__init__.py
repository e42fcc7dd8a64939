"""SMS backends behind one interface (MSG-1), chosen by `settings.SMS_BACKEND` (a dotted path).

A backend sends one SMS and returns the provider's message id, or raises `SmsSendError` saying
whether a retry can help. Delivery (`messaging.delivery`) owns retries, rate limits and the log."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmsMessage:
    mobile: str
    text: str
    kind: str
    # Providers send an approved template with parameters rather than free text.
    template_code: str = ""
    params: dict = field(default_factory=dict, hash=False)
    param_names: tuple[str, ...] = ()
    message_id: int | None = None


class SmsSendError(Exception):
    """The provider did not take the message. `retryable` says whether trying again later can help."""

    def __init__(self, message: str, *, retryable: bool = True, code: str = ""):
        super().__init__(message)
        self.retryable = retryable
        self.code = code


class BaseBackend:
    #: key for the rate limit and the provider column of the log
    name = "base"

    def send(self, message: SmsMessage) -> str:
        raise NotImplementedError


class ConsoleBackend(BaseBackend):
    """Development: print the message (the demo shows SMS codes on the console)."""

    name = "console"

    def send(self, message: SmsMessage) -> str:
        if getattr(settings, "SMS_CONSOLE_QUIET", False):
            return f"console-{message.message_id}"
        print(f"[SMS to {message.mobile}] {message.text}", flush=True)
        log.info("sms %s to %s", message.kind, message.mobile[-4:])
        return f"console-{message.message_id}"


class InMemoryBackend(BaseBackend):
    """Tests: messages collect in `outbox`."""

    name = "memory"
    outbox: list[SmsMessage] = []
    _lock = threading.Lock()

    def send(self, message: SmsMessage) -> str:
        with self._lock:
            InMemoryBackend.outbox.append(message)
            return f"mem-{len(InMemoryBackend.outbox)}"


def get_backend() -> BaseBackend:
    return import_string(settings.SMS_BACKEND)()
