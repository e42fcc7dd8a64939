"""Hooks the apps above messaging fill in (layers: messaging cannot import them).

- birthday offer text: benefits registers the words for its birthday rule (window and extra
  discount, benefits.MemberDayConfig) so the birthday greeting says what the member really gets and
  when; without it the greeting promises nothing ("")."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

_birthday_offer: Callable[[dt.date], str] | None = None


def register_birthday_offer(text_for_day: Callable[[dt.date], str]) -> None:
    global _birthday_offer
    _birthday_offer = text_for_day


def birthday_offer_text(day: dt.date) -> str:
    """The sentence about the offer for members whose birthday is `day` ("" if none)."""
    return _birthday_offer(day) if _birthday_offer else ""
