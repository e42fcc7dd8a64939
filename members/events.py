"""Member lifecycle events for the apps above members (the layers contract forbids members to import
them): joined (active at sign-up or approved), status_changed, change_request_reviewed, closed.

A service calls `member_event_on_commit(...)` as its last step; listeners run after the commit, so
a rolled-back change announces nothing, and a failing listener is logged without undoing the
change (robust). messaging registers its service notices here in MessagingConfig.ready()."""
from __future__ import annotations

from collections.abc import Callable

from django.db import transaction

_listeners: list[Callable[..., None]] = []


def register_member_listener(listener: Callable[..., None]) -> None:
    """`listener(*, event: str, member_id: int, **data)`."""
    if listener not in _listeners:
        _listeners.append(listener)


def member_event_on_commit(event: str, *, member_id: int, **data) -> None:
    def fire() -> None:
        for listener in list(_listeners):
            listener(event=event, member_id=member_id, **data)

    transaction.on_commit(fire, robust=True)
