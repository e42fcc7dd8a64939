"""The portal's one place for how numbers of points look and which bottom tab a page belongs to.

`{{ n|points }}` writes a points figure with thousands separators (19,748) on every portal page, so a
balance, a price in points and a history row never differ in format. `{{ portal_section|portal_tab }}`
maps the section a page reports (core.web.portal_render) to the bottom tab base.html marks.
"""
from __future__ import annotations

from decimal import Decimal

from django import template

from core.web import portal_tab_of

register = template.Library()


@register.filter
def points(value) -> str:
    """An integer of points with "," every three digits; anything else shows unchanged."""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return "" if value is None else str(value)


@register.filter
def portal_tab(section) -> str:
    return portal_tab_of(section or "")


@register.filter
def yuan(value) -> str:
    """An amount of yuan with "," every three digits and two decimals (12,345.60)."""
    try:
        return f"{Decimal(value):,.2f}"
    except (TypeError, ValueError, ArithmeticError):
        return "" if value is None else str(value)
