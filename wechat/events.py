"""Push events from WeChat at the callback URL, handed to the apps that care (wechat sits below
messaging in the layers contract, so messaging registers its handler for TEMPLATESENDJOBFINISH in
MessagingConfig.ready(), as members' hooks do)."""
from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

_handlers: dict[str, Callable[[dict], None]] = {}


def register_event_handler(event: str, handler: Callable[[dict], None]) -> None:
    """`handler(message)` gets the pushed XML's fields as a dict (ToUserName, FromUserName, MsgID, Status...).
    One handler per event name; a second registration (a re-run ready()) replaces the first."""
    _handlers[event.upper()] = handler


def dispatch(message: dict) -> bool:
    """Hand an event to its handler; False when nobody handles it (answered "success" all the same)."""
    if message.get("MsgType") != "event":
        return False
    handler = _handlers.get(str(message.get("Event", "")).upper())
    if handler is None:
        log.info("wechat event %s not handled", message.get("Event"))
        return False
    handler(message)
    return True
