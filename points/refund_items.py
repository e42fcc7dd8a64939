"""What a refund did, itemised once (PTS-5, issue 14): the rows the desk refund page, the member's inbox
notice and (field by field) the refund API show, so the three never disagree."""
from __future__ import annotations

from django.utils.translation import gettext as _

from .models import Refund


def refund_items(refund: Refund) -> list[tuple[str, str]]:
    """(label, value) rows in a fixed order; the rows that say "nothing" are left out except the points
    reversed and the offset points returned, which are always shown."""
    rows = [
        (_("Refund amount (of the bill)"), _("%(amount)s yuan") % {"amount": refund.amount}),
        (_("Points reversed"), str(refund.points_reversed)),
    ]
    if refund.points_expired:
        rows.append((_("Earned points already expired (not reversed)"), str(refund.points_expired)))
    rows.append((_("Offset points given back"), str(refund.offset_points_returned)))
    if refund.offset_points_lapsed:
        rows.append((_("Offset points not given back (expired)"), str(refund.offset_points_lapsed)))
    if refund.coupons_reinstated:
        rows.append((_("Coupons reinstated"), ", ".join(refund.coupons_reinstated)))
    for item in refund.coupons_not_reinstated:
        rows.append((_("Coupon not reinstated"), f"{item['code']} ({item['reason']})"))
    if refund.points_as_debt:
        rows.append((_("Points owed (debt added)"), str(refund.points_as_debt)))
    if refund.cash_deducted:
        rows.append((_("Deducted from the refund for spent points"),
                     _("%(amount)s yuan") % {"amount": refund.cash_deducted}))
    return rows
