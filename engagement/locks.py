"""Row locks of the engagement app, on core.locks (FOR UPDATE OF self): a registration is locked
without its Event, so one member's cancel or check-in does not queue behind every sign-up of the
event (sign-ups lock the event row itself, to count places)."""
from __future__ import annotations

from core.locks import lock_one, lock_one_or_none

from .models import Event, Partner, RedemptionCode, Registration


def event_lock(event_id: int) -> Event:
    """The event locked: serialises its sign-ups so places are never oversold."""
    return lock_one(Event, event_id)


def registration_lock(registration_id: int, *, event_id: int | None = None) -> Registration:
    """The registration locked, with its event and member fetched (joined, not locked). Raises
    Registration.DoesNotExist if there is none (of event_id, when given)."""
    lookups = {"event_id": event_id} if event_id is not None else {}
    return lock_one(Registration.objects.select_related("event", "member"), registration_id, **lookups)


def redemption_code_lock(*, partner: Partner, code: str) -> RedemptionCode | None:
    """The partner's own code locked (another partner's codes look missing), with offer and member
    fetched (joined, not locked)."""
    return lock_one_or_none(RedemptionCode.objects.select_related("offer", "member"),
                            code=code, offer__partner=partner)
