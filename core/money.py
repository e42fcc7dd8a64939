"""Money as input: yuan are plain decimals with at most two places (SPEC: money is Decimal, 2 places).

Python's Decimal() also reads "1e5", full-width "１００.００" and Arabic-Indic "١٠٠"; a till or a form that
sends those has a bug or is probing, so every amount that enters MemberHub goes through
`parse_plain_decimal` (API fields: core.api.PlainDecimalField; basket lines and tenders:
points.calculation)."""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

CENT = Decimal("0.01")
_PLAIN_DECIMAL = re.compile(r"^-?[0-9]{1,15}(\.[0-9]{1,2})?$")


def parse_plain_decimal(value) -> Decimal:
    """ASCII digits, an optional minus and at most 2 decimals; raises ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError("not an amount")
    if isinstance(value, int | Decimal):
        value = str(value)
    elif isinstance(value, float):
        value = repr(value)
    text = str(value).strip() if value is not None else ""
    if not text.isascii() or not _PLAIN_DECIMAL.match(text):
        raise ValueError("not a plain decimal")
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        raise ValueError("not a plain decimal") from None
