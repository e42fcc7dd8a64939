"""Minimal SMS interface (MSG-1). The messaging issue grows it into templates, logs and providers;
until then every SMS in MemberHub goes through `send_sms`, so there is one path to replace."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmsMessage:
    mobile: str
    text: str
    kind: str


class BaseBackend:
    def send(self, message: SmsMessage) -> str:
        raise NotImplementedError


class ConsoleBackend(BaseBackend):
    """Development: print the message (the demo shows SMS codes on the console)."""

    def send(self, message: SmsMessage) -> str:
        print(f"[SMS to {message.mobile}] {message.text}", flush=True)
        log.info("sms %s to %s", message.kind, message.mobile[-4:])
        return "console"


class InMemoryBackend(BaseBackend):
    """Tests: messages collect in `outbox`."""

    outbox: list[SmsMessage] = []
    _lock = threading.Lock()

    def send(self, message: SmsMessage) -> str:
        with self._lock:
            InMemoryBackend.outbox.append(message)
        return f"mem-{len(InMemoryBackend.outbox)}"


def get_backend() -> BaseBackend:
    return import_string(settings.SMS_BACKEND)()


def send_sms(*, mobile: str, text: str, kind: str) -> str:
    return get_backend().send(SmsMessage(mobile=mobile, text=text, kind=kind))
