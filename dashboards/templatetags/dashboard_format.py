"""How the dashboards write figures (issue 16): 万 above ten thousand, thousands separators below,
and the change against the previous period as an arrow with its percent."""
from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils.html import format_html
from django.utils.translation import get_language
from django.utils.translation import gettext as _

register = template.Library()
# Chinese counts in 万 (10⁴) and 亿 (10⁸); English in k and M. Not UI text: the units of the numbers.
# (from, divide by, unit)
_CHINESE_UNITS = ((Decimal(10) ** 8, Decimal(10) ** 8, "亿"), (Decimal(10) ** 4, Decimal(10) ** 4, "万"))
_ENGLISH_UNITS = ((Decimal(10) ** 6, Decimal(10) ** 6, "M"), (Decimal(10) ** 4, Decimal(10) ** 3, "k"))


@register.filter
def wan(value, decimals: int = 1) -> str:
    """12345 -> "1.2万", 123456789 -> "1.2亿", 9876.5 -> "9,876.50"; None -> "—"."""
    if value is None or value == "":
        return "—"
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        return str(value)
    sign = "-" if number < 0 else ""
    number = abs(number)
    units = _CHINESE_UNITS if (get_language() or "").startswith("zh") else _ENGLISH_UNITS
    for start, size, unit in units:
        if number >= start:
            return f"{sign}{number / size:,.{decimals}f}{unit}"
    if number == number.to_integral_value():
        return f"{sign}{int(number):,}"
    return f"{sign}{number:,.2f}"


@register.simple_tag
def change(now, before):
    """▲ 12.5% / ▼ 3.0% / — against the previous period (no previous figure or 0: no arrow)."""
    try:  # a missing figure reaches the tag as None or "" (the template's value of data.last.x without data)
        now, before = Decimal(str(now)), Decimal(str(before))
    except (ArithmeticError, ValueError):
        now = before = None
    if now is None or before is None or before == 0:
        return format_html('<span class="delta none" title="{}">—</span>', _("No figure for the previous period"))
    pct = (now - before) * 100 / abs(before)
    if pct > 0:
        return format_html('<span class="delta up" title="{}">▲ {}%</span>', _("against the previous period"),
                           f"{pct:.1f}")
    if pct < 0:
        return format_html('<span class="delta down" title="{}">▼ {}%</span>', _("against the previous period"),
                           f"{abs(pct):.1f}")
    return format_html('<span class="delta flat" title="{}">＝ 0%</span>', _("against the previous period"))


@register.filter
def thousands(value):
    """Table cells: numbers with thousands separators (1,234,567.50), everything else as it is."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return value
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.2f}" if isinstance(value, Decimal) else f"{value:,.1f}"
